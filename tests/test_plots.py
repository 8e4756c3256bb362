"""LossPlots: curves follow the epoch records, and the scratch curve appears only in a race."""

import numpy as np
import pytest

from game.plots import (CURVE_ORDER, DISTILLED_COLOR, HARD_COLOR, LINE_THICKNESS, SCRATCH_COLOR, SOFT_COLOR,
                        TOTAL_COLOR, LossPlots, accuracy_range, loss_range, nice_ticks)
from game.widgets import drawn_geom_count


@pytest.fixture
def plots(panda_base, lab):
    lab.distiller.config.epochs = 4
    plots = LossPlots(panda_base.render, lab)
    yield plots
    plots.destroy()


def drawn_curves(plots):
    return set(plots.curve_points)


def test_nice_ticks_are_round():
    np.testing.assert_allclose(nice_ticks(0, 60), [0, 20, 40, 60])
    np.testing.assert_allclose(nice_ticks(0, 1.0), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(nice_ticks(0.6, 1.0), [0.6, 0.7, 0.8, 0.9, 1.0])


def test_ranges_cover_values(lab):
    lab.distiller.run(2)
    history = lab.distiller.history
    low, high = loss_range(history)
    peak = max(max(r.soft_loss, r.hard_loss, r.total_loss) for r in history)

    assert low == 0.0
    assert high >= peak
    assert accuracy_range([0.83, 0.97]) == (0.8, 1.0)


def test_curves_gain_points_with_history(plots, lab):
    plots.update(0.1)
    assert len(plots.curves["total"][0]) == 0
    assert "total" not in drawn_curves(plots)

    for epochs in (1, 2, 3):
        lab.distiller.step(max_batches=lab.distiller.batches_per_epoch)
        plots.update(0.1)
        history = lab.distiller.history
        assert len(history) == epochs
        for name, field in (("soft", "soft_loss"), ("hard", "hard_loss"),
                            ("total", "total_loss"), ("distilled", "accuracy")):
            epochs_drawn, values = plots.curves[name]
            np.testing.assert_array_equal(epochs_drawn, [r.epoch for r in history])
            np.testing.assert_allclose(values, [getattr(r, field) for r in history], rtol=1e-6)

    assert {"soft", "hard", "total", "distilled"} <= drawn_curves(plots)


def test_rebuild_only_on_new_record(plots, lab):
    plots.update(0.1)
    dynamic = plots.dynamic
    lab.distiller.step(max_batches=1)
    plots.update(0.1)
    assert plots.dynamic == dynamic

    lab.distiller.step(max_batches=lab.distiller.batches_per_epoch)
    plots.update(0.1)
    assert plots.dynamic != dynamic


def test_scratch_curve_only_in_race(plots, lab):
    lab.advance(2.0, epochs_per_second=1.0)
    plots.update(0.1)
    assert "scratch" not in plots.curves
    assert plots.gap_text.node().getText() == ""

    lab.set_race(True)
    lab.advance(2.0, epochs_per_second=1.0)
    plots.update(0.1)
    epochs, values = plots.curves["scratch"]
    np.testing.assert_allclose(values, [r.accuracy for r in lab.scratch.history], rtol=1e-6)
    assert len(epochs) == 2
    assert "scratch" in drawn_curves(plots)
    assert f"{lab.race_gap() * 100:+.1f} points" in plots.gap_text.node().getText()

    lab.set_race(False)
    plots.update(0.1)
    assert "scratch" not in plots.curves
    assert "scratch" not in drawn_curves(plots)


def test_reset_clears_curves(plots, lab):
    lab.distiller.run(2)
    plots.update(0.1)
    lab.reset_student()
    plots.update(0.1)
    assert len(plots.curves["total"][0]) == 0


def test_destroy_removes_all_nodes(panda_base, lab):
    parent = panda_base.render.attachNewNode("parent")
    plots = LossPlots(parent, lab)
    plots.update(0.1)
    plots.destroy()
    assert parent.getNumChildren() == 0


def test_scratch_curve_has_own_colour_and_legend(panda_base, lab):
    from game.plots import DISTILLED_COLOR, SCRATCH_COLOR, LossPlots

    lab.set_race(True)
    plots = LossPlots(panda_base.render, lab)
    legend = [text.node().getText() for text in plots.accuracy_legend]

    assert any("scratch" in label for label in legend)
    # Far apart in colour, not a pale grey beside the distilled blue.
    assert sum(abs(a - b) for a, b in zip(SCRATCH_COLOR[:3], DISTILLED_COLOR[:3])) > 0.9
    plots.destroy()


def test_plots_draw_five_geoms(plots, lab):
    lab.set_race(True)
    lab.advance(3.0, epochs_per_second=1.0)
    plots.update(0.1)

    assert {"soft", "hard", "total", "distilled", "scratch"} <= drawn_curves(plots)
    # Backing, lines of each of three widths, and text on one font page.
    assert drawn_geom_count(plots.root) == 5


def test_curves_draw_in_order_after_legend(plots, lab):
    lab.set_race(True)
    lab.advance(3.0, epochs_per_second=1.0)
    plots.update(0.1)
    lines = plots.lines[LINE_THICKNESS]
    vdata = lines.path.node().getGeom(0).getVertexData()
    colors = np.frombuffer(vdata.getArray(1), dtype=np.float32).reshape(-1, 2, 4)[:, 0]

    # Three loss swatches, two accuracy swatches, then each curve's segments in CURVE_ORDER.
    expected = [SOFT_COLOR, HARD_COLOR, TOTAL_COLOR, DISTILLED_COLOR, SCRATCH_COLOR]
    for name in CURVE_ORDER:
        points, color = plots.curve_points[name]
        expected += [color] * (len(points) - 1)
    np.testing.assert_allclose(colors, expected)
    assert lines.path.getBinName() == "fixed"


def test_tick_labels_follow_range(plots, lab):
    plots.update(0.1)
    lab.distiller.run(2)
    plots.update(0.1)

    labels = [path.node().getText() for path in plots.text.texts]
    top = loss_range(lab.distiller.history)[1]
    assert f"{top:g}" in labels
    assert f"epoch 2 of {lab.distiller.config.epochs}" in labels
