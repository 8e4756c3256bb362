"""Missing, damaged and wrongly shaped data and weights files."""

import numpy as np
import pytest

from sim.data import load_digits
from sim.errors import AssetError
from sim.model import TEACHER_SIZES, MLP, load_teacher


def write_digits(path, images, labels):
    np.savez_compressed(path, images=images, labels=labels)
    return path


def test_missing_digits_file(tmp_path):
    with pytest.raises(AssetError, match=r"digits file .*nope.npz is missing; .*extract_digits.py"):
        load_digits(tmp_path / "nope.npz")


def test_corrupt_digits_file(tmp_path):
    path = tmp_path / "digits.npz"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")

    with pytest.raises(AssetError, match=r"digits file .* is damaged .*extract_digits.py"):
        load_digits(path)


def test_truncated_digits_file(tmp_path):
    good = write_digits(tmp_path / "good.npz", np.zeros((5, 8, 8), np.uint8), np.zeros(5, np.uint8))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:60])

    with pytest.raises(AssetError, match="damaged"):
        load_digits(cut)


@pytest.mark.parametrize("images,labels,message", [
    (np.zeros((5, 9, 9), np.uint8), np.zeros(5, np.uint8), r"images of shape \(5, 9, 9\), expected \(n, 8, 8\)"),
    (np.zeros((5, 8, 8), np.uint8), np.zeros(4, np.uint8), r"labels of shape \(4,\), expected \(5,\)"),
    (np.full((5, 8, 8), 17, np.uint8), np.zeros(5, np.uint8), "pixel values outside 0..16"),
    (np.zeros((5, 8, 8), np.uint8), np.full(5, 10, np.uint8), "labels outside 0..9"),
])
def test_wrongly_shaped_digits(tmp_path, images, labels, message):
    path = write_digits(tmp_path / "digits.npz", images, labels)

    with pytest.raises(AssetError, match=message):
        load_digits(path)


def test_digits_without_labels(tmp_path):
    path = tmp_path / "digits.npz"
    np.savez(path, images=np.zeros((5, 8, 8), np.uint8))

    with pytest.raises(AssetError, match="no 'labels' array"):
        load_digits(path)


def test_missing_teacher_file(tmp_path):
    with pytest.raises(AssetError, match=r"teacher weights file .* is missing; run `kd-sim train-teacher`"):
        load_teacher(tmp_path / "teacher.npz")


def test_corrupt_teacher_file(tmp_path):
    path = tmp_path / "teacher.npz"
    path.write_bytes(b"\x00" * 100)

    with pytest.raises(AssetError, match=r"damaged .*kd-sim train-teacher"):
        load_teacher(path)


def test_teacher_with_wrong_sizes(tmp_path):
    path = tmp_path / "teacher.npz"
    MLP.initialised((64, 100, 10), seed=0).save(path)

    with pytest.raises(AssetError, match=r"layer sizes \(64, 100, 10\), expected \(64, 128, 128, 64, 10\)"):
        load_teacher(path)


def test_teacher_with_wrong_param_count(tmp_path):
    path = tmp_path / "teacher.npz"
    np.savez(path, sizes=np.array(TEACHER_SIZES), params=np.zeros(100, np.float32))

    with pytest.raises(AssetError, match=r"parameters of shape \(100,\), expected \(33738,\)"):
        load_teacher(path)


def test_teacher_with_nan(tmp_path):
    path = tmp_path / "teacher.npz"
    model = MLP.initialised(TEACHER_SIZES, seed=0)
    model.params[7] = np.nan
    model.save(path)

    with pytest.raises(AssetError, match="NaN or infinite"):
        load_teacher(path)


def test_text_file_message_has_no_pickle_advice(tmp_path):
    path = tmp_path / "teacher.npz"
    path.write_text("just some notes, not weights\n")

    with pytest.raises(AssetError) as error:
        load_teacher(path)

    assert "not a NumPy .npz archive" in str(error.value)
    assert "pickle" not in str(error.value)


def test_npy_file_is_not_an_archive(tmp_path):
    path = tmp_path / "teacher.npz"
    with open(path, "wb") as stream:
        np.save(stream, np.zeros(3))

    with pytest.raises(AssetError, match="not a NumPy .npz archive"):
        load_teacher(path)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(AssetError, match="is a folder, not a .npz file"):
        load_teacher(tmp_path)
