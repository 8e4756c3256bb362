"""The Lab facade that the explorer reads: outputs, race, panels and the dark-knowledge map."""

import numpy as np
import pytest

from sim import reference


def test_outputs_match_reference(lab):
    lab.set_sample(7)
    lab.temperature = 5.0
    x = lab.current_image[None, :].astype(np.float64)
    teacher_logits = lab.teacher.logits(x).astype(np.float64)
    student_logits = lab.student.logits(x).astype(np.float64)

    out = lab.outputs()

    np.testing.assert_allclose(out.teacher_probs, reference.softmax(teacher_logits, 5.0)[0], atol=1e-6)
    np.testing.assert_allclose(out.student_probs_t1, reference.softmax(student_logits)[0], atol=1e-6)
    expected_kl = reference.soft_loss(student_logits, teacher_logits, 5.0) / 25.0
    assert out.kl == pytest.approx(expected_kl, rel=1e-4, abs=1e-7)
    assert out.match == pytest.approx(np.exp(-expected_kl), rel=1e-4)
    assert out.label == lab.split.test_labels[7]


def test_higher_temperature_flattens_outputs(lab):
    cold = lab.outputs(1.0)
    hot = lab.outputs(20.0)

    assert hot.teacher_probs.max() < cold.teacher_probs.max()
    np.testing.assert_allclose(hot.teacher_probs_t1, cold.teacher_probs, atol=1e-6)


def test_samples_wrap_and_drawn_images_replace_them(lab):
    lab.set_sample(-1)
    assert lab.sample_index == lab.n_samples - 1
    lab.next_sample()
    assert lab.sample_index == 0

    drawing = np.zeros((8, 8), np.float32)
    drawing[2:6, 3] = 1.0
    lab.set_custom_image(drawing)

    np.testing.assert_array_equal(lab.current_image, drawing.ravel())
    assert lab.current_label is None
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lab.set_custom_image(np.full(64, 2.0))


def test_advance_follows_epochs_per_second(lab):
    per_epoch = lab.distiller.batches_per_epoch

    ran = sum(lab.advance(0.1, 1.0) for _ in range(10))

    assert ran == per_epoch
    assert lab.distiller.epoch == 1


def test_race_students_start_identical(lab):
    lab.advance(1.0, 2.0)

    lab.set_race(True)

    np.testing.assert_array_equal(lab.scratch.student.params, lab.student.params)
    np.testing.assert_array_equal(lab.scratch.order, lab.distiller.order)
    assert lab.distiller.epoch == 0
    lab.advance(1.0, 3.0)
    assert lab.scratch.epoch == lab.distiller.epoch == 3
    assert lab.scratch.alpha == 0.0
    assert lab.race_gap() == pytest.approx(lab.distiller.student_accuracy - lab.scratch.student_accuracy)
    lab.set_race(False)
    assert lab.race_gap() is None


def test_verdicts_use_snapshot_and_models(lab):
    lab.advance(2.0, 2.0)
    indices = [0, 5, 9, 40, 100, 200]

    verdicts = lab.verdicts(indices)

    images = lab.split.test_images[indices]
    assert [v.teacher_prediction for v in verdicts] == list(lab.teacher.predict(images))
    assert [v.untrained_prediction for v in verdicts] == list(lab.distiller.initial_student.predict(images))
    assert [v.student_prediction for v in verdicts] == list(lab.student.predict(images))


def test_accuracy_summary(lab):
    summary = lab.accuracy_summary()

    assert summary.teacher_params == 33_738
    assert summary.student_params == 1_210
    assert summary.param_ratio == pytest.approx(33_738 / 1_210)
    assert summary.teacher_accuracy >= 0.97
    assert summary.speed_ratio > 1


@pytest.mark.parametrize("tau", [1.0, 3.0, 20.0])
def test_dark_knowledge_rows_sum_to_one(lab, tau):
    heat = lab.dark_knowledge_map(tau)

    assert heat.shape == (10, 10)
    np.testing.assert_allclose(heat.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.diag(heat) == heat.max(axis=1))


def test_dark_knowledge_softens_with_temperature(lab):
    off_diagonal = ~np.eye(10, dtype=bool)

    assert lab.dark_knowledge_map(10.0)[off_diagonal].sum() > lab.dark_knowledge_map(1.0)[off_diagonal].sum()


def test_sample_losses_match_outputs(lab):
    lab.set_sample(5)
    lab.temperature = 4.0
    lab.alpha = 0.6
    snapshot = lab.outputs()

    soft, hard, total = lab.sample_losses()

    assert soft == pytest.approx(16.0 * snapshot.kl, rel=1e-4)
    assert hard == pytest.approx(-np.log(snapshot.student_probs_t1[snapshot.label]), rel=1e-4)
    assert total == pytest.approx(0.6 * soft + 0.4 * hard, rel=1e-6)


def test_sample_losses_drawn_image_has_no_hard_loss(lab):
    lab.set_custom_image(lab.split.test_images[0])

    soft, hard, total = lab.sample_losses()

    assert soft >= 0
    assert hard is None
    assert total is None


def test_omitted_class_never_in_a_batch(lab):
    lab.set_omitted_class(3)
    lab.distiller.batch_log = []

    lab.advance(1.0, 3.0)

    labels = np.concatenate([lab.distiller.transfer_labels[b] for b in lab.distiller.batch_log])
    assert len(labels) == 3 * lab.distiller.batches_per_epoch * 64 - 3 * (64 * lab.distiller.batches_per_epoch - len(lab.distiller.transfer_labels))
    assert 3 not in labels
    assert 3 not in lab.distiller.transfer_labels
    assert len(lab.distiller.transfer_labels) == np.sum(lab.split.train_labels != 3)


def test_omitted_class_recovered_by_bias(lab):
    lab.temperature = 8.0
    lab.set_omitted_class(3)
    lab.distiller.run()

    result = lab.omitted_class_result()

    assert result.omitted_class == 3
    assert result.bias_shift > 0
    assert result.accuracy_after > 0.5, "well above the 10% of chance"
    assert result.accuracy_after > result.accuracy_before


def test_bias_shift_chosen_without_held_out_split(lab, monkeypatch):
    from sim import experiments

    lab.set_omitted_class(5)
    lab.distiller.run(epochs=5)
    seen = []
    original = experiments.choose_bias_shift
    monkeypatch.setattr(experiments, "choose_bias_shift",
                        lambda model, images, labels, digit: seen.append(images) or original(model, images, labels, digit))

    lab.omitted_class_result()

    assert len(seen) == 1
    assert seen[0] is lab.split.train_images


def test_save_load_through_lab(lab, tmp_path):
    lab.advance(1.0, 2.0)
    lab.save_student(tmp_path / "student.npz")
    expected = lab.student.logits(lab.split.test_images)
    lab.reset_student(seed=7)

    lab.load_student(tmp_path / "student.npz")

    np.testing.assert_array_equal(lab.student.logits(lab.split.test_images), expected)


def test_export_curves_with_race(lab, tmp_path):
    from sim.results import read_curves

    lab.set_race(True)
    lab.advance(1.0, 2.0)
    lab.export_curves(tmp_path / "curves.csv")

    rows = read_curves(tmp_path / "curves.csv")
    assert [row["epoch"] for row in rows] == [1, 2]
    assert [row["scratch_accuracy"] for row in rows] == pytest.approx([r.accuracy for r in lab.scratch.history])


def test_bias_shift_matches_brute_force(lab):
    from sim.experiments import BIAS_SHIFTS, choose_bias_shift

    lab.set_omitted_class(8)
    lab.distiller.run(epochs=10)
    images, labels = lab.split.train_images, lab.split.train_labels
    logits = lab.student.logits(images).astype(np.float64)
    correct = []
    for shift in BIAS_SHIFTS:
        shifted = logits.copy()
        shifted[:, 8] += shift
        correct.append(np.sum(shifted.argmax(axis=1) == labels))

    assert choose_bias_shift(lab.student, images, labels, 8) == BIAS_SHIFTS[int(np.argmax(correct))]
