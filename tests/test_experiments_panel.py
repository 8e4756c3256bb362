"""The experiments overlay: held-out class, save, load and export from the explorer."""

import numpy as np
import pytest
from direct.gui import DirectGuiGlobals as DGG
from panda3d.core import PGButton

from game.controls import BUTTON_COLORS, PAUSE_COLORS
from game.experiments_panel import BOX, PANEL_COLOR, PRESS_SCALE
from sim.results import read_curves


@pytest.fixture
def panel(explorer, tmp_path):
    explorer.experiments.results_dir = tmp_path
    return explorer.experiments




def face(panel, button):
    """Return the box (x0, z0, x1, z1) and the RGBA colour that `button`'s face was last drawn with."""
    index = next(index for widget, index, _, _ in panel.buttons if widget is button)
    return panel.quads.written_boxes[index], panel.quads.written_colors[index]


def test_panel_starts_hidden_and_toggles(explorer, panel):
    assert not panel.visible

    explorer.base.messenger.send("x")

    assert panel.visible


def test_choosing_digit_omits_it_from_training(explorer, panel):
    panel.choose_digit(3)
    explorer.set_training(True)
    explorer.step_frames(60, 1.0 / 10.0)

    assert explorer.lab.omitted_class == 3
    assert 3 not in explorer.lab.distiller.transfer_labels
    assert explorer.lab.distiller.epoch > 0
    panel._refresh(force=True)
    result = explorer.lab.omitted_class_result()
    assert f"{result.accuracy_after:.0%}" in panel.text("result")
    assert f"+{result.bias_shift:.2f}" in panel.text("result")


def test_choosing_none_restores_every_digit(explorer, panel):
    panel.choose_digit(5)
    panel.choose_digit(None)

    assert explorer.lab.omitted_class is None
    assert len(explorer.lab.distiller.transfer_labels) == len(explorer.lab.split.train_labels)


def test_save_then_load_restores_predictions(explorer, panel):
    explorer.set_training(True)
    explorer.step_frames(20, 1.0 / 10.0)
    saved = panel.save_student()
    expected = explorer.lab.student.logits(explorer.lab.split.test_images)
    explorer.reset_student()

    loaded = panel.load_student()

    assert loaded == saved
    np.testing.assert_array_equal(explorer.lab.student.logits(explorer.lab.split.test_images), expected)


def test_damaged_file_keeps_student(explorer, panel, tmp_path):
    bad = tmp_path / "student-broken.npz"
    bad.write_bytes(b"not a numpy archive")
    before = explorer.lab.student.params.copy()

    assert panel.load_student(bad) is None

    np.testing.assert_array_equal(explorer.lab.student.params, before)
    assert "damaged" in panel.status
    assert panel.visible


def test_load_without_saved_student(panel):
    assert panel.load_student() is None

    assert "no saved student" in panel.status


def test_export_curves_writes_history(explorer, panel):
    explorer.set_training(True)
    explorer.step_frames(40, 1.0 / 10.0)

    path = panel.export_curves()

    rows = read_curves(path)
    assert len(rows) == len(explorer.lab.distiller.history) > 0


def test_unwritable_results_folder(explorer, panel, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    panel.results_dir = blocker / "results"

    assert panel.save_student() is None

    assert panel.status.startswith("could not save the student")
    assert "cannot create folder" in panel.status
    assert "choose another --capture-dir" in panel.status
    assert "Errno" not in panel.status


def test_file_as_results_folder(explorer, panel, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    panel.results_dir = blocker
    explorer.set_training(True)
    explorer.step_frames(20, 1.0 / 10.0)

    assert panel.export_curves() is None

    assert panel.status == f"could not export the curves: {blocker} is a file, not a folder; start the explorer with another --capture-dir"


def test_keys_reach_panel_actions(explorer, panel, tmp_path):
    explorer.base.messenger.send("control-s")

    assert list(tmp_path.glob("student-*.npz"))


def test_button_face_follows_pointer_state(panel):
    button = panel.digit_buttons[4]
    panel.show()
    _, color = face(panel, button)
    np.testing.assert_allclose(color, BUTTON_COLORS[PGButton.S_ready])

    button.guiItem.setState(PGButton.S_rollover)
    panel.update(0.0)
    _, color = face(panel, button)
    np.testing.assert_allclose(color, BUTTON_COLORS[PGButton.S_rollover])


def test_pressed_button_shrinks_with_label(panel):
    button = panel.digit_buttons[4]
    panel.show()
    ready_box, _ = face(panel, button)
    label = next(label for widget, _, label, _ in panel.buttons if widget is button)
    ready_scale = label.getScale()[0]

    button.guiItem.setState(PGButton.S_depressed)
    panel.update(0.0)

    pressed_box, color = face(panel, button)
    np.testing.assert_allclose(color, BUTTON_COLORS[PGButton.S_depressed])
    np.testing.assert_allclose(pressed_box[2] - pressed_box[0], PRESS_SCALE * (ready_box[2] - ready_box[0]),
                               rtol=1e-5)
    np.testing.assert_allclose(pressed_box[[0, 2]].mean(), ready_box[[0, 2]].mean(), atol=1e-6)
    assert label.getScale()[0] == pytest.approx(PRESS_SCALE * ready_scale)
    assert label.node().getText() == "4"


def test_chosen_digit_wears_pause_colours(panel):
    panel.show()

    panel.choose_digit(6)

    _, chosen = face(panel, panel.digit_buttons[6])
    _, other = face(panel, panel.digit_buttons[None])
    np.testing.assert_allclose(chosen, PAUSE_COLORS[PGButton.S_ready])
    np.testing.assert_allclose(other, BUTTON_COLORS[PGButton.S_ready])
    np.testing.assert_allclose(panel.quads.written_colors[0], PANEL_COLOR)


def test_button_regions_match_faces(explorer, panel, watcher):
    panel.show()
    explorer.step_frames(1)

    assert len(panel.buttons) == 14
    for button, index, _, _ in panel.buttons:
        x0, z0, x1, z1 = panel.quads.written_boxes[index]
        middle = explorer.base.render2d.getRelativePoint(panel.root, ((x0 + x1) / 2, 0, (z0 + z1) / 2))
        region = watcher.getOverRegion(middle[0], middle[2])
        assert region is not None, button
        assert region.getName() == button.guiItem.getId(), button


def test_gap_between_buttons_is_panel(explorer, panel, watcher):
    panel.show()
    explorer.step_frames(1)
    x0, x1, z0, z1 = BOX
    point = explorer.base.render2d.getRelativePoint(panel.root, (x1 - 0.01, 0, z0 + 0.01))

    region = watcher.getOverRegion(point[0], point[2])

    assert region is not None
    assert region.getName() == panel.root.guiItem.getId()


def test_click_event_chooses_digit(explorer, panel):
    button = panel.digit_buttons[2]

    explorer.base.messenger.send(DGG.B1CLICK + button.guiId, [None])

    assert explorer.lab.omitted_class == 2
