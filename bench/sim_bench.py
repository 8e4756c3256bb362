"""Benchmarks of the simulation: one distillation step and one teacher epoch.

Each comparison runs both sides in the same process, interleaved, and reports medians.
"""

from __future__ import annotations

import numpy as np

from bench.timing import interleaved_medians
from sim import kernels, reference
from sim.data import load_split
from sim.model import STUDENT_SIZES, TEACHER_SIZES, MLP, load_teacher
from sim.teacher import TEACHER_BATCH, TEACHER_KEEP

BATCH = 64
TEMPERATURE = 3.0
ALPHA = 0.7
LEARNING_RATE = 0.01


def step_inputs():
    split = load_split()
    teacher = load_teacher()
    x = np.ascontiguousarray(split.train_images[:BATCH])
    labels = split.train_labels[:BATCH]
    teacher_logits = teacher.logits(x)
    return x, labels, teacher_logits


def numba_step(student: MLP, x, labels, teacher_logits):
    """Return a callable that runs one distillation step with the Numba kernel."""
    m, v, grads = (np.zeros_like(student.params) for _ in range(3))
    acts = np.empty(len(x) * sum(student.sizes), np.float32)
    deltas = np.empty_like(acts)
    no_masks = np.empty((0, 0), np.float32)
    step = [0]

    def run():
        step[0] += 1
        kernels.train_step(student.params, student.sizes_array, x, teacher_logits, labels, no_masks,
                           TEMPERATURE, ALPHA, LEARNING_RATE, m, v, step[0], acts, deltas, grads)
    return run


def numpy_step(student: MLP, x, labels, teacher_logits):
    """Return a callable that runs the same step with the NumPy reference, in float32."""
    params = student.params.copy()
    m, v = np.zeros_like(params), np.zeros_like(params)
    step = [0]

    def run():
        step[0] += 1
        reference.train_step(params, student.sizes, x, teacher_logits, labels, TEMPERATURE, ALPHA,
                             LEARNING_RATE, m, v, step[0])
    return run


def torch_step(student: MLP, x, labels, teacher_logits):
    """Return a callable that runs the same step with PyTorch eager, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    layers = []
    for weights, bias in student.layers():
        linear = torch.nn.Linear(*weights.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias.copy()))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    inputs = torch.from_numpy(x)
    targets = torch.from_numpy(labels)
    soft_targets = torch.softmax(torch.from_numpy(teacher_logits) / TEMPERATURE, dim=1)
    kl = torch.nn.KLDivLoss(reduction="batchmean")
    cross_entropy = torch.nn.CrossEntropyLoss()

    def run():
        optimiser.zero_grad()
        logits = model(inputs)
        soft = kl(torch.log_softmax(logits / TEMPERATURE, dim=1), soft_targets) * TEMPERATURE**2
        loss = ALPHA * soft + (1 - ALPHA) * cross_entropy(logits, targets)
        loss.backward()
        optimiser.step()
    return run


def bench_step(repeats: int) -> dict:
    """Time one distillation step of the default student at batch 64: Numba, NumPy, PyTorch."""
    x, labels, teacher_logits = step_inputs()
    runs = {
        "numba": numba_step(MLP.initialised(STUDENT_SIZES, 0), x, labels, teacher_logits),
        "numpy": numpy_step(MLP.initialised(STUDENT_SIZES, 0), x, labels, teacher_logits),
    }
    torch_run = torch_step(MLP.initialised(STUDENT_SIZES, 0), x, labels, teacher_logits)
    if torch_run is not None:
        runs["torch"] = torch_run

    seconds = interleaved_medians(runs, repeats=repeats)
    micro = {name: value * 1e6 for name, value in seconds.items()}
    result = {
        "step_us_numba": micro["numba"],
        "step_us_numpy": micro["numpy"],
        "step_us_torch": micro.get("torch"),
        "speedup_vs_numpy": micro["numpy"] / micro["numba"],
        "speedup_vs_torch": micro["torch"] / micro["numba"] if "torch" in micro else None,
    }
    if torch_run is None:
        result["note_torch"] = "PyTorch is not installed; pip install torch to add it"
    return result


def bench_teacher_epoch(repeats: int) -> dict:
    """Time one teacher training epoch (dropout, Adam, batch 64), Numba against NumPy."""
    split = load_split()
    rng = np.random.default_rng(0)
    images = split.train_images
    labels = split.train_labels
    n_hidden = sum(TEACHER_SIZES[1:-1])
    batches = []
    for start in range(0, len(images), TEACHER_BATCH):
        x = np.ascontiguousarray(images[start:start + TEACHER_BATCH])
        masks = ((rng.random((len(x), n_hidden)) < TEACHER_KEEP) / TEACHER_KEEP).astype(np.float32)
        batches.append((x, labels[start:start + TEACHER_BATCH], masks))

    model = MLP.initialised(TEACHER_SIZES, 0)
    m, v, grads = (np.zeros_like(model.params) for _ in range(3))
    acts = np.empty(TEACHER_BATCH * sum(TEACHER_SIZES), np.float32)
    deltas = np.empty_like(acts)
    no_teacher = np.empty((0, TEACHER_SIZES[-1]), np.float32)
    ref_params = model.params.copy()
    ref_m, ref_v = np.zeros_like(ref_params), np.zeros_like(ref_params)
    steps = {"numba": 0, "numpy": 0}

    def numba_epoch():
        for x, y, masks in batches:
            steps["numba"] += 1
            kernels.train_step(model.params, model.sizes_array, x, no_teacher, y, masks, 1.0, 0.0,
                               1e-3, m, v, steps["numba"], acts, deltas, grads)

    def numpy_epoch():
        for x, y, masks in batches:
            steps["numpy"] += 1
            reference.train_step(ref_params, TEACHER_SIZES, x, None, y, 1.0, 0.0, 1e-3,
                                 ref_m, ref_v, steps["numpy"], masks)

    seconds = interleaved_medians({"numba": numba_epoch, "numpy": numpy_epoch}, repeats=repeats, rounds=3)
    return {
        "teacher_epoch_ms_numba": seconds["numba"] * 1e3,
        "teacher_epoch_ms_numpy": seconds["numpy"] * 1e3,
        "teacher_epoch_speedup_vs_numpy": seconds["numpy"] / seconds["numba"],
    }
