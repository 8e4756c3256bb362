"""Benchmarks of the explorer: frame CPU time, draw calls, start-up, frame rate and memory.

Each measurement runs bench.explorer_probe in a fresh subprocess (one ShowBase per process, and
the renderer is fixed when its window opens). The two sides of a comparison alternate run by
run, so machine noise falls on both, and each side reports the median over its runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

REPOSITORY = Path(__file__).resolve().parent.parent
XVFB_SCREEN = "-screen 0 1280x720x24"
PROBE_TIMEOUT_S = 600
NO_XVFB_NOTE = "xvfb-run is not installed; install the xvfb package to measure this"


def xvfb_prefix() -> list[str] | None:
    """Return the xvfb-run command that opens a 1280x720 virtual display, or None without it."""
    if shutil.which("xvfb-run") is None:
        return None
    return ["xvfb-run", "-a", "-s", XVFB_SCREEN]


def run_probe(mode: str, *options: str, display: bool = False, env: dict | None = None) -> dict:
    """Run one probe in a subprocess and return the JSON object it prints last.

    With `display`, the probe runs under xvfb-run and draws with OpenGL (Mesa). Without it, the
    DISPLAY variable is removed, so the explorer uses its offscreen renderer.
    """
    command = [sys.executable, "-m", "bench.explorer_probe", mode, *options]
    environment = dict(os.environ if env is None else env)
    if display:
        command = xvfb_prefix() + command
        # Mesa's switch for waiting on vertical blank. With 0, no frame waits for a refresh.
        environment["vblank_mode"] = "0"
    else:
        environment.pop("DISPLAY", None)
    completed = subprocess.run(command, cwd=REPOSITORY, env=environment, capture_output=True,
                               text=True, timeout=PROBE_TIMEOUT_S)
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"probe {mode} {' '.join(options)} failed with status {completed.returncode}: "
                           f"{completed.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def alternate(sides: dict, runs: int) -> dict:
    """Run each side's probe `runs` times, alternating sides; return each side's results in order."""
    results = {name: [] for name in sides}
    for _ in range(runs):
        for name, probe in sides.items():
            results[name].append(probe())
    return results


def median_of(results: list[dict], key: str) -> float:
    return median(result[key] for result in results)


# --- frame CPU time ------------------------------------------------------------------------

def bench_frame_cpu(quick: bool, frames: int | None = None, warmup: int = 30, size: str = "1280x720") -> dict:
    """Time the explorer's per-frame task while training, offscreen, at both teacher sizes.

    Each run measures `frames` frames (default 300, 60 quick) after `warmup` unmeasured ones.
    """
    frames = frames or (60 if quick else 300)
    runs = 1 if quick else 3

    def probe(teacher):
        return lambda: run_probe("frame-cpu", "--teacher", teacher, "--frames", str(frames),
                                 "--warmup", str(warmup), "--size", size)

    results = alternate({"default": probe("default"), "100k_edges": probe("100k")}, runs)
    report = {}
    for name, side in results.items():
        report[f"frame_cpu_ms_{name}"] = median_of(side, "cpu_ms")
        report[f"frame_sim_ms_{name}"] = median_of(side, "sim_ms")
        report[f"frame_scene_ms_{name}"] = median_of(side, "scene_ms")
        report[f"frame_gui_ms_{name}"] = median_of(side, "gui_ms")
        report[f"frame_cpu_p95_ms_{name}"] = median_of(side, "cpu_ms_p95")
        report[f"edges_{name}"] = side[0]["edges"]
    report["frame_cpu_ratio_100k_vs_default"] = report["frame_cpu_ms_100k_edges"] / report["frame_cpu_ms_default"]
    report["frame_cpu_renderer"] = results["default"][0]["renderer"]
    return report


# --- draw calls ----------------------------------------------------------------------------

def bench_draw_calls(quick: bool, display: bool | None = None) -> dict:
    """Count primitive batches per frame with PStats, default and 100k-edge teachers, bloom on.

    `display` picks a window under xvfb-run (True) or the explorer's offscreen renderer (False);
    by default, a window when xvfb-run is installed.
    """
    display = xvfb_prefix() is not None if display is None else display
    report = {}
    for name, teacher in (("default", "default"), ("100k_edges", "100k")):
        result = run_probe("draw-calls", "--teacher", teacher, "--frames", "5" if quick else "20",
                           display=display)
        if "error" in result:
            raise RuntimeError(f"draw-call count failed: {result['error']}")
        report[f"draw_calls_{name}"] = result["draw_calls"]
        report["draw_calls_bloom"] = result["bloom"]
        report["draw_calls_renderer"] = result["renderer"]
    if not display:
        report["note_draw_calls"] = ("counted offscreen, where the explorer draws without bloom; "
                                     + NO_XVFB_NOTE + " in a window with bloom")
    return report


# --- time to the first frame -----------------------------------------------------------------

def first_frame_seconds(numba_cache: str | None) -> float:
    """Return seconds from starting `kd-explorer --offscreen --frames 1` to its first frame.

    The clock starts before the interpreter is spawned; the probe stamps time.time() when the
    first frame has rendered. `numba_cache` points NUMBA_CACHE_DIR at another folder.
    """
    environment = dict(os.environ)
    if numba_cache is not None:
        environment["NUMBA_CACHE_DIR"] = numba_cache
    started = time.time()
    result = run_probe("first-frame", env=environment)
    if result["first_frame_unix_s"] is None:
        raise RuntimeError(f"kd-explorer rendered no frame (exit status {result['status']})")
    return result["first_frame_unix_s"] - started


def bench_first_frame(quick: bool) -> dict:
    """Time start-up with Numba's cache warm and with an empty cache folder, alternating."""
    runs = 1 if quick else 3
    first_frame_seconds(None)  # fills the default cache and the page cache for the warm runs

    def cold():
        with tempfile.TemporaryDirectory(prefix="kd-numba-cold-") as folder:
            return {"seconds": first_frame_seconds(folder)}

    results = alternate({"warm": lambda: {"seconds": first_frame_seconds(None)}, "cold": cold}, runs)
    warm, cold_s = median_of(results["warm"], "seconds"), median_of(results["cold"], "seconds")
    return {"first_frame_s_warm": warm, "first_frame_s_cold": cold_s, "first_frame_ratio_cold_vs_warm": cold_s / warm}


# --- frame rate under Xvfb ---------------------------------------------------------------------

def bench_fps_xvfb(quick: bool) -> dict:
    """Measure frames per second in a 1280x720 window on Xvfb and Mesa, with and without bloom.

    Each run gives the median frame rate over its frames; the report gives the median over the
    runs (3 per side, 1 quick). `fps_process_cpu_ms_*` is the process's CPU time per frame, the
    renderer's threads included, which other jobs on the machine disturb less than wall time.
    """
    if xvfb_prefix() is None:
        return {"fps_xvfb_no_bloom": None, "fps_xvfb_bloom": None, "note_fps": NO_XVFB_NOTE}
    frames = "60" if quick else "300"
    runs = 1 if quick else 3

    def probe(flag):
        return lambda: run_probe("fps", flag, "--frames", frames, "--warmup", "30", display=True)

    results = alternate({"no_bloom": probe("--no-bloom"), "bloom": probe("--bloom")}, runs)
    report = {
        "fps_xvfb_no_bloom": median_of(results["no_bloom"], "fps"),
        "fps_xvfb_bloom": median_of(results["bloom"], "fps"),
        "fps_cpu_ms_no_bloom": median_of(results["no_bloom"], "cpu_ms"),
        "fps_cpu_ms_bloom": median_of(results["bloom"], "cpu_ms"),
        "fps_process_cpu_ms_no_bloom": median_of(results["no_bloom"], "process_cpu_ms"),
        "fps_process_cpu_ms_bloom": median_of(results["bloom"], "process_cpu_ms"),
        "fps_bloom_granted": results["bloom"][0]["bloom"],
        "fps_renderer": results["bloom"][0]["renderer"],
    }
    report["fps_ratio_bloom_vs_no_bloom"] = report["fps_xvfb_bloom"] / report["fps_xvfb_no_bloom"]
    if quick:
        report["note_fps"] = f"quick run: median over {frames} frames, not 300"
    return report


# --- peak memory ---------------------------------------------------------------------------

def bench_peak_rss(quick: bool) -> dict:
    """Read the explorer's peak resident memory after training in a window for 60 s (10 s quick)."""
    seconds = 10 if quick else 60
    display = xvfb_prefix() is not None
    result = run_probe("peak-rss", "--seconds", str(seconds), display=display)
    report = {"peak_rss_mb": result["peak_rss_mb"], "peak_rss_seconds": seconds,
              "peak_rss_renderer": result["renderer"]}
    if quick:
        report["note_peak_rss"] = f"quick run: {seconds} s of training, not 60"
    return report


BENCHMARKS = {
    "frame_cpu": (bench_frame_cpu, "explorer CPU time per frame while training, default and 100k edges"),
    "draw_calls": (bench_draw_calls, "primitive batches per frame (PStats), default and 100k edges"),
    "first_frame": (bench_first_frame, "process start to first rendered frame, Numba cache warm and cold"),
    "fps_xvfb": (bench_fps_xvfb, "frame rate at 1280x720 under Xvfb and Mesa, with and without bloom"),
    "peak_rss": (bench_peak_rss, "peak resident memory over a training run"),
}
