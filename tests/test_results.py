"""Saving and loading students and exporting curves."""

import os

import numpy as np
import pytest

from sim.errors import AssetError
from sim.model import MLP
from sim.results import load_student, read_curves, save_student, write_curves
from sim.training import Distiller, TrainingConfig


@pytest.fixture
def trained(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=3, seed=2, temperature=6, alpha=0.4))
    distiller.run()
    return distiller


def test_save_load_round_trip_reproduces_predictions(trained, teacher, split, tmp_path):
    path = save_student(trained, tmp_path / "student.npz")
    other = Distiller(teacher, split, TrainingConfig(epochs=3, seed=9))

    info = load_student(other, path)

    np.testing.assert_array_equal(other.student.params, trained.student.params)
    np.testing.assert_array_equal(other.student.logits(split.test_images), trained.student.logits(split.test_images))
    assert other.student_accuracy == trained.student_accuracy
    assert info["temperature"] == 6
    assert info["alpha"] == pytest.approx(0.4)
    assert info["seed"] == 2
    assert info["epoch"] == 3


def test_wrong_shapes_leave_student_untouched(trained, tmp_path):
    path = tmp_path / "wide.npz"
    MLP.initialised((64, 32, 10), seed=0).save(path, temperature=3.0, alpha=0.5, seed=0)
    before = trained.student.params.copy()

    with pytest.raises(AssetError, match=r"layer sizes \(64, 32, 10\), expected \(64, 16, 10\)"):
        load_student(trained, path)

    np.testing.assert_array_equal(trained.student.params, before)


def test_damaged_file_leaves_student_untouched(trained, tmp_path):
    path = tmp_path / "student.npz"
    save_student(trained, path)
    path.write_bytes(path.read_bytes()[:100])
    before = trained.student.params.copy()

    with pytest.raises(AssetError, match="damaged"):
        load_student(trained, path)

    np.testing.assert_array_equal(trained.student.params, before)


def test_file_without_settings_rejected(trained, tmp_path):
    path = tmp_path / "bare.npz"
    trained.student.save(path)

    with pytest.raises(AssetError, match="no scalar 'temperature'"):
        load_student(trained, path)


def test_curves_csv_round_trip(trained, tmp_path):
    path = write_curves(tmp_path / "curves.csv", trained.history)

    rows = read_curves(path)

    assert len(rows) == 3
    for row, record in zip(rows, trained.history):
        assert row["epoch"] == record.epoch
        assert row["total_loss"] == pytest.approx(record.total_loss, abs=1e-6)
        assert row["accuracy"] == pytest.approx(record.accuracy, abs=1e-6)
        assert row["temperature"] == 6


def test_read_only_folder_rejected(trained, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:
        # Root bypasses permission bits, so report the folder as read-only the way os does.
        monkeypatch.setattr("sim.results.os.access", lambda path, mode: False)

    with pytest.raises(OSError, match="folder .*locked is not writable; choose another folder"):
        write_curves(folder / "curves.csv", trained.history)


def test_missing_folder_rejected(trained, tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        save_student(trained, tmp_path / "nowhere" / "student.npz")
