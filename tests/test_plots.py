"""LossPlots: curves follow the epoch records, and the scratch curve appears only in a race."""

import numpy as np
import pytest

from game.plots import LossPlots, accuracy_range, loss_range, nice_ticks


@pytest.fixture
def plots(panda_base, lab):
    lab.distiller.config.epochs = 4
    plots = LossPlots(panda_base.render, lab)
    yield plots
    plots.destroy()


def curve_nodes(plots, name):
    return plots.dynamic.findAllMatches(f"**/{name}-curve")


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
    assert curve_nodes(plots, "total").getNumPaths() == 0

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

    assert curve_nodes(plots, "total").getNumPaths() == 1
    assert curve_nodes(plots, "distilled").getNumPaths() == 1


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
    assert curve_nodes(plots, "scratch").getNumPaths() == 1
    assert f"{lab.race_gap() * 100:+.1f} points" in plots.gap_text.node().getText()

    lab.set_race(False)
    plots.update(0.1)
    assert "scratch" not in plots.curves
    assert curve_nodes(plots, "scratch").getNumPaths() == 0


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
