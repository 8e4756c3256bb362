"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
from statistics import median


def median_seconds(run, repeats: int, warmup: int = 3) -> float:
    """Return the median wall time of `run()` over `repeats` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return median(times)


def interleaved_medians(runs: dict, repeats: int, rounds: int = 5) -> dict:
    """Time several callables in alternating rounds; return each one's median seconds per call.

    Alternating spreads machine noise over all sides of a comparison instead of one.
    """
    samples = {name: [] for name in runs}
    for run in runs.values():
        for _ in range(3):
            run()
    for _ in range(rounds):
        for name, run in runs.items():
            for _ in range(repeats):
                started = time.perf_counter()
                run()
                samples[name].append(time.perf_counter() - started)
    return {name: median(values) for name, values in samples.items()}
