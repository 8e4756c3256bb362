"""The benchmark command runs and reports every key; timings themselves are not asserted."""

import json
import subprocess
import sys


def test_step_benchmark_json_keys():
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "step", "--quick", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )

    report = json.loads(result.stdout)
    for key in ("step_us_numba", "step_us_numpy", "step_us_torch", "speedup_vs_numpy", "speedup_vs_torch"):
        assert key in report
    assert report["step_us_numba"] > 0
    assert report["step_us_numpy"] > 0
    assert report["speedup_vs_numpy"] == report["step_us_numpy"] / report["step_us_numba"]
    assert report["machine"]["cpus"] >= 1


def test_bench_rejects_unknown_name():
    result = subprocess.run([sys.executable, "-m", "bench", "--only", "warp"],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert "invalid choice: 'warp'" in result.stderr
