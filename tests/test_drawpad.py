"""DrawPad: drawn pixels reach the lab unchanged, the mouse paints and erases, buttons work."""

import numpy as np
import pytest
from panda3d.core import Point3

from game.drawpad import BRUSH_NEIGHBOUR, CLEAR_BUTTON, GRID, SAMPLE_BUTTON, DrawPad


class FakeMouseWatcher:
    """Stands in for MouseWatcher: a pointer in render2d coordinates, or none."""

    def __init__(self):
        self.position = None

    def hasMouse(self):
        return self.position is not None

    def getMouse(self):
        return self.position


@pytest.fixture
def mouse():
    return FakeMouseWatcher()


@pytest.fixture
def pad(panda_base, lab, mouse):
    pad = DrawPad(panda_base.aspect2d, lab, mouse)
    pad.show()
    yield pad
    pad.destroy()


def center_of(pad, row, col):
    """Return pad (x, z) coordinates of the middle of cell (row, col)."""
    x0, _, _, z1 = GRID
    return x0 + (col + 0.5) * pad.cell_size, z1 - (row + 0.5) * pad.cell_size


def point_mouse_at(pad, mouse, x, z):
    """Place the fake pointer over pad coordinates (x, z), converted to render2d."""
    point = pad.root.getTop().getRelativePoint(pad.root, Point3(x, 0, z))
    mouse.position = (point[0], point[2])


def test_starts_hidden_mirroring_sample(panda_base, lab, mouse):
    pad = DrawPad(panda_base.aspect2d, lab, mouse)
    assert not pad.visible
    np.testing.assert_array_equal(pad.image.ravel(), lab.current_image)
    assert lab.custom_image is None
    pad.destroy()


def test_painted_image_reaches_lab_unchanged(pad, lab):
    pad.clear()
    pad.paint(2, 3, 1.0)
    pad.paint(5, 1, 0.25)

    assert pad.image.shape == (8, 8)
    assert pad.image.dtype == np.float32
    assert lab.current_label is None
    np.testing.assert_array_equal(lab.current_image, pad.image.ravel())
    assert lab.current_image[2 * 8 + 3] == 1.0
    assert lab.current_image[5 * 8 + 1] == 0.25
    assert lab.current_image.sum() == pytest.approx(1.25)


def test_soft_brush_touches_neighbours(pad):
    pad.clear()
    changed = pad.stroke(4, 4)

    assert changed
    assert pad.image[4, 4] == 1.0
    for row, col in ((3, 4), (5, 4), (4, 3), (4, 5)):
        assert pad.image[row, col] == pytest.approx(BRUSH_NEIGHBOUR)
    assert pad.image[3, 3] == 0.0
    assert not pad.stroke(4, 4)


def test_paint_rejects_out_of_range(pad):
    with pytest.raises(ValueError, match="out of range"):
        pad.paint(0, 0, 1.5)


def test_mouse_drag_paints_then_erases(pad, lab, mouse):
    pad.clear()
    point_mouse_at(pad, mouse, *center_of(pad, 1, 2))
    assert pad.on_mouse_down("left")
    point_mouse_at(pad, mouse, *center_of(pad, 1, 5))
    pad.update(1 / 60)
    pad.on_mouse_up()

    assert pad.image[1, 2] == 1.0
    assert pad.image[1, 5] == 1.0
    np.testing.assert_array_equal(lab.current_image, pad.image.ravel())

    assert pad.on_mouse_down("mouse3")
    pad.on_mouse_up()
    assert pad.image[1, 5] == 0.0
    np.testing.assert_array_equal(lab.current_image, pad.image.ravel())


def test_released_mouse_stops_painting(pad, mouse):
    pad.clear()
    point_mouse_at(pad, mouse, *center_of(pad, 6, 6))
    pad.update(1 / 60)
    assert pad.image.sum() == 0.0
    assert pad.hover_cell == (6, 6)


def test_clicks_outside_are_not_consumed(pad, mouse):
    point_mouse_at(pad, mouse, 1.5, 0.9)
    assert not pad.on_mouse_down("left")
    mouse.position = None
    assert not pad.on_mouse_down("left")

    pad.hide()
    point_mouse_at(pad, mouse, *center_of(pad, 0, 0))
    assert not pad.on_mouse_down("left")


def test_buttons_clear_and_use_sample(pad, lab, mouse):
    lab.set_sample(7)
    pad.stroke(3, 3)

    x0, z0, x1, z1 = CLEAR_BUTTON
    point_mouse_at(pad, mouse, (x0 + x1) / 2, (z0 + z1) / 2)
    assert pad.on_mouse_down("left")
    assert pad.image.sum() == 0.0
    np.testing.assert_array_equal(lab.current_image, np.zeros(64))

    x0, z0, x1, z1 = SAMPLE_BUTTON
    point_mouse_at(pad, mouse, (x0 + x1) / 2, (z0 + z1) / 2)
    assert pad.on_mouse_down("left")
    assert lab.custom_image is None
    assert lab.sample_index == 7
    np.testing.assert_array_equal(pad.image.ravel(), lab.split.test_images[7])


def test_idle_pad_follows_sample_changes(pad, lab):
    lab.set_sample(11)
    pad.update(1 / 60)
    np.testing.assert_array_equal(pad.image.ravel(), lab.split.test_images[11])
    assert "label" in pad.status.node().getText()


def test_destroy_removes_all_nodes(panda_base, lab, mouse):
    parent = panda_base.aspect2d.attachNewNode("parent")
    pad = DrawPad(parent, lab, mouse)
    pad.show()
    pad.stroke(0, 0)
    pad.destroy()
    assert parent.getNumChildren() == 0
