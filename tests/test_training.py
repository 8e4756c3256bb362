"""The distillation trainer, the teacher and the metrics."""

import numpy as np
import pytest

from sim.errors import SettingError
from sim.metrics import accuracy, speed_ratio
from sim.model import STUDENT_SIZES, TEACHER_SIZES, MLP, count_params
from sim.teacher import train_teacher
from sim.training import Distiller, TrainingConfig


def test_default_model_sizes():
    assert len(TEACHER_SIZES) - 2 >= 3
    assert count_params(TEACHER_SIZES) >= 25_000
    assert len(STUDENT_SIZES) - 2 == 1
    assert count_params(STUDENT_SIZES) * 20 <= count_params(TEACHER_SIZES)


def test_shipped_teacher_accuracy(teacher, split):
    assert teacher.sizes == TEACHER_SIZES
    assert accuracy(teacher, split.test_images, split.test_labels) >= 0.97


def test_split_is_stratified_and_scaled(split):
    n_train, n_test = len(split.train_labels), len(split.test_labels)
    assert n_train + n_test == 1797
    assert 0.18 < n_test / (n_train + n_test) < 0.22
    assert split.train_images.min() >= 0
    assert split.train_images.max() <= 1
    assert split.train_images.dtype == np.float32
    train_share = np.bincount(split.train_labels, minlength=10) / n_train
    test_share = np.bincount(split.test_labels, minlength=10) / n_test
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_training_lowers_loss_and_learns(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=30, seed=0))

    history = distiller.run()

    assert len(history) == 30
    assert history[-1].total_loss < 0.5 * history[0].total_loss
    assert history[-1].soft_loss < history[0].soft_loss
    # Stated accuracy for the default student after 30 epochs at the defaults.
    assert distiller.student_accuracy >= 0.94


def test_same_seed_same_weights(teacher, split):
    runs = []
    for _ in range(2):
        distiller = Distiller(teacher, split, TrainingConfig(epochs=3, seed=11))
        distiller.run()
        runs.append(distiller.student.params.copy())
    other = Distiller(teacher, split, TrainingConfig(epochs=3, seed=12))
    other.run()

    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], other.student.params)


def test_reset_restores_initial_student(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(seed=4))
    fresh = distiller.student.params.copy()
    distiller.step(max_batches=50)
    assert not np.array_equal(distiller.student.params, fresh)

    distiller.reset()

    np.testing.assert_array_equal(distiller.student.params, fresh)
    assert distiller.epoch == 0
    assert distiller.history == []


def test_step_reports_epoch_progress(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=5))
    per_epoch = distiller.batches_per_epoch

    ran = distiller.step(max_batches=per_epoch + 3)

    assert ran == per_epoch + 3
    assert distiller.epoch == 1
    assert distiller.epoch_fraction == pytest.approx(3 / per_epoch)
    record = distiller.history[0]
    assert record.total_loss == pytest.approx(
        distiller.alpha * record.soft_loss + (1 - distiller.alpha) * record.hard_loss, rel=1e-5)
    assert 0 <= record.accuracy <= 1
    assert all(np.isfinite(distiller.latest_losses()))


def test_step_honours_time_budget(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=1000))

    ran = distiller.step(time_budget_s=0.0)

    assert ran == 1


def test_step_stops_at_planned_epochs(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=2))

    distiller.step(max_batches=10_000)

    assert distiller.epoch == 2
    assert distiller.finished
    assert distiller.step(max_batches=5) == 0


def test_settings_change_between_calls(teacher, split):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=4))
    distiller.step(max_batches=distiller.batches_per_epoch)
    distiller.temperature = 12.0
    distiller.alpha = 0.2
    distiller.step(max_batches=distiller.batches_per_epoch)

    assert distiller.history[0].temperature == pytest.approx(3.0)
    assert distiller.history[1].temperature == 12.0
    assert distiller.history[1].alpha == 0.2


@pytest.mark.parametrize("field,value", [("temperature", 0.5), ("temperature", 21), ("alpha", -0.1),
                                         ("alpha", 1.5)])
def test_out_of_range_settings_rejected(teacher, split, field, value):
    distiller = Distiller(teacher, split, TrainingConfig(epochs=1))

    with pytest.raises(SettingError, match=f"{field} .* out of range"):
        setattr(distiller, field, value)
    with pytest.raises(SettingError, match=field):
        TrainingConfig(**{field: value})


def test_teacher_frozen_during_distillation(teacher, split):
    before = teacher.params.copy()
    distiller = Distiller(teacher, split, TrainingConfig(epochs=1))

    distiller.run()

    np.testing.assert_array_equal(teacher.params, before)
    np.testing.assert_array_equal(distiller.teacher_logits, teacher.logits(split.train_images))


def test_teacher_training_is_deterministic_and_learns(split):
    first = train_teacher(split, sizes=(64, 32, 32, 10), epochs=15, seed=5)
    second = train_teacher(split, sizes=(64, 32, 32, 10), epochs=15, seed=5)

    np.testing.assert_array_equal(first.teacher.params, second.teacher.params)
    assert first.held_out_accuracy > 0.85, "15 epochs should reach about 90%"


def test_speed_ratio_is_measured(teacher, split):
    student = MLP.initialised(STUDENT_SIZES, seed=0)

    ratio = speed_ratio(teacher, student, split.test_images, repeats=5)

    # The teacher does about 28 times the work; a ratio above 2 shows timing, not a constant.
    assert 2 < ratio < 200
