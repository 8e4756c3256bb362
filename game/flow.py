"""Moving light: the input pulse through both networks and the knowledge flowing while training.

Sparks are glowing particles that travel along curved paths; all of them live in one point
Geom whose columns are rewritten from NumPy each frame.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from panda3d.core import NodePath, Texture

from game.geometry import BulkGeom, make_additive, make_sprites, never_cull, premultiplied_rgba8
from game.network_view import NetworkView

SPARK_CAPACITY = 1200
SPARK_SIZE = 0.32

# The input pulse: sparks from the card to the input layers, then the wave crosses every
# network in PULSE_SECONDS (a deep and a shallow network arrive at their outputs together),
# then sparks fly from the output neurons to the charts.
FEED_SECONDS = 0.35
PULSE_SECONDS = 1.4
SPARKS_PER_TRANSITION = 28
SPARKS_TO_CHARTS = 36
# Layers light up over this fraction of a transition before the wave front reaches them.
REVEAL_LEAD = 0.35

# Knowledge flow while training: sparks per second at full soft loss, and the soft loss
# (KL * tau^2, nats) treated as "full".
FLOW_SPARKS_PER_SECOND = 90.0
FLOW_MIN_SHARE = 0.15
SOFT_LOSS_REFERENCE = 1.0
FLOW_SECONDS = 1.3
# Flow sparks arc toward the viewer (-Y) and outward (+X) on their way down.
FLOW_BEND = np.array([3.0, -4.0, 0.0], dtype=np.float32)


class Sparks:
    """A fixed pool of glowing particles, each moving from a start to an end on a curve."""

    def __init__(self, parent: NodePath, glow: Texture, capacity: int = SPARK_CAPACITY,
                 name: str = "sparks"):
        self.capacity = capacity
        self.geom = BulkGeom(name, "points", capacity, with_size=True)
        self.path = self.geom.attach(parent)
        never_cull(self.geom.node)
        make_additive(self.path)
        make_sprites(self.path, glow)
        self.path.setBin("fixed", 35)

        self.start = np.zeros((capacity, 3), dtype=np.float32)
        self.end = np.zeros((capacity, 3), dtype=np.float32)
        self.bend = np.zeros((capacity, 3), dtype=np.float32)
        self.color = np.zeros((capacity, 4), dtype=np.float32)
        self.size = np.zeros(capacity, dtype=np.float32)
        self.age = np.zeros(capacity, dtype=np.float32)
        self.life = np.ones(capacity, dtype=np.float32)
        self.delay = np.zeros(capacity, dtype=np.float32)
        self.alive = np.zeros(capacity, dtype=bool)
        self.next_slot = 0
        self._write()

    @property
    def n_alive(self) -> int:
        return int(self.alive.sum())

    def emit(self, starts, ends, colors, seconds: float, bend=(0.0, 0.0, 0.0),
             size: float = SPARK_SIZE, delays=None) -> None:
        """Launch one spark per row of `starts` (n, 3) toward `ends` (n, 3).

        `bend` (3,) or (n, 3) offsets the curve's midpoint; `delays` (n,) hold sparks back.
        The oldest sparks are reused when the pool is full.
        """
        starts = np.atleast_2d(np.asarray(starts, dtype=np.float32))
        count = min(len(starts), self.capacity)
        if count == 0:
            return
        slots = (self.next_slot + np.arange(count)) % self.capacity
        self.next_slot = int((self.next_slot + count) % self.capacity)

        self.start[slots] = starts[:count]
        self.end[slots] = np.atleast_2d(np.asarray(ends, dtype=np.float32))[:count]
        self.bend[slots] = np.broadcast_to(np.asarray(bend, dtype=np.float32), (len(starts), 3))[:count]
        self.color[slots] = np.broadcast_to(np.asarray(colors, dtype=np.float32), (len(starts), 4))[:count]
        self.size[slots] = size
        self.age[slots] = 0.0
        self.life[slots] = seconds
        self.delay[slots] = 0.0 if delays is None else np.asarray(delays, dtype=np.float32)[:count]
        self.alive[slots] = True

    def clear(self) -> None:
        self.alive[:] = False
        self._write()

    def destroy(self) -> None:
        self.path.removeNode()

    def update(self, dt: float) -> None:
        if not self.alive.any():
            return
        self.age[self.alive] += dt
        self.alive &= self.age < self.delay + self.life
        self._write()

    def _write(self) -> None:
        t = np.clip((self.age - self.delay) / self.life, 0.0, 1.0)[:, None]
        # Quadratic Bezier through the bent midpoint.
        control = (self.start + self.end) / 2.0 + self.bend
        positions = (1 - t) ** 2 * self.start + 2 * (1 - t) * t * control + t**2 * self.end

        visible = self.alive & (self.age >= self.delay)
        fade = np.sqrt(np.maximum(np.sin(np.pi * t[:, 0]), 0.0)) * visible
        colors = self.color.copy()
        colors[:, 3] *= fade
        self.geom.write_positions(positions)
        self.geom.write_colors(premultiplied_rgba8(colors))
        self.geom.write_sizes(self.size * (0.6 + 0.4 * fade))


def top_signal_edges(view: NetworkView, layer: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (starts, ends) positions of the `count` edges carrying most signal out of `layer`."""
    start, end = view.edge_starts[layer], view.edge_starts[layer + 1]
    signal = view.edge_signal[start:end]
    count = min(count, signal.size)
    best = np.argpartition(signal, -count)[-count:]
    best = best[signal[best] > 0]
    n_out = view.sizes[layer + 1]
    sources, targets = best // n_out, best % n_out
    return view.layer_positions[layer][sources], view.layer_positions[layer + 1][targets]


class InputPulse:
    """Lights both networks layer by layer after the input changes, ending at the charts.

    `chart_targets(view_index)` returns (10, 3) positions where each class's output sparks
    land, or None for no chart sparks.
    """

    def __init__(self, views: list[NetworkView], sparks: Sparks, feed_starts: np.ndarray,
                 chart_targets: Callable[[int], np.ndarray | None], rng: np.random.Generator):
        self.views = views
        self.sparks = sparks
        self.feed_starts = feed_starts
        self.chart_targets = chart_targets
        self.rng = rng
        self.time = 0.0
        self.active = False
        self._sent: set = set()

    def start(self) -> None:
        """Restart the wave from the input card."""
        self.time = 0.0
        self.active = True
        self._sent = set()
        for view in self.views:
            view.set_pulse(np.zeros(len(view.sizes)), np.zeros(len(view.sizes) - 1))
        self._send_feed()

    def _send_feed(self) -> None:
        image = self.views[0].activations[0]
        bright = np.flatnonzero(image > 0.5)
        for view in self.views:
            chosen = self.rng.choice(bright, size=min(14, bright.size), replace=False) if bright.size else []
            if len(chosen):
                self.sparks.emit(self.feed_starts[chosen], view.layer_positions[0][chosen],
                                 (0.8, 0.9, 1.0, 0.9), FEED_SECONDS)

    def update(self, dt: float) -> None:
        if not self.active:
            return
        self.time += dt
        progress = (self.time - FEED_SECONDS) / PULSE_SECONDS

        for index, view in enumerate(self.views):
            depth = len(view.sizes) - 1
            front = progress * depth
            layers = np.arange(depth + 1)
            reveal = np.clip((front - layers) / REVEAL_LEAD + 1.0, 0.0, 1.0)
            local = front - layers[:-1]
            flash = np.where((local >= 0) & (local <= 1), np.sin(np.pi * np.clip(local, 0, 1)), 0.0)
            view.set_pulse(reveal, flash)

            for layer in range(depth):
                if local[layer] >= 0 and (index, layer) not in self._sent:
                    self._sent.add((index, layer))
                    starts, ends = top_signal_edges(view, layer, SPARKS_PER_TRANSITION)
                    self.sparks.emit(starts, ends, np.append(view.tint, 0.95), PULSE_SECONDS / depth)

        if progress >= 1.0:
            self._send_to_charts()
            for view in self.views:
                view.set_pulse(np.ones(len(view.sizes)), np.zeros(len(view.sizes) - 1))
            self.active = False

    def _send_to_charts(self) -> None:
        for index, view in enumerate(self.views):
            targets = self.chart_targets(index)
            if targets is None:
                continue
            glow = view.activations[-1]
            if glow.sum() <= 0:
                continue
            classes = self.rng.choice(len(glow), size=SPARKS_TO_CHARTS, p=glow / glow.sum())
            jitter = self.rng.uniform(0.0, 0.25, SPARKS_TO_CHARTS)
            self.sparks.emit(view.layer_positions[-1][classes], targets[classes],
                             np.append(view.tint, 0.9), 0.7, bend=(0.0, -1.0, 0.6), delays=jitter)


class KnowledgeFlow:
    """While training, streams sparks from the teacher's output neurons to the student's.

    The stream's density follows the soft loss, and each spark picks its class with the
    teacher's soft-target probability for the current input, so at a high temperature the
    "dark knowledge" classes send sparks too.
    """

    def __init__(self, sparks: Sparks, teacher_outputs: np.ndarray, student_outputs: np.ndarray,
                 color, rng: np.random.Generator):
        self.sparks = sparks
        self.teacher_outputs = teacher_outputs
        self.student_outputs = student_outputs
        self.color = np.asarray(color, dtype=np.float32)
        self.rng = rng
        self.credit = 0.0
        self.rate = 0.0

    def update(self, dt: float, training: bool, soft_loss: float, soft_targets: np.ndarray) -> None:
        if not training or not math.isfinite(soft_loss):
            self.credit = 0.0
            self.rate = 0.0
            return
        share = float(np.clip(soft_loss / SOFT_LOSS_REFERENCE, FLOW_MIN_SHARE, 1.0))
        self.rate = FLOW_SPARKS_PER_SECOND * share
        self.credit += dt * self.rate
        count = int(self.credit)
        if count <= 0:
            return
        self.credit -= count

        probs = np.asarray(soft_targets, dtype=np.float64)
        classes = self.rng.choice(len(probs), size=count, p=probs / probs.sum())
        colors = np.empty((count, 4), dtype=np.float32)
        colors[:, :3] = self.color
        colors[:, 3] = 0.35 + 0.65 * np.sqrt(probs[classes] / probs.max())
        bend = FLOW_BEND + self.rng.normal(0.0, 0.5, (count, 3)).astype(np.float32)
        self.sparks.emit(self.teacher_outputs[classes], self.student_outputs[classes], colors,
                         FLOW_SECONDS, bend=bend, size=SPARK_SIZE * 0.8)
