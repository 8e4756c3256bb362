"""Accuracy and measured inference speed."""

from __future__ import annotations

import time

import numpy as np


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """Return the fraction of images whose predicted class equals the label."""
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(model.predict(images) == labels))


def inference_seconds(model, images: np.ndarray, repeats: int = 31) -> float:
    """Return the median wall time of one forward pass over all images, in seconds."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    model.logits(images[:2])  # compile and warm caches outside the timed runs

    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.logits(images)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def speed_ratio(teacher, student, images: np.ndarray, repeats: int = 31) -> float:
    """Return how many times faster the student's forward pass is than the teacher's.

    Both are timed over the same images, alternating so that machine noise hits both alike.
    """
    teacher_times, student_times = [], []
    for _ in range(3):
        teacher_times.append(inference_seconds(teacher, images, repeats))
        student_times.append(inference_seconds(student, images, repeats))
    return float(np.median(teacher_times) / np.median(student_times))
