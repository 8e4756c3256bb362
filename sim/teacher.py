"""Training the teacher with dropout and input jitter, deterministically from a seed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from sim import kernels
from sim.data import DigitSplit, shift_images
from sim.metrics import accuracy
from sim.model import MLP, TEACHER_SIZES
from sim.progress import ProgressBar

log = logging.getLogger(__name__)

TEACHER_EPOCHS = 120
TEACHER_SEED = 0
TEACHER_BATCH = 64
TEACHER_LEARNING_RATE = 1e-3
# Probability of keeping a hidden unit. Hinton, Vinyals and Dean (2015) used dropout and
# shifted inputs so that the teacher's soft targets carry similarity information.
TEACHER_KEEP = 0.8
# Fraction of training images shifted by one pixel in a random direction each epoch.
JITTER_FRACTION = 0.5


@dataclass(frozen=True)
class TeacherRun:
    teacher: MLP
    held_out_accuracy: float
    epochs: int
    seed: int


def jitter(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a copy with JITTER_FRACTION of the images shifted one pixel at random."""
    shifts = rng.integers(-1, 2, size=(len(images), 2))
    shifts[rng.random(len(images)) >= JITTER_FRACTION] = 0
    return shift_images(images, shifts)


def train_teacher(
    split: DigitSplit,
    sizes=TEACHER_SIZES,
    epochs: int = TEACHER_EPOCHS,
    seed: int = TEACHER_SEED,
    show_progress: bool = False,
) -> TeacherRun:
    """Train a teacher on the training split with dropout, input jitter and Adam."""
    teacher = MLP.initialised(sizes, seed)
    rng = np.random.default_rng([seed, 2])
    sizes_array = teacher.sizes_array
    n_hidden = int(sum(sizes[1:-1]))
    n_units = int(sum(sizes))
    m = np.zeros_like(teacher.params)
    v = np.zeros_like(teacher.params)
    grads = np.zeros_like(teacher.params)
    no_teacher = np.empty((0, sizes[-1]), dtype=np.float32)
    acts = np.empty(TEACHER_BATCH * n_units, dtype=np.float32)
    deltas = np.empty_like(acts)
    step = 0

    bar = ProgressBar("training teacher", epochs) if show_progress else None
    log.info("training teacher %s for %d epochs, seed %d", sizes, epochs, seed)

    for epoch in range(epochs):
        images = jitter(split.train_images, rng)
        order = rng.permutation(len(images))
        losses = []

        for start in range(0, len(order), TEACHER_BATCH):
            batch = order[start:start + TEACHER_BATCH]
            x = np.ascontiguousarray(images[batch])
            masks = (rng.random((len(batch), n_hidden)) < TEACHER_KEEP).astype(np.float32)
            masks /= TEACHER_KEEP
            step += 1
            _, hard, _ = kernels.train_step(
                teacher.params, sizes_array, x, no_teacher, split.train_labels[batch], masks,
                1.0, 0.0, TEACHER_LEARNING_RATE, m, v, step, acts, deltas, grads,
            )
            losses.append(hard)

        if bar is not None:
            bar.update(epoch + 1, f"loss {np.mean(losses):.4f}")

    if bar is not None:
        bar.close()

    held_out = accuracy(teacher, split.test_images, split.test_labels)
    log.info("teacher trained: held-out accuracy %.4f", held_out)
    return TeacherRun(teacher, held_out, epochs, seed)
