"""Run the benchmarks: `python -m bench [--only NAME ...] [--json] [--quick]`.

Timing runs single-threaded: the thread limits below are set before NumPy loads BLAS.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402

from bench import sim_bench  # noqa: E402

# Each entry: name -> (function taking `quick`, what it measures).
BENCHMARKS = {
    "step": (lambda quick: sim_bench.bench_step(100 if quick else 400),
             "one distillation step, default student, batch 64"),
    "teacher_epoch": (lambda quick: sim_bench.bench_teacher_epoch(2 if quick else 5),
                      "one teacher training epoch"),
}


def register_game_benchmarks() -> None:
    """Add the explorer's benchmarks when the game package provides them."""
    try:
        from bench import game_bench
    except ImportError as error:
        print(f"bench: explorer benchmarks unavailable ({error})", file=sys.stderr)
        return
    BENCHMARKS.update(game_bench.BENCHMARKS)


def machine_description() -> dict:
    import numba
    import numpy

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "cpus": os.cpu_count(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
    }


def format_value(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def main(argv=None) -> int:
    register_game_benchmarks()
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run KD Explorer's benchmarks.")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only these benchmarks: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a fast check")
    args = parser.parse_args(argv)

    results = {"machine": machine_description()}
    for name in args.only or BENCHMARKS:
        run, what = BENCHMARKS[name]
        if not args.json:
            print(f"running {name}: {what} ...", file=sys.stderr, flush=True)
        results.update(run(args.quick))

    if args.json:
        print(json.dumps(results))
    else:
        width = max(len(key) for key in results)
        for key, value in results.items():
            if key == "machine":
                continue
            print(f"{key.ljust(width)}  {format_value(value)}")
        print("machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
