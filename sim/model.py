"""Multilayer perceptrons: the teacher, the student and their weight files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sim import kernels
from sim.data import ASSETS_DIR, N_CLASSES, N_PIXELS, open_npz
from sim.errors import AssetError

log = logging.getLogger(__name__)

TEACHER_SIZES = (N_PIXELS, 128, 128, 64, N_CLASSES)
STUDENT_SIZES = (N_PIXELS, 16, N_CLASSES)
TEACHER_PATH = ASSETS_DIR / "teacher.npz"
REBUILD_TEACHER = "run `kd-sim train-teacher` to rebuild it"


def count_params(sizes) -> int:
    """Return the number of weights and biases of an MLP with these layer widths."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


class MLP:
    """A ReLU multilayer perceptron with float32 parameters in one flat vector.

    The layout of `params` is the one sim.kernels documents: per layer, W as (n_in, n_out)
    row-major, then b.
    """

    def __init__(self, sizes, params: np.ndarray | None = None):
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer sizes {sizes} are invalid: need at least two positive widths")
        self.sizes = sizes
        self.sizes_array = np.array(sizes, dtype=np.int64)

        expected = count_params(sizes)
        if params is None:
            params = np.zeros(expected, dtype=np.float32)
        if params.shape != (expected,):
            raise ValueError(
                f"parameter vector has shape {params.shape}, expected ({expected},) for sizes {sizes}"
            )
        self.params = np.ascontiguousarray(params, dtype=np.float32)

    @classmethod
    def initialised(cls, sizes, seed: int) -> "MLP":
        """Return a network with He-normal weights and zero biases drawn from `seed`."""
        model = cls(sizes)
        rng = np.random.default_rng([seed, 0])
        for weights, _ in model.layers():
            weights[...] = rng.normal(0.0, np.sqrt(2.0 / weights.shape[0]), weights.shape)
        return model

    @property
    def param_count(self) -> int:
        return self.params.size

    @property
    def depth(self) -> int:
        """Number of weight layers."""
        return len(self.sizes) - 1

    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Return (W, b) views into params, W as (n_in, n_out); writes go to the network."""
        layers, position = [], 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            weights = self.params[position:position + n_in * n_out].reshape(n_in, n_out)
            position += n_in * n_out
            layers.append((weights, self.params[position:position + n_out]))
            position += n_out
        return layers

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Return logits (batch, classes) for inputs x (batch, inputs), inference mode."""
        x = np.ascontiguousarray(np.atleast_2d(x), dtype=np.float32)
        return kernels.predict_logits(self.params, self.sizes_array, x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the predicted class of each input row."""
        return self.logits(x).argmax(axis=1)

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Return every layer's output for one input (inputs,), the input first, logits last."""
        x = np.ascontiguousarray(np.reshape(x, (1, self.sizes[0])), dtype=np.float32)
        starts = np.concatenate([[0], np.cumsum(self.sizes)])
        acts = np.empty(starts[-1], dtype=np.float32)
        kernels.forward(self.params, self.sizes_array, x, acts, np.empty((0, 0), np.float32))
        return [acts[starts[l]:starts[l + 1]].copy() for l in range(len(self.sizes))]

    def copy(self) -> "MLP":
        return type(self)(self.sizes, self.params.copy())

    def save(self, path: Path, **metadata) -> None:
        """Write sizes, params and scalar metadata to a .npz file."""
        extras = {key: np.asarray(value) for key, value in metadata.items()}
        np.savez_compressed(path, sizes=self.sizes_array, params=self.params, **extras)
        log.info("wrote %s (%s, %d parameters)", path, self.sizes, self.param_count)

    @property
    def widths(self) -> str:
        """Layer widths as the field writes them, e.g. "64-16-10"."""
        return "-".join(str(n) for n in self.sizes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.widths}, {self.param_count} params)"


def load_mlp(path: Path, what: str, rebuild: str, expected_sizes=None) -> tuple[MLP, dict]:
    """Load an MLP and its metadata from a .npz file, checking every shape.

    Raises AssetError naming the file, what was expected and `rebuild`.
    """
    arrays = open_npz(path, what, rebuild)
    for key in ("sizes", "params"):
        if key not in arrays:
            raise AssetError(
                f"{what} file {path} has no '{key}' array (found {sorted(arrays)}); {rebuild}"
            )

    sizes = arrays["sizes"]
    if sizes.ndim != 1 or sizes.size < 2 or not np.issubdtype(sizes.dtype, np.integer) or sizes.min() < 1:
        raise AssetError(
            f"{what} file {path} has invalid layer sizes {sizes.tolist()}; {rebuild}"
        )
    sizes = tuple(int(n) for n in sizes)
    if expected_sizes is not None and sizes != tuple(expected_sizes):
        raise AssetError(
            f"{what} file {path} has layer sizes {sizes}, expected {tuple(expected_sizes)}; {rebuild}"
        )

    params = arrays["params"]
    expected = count_params(sizes)
    if params.shape != (expected,):
        raise AssetError(
            f"{what} file {path} has parameters of shape {params.shape}, expected ({expected},) "
            f"for layer sizes {sizes}; {rebuild}"
        )
    if not np.all(np.isfinite(params)):
        raise AssetError(f"{what} file {path} contains NaN or infinite parameters; {rebuild}")

    metadata = {key: value for key, value in arrays.items() if key not in ("sizes", "params")}
    return MLP(sizes, params.astype(np.float32)), metadata


def load_teacher(path: Path = TEACHER_PATH) -> MLP:
    """Load the shipped, trained teacher."""
    teacher, metadata = load_mlp(path, "teacher weights", REBUILD_TEACHER, TEACHER_SIZES)
    log.info("loaded teacher %r from %s", teacher, path)
    return teacher
