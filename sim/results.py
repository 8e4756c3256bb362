"""Saving and loading trained students, and exporting training curves as CSV."""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np

from sim.errors import AssetError
from sim.model import MLP, load_mlp
from sim.training import Distiller, EpochRecord

log = logging.getLogger(__name__)

REBUILD_STUDENT = "save a student again with `kd-sim train-student --save PATH` or the explorer's save key"
CURVE_COLUMNS = ("epoch", "soft_loss", "hard_loss", "total_loss", "accuracy", "temperature", "alpha")


def check_writable(path: Path, what: str) -> Path:
    """Return path as a Path, or raise OSError naming the folder when it cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise OSError(f"cannot write {what} to {path}: {folder} is a file, not a folder; choose another path")
    if not folder.is_dir():
        raise OSError(f"cannot write {what} to {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise OSError(f"cannot write {what} to {path}: it is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OSError(f"cannot write {what} to {path}: folder {folder} is not writable; choose another folder")
    return path


def save_student(distiller: Distiller, path: Path) -> Path:
    """Write the student's weights, layer sizes, tau, alpha, seed and epoch to a .npz file."""
    path = check_writable(path, "the student")
    config = distiller.config
    try:
        distiller.student.save(
            path,
            temperature=config.temperature,
            alpha=config.alpha,
            seed=config.seed,
            epoch=distiller.epoch,
            omit_class=-1 if config.omit_class is None else config.omit_class,
        )
    except OSError as error:
        raise OSError(f"cannot write the student to {path}: {error.strerror or error}") from error
    return path


def load_student(distiller: Distiller, path: Path) -> dict:
    """Replace the distiller's student with the one saved at `path`; return its metadata.

    Raises AssetError for a missing or damaged file or layer sizes other than the distiller's,
    and leaves the current student untouched in that case. The optimiser state restarts.
    """
    model, metadata = load_mlp(path, "student", REBUILD_STUDENT, distiller.config.student_sizes)
    for key in ("temperature", "alpha", "seed"):
        if key not in metadata or metadata[key].shape != ():
            raise AssetError(f"student file {path} has no scalar '{key}' entry; {REBUILD_STUDENT}")

    distiller.student.params[...] = model.params
    distiller.adam_m[...] = 0.0
    distiller.adam_v[...] = 0.0
    distiller.adam_step = 0
    distiller.refresh_accuracy()
    info = {key: value.item() for key, value in metadata.items()}
    log.info("loaded student from %s (tau %.2f, alpha %.2f, seed %d)",
             path, info["temperature"], info["alpha"], info["seed"])
    return info


def load_student_model(path: Path, sizes) -> MLP:
    """Load a saved student as a bare MLP, checking its layer sizes."""
    model, _ = load_mlp(path, "student", REBUILD_STUDENT, sizes)
    return model


def write_curves(path: Path, history: list[EpochRecord],
                 scratch_history: list[EpochRecord] | None = None) -> Path:
    """Write one CSV row per epoch; with a race, add the scratch student's accuracy column."""
    path = check_writable(path, "the training curves")
    columns = list(CURVE_COLUMNS)
    if scratch_history is not None:
        columns.append("scratch_accuracy")
    scratch_by_epoch = {r.epoch: r.accuracy for r in scratch_history or []}

    try:
        with open(path, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(columns)
            for record in history:
                row = [record.epoch, f"{record.soft_loss:.6f}", f"{record.hard_loss:.6f}",
                       f"{record.total_loss:.6f}", f"{record.accuracy:.6f}",
                       f"{record.temperature:g}", f"{record.alpha:g}"]
                if scratch_history is not None:
                    scratch = scratch_by_epoch.get(record.epoch)
                    row.append("" if scratch is None else f"{scratch:.6f}")
                writer.writerow(row)
    except OSError as error:
        raise OSError(f"cannot write the training curves to {path}: {error.strerror or error}") from error

    log.info("wrote %d epochs of training curves to %s", len(history), path)
    return path


def read_curves(path: Path) -> list[dict]:
    """Read a curves CSV back as a list of dicts of floats (for tests and scripts)."""
    with open(path, newline="") as stream:
        return [{key: float(value) if value else np.nan for key, value in row.items()}
                for row in csv.DictReader(stream)]
