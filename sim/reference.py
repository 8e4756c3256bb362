"""Plain NumPy version of the kernels' maths, for tests and benchmarks.

Every function follows the dtype of its inputs: tests pass float64 to get an accurate
reference, benchmarks pass float32 to compare like with like. Parameters use the same flat
layout as sim.kernels.
"""

import numpy as np


def unpack(params: np.ndarray, sizes) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return (W, b) views into the flat parameter vector, one pair per layer."""
    layers, position = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights = params[position:position + n_in * n_out].reshape(n_in, n_out)
        position += n_in * n_out
        layers.append((weights, params[position:position + n_out]))
        position += n_out
    return layers


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Return log softmax(logits / temperature) along the last axis, via log-sum-exp."""
    scaled = logits / temperature
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Return softmax(logits / temperature) along the last axis."""
    return np.exp(log_softmax(logits, temperature))


def soft_loss(student_logits, teacher_logits, temperature: float) -> float:
    """Return tau^2 * KL(teacher_tau || student_tau), summed over classes, batch mean."""
    log_pt = log_softmax(teacher_logits, temperature)
    log_ps = log_softmax(student_logits, temperature)
    pt = np.exp(log_pt)
    kl = np.where(pt > 0, pt * (log_pt - log_ps), 0.0).sum(axis=-1)
    return float(kl.mean() * temperature**2)


def cross_entropy(logits, labels) -> float:
    """Return the mean cross-entropy of softmax(logits) against integer labels."""
    log_p = log_softmax(logits)
    return float(-log_p[np.arange(len(labels)), labels].mean())


def kd_loss(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    """Return (soft, hard, total) with total = alpha * soft + (1 - alpha) * hard."""
    soft = soft_loss(student_logits, teacher_logits, temperature)
    hard = cross_entropy(student_logits, labels)
    return soft, hard, alpha * soft + (1 - alpha) * hard


def kd_logit_grad(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    """Return d(total)/d(student logits), shape (batch, classes)."""
    batch = len(labels)
    soft_grad = temperature * (
        softmax(student_logits, temperature) - softmax(teacher_logits, temperature)
    )
    hard_grad = softmax(student_logits)
    hard_grad[np.arange(batch), labels] -= 1
    return (alpha * soft_grad + (1 - alpha) * hard_grad) / batch


def forward(params, sizes, x, masks=None) -> list[np.ndarray]:
    """Return every layer's output, input first and logits last."""
    acts = [x]
    layers = unpack(params, sizes)
    hidden_start = 0
    for index, (weights, bias) in enumerate(layers):
        z = acts[-1] @ weights + bias
        if index < len(layers) - 1:
            z = np.maximum(z, 0)
            if masks is not None:
                z = z * masks[:, hidden_start:hidden_start + z.shape[1]]
                hidden_start += z.shape[1]
        acts.append(z)
    return acts


def backward(params, sizes, acts, grad_logits, masks=None) -> np.ndarray:
    """Return the flat parameter gradient for d(loss)/d(logits) = grad_logits."""
    layers = unpack(params, sizes)
    grads = np.zeros_like(params)
    grad_layers = unpack(grads, sizes)
    hidden_ends = np.cumsum(sizes[1:-1])
    delta = grad_logits

    for index in range(len(layers) - 1, -1, -1):
        grad_w, grad_b = grad_layers[index]
        grad_w[...] = acts[index].T @ delta
        grad_b[...] = delta.sum(axis=0)
        if index == 0:
            break
        delta = (delta @ layers[index][0].T) * (acts[index] > 0)
        if masks is not None:
            end = hidden_ends[index - 1]
            delta = delta * masks[:, end - sizes[index]:end]
    return grads


def adam_update(params, grads, m, v, step, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Apply one Adam step in place, matching sim.kernels.adam_update."""
    m *= beta1
    m += (1 - beta1) * grads
    v *= beta2
    v += (1 - beta2) * grads * grads
    rate = learning_rate * np.sqrt(1 - beta2**step) / (1 - beta1**step)
    params -= rate * m / (np.sqrt(v) + epsilon)


def train_step(params, sizes, x, teacher_logits, labels, temperature, alpha,
               learning_rate, m, v, step, masks=None):
    """Run one minibatch step in place and return (soft, hard, total), like the kernel."""
    acts = forward(params, sizes, x, masks)
    logits = acts[-1]
    if teacher_logits is None:
        hard = cross_entropy(logits, labels)
        soft, total = 0.0, (1 - alpha) * hard
        grad = kd_logit_grad(logits, logits, labels, temperature, 0.0) * (1 - alpha)
    else:
        soft, hard, total = kd_loss(logits, teacher_logits, labels, temperature, alpha)
        grad = kd_logit_grad(logits, teacher_logits, labels, temperature, alpha)
    grads = backward(params, sizes, acts, grad, masks)
    adam_update(params, grads, m, v, step, learning_rate)
    return soft, hard, total
