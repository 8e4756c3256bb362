"""Everything the explorer shows, computed in one place: the explorer only reads from here.

A Lab contains the teacher, the digits, the distillation trainer and the current input. Each
number the explorer draws (probabilities, KL, accuracies, parameter counts, the speed ratio)
comes from a method of this class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from sim import kernels
from sim.data import N_CLASSES, N_PIXELS, DigitSplit, load_split
from sim.metrics import accuracy, speed_ratio
from sim.model import MLP, load_teacher
from sim.training import Distiller, TrainingConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputSnapshot:
    """Both networks' output distributions for the current input.

    Probabilities are (10,) float32 arrays. `kl` is KL(teacher_tau || student_tau) in nats,
    without the tau^2 factor; `match` maps it to [0, 1] as exp(-kl), 1 for identical outputs.
    """

    temperature: float
    teacher_probs: np.ndarray
    student_probs: np.ndarray
    teacher_probs_t1: np.ndarray
    student_probs_t1: np.ndarray
    kl: float
    match: float
    teacher_top1: int
    student_top1: int
    label: int | None

    @property
    def top1_agree(self) -> bool:
        return self.teacher_top1 == self.student_top1


@dataclass(frozen=True)
class AccuracySummary:
    teacher_accuracy: float
    student_accuracy: float
    teacher_params: int
    student_params: int
    param_ratio: float
    speed_ratio: float


@dataclass(frozen=True)
class SampleVerdict:
    """One held-out digit with the class each network predicts for it."""

    index: int
    image: np.ndarray
    label: int
    untrained_prediction: int
    student_prediction: int
    teacher_prediction: int


def kl_divergence(teacher_logits: np.ndarray, student_logits: np.ndarray, temperature: float) -> float:
    """Return KL(teacher_tau || student_tau) in nats for one pair of logit vectors (10,)."""
    log_pt = np.empty(N_CLASSES, dtype=np.float64)
    log_ps = np.empty(N_CLASSES, dtype=np.float64)
    kernels.log_softmax_row(teacher_logits.astype(np.float32), temperature, log_pt)
    kernels.log_softmax_row(student_logits.astype(np.float32), temperature, log_ps)
    pt = np.exp(log_pt)
    return float(max(np.sum(pt * (log_pt - log_ps)), 0.0))


class Lab:
    """The teacher, the student being distilled and the input that both networks see."""

    def __init__(self, teacher: MLP | None = None, split: DigitSplit | None = None,
                 config: TrainingConfig | None = None):
        self.teacher = teacher if teacher is not None else load_teacher()
        self.split = split if split is not None else load_split()
        self.distiller = Distiller(self.teacher, self.split, config or TrainingConfig())
        self.sample_index = 0
        self.custom_image: np.ndarray | None = None
        self.batch_credit = 0.0
        self._speed_ratio: float | None = None
        # The race: a second student with the same seed (so the same initial weights and
        # batch order) trained on hard labels only, alpha = 0. None while the race is off.
        self.scratch: Distiller | None = None

    # --- settings -------------------------------------------------------------------------

    @property
    def temperature(self) -> float:
        return self.distiller.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.distiller.temperature = value

    @property
    def alpha(self) -> float:
        return self.distiller.alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.distiller.alpha = value

    @property
    def student(self) -> MLP:
        return self.distiller.student

    # --- the current input ----------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        return len(self.split.test_labels)

    def set_sample(self, index: int) -> None:
        """Show held-out digit `index` (wrapping around), replacing any drawn image."""
        self.sample_index = int(index) % self.n_samples
        self.custom_image = None

    def next_sample(self) -> None:
        self.set_sample(self.sample_index + 1)

    def previous_sample(self) -> None:
        self.set_sample(self.sample_index - 1)

    def set_custom_image(self, image: np.ndarray) -> None:
        """Feed a drawn image (64 or 8x8 values in [0, 1]) to both networks instead of a sample."""
        image = np.asarray(image, dtype=np.float32).reshape(N_PIXELS)
        if not np.all((image >= 0) & (image <= 1)):
            raise ValueError("drawn image values must lie in [0, 1]")
        self.custom_image = image.copy()

    @property
    def current_image(self) -> np.ndarray:
        """The input both networks see, (64,) float32 in [0, 1]."""
        if self.custom_image is not None:
            return self.custom_image
        return self.split.test_images[self.sample_index]

    @property
    def current_label(self) -> int | None:
        """The true class of the current input, None for a drawn image."""
        if self.custom_image is not None:
            return None
        return int(self.split.test_labels[self.sample_index])

    # --- what the networks make of it -----------------------------------------------------

    def teacher_activations(self) -> list[np.ndarray]:
        return self.teacher.activations(self.current_image)

    def student_activations(self) -> list[np.ndarray]:
        return self.student.activations(self.current_image)

    def outputs(self, temperature: float | None = None) -> OutputSnapshot:
        """Return both networks' softmax outputs for the current input at `temperature`."""
        tau = self.temperature if temperature is None else float(temperature)
        x = self.current_image[None, :]
        teacher_logits = self.teacher.logits(x)
        student_logits = self.student.logits(x)
        kl = kl_divergence(teacher_logits[0], student_logits[0], tau)

        return OutputSnapshot(
            temperature=tau,
            teacher_probs=kernels.softmax(teacher_logits, tau)[0],
            student_probs=kernels.softmax(student_logits, tau)[0],
            teacher_probs_t1=kernels.softmax(teacher_logits, 1.0)[0],
            student_probs_t1=kernels.softmax(student_logits, 1.0)[0],
            kl=kl,
            match=float(np.exp(-kl)),
            teacher_top1=int(teacher_logits[0].argmax()),
            student_top1=int(student_logits[0].argmax()),
            label=self.current_label,
        )

    # --- training -------------------------------------------------------------------------

    def advance(self, dt: float, epochs_per_second: float, time_budget_s: float | None = None) -> int:
        """Train for dt seconds of simulated time at `epochs_per_second`; return batches run.

        Fractional batches carry over between calls. A time budget caps the work per call so
        the frame rate holds; pass None for a fixed amount of work per call (recording).
        """
        self.batch_credit += dt * epochs_per_second * self.distiller.batches_per_epoch
        requested = int(self.batch_credit)
        if requested <= 0 or self.distiller.finished:
            return 0
        ran = self.distiller.step(max_batches=requested, time_budget_s=time_budget_s)
        if self.scratch is not None:
            # Same number of batches, so both students always stand at the same point.
            self.scratch.step(max_batches=ran)
        self.batch_credit -= ran
        # Work the budget could not fit is dropped, not queued, so training never lags behind.
        self.batch_credit = min(self.batch_credit, 1.0)
        return ran

    def reset_student(self, seed: int | None = None) -> None:
        self.distiller.reset(seed)
        if self.scratch is not None:
            self.scratch.reset(self.distiller.config.seed)
        self.batch_credit = 0.0

    @property
    def race_enabled(self) -> bool:
        return self.scratch is not None

    def set_race(self, enabled: bool) -> None:
        """Start or stop the race; starting it resets the distilled student so both start level."""
        if enabled and self.scratch is None:
            config = replace(self.distiller.config, alpha=0.0)
            self.scratch = Distiller(self.teacher, self.split, config)
            self.reset_student()
            log.info("race started: scratch student beside the distilled one, seed %d", config.seed)
        elif not enabled and self.scratch is not None:
            self.scratch = None
            log.info("race stopped")

    def race_gap(self) -> float | None:
        """Return distilled minus scratch held-out accuracy, or None while the race is off."""
        if self.scratch is None:
            return None
        return self.distiller.student_accuracy - self.scratch.student_accuracy

    # --- panels ---------------------------------------------------------------------------

    def verdicts(self, indices) -> list[SampleVerdict]:
        """Return untrained-student, student and teacher predictions for held-out digits."""
        indices = np.asarray(indices, dtype=np.int64)
        images = self.split.test_images[indices]
        untrained = self.distiller.initial_student.predict(images)
        current = self.student.predict(images)
        teacher = self.teacher.predict(images)
        return [
            SampleVerdict(int(i), images[n], int(self.split.test_labels[i]),
                          int(untrained[n]), int(current[n]), int(teacher[n]))
            for n, i in enumerate(indices)
        ]

    def measured_speed_ratio(self) -> float:
        """Return the teacher/student inference time ratio, measured once and then kept."""
        if self._speed_ratio is None:
            self._speed_ratio = speed_ratio(self.teacher, self.student, self.split.test_images, repeats=15)
            log.info("measured inference speed ratio %.1f", self._speed_ratio)
        return self._speed_ratio

    def accuracy_summary(self) -> AccuracySummary:
        teacher_params = self.teacher.param_count
        student_params = self.student.param_count
        return AccuracySummary(
            teacher_accuracy=self.distiller.teacher_accuracy,
            student_accuracy=self.distiller.student_accuracy,
            teacher_params=teacher_params,
            student_params=student_params,
            param_ratio=teacher_params / student_params,
            speed_ratio=self.measured_speed_ratio(),
        )

    def dark_knowledge_map(self, temperature: float | None = None) -> np.ndarray:
        """Return (10, 10) mean teacher probabilities at tau: row = true class, column = class.

        Computed over the training split; each row sums to 1.
        """
        tau = self.temperature if temperature is None else float(temperature)
        probs = kernels.softmax(self.distiller.teacher_logits, tau).astype(np.float64)
        labels = self.distiller.transfer_labels
        heat = np.zeros((N_CLASSES, N_CLASSES))
        for digit in range(N_CLASSES):
            rows = probs[labels == digit]
            heat[digit] = rows.mean(axis=0) if len(rows) else np.nan
        return heat

    def student_accuracy(self) -> float:
        return accuracy(self.student, self.split.test_images, self.split.test_labels)

    def sample_losses(self) -> tuple[float, float | None, float | None]:
        """Return (soft, hard, total) distillation losses for the current input alone.

        Same terms as training: soft = tau^2 * KL(teacher_tau || student_tau), hard = the
        cross-entropy against the true label at tau = 1, total = alpha * soft + (1 - alpha) *
        hard. A drawn image has no label, so hard and total are None for it.
        """
        x = self.current_image[None, :]
        teacher_logits = self.teacher.logits(x)
        student_logits = self.student.logits(x)
        label = self.current_label
        labels = np.array([0 if label is None else label], dtype=np.int64)
        grad = np.empty_like(student_logits)
        soft, hard = kernels.kd_loss_grad(student_logits, teacher_logits, labels,
                                          self.temperature, self.alpha, grad)
        if label is None:
            return float(soft), None, None
        return float(soft), float(hard), float(self.alpha * soft + (1.0 - self.alpha) * hard)

    # --- held-out class, saved results ------------------------------------------------------

    @property
    def omitted_class(self) -> int | None:
        return self.distiller.config.omit_class

    def set_omitted_class(self, digit: int | None) -> None:
        """Rebuild the trainer so that digit's images never reach the student (None keeps all).

        The student restarts from its seed, and so does the scratch student of a running race.
        """
        config = replace(self.distiller.config, omit_class=digit)
        self.distiller = Distiller(self.teacher, self.split, config)
        if self.scratch is not None:
            self.scratch = Distiller(self.teacher, self.split, replace(config, alpha=0.0))
        self.batch_credit = 0.0
        log.info("omitted class set to %s", digit)

    def omitted_class_result(self):
        """Return the omitted class's accuracy before and after its bias correction, or None."""
        from sim.experiments import evaluate_omitted_class

        if self.omitted_class is None:
            return None
        return evaluate_omitted_class(self.student, self.split, self.omitted_class)

    def save_student(self, path) -> None:
        """Write the student with its layer sizes, tau, alpha and seed to a .npz file."""
        from sim.results import save_student

        save_student(self.distiller, path)

    def load_student(self, path) -> dict:
        """Load a saved student; on a bad file raise AssetError and keep the current one."""
        from sim.results import load_student

        return load_student(self.distiller, path)

    def export_curves(self, path) -> None:
        """Write the training curves as CSV, with the scratch accuracy while a race runs."""
        from sim.results import write_curves

        scratch = None if self.scratch is None else self.scratch.history
        write_curves(path, self.distiller.history, scratch)
