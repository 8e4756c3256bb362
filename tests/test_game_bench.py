"""The explorer benchmarks run end to end and report every key; timings are not asserted."""

import shutil

import pytest

from bench import game_bench
from bench.explorer_probe import last_batch_count

PSTATS_FRAME = """\
Thread Main frame 7, 20.0 ms (50 Hz):
  Geoms = 5
  Primitive batches = 0
    Display lists = 0
    Triangle strips = 4
    Triangles = 1
    Other = 2
  Vertices = 0.046 K
"""


def test_batch_count_sums_primitive_types():
    report = PSTATS_FRAME + PSTATS_FRAME.replace("Other = 2", "Other = 3")

    assert last_batch_count(report) == 7


def test_batch_count_needs_complete_frame():
    assert last_batch_count(PSTATS_FRAME) is None


def test_frame_cpu_reports_phases():
    report = game_bench.bench_frame_cpu(quick=True, frames=4, warmup=2, size="320x180")

    for side in ("default", "100k_edges"):
        for phase in ("cpu", "sim", "scene"):
            assert report[f"frame_{phase}_ms_{side}"] > 0
        assert f"frame_gui_ms_{side}" in report
    assert report["edges_default"] == 33_408 + 1_184
    assert report["edges_100k_edges"] == 98_944 + 1_184
    assert report["frame_cpu_ratio_100k_vs_default"] > 0


def test_draw_calls_counted_offscreen():
    report = game_bench.bench_draw_calls(quick=True, display=False)

    assert report["draw_calls_default"] > 0
    assert report["draw_calls_100k_edges"] > 0
    assert report["draw_calls_bloom"] is False


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for an OpenGL window")
def test_draw_calls_counted_with_opengl():
    result = game_bench.run_probe("draw-calls", "--frames", "3", "--size", "640x360", display=True)

    assert result["draw_calls"] > 0
    assert "error" not in result


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for an OpenGL window")
def test_fps_probe_hides_parts():
    result = game_bench.run_probe("fps", "--frames", "2", "--warmup", "1", "--size", "320x180",
                                  "--antialias", "off", "--hide", "teacher-edges", "2d", display=True)

    assert "error" not in result
    assert result["hidden"] == ["teacher-edges", "2d"]
    assert result["multisamples"] == 0


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for an OpenGL window")
def test_fps_probe_rejects_unknown_part():
    result = game_bench.run_probe("fps", "--frames", "2", "--warmup", "1", "--size", "320x180",
                                  "--hide", "teacher-wings", display=True)

    assert "no part named teacher-wings" in result["error"]
