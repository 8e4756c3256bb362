"""The UCI handwritten digits: loading, checking and the fixed train/held-out split.

The images are the 8x8 "Optical Recognition of Handwritten Digits" set as scikit-learn bundles
it (Alpaydin and Kaynak, 1998; licence CC BY 4.0), stored in assets/digits.npz.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.errors import AssetError

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
DIGITS_PATH = ASSETS_DIR / "digits.npz"

IMAGE_SIDE = 8
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10
PIXEL_MAX = 16

SPLIT_SEED = 1503
HELD_OUT_FRACTION = 0.2

REBUILD_DIGITS = (
    "restore it with `git checkout -- assets/digits.npz`, or rebuild it with "
    "`python assets/extract_digits.py` (needs scikit-learn)"
)


@dataclass(frozen=True)
class DigitSplit:
    """Pixels scaled to [0, 1] as (n, 64) float32 rows, labels as (n,) int64."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __repr__(self) -> str:
        return f"DigitSplit(train={len(self.train_labels)}, held_out={len(self.test_labels)})"


def open_npz(path: Path, what: str, rebuild: str) -> dict[str, np.ndarray]:
    """Read every array of a .npz file, turning any read failure into an AssetError."""
    path = Path(path)
    if path.is_dir():
        raise AssetError(f"{what} file {path} is a folder, not a .npz file; {rebuild}")
    if not path.is_file():
        raise AssetError(f"{what} file {path} is missing; {rebuild}")

    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            # np.load returns a bare array for a .npy file.
            raise ValueError("not a .npz archive")
        with archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        # NumPy's own text for a non-archive suggests allow_pickle, which must not be used on
        # files of unknown origin, so the message gives only the error's type.
        raise AssetError(
            f"{what} file {path} is damaged or not a NumPy .npz archive "
            f"({type(error).__name__}); {rebuild}"
        ) from error


def load_digits(path: Path = DIGITS_PATH) -> tuple[np.ndarray, np.ndarray]:
    """Load the raw digits: images (n, 8, 8) uint8 in 0..16 and labels (n,) uint8 in 0..9."""
    arrays = open_npz(path, "digits", REBUILD_DIGITS)

    for key in ("images", "labels"):
        if key not in arrays:
            raise AssetError(
                f"digits file {path} has no '{key}' array (found {sorted(arrays)}); {REBUILD_DIGITS}"
            )
    images, labels = arrays["images"], arrays["labels"]

    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise AssetError(
            f"digits file {path} has images of shape {images.shape}, expected (n, 8, 8); "
            f"{REBUILD_DIGITS}"
        )
    if labels.shape != (images.shape[0],):
        raise AssetError(
            f"digits file {path} has labels of shape {labels.shape}, expected ({images.shape[0]},) "
            f"to match the images; {REBUILD_DIGITS}"
        )
    if images.size == 0 or images.min() < 0 or images.max() > PIXEL_MAX:
        raise AssetError(
            f"digits file {path} has pixel values outside 0..{PIXEL_MAX} or no images; "
            f"{REBUILD_DIGITS}"
        )
    if labels.min() < 0 or labels.max() >= N_CLASSES:
        raise AssetError(
            f"digits file {path} has labels outside 0..{N_CLASSES - 1}; {REBUILD_DIGITS}"
        )

    log.info("loaded %d digits from %s", len(labels), path)
    return images, labels


def split_digits(
    images: np.ndarray,
    labels: np.ndarray,
    held_out_fraction: float = HELD_OUT_FRACTION,
    seed: int = SPLIT_SEED,
) -> DigitSplit:
    """Split into train and held-out sets, stratified by class, with a fixed seed."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []

    for digit in range(N_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_test = int(round(len(members) * held_out_fraction))
        test_idx.append(members[:n_test])
        train_idx.append(members[n_test:])

    train = rng.permutation(np.concatenate(train_idx))
    test = np.sort(np.concatenate(test_idx))
    pixels = images.reshape(len(images), N_PIXELS).astype(np.float32) / PIXEL_MAX

    return DigitSplit(
        train_images=np.ascontiguousarray(pixels[train]),
        train_labels=labels[train].astype(np.int64),
        test_images=np.ascontiguousarray(pixels[test]),
        test_labels=labels[test].astype(np.int64),
    )


@lru_cache(maxsize=4)
def load_split(path: Path = DIGITS_PATH) -> DigitSplit:
    """Load the digits file and return its fixed split; cached per path."""
    images, labels = load_digits(Path(path))
    return split_digits(images, labels)


def shift_images(images: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each (64,) image by (dy, dx) whole pixels, filling the uncovered border with 0.

    images: (n, 64); shifts: (n, 2) integers. This is the input jitter that Hinton, Vinyals
    and Dean (2015) used to regularise their MNIST teacher.
    """
    grids = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    out = np.zeros_like(grids)

    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
            if rows.size == 0:
                continue
            src = grids[rows]
            dst_y = slice(max(dy, 0), IMAGE_SIDE + min(dy, 0))
            src_y = slice(max(-dy, 0), IMAGE_SIDE + min(-dy, 0))
            dst_x = slice(max(dx, 0), IMAGE_SIDE + min(dx, 0))
            src_x = slice(max(-dx, 0), IMAGE_SIDE + min(-dx, 0))
            shifted = np.zeros_like(src)
            shifted[:, dst_y, dst_x] = src[:, src_y, src_x]
            out[rows] = shifted

    return out.reshape(images.shape)
