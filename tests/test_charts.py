"""OutputCharts: bar targets follow the lab's probabilities, bars animate, markers follow the sample."""

import numpy as np
import pytest

from game.charts import BAR_MAX_HEIGHT, OutputCharts
from game.widgets import drawn_geom_count


@pytest.fixture
def charts(panda_base, lab):
    charts = OutputCharts(panda_base.render, lab)
    yield charts
    charts.destroy()


def settle(charts, frames=120, dt=1 / 30):
    for _ in range(frames):
        charts.update(dt)


def test_targets_equal_lab_probabilities(charts, lab):
    charts.update(0.0)
    snapshot = lab.outputs()

    np.testing.assert_allclose(charts.teacher_targets, snapshot.teacher_probs * BAR_MAX_HEIGHT, rtol=1e-6)
    np.testing.assert_allclose(charts.student_targets, snapshot.student_probs * BAR_MAX_HEIGHT, rtol=1e-6)
    np.testing.assert_allclose(charts.targets[2], snapshot.teacher_probs_t1 * BAR_MAX_HEIGHT, rtol=1e-6)
    np.testing.assert_allclose(charts.targets[3], snapshot.student_probs_t1 * BAR_MAX_HEIGHT, rtol=1e-6)


def test_higher_temperature_flattens_bars(charts, lab):
    lab.temperature = 1.0
    charts.update(0.0)
    sharp = charts.teacher_targets.copy()
    ghost_at_1 = charts.targets[2].copy()

    lab.temperature = 20.0
    charts.update(0.0)
    flat = charts.teacher_targets.copy()

    assert flat.max() < sharp.max()
    assert flat.min() > sharp.min()
    np.testing.assert_allclose(charts.targets[2], ghost_at_1, rtol=1e-6)
    np.testing.assert_allclose(sharp, ghost_at_1, rtol=1e-6)


def test_bars_approach_targets(charts):
    charts.update(0.0)
    assert np.all(charts.teacher_heights == 0)

    gaps = []
    for _ in range(5):
        charts.update(0.05)
        gaps.append(np.abs(charts.teacher_targets - charts.teacher_heights).max())
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:]))

    settle(charts)
    np.testing.assert_allclose(charts.teacher_heights, charts.teacher_targets, atol=1e-3)
    np.testing.assert_allclose(charts.student_heights, charts.student_targets, atol=1e-3)
    np.testing.assert_allclose(charts.teacher_ghost_heights, charts.targets[2], atol=1e-3)


def test_true_label_marker_follows_sample(charts, lab):
    labels = lab.split.test_labels
    first, second = 0, int(np.flatnonzero(labels != labels[0])[0])

    for index in (first, second):
        lab.set_sample(index)
        charts.update(0.0)
        label = int(labels[index])
        assert charts.marked_label == label
        rects = charts.label_markers.rects
        for (x0, z0, x1, z1), centers in zip(rects, charts.bar_centers):
            assert x1 > x0
            assert z1 > z0
            assert (x0 + x1) / 2 == pytest.approx(centers[label], abs=1e-5)

    lab.set_custom_image(np.zeros(64))
    charts.update(0.0)
    assert charts.marked_label is None
    rects = charts.label_markers.rects
    assert np.all(rects[:, 2] == rects[:, 0])


def test_charts_draw_three_geoms(charts, lab):
    lab.distiller.run(2)
    settle(charts, frames=10)

    # One Geom of rectangles, one of grid lines and one of text on a single font page.
    assert drawn_geom_count(charts.root) == 3


def test_readout_change_reaches_drawn_text(charts, lab):
    charts.update(0.2)
    before = text_vertex_count(charts)
    lab.temperature = 12.0
    charts.update(0.2)

    assert "τ = 12.0" in charts.titles[0].node().getText()
    # "12.0" has one glyph more than "3.0" in each of five readouts that show tau.
    assert text_vertex_count(charts) > before


def text_vertex_count(charts):
    node = charts.text.geom_node
    return sum(node.getGeom(index).getVertexData().getNumRows() for index in range(node.getNumGeoms()))


def test_gauge_and_readouts_follow_snapshot(charts, lab):
    lab.distiller.run(3)
    settle(charts)
    snapshot = lab.outputs()

    assert charts.match_target == pytest.approx(snapshot.match)
    assert charts.match_fill == pytest.approx(snapshot.match, abs=1e-3)
    assert f"{snapshot.kl:.3f}" in charts.kl_text.node().getText()
    agree_text = charts.agree_text.node().getText()
    assert ("agree" if snapshot.top1_agree else "differ") in agree_text
    assert "τ = 3.0" in charts.titles[0].node().getText()


def test_destroy_removes_all_nodes(panda_base, lab):
    parent = panda_base.render.attachNewNode("parent")
    charts = OutputCharts(parent, lab)
    charts.update(0.1)
    charts.destroy()
    assert parent.getNumChildren() == 0
