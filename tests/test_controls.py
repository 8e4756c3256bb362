"""The control panel: batched drawing, mouse regions that match it, and state colours."""

import numpy as np
import pytest
from panda3d.core import PGButton

from game import controls
from game.widgets import drawn_geom_count


def quad_box(panel, index: int) -> np.ndarray:
    """Return the (x0, z0, x1, z1) corners that quad `index` was last drawn with."""
    return panel.quads.written_boxes[index]


def quad_color(panel, index: int) -> np.ndarray:
    return panel.quads.written_colors[index]


@pytest.fixture
def panel(explorer):
    return explorer.controls




def test_panel_draws_three_geoms(panel):
    assert drawn_geom_count(panel.root) == 3
    assert drawn_geom_count(panel.hit_root) == 0


def test_widget_regions_match_quads(explorer, panel, watcher):
    assert panel.quad_of
    for widget, index in panel.quad_of.items():
        x0, z0, x1, z1 = quad_box(panel, index)
        # Quad corners are in the panel's frame; the region test needs render2d coordinates.
        middle = explorer.base.render2d.getRelativePoint(panel.root, ((x0 + x1) / 2, 0, (z0 + z1) / 2))
        region = watcher.getOverRegion(middle[0], middle[2])
        assert region is not None, widget
        assert region.getName() == widget.guiItem.getId(), widget


def test_gap_between_widgets_is_panel(explorer, panel, watcher):
    point = explorer.base.render2d.getRelativePoint(panel.root, (controls.PANEL_RIGHT - 0.01, 0, -1.7))

    region = watcher.getOverRegion(point[0], point[2])

    assert region is not None
    assert region.getName() == panel.hit_root.guiItem.getId()


def test_button_face_follows_pointer_state(panel):
    index = panel.quad_of[panel.reset_button]
    panel.update(0.0)
    np.testing.assert_allclose(quad_color(panel, index), controls.BUTTON_COLORS[PGButton.S_ready])

    panel.reset_button.guiItem.setState(PGButton.S_rollover)
    panel.update(0.0)
    np.testing.assert_allclose(quad_color(panel, index), controls.BUTTON_COLORS[PGButton.S_rollover])

    panel.reset_button.guiItem.setState(PGButton.S_depressed)
    panel.update(0.0)
    np.testing.assert_allclose(quad_color(panel, index), controls.BUTTON_COLORS[PGButton.S_depressed])


def test_train_button_turns_into_pause(explorer, panel):
    index = panel.quad_of[panel.train_button]
    assert panel.text("train") == "Train"

    explorer.set_training(True)

    assert panel.text("train") == "Pause"
    np.testing.assert_allclose(quad_color(panel, index), controls.PAUSE_COLORS[PGButton.S_ready])
    drawn = [text for text, _ in panel.changing_text.drawn]
    assert "Pause" in drawn
    assert "Train" not in drawn


def test_thumb_quad_follows_slider(explorer, panel):
    slider, index = panel.sliders[1]
    assert slider is panel.temperature_slider
    before = quad_box(panel, index).copy()

    explorer.set_temperature(15.0)
    explorer.step_frames(2)     # the slider places its thumb when a frame is drawn

    after = quad_box(panel, index)
    thumb_x = slider.thumb.getX(panel.root)
    assert after[0] > before[0] + 0.2
    assert (after[0] + after[2]) / 2 == pytest.approx(thumb_x, abs=1e-5)


def test_toggle_lights_with_overlay(explorer, panel):
    index = panel.quad_of[panel.overlay_buttons["help"]]

    explorer.toggle_help()

    np.testing.assert_allclose(quad_color(panel, index), controls.TOGGLE_ON_COLORS[PGButton.S_ready])


def test_progress_fill_grows_with_epochs(explorer, panel):
    explorer.training_budget_s = None
    explorer.set_speed(10.0)
    explorer.set_training(True)
    explorer.step_frames(3, 0.1)

    x0, _, x1, _ = quad_box(panel, panel.progress_quad)
    full = controls.PANEL_RIGHT - controls.PANEL_LEFT - 2 * controls.INSET
    assert (x1 - x0) / full == pytest.approx(panel.progress_fraction, abs=1e-5)
    assert panel.progress_fraction == pytest.approx(3 / 60, abs=0.02)
