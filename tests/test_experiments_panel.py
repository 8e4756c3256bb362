"""The experiments overlay: held-out class, save, load and export from the explorer."""

import numpy as np
import pytest

from sim.results import read_curves


@pytest.fixture
def panel(explorer, tmp_path):
    explorer.experiments.results_dir = tmp_path
    return explorer.experiments


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
    assert f"{result.accuracy_after:.0%}" in panel.result_label["text"]
    assert f"+{result.bias_shift:.2f}" in panel.result_label["text"]


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
