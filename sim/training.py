"""The distillation trainer that the explorer ticks once per frame."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from sim import kernels
from sim.data import N_CLASSES, DigitSplit
from sim.errors import SettingError
from sim.metrics import accuracy
from sim.model import MLP, STUDENT_SIZES

log = logging.getLogger(__name__)

TEMPERATURE_RANGE = (1.0, 20.0)
ALPHA_RANGE = (0.0, 1.0)

DEFAULT_TEMPERATURE = 3.0
DEFAULT_ALPHA = 0.7
DEFAULT_LEARNING_RATE = 0.01
DEFAULT_BATCH_SIZE = 64
DEFAULT_EPOCHS = 60


def check_temperature(value: float) -> float:
    low, high = TEMPERATURE_RANGE
    value = float(value)
    if not low <= value <= high:
        raise SettingError(f"temperature {value} is out of range: choose a value from {low:g} to {high:g}")
    return value


def check_alpha(value: float) -> float:
    low, high = ALPHA_RANGE
    value = float(value)
    if not low <= value <= high:
        raise SettingError(f"alpha {value} is out of range: choose a value from {low:g} to {high:g}")
    return value


@dataclass(frozen=True)
class EpochRecord:
    """Mean losses over one epoch's batches and the held-out accuracy at its end."""

    epoch: int
    soft_loss: float
    hard_loss: float
    total_loss: float
    accuracy: float
    temperature: float
    alpha: float


@dataclass
class TrainingConfig:
    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA
    learning_rate: float = DEFAULT_LEARNING_RATE
    batch_size: int = DEFAULT_BATCH_SIZE
    epochs: int = DEFAULT_EPOCHS
    seed: int = 0
    student_sizes: tuple = STUDENT_SIZES
    # A class whose images never reach the student (None keeps every class).
    omit_class: int | None = None

    def __post_init__(self):
        check_temperature(self.temperature)
        check_alpha(self.alpha)
        if self.learning_rate <= 0:
            raise SettingError(f"learning rate {self.learning_rate} must be positive")
        if self.batch_size < 1:
            raise SettingError(f"batch size {self.batch_size} must be at least 1")
        if self.epochs < 1:
            raise SettingError(f"epochs {self.epochs} must be at least 1")
        if self.omit_class is not None and not 0 <= self.omit_class < N_CLASSES:
            raise SettingError(
                f"omitted class {self.omit_class} is out of range: choose 0 to {N_CLASSES - 1}"
            )


@dataclass
class Distiller:
    """Trains a student on the teacher's soft targets and the true labels, a batch at a time.

    The teacher is frozen: its logits for the transfer set are computed once in inference mode
    and indexed with each shuffled batch. `step()` advances by a number of batches or a time
    budget, so a per-frame task can call it. The same seed gives the same run.
    """

    teacher: MLP
    split: DigitSplit
    config: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self):
        keep = np.arange(len(self.split.train_labels))
        if self.config.omit_class is not None:
            keep = np.flatnonzero(self.split.train_labels != self.config.omit_class)
        self.transfer_images = np.ascontiguousarray(self.split.train_images[keep])
        self.transfer_labels = np.ascontiguousarray(self.split.train_labels[keep])
        self.teacher_logits = self.teacher.logits(self.transfer_images)
        self.teacher_accuracy = accuracy(self.teacher, self.split.test_images, self.split.test_labels)
        self.batch_log: list[np.ndarray] | None = None
        self.reset()

    @property
    def temperature(self) -> float:
        return self.config.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.config.temperature = check_temperature(value)

    @property
    def alpha(self) -> float:
        return self.config.alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.config.alpha = check_alpha(value)

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.transfer_labels) // self.config.batch_size)

    @property
    def epoch_fraction(self) -> float:
        """Fraction of the current epoch done, 0 at its start."""
        return self.batch_index / self.batches_per_epoch

    @property
    def finished(self) -> bool:
        """Whether the planned number of epochs is done."""
        return self.epoch >= self.config.epochs

    def reset(self, seed: int | None = None) -> None:
        """Restore a freshly initialised student from `seed` (default: the configured seed)."""
        if seed is not None:
            self.config.seed = int(seed)
        seed = self.config.seed

        self.student = MLP.initialised(self.config.student_sizes, seed)
        self.initial_student = self.student.copy()
        self.shuffle_rng = np.random.default_rng([seed, 1])
        self.adam_m = np.zeros_like(self.student.params)
        self.adam_v = np.zeros_like(self.student.params)
        self.grads = np.zeros_like(self.student.params)
        self.adam_step = 0
        units = int(sum(self.config.student_sizes))
        self.acts = np.empty(self.config.batch_size * units, dtype=np.float32)
        self.deltas = np.empty_like(self.acts)

        self.epoch = 0
        self.batch_index = 0
        self.order = self.shuffle_rng.permutation(len(self.transfer_labels))
        self.epoch_losses: list[tuple[float, float, float]] = []
        self.history: list[EpochRecord] = []
        self.refresh_accuracy()
        log.info("student reset: %r, seed %d", self.student, seed)

    def latest_losses(self) -> tuple[float, float, float]:
        """Return (soft, hard, total) averaged over the current epoch's batches so far.

        At the start of an epoch this is the previous epoch's mean; before any training, NaN.
        """
        if self.epoch_losses:
            return tuple(float(x) for x in np.mean(self.epoch_losses, axis=0))
        if self.history:
            last = self.history[-1]
            return last.soft_loss, last.hard_loss, last.total_loss
        return (float("nan"),) * 3

    def train_batch(self) -> tuple[float, float, float]:
        """Run one minibatch step and return its (soft, hard, total) losses."""
        size = self.config.batch_size
        batch = self.order[self.batch_index * size:(self.batch_index + 1) * size]
        if self.batch_log is not None:
            self.batch_log.append(batch.copy())
        self.adam_step += 1

        losses = kernels.train_step(
            self.student.params, self.student.sizes_array,
            self.transfer_images[batch], self.teacher_logits[batch], self.transfer_labels[batch],
            np.empty((0, 0), dtype=np.float32),
            self.config.temperature, self.config.alpha, self.config.learning_rate,
            self.adam_m, self.adam_v, self.adam_step,
            self.acts, self.deltas, self.grads,
        )
        self.epoch_losses.append(losses)
        self.batch_index += 1
        if self.batch_index >= self.batches_per_epoch:
            self.end_epoch()
        return losses

    def refresh_accuracy(self) -> float:
        """Recompute and return the student's held-out accuracy."""
        self.student_accuracy = accuracy(self.student, self.split.test_images, self.split.test_labels)
        return self.student_accuracy

    def end_epoch(self) -> None:
        soft, hard, total = np.mean(self.epoch_losses, axis=0)
        self.epoch += 1
        self.refresh_accuracy()
        self.history.append(EpochRecord(
            self.epoch, float(soft), float(hard), float(total), self.student_accuracy,
            self.config.temperature, self.config.alpha,
        ))
        self.epoch_losses = []
        self.batch_index = 0
        self.order = self.shuffle_rng.permutation(len(self.transfer_labels))

    def step(self, max_batches: int | None = None, time_budget_s: float | None = None) -> int:
        """Train until `max_batches` batches ran, the time budget is spent or the plan is done.

        With neither limit given, runs one batch. Returns the number of batches run. Training
        stops at the planned epoch count; call reset() or raise config.epochs to go on.
        """
        if max_batches is None and time_budget_s is None:
            max_batches = 1
        deadline = None if time_budget_s is None else time.perf_counter() + time_budget_s
        ran = 0

        while not self.finished:
            if max_batches is not None and ran >= max_batches:
                break
            if deadline is not None and ran > 0 and time.perf_counter() >= deadline:
                break
            self.train_batch()
            ran += 1
        return ran

    def run(self, epochs: int | None = None) -> list[EpochRecord]:
        """Train to the planned epoch count (or `epochs` more) and return the history."""
        if epochs is not None:
            self.config.epochs = self.epoch + epochs
        while not self.finished:
            self.train_batch()
        return self.history
