"""The Numba kernels against the float64 NumPy reference."""

import numpy as np
import pytest

from sim import kernels, reference
from sim.model import MLP, STUDENT_SIZES

TEMPERATURES = [1.0, 2.5, 20.0]


def random_logits(rng, scale, shape=(16, 10)):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def kernel_losses(student, teacher, labels, tau, alpha):
    grad = np.empty_like(student)
    soft, hard = kernels.kd_loss_grad(student, teacher, labels, tau, alpha, grad)
    return soft, hard, grad


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_softmax_matches_reference(tau, scale):
    rng = np.random.default_rng(1)
    logits = random_logits(rng, scale)

    probs = kernels.softmax(logits, tau)

    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, reference.softmax(logits.astype(np.float64), tau), atol=1e-6)


@pytest.mark.parametrize("tau", TEMPERATURES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_kd_loss_matches_reference(tau, scale):
    rng = np.random.default_rng(2)
    student, teacher = random_logits(rng, scale), random_logits(rng, scale)
    labels = rng.integers(0, 10, 16)

    soft, hard, grad = kernel_losses(student, teacher, labels, tau, 0.4)
    ref_soft, ref_hard, _ = reference.kd_loss(student.astype(np.float64), teacher.astype(np.float64),
                                              labels, tau, 0.4)
    ref_grad = reference.kd_logit_grad(student.astype(np.float64), teacher.astype(np.float64),
                                       labels, tau, 0.4)

    assert np.isfinite(soft)
    assert np.isfinite(hard)
    assert np.all(np.isfinite(grad))
    assert soft == pytest.approx(ref_soft, rel=1e-5, abs=1e-4)
    assert hard == pytest.approx(ref_hard, rel=1e-5, abs=1e-4)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-6)


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_extreme_logits_stay_finite(tau):
    student = np.array([[1e4, -1e4] + [0.0] * 8, [-1e4] * 10], dtype=np.float32)
    teacher = np.array([[-1e4, 1e4] + [0.0] * 8, [1e4] + [-1e4] * 9], dtype=np.float32)
    labels = np.array([0, 3])

    soft, hard, grad = kernel_losses(student, teacher, labels, tau, 0.5)

    assert np.isfinite(soft)
    assert np.isfinite(hard)
    assert np.all(np.isfinite(grad))
    assert soft > 0


@pytest.mark.parametrize("tau", TEMPERATURES)
def test_kl_zero_for_equal_logits(tau):
    rng = np.random.default_rng(3)
    logits = random_logits(rng, 5.0)

    soft, _, _ = kernel_losses(logits, logits.copy(), rng.integers(0, 10, 16), tau, 1.0)

    assert soft == pytest.approx(0.0, abs=1e-5)


def test_kl_never_negative():
    rng = np.random.default_rng(4)
    for _ in range(200):
        tau = rng.uniform(1, 20)
        scale = 10 ** rng.uniform(-1, 4)
        student, teacher = random_logits(rng, scale, (4, 10)), random_logits(rng, scale, (4, 10))
        soft, _, _ = kernel_losses(student, teacher, rng.integers(0, 10, 4), tau, 1.0)
        assert soft >= -1e-6, f"soft loss {soft} at tau {tau}, scale {scale}"


def test_soft_gradient_comparable_across_temperatures():
    # With the tau^2 factor, the soft gradient's size should not shrink like 1/tau^2 as tau rises.
    rng = np.random.default_rng(5)
    student, teacher = random_logits(rng, 3.0, (256, 10)), random_logits(rng, 3.0, (256, 10))
    labels = rng.integers(0, 10, 256)

    norms = {}
    for tau in (1.0, 4.0, 20.0):
        _, _, grad = kernel_losses(student, teacher, labels, tau, 1.0)
        norms[tau] = np.linalg.norm(grad)

    ratio = max(norms.values()) / min(norms.values())
    assert ratio < 4.0, f"soft gradient norms {norms} differ by {ratio:.1f}x across tau"
    without_factor = norms[20.0] / 20.0**2 / norms[1.0]
    assert without_factor < 0.01, "dividing out tau^2 should shrink the gradient at tau = 20"


@pytest.mark.parametrize("tau,alpha", [(1.0, 0.0), (3.0, 0.7), (20.0, 1.0)])
def test_gradient_matches_finite_differences(tau, alpha):
    rng = np.random.default_rng(6)
    student = MLP.initialised(STUDENT_SIZES, seed=0)
    params = student.params.astype(np.float64)
    sizes = student.sizes
    x = rng.random((8, 64))
    teacher_logits = rng.standard_normal((8, 10)) * 4
    labels = rng.integers(0, 10, 8)

    def total_loss(p):
        logits = reference.forward(p, sizes, x)[-1]
        return reference.kd_loss(logits, teacher_logits, labels, tau, alpha)[2]

    acts = reference.forward(params, sizes, x)
    grad_logits = reference.kd_logit_grad(acts[-1], teacher_logits, labels, tau, alpha)
    analytic = reference.backward(params, sizes, acts, grad_logits)

    # Central differences on a random subset of parameters from every layer.
    picks = rng.choice(params.size, 60, replace=False)
    eps = 1e-6
    for p in picks:
        step = np.zeros_like(params)
        step[p] = eps
        numeric = (total_loss(params + step) - total_loss(params - step)) / (2 * eps)
        assert analytic[p] == pytest.approx(numeric, rel=1e-4, abs=1e-7), f"parameter {p}"

    # The float32 kernel computes the same gradient.
    acts32 = np.empty(8 * sum(sizes), np.float32)
    deltas32 = np.empty_like(acts32)
    grads32 = np.empty(params.size, np.float32)
    no_masks = np.empty((0, 0), np.float32)
    kernels.forward(student.params, student.sizes_array, x.astype(np.float32), acts32, no_masks)
    logit_grad32 = np.empty((8, 10), np.float32)
    kernels.kd_loss_grad(acts32[-80:].reshape(8, 10), teacher_logits.astype(np.float32), labels,
                         tau, alpha, logit_grad32)
    deltas32[-80:] = logit_grad32.ravel()
    kernels.backward(student.params, student.sizes_array, acts32, deltas32, no_masks, grads32)
    np.testing.assert_allclose(grads32, analytic, rtol=1e-3, atol=1e-5)


def test_train_step_matches_reference_with_dropout():
    rng = np.random.default_rng(7)
    sizes = (64, 32, 16, 10)
    model = MLP.initialised(sizes, seed=3)
    x = rng.random((12, 64)).astype(np.float32)
    teacher_logits = (rng.standard_normal((12, 10)) * 3).astype(np.float32)
    labels = rng.integers(0, 10, 12)
    masks = ((rng.random((12, 48)) < 0.8) / 0.8).astype(np.float32)

    params64 = model.params.astype(np.float64)
    m64, v64 = np.zeros_like(params64), np.zeros_like(params64)
    ref = reference.train_step(params64, sizes, x.astype(np.float64), teacher_logits.astype(np.float64),
                               labels, 4.0, 0.6, 0.01, m64, v64, 1, masks.astype(np.float64))

    m, v, grads = (np.zeros_like(model.params) for _ in range(3))
    acts = np.empty(12 * sum(sizes), np.float32)
    out = kernels.train_step(model.params, model.sizes_array, x, teacher_logits, labels, masks,
                             4.0, 0.6, 0.01, m, v, 1, acts, np.empty_like(acts), grads)

    np.testing.assert_allclose(out, ref, rtol=1e-5)
    np.testing.assert_allclose(model.params, params64, atol=1e-5)


def test_forward_matches_reference():
    rng = np.random.default_rng(8)
    model = MLP.initialised((64, 128, 128, 64, 10), seed=1)
    x = rng.random((20, 64)).astype(np.float32)

    expected = reference.forward(model.params.astype(np.float64), model.sizes, x.astype(np.float64))

    np.testing.assert_allclose(model.logits(x), expected[-1], rtol=1e-4, atol=1e-4)
    layers = model.activations(x[3])
    assert [len(a) for a in layers] == list(model.sizes)
    for got, want in zip(layers, expected):
        np.testing.assert_allclose(got, want[3], rtol=1e-4, atol=1e-4)
