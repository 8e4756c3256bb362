"""Numba kernels for the hot path: MLP forward and backward, distillation loss, Adam.

Shapes and layout shared by every kernel:
- `sizes` is an int64 array of layer widths, input first and classes last, e.g. [64, 16, 10].
- `params` is one flat float32 vector. For each layer l it holds the weights W_l as a
  row-major (sizes[l], sizes[l+1]) block followed by the bias b_l of length sizes[l+1].
- `acts` is a flat float32 buffer of batch * sum(sizes) values: layer l's output is the
  contiguous (batch, sizes[l]) block starting at batch * sum(sizes[:l]), the input first and
  the logits last. `deltas` has the same layout and stores the gradient of the loss with
  respect to each layer's pre-activation. Contiguous blocks let np.dot call BLAS.
- `masks` is (batch, sum of hidden widths) of inverted-dropout scales (0 or 1/keep), or an
  array with zero rows for no dropout.

All softmaxes subtract the row maximum before exponentiating (log-sum-exp), so logits up to
±1e4 give finite losses and gradients at every temperature from 1 to 20.
"""

import math
import os

import numpy as np
from numba import njit

# One switch for Numba's on-disk cache; KD_NUMBA_CACHE=0 turns it off (for cold-start timing).
CACHE = os.environ.get("KD_NUMBA_CACHE", "1") != "0"


@njit(cache=CACHE)
def layer_offsets(sizes):
    """Return (n_layers, 2) int64 starts of each layer's weights and bias in `params`."""
    n_layers = sizes.shape[0] - 1
    offsets = np.empty((n_layers, 2), dtype=np.int64)
    position = 0
    for l in range(n_layers):
        offsets[l, 0] = position
        position += sizes[l] * sizes[l + 1]
        offsets[l, 1] = position
        position += sizes[l + 1]
    return offsets


@njit(cache=CACHE)
def unit_offsets(sizes):
    """Return int64 starts of each layer's column block in `acts`, plus the total at the end."""
    starts = np.empty(sizes.shape[0] + 1, dtype=np.int64)
    starts[0] = 0
    for l in range(sizes.shape[0]):
        starts[l + 1] = starts[l] + sizes[l]
    return starts


@njit(cache=CACHE)
def layer_block(buffer, starts, layer, batch):
    """Return layer `layer`'s (batch, width) view of a flat activation or delta buffer."""
    return buffer[batch * starts[layer]:batch * starts[layer + 1]].reshape(
        (batch, starts[layer + 1] - starts[layer]))


@njit(cache=CACHE)
def weight_matrix(params, offsets, sizes, layer):
    """Return layer `layer`'s (n_in, n_out) weight view of the flat parameter vector."""
    start = offsets[layer, 0]
    return params[start:start + sizes[layer] * sizes[layer + 1]].reshape((sizes[layer], sizes[layer + 1]))


@njit(cache=CACHE, fastmath=True)
def forward(params, sizes, x, acts, masks):
    """Fill `acts` with every layer's output: a_{l+1} = relu(a_l W_l + b_l), logits last.

    x: (batch, sizes[0]) float32. Hidden outputs are multiplied by `masks` when it has rows.
    """
    batch = x.shape[0]
    offsets = layer_offsets(sizes)
    starts = unit_offsets(sizes)
    n_layers = sizes.shape[0] - 1
    use_dropout = masks.shape[0] > 0
    layer_block(acts, starts, 0, batch)[:] = x

    for l in range(n_layers):
        a_in = layer_block(acts, starts, l, batch)
        a_out = layer_block(acts, starts, l + 1, batch)
        np.dot(a_in, weight_matrix(params, offsets, sizes, l), a_out)

        n_out, b0 = sizes[l + 1], offsets[l, 1]
        mask0 = starts[l + 1] - sizes[0]
        last = l == n_layers - 1
        for i in range(batch):
            for j in range(n_out):
                value = a_out[i, j] + params[b0 + j]
                if not last:
                    if value < 0.0:
                        value = 0.0
                    if use_dropout:
                        value *= masks[i, mask0 + j]
                a_out[i, j] = value


@njit(cache=CACHE, fastmath=True)
def backward(params, sizes, acts, deltas, masks, grads):
    """Backpropagate d(loss)/d(logits), stored in the last block of `deltas`, into `grads`.

    grads has the layout of params: dL/dW_l = a_l^T delta_{l+1}, dL/db_l = sum over the batch
    of delta_{l+1}, and delta_l = (delta_{l+1} W_l^T) * relu'(a_l) * mask.
    """
    offsets = layer_offsets(sizes)
    starts = unit_offsets(sizes)
    batch = acts.shape[0] // starts[-1]
    n_layers = sizes.shape[0] - 1
    use_dropout = masks.shape[0] > 0

    for l in range(n_layers - 1, -1, -1):
        n_out, b0 = sizes[l + 1], offsets[l, 1]
        a_in = layer_block(acts, starts, l, batch)
        delta = layer_block(deltas, starts, l + 1, batch)
        weights = weight_matrix(params, offsets, sizes, l)
        np.dot(a_in.T, delta, weight_matrix(grads, offsets, sizes, l))

        for j in range(n_out):
            grads[b0 + j] = 0.0
        for i in range(batch):
            for j in range(n_out):
                grads[b0 + j] += delta[i, j]

        if l == 0:
            break

        delta_in = layer_block(deltas, starts, l, batch)
        np.dot(delta, weights.T, delta_in)
        mask0 = starts[l] - sizes[0]
        for i in range(batch):
            for k in range(sizes[l]):
                if a_in[i, k] <= 0.0:
                    delta_in[i, k] = 0.0
                elif use_dropout:
                    delta_in[i, k] *= masks[i, mask0 + k]


@njit(cache=CACHE)
def log_softmax_row(logits, temperature, out):
    """Write log softmax(logits / temperature) into out, for one row; log-sum-exp stable."""
    n = logits.shape[0]
    peak = logits[0] / temperature
    for k in range(1, n):
        z = logits[k] / temperature
        if z > peak:
            peak = z
    total = 0.0
    for k in range(n):
        total += math.exp(logits[k] / temperature - peak)
    log_norm = peak + math.log(total)
    for k in range(n):
        out[k] = logits[k] / temperature - log_norm


@njit(cache=CACHE)
def softmax(logits, temperature):
    """Return softmax(logits / temperature) row by row; logits (batch, classes) float32."""
    batch, n = logits.shape
    probs = np.empty((batch, n), dtype=np.float32)
    log_p = np.empty(n, dtype=np.float64)
    for i in range(batch):
        log_softmax_row(logits[i], temperature, log_p)
        for k in range(n):
            probs[i, k] = math.exp(log_p[k])
    return probs


@njit(cache=CACHE)
def kd_loss_grad(student_logits, teacher_logits, labels, temperature, alpha, grad):
    """Return (soft, hard) losses and write d(total)/d(student logits) into grad.

    soft = tau^2 * mean over the batch of KL(p_teacher(tau) || p_student(tau)), where the tau^2
    factor keeps the soft gradient's size comparable across temperatures (Hinton, Vinyals and
    Dean, 2015). hard = mean cross-entropy of softmax(student logits) against labels.
    total = alpha * soft + (1 - alpha) * hard, so
    grad = alpha * tau * (p_student(tau) - p_teacher(tau)) / batch
         + (1 - alpha) * (p_student(1) - onehot) / batch.
    Pass teacher_logits with zero rows to skip the soft term (soft is then 0).
    """
    batch, n = student_logits.shape
    has_teacher = teacher_logits.shape[0] > 0
    exp_1 = np.empty(n, dtype=np.float64)
    exp_s = np.empty(n, dtype=np.float64)
    exp_t = np.empty(n, dtype=np.float64)
    soft = 0.0
    hard = 0.0
    soft_scale = alpha * temperature / batch
    hard_scale = (1.0 - alpha) / batch

    for i in range(batch):
        z = student_logits[i]
        peak = z[0]
        for k in range(1, n):
            peak = max(peak, z[k])

        # Cross-entropy at tau = 1, with log-sum-exp around the row maximum.
        total_1 = 0.0
        for k in range(n):
            exp_1[k] = math.exp(z[k] - peak)
            total_1 += exp_1[k]
        hard -= z[labels[i]] - peak - math.log(total_1)
        for k in range(n):
            grad[i, k] = hard_scale * exp_1[k] / total_1
        grad[i, labels[i]] -= hard_scale

        if not has_teacher:
            continue

        # Both softmaxes at tau; the maximum of z / tau is peak / tau because tau > 0.
        t = teacher_logits[i]
        peak_t = t[0]
        for k in range(1, n):
            peak_t = max(peak_t, t[k])
        total_s = 0.0
        total_t = 0.0
        for k in range(n):
            exp_s[k] = math.exp((z[k] - peak) / temperature)
            exp_t[k] = math.exp((t[k] - peak_t) / temperature)
            total_s += exp_s[k]
            total_t += exp_t[k]
        log_norm_s = math.log(total_s)
        log_norm_t = math.log(total_t)
        for k in range(n):
            pt = exp_t[k] / total_t
            if pt > 0.0:
                log_pt = (t[k] - peak_t) / temperature - log_norm_t
                log_ps = (z[k] - peak) / temperature - log_norm_s
                soft += pt * (log_pt - log_ps)
            grad[i, k] += soft_scale * (exp_s[k] / total_s - pt)

    soft = soft * temperature * temperature / batch
    hard = hard / batch
    return soft, hard


@njit(cache=CACHE, fastmath=True)
def adam_update(params, grads, m, v, step, learning_rate, beta1, beta2, epsilon):
    """Apply one Adam step (Kingma and Ba, 2015) in place; step counts from 1."""
    correction1 = 1.0 - beta1**step
    correction2 = 1.0 - beta2**step
    rate = learning_rate * math.sqrt(correction2) / correction1
    for p in range(params.shape[0]):
        g = grads[p]
        m[p] = beta1 * m[p] + (1.0 - beta1) * g
        v[p] = beta2 * v[p] + (1.0 - beta2) * g * g
        params[p] -= rate * m[p] / (math.sqrt(v[p]) + epsilon)


@njit(cache=CACHE)
def train_step(
    params, sizes, x, teacher_logits, labels, masks, temperature, alpha,
    learning_rate, m, v, step, acts, deltas, grads,
):
    """Run one minibatch step (forward, loss, backward, Adam) and return (soft, hard, total).

    acts and deltas are flat float32 buffers of at least batch * sum(sizes) values. With
    alpha = 0 and teacher_logits of zero rows this is plain cross-entropy training, which is how
    the teacher and the scratch student train.
    """
    batch = x.shape[0]
    starts = unit_offsets(sizes)
    used = batch * starts[-1]
    acts = acts[:used]
    deltas = deltas[:used]
    forward(params, sizes, x, acts, masks)

    last = sizes.shape[0] - 1
    logits = layer_block(acts, starts, last, batch)
    grad_logits = layer_block(deltas, starts, last, batch)
    soft, hard = kd_loss_grad(logits, teacher_logits, labels, temperature, alpha, grad_logits)

    backward(params, sizes, acts, deltas, masks, grads)
    adam_update(params, grads, m, v, step, learning_rate, 0.9, 0.999, 1e-8)
    return soft, hard, alpha * soft + (1.0 - alpha) * hard


@njit(cache=CACHE)
def predict_logits(params, sizes, x):
    """Return the logits (batch, classes) float32 for inputs x (batch, sizes[0])."""
    batch = x.shape[0]
    starts = unit_offsets(sizes)
    acts = np.empty(batch * starts[-1], dtype=np.float32)
    forward(params, sizes, x, acts, np.empty((0, 0), dtype=np.float32))
    return layer_block(acts, starts, sizes.shape[0] - 1, batch).copy()
