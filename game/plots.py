"""In-world line plots of the distillation losses and the held-out accuracy over epochs.

Construct with `LossPlots(parent, lab, font=None)` and call `update(dt)` every frame and
`destroy()` when done. Both plots lie in the local XZ plane inside a box 12 wide and 5.8 high
centred on the origin and facing -Y, so they read upright to a camera looking along +Y. Parent
it under render and move or scale `plots.root` to place it.

The left plot shows the soft loss (KL times tau squared), the hard loss (cross-entropy) and
their weighted total per epoch. The right plot shows held-out accuracy per epoch, the teacher's
accuracy as a reference line and, while the race is on, the scratch student's curve and the
accuracy gap. Curves, ticks and readouts are rebuilt only when an epoch record arrives, the
student is reset or the race is switched.

The figure draws as five Geoms: the backing, one Geom of lines per line thickness and one of
text.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import DepthTestAttrib, NodePath, RenderAttrib, TextFont, TextNode

from game.widgets import BakedText, LineBatch, QuadBatch, load_font, make_text, set_text, set_text_color, symbol
from sim.lab import Lab

# Plot areas (x0, z0, x1, z1) in local units. The whole figure fits 12 x 5.8 around the origin.
LOSS_AREA = (-5.2, -1.75, 0.35, 1.6)
ACCURACY_AREA = (1.8, -1.75, 4.55, 1.6)   # room on the right for the "teacher" label
BACKING_BOX = (-6.0, -2.9, 6.0, 2.9)
TITLE_Z = 2.4
# Baseline of the race-gap readout, between the accuracy plot's title and its area.
GAP_Z = 1.88
# Legend rows start this far below the top (loss) or above the bottom (accuracy) of a plot,
# where the falling loss curves and the rising accuracy curves leave room.
LEGEND_INSET = 0.32
LEGEND_ROW = 0.36
TICK_LABEL_GAP = 0.12
MAX_TICKS = 5

# Sized to stay legible in the overview, where a local unit spans about 25 pixels at 1280x720.
TITLE_SCALE = 0.42
LEGEND_SCALE = 0.32
TICK_SCALE = 0.32
GAP_SCALE = 0.36
# The epoch count shares the title row with "Loss per epoch", so it stays small enough to fit.
COUNT_SCALE = 0.28
TEXT_Y = -0.03
# Line widths in pixels of the curves and legend swatches, the axes and teacher line, and the
# grid. Lines of one width share a Geom.
# NOTE: p3tinydisplay draws every line 1 pixel wide whatever this is set to.
LINE_THICKNESS = 2.5
AXIS_THICKNESS = 1.5
GRID_THICKNESS = 1.0
# Draw order of the curves, last on top. The curves lie a hair apart in depth, below what a
# 16-bit depth buffer resolves at viewing distance, so a fixed order (with later curves winning
# depth ties) decides crossings. The curves are segments of one Geom in this order, which draws
# after the transparent bin and after the text at the start of the fixed bin.
CURVE_ORDER = ("hard", "soft", "total", "scratch", "distilled")
CURVE_BIN_ORDER = 1

SOFT_COLOR = (0.95, 0.45, 0.85, 1.0)
HARD_COLOR = (0.45, 0.8, 1.0, 1.0)
TOTAL_COLOR = (1.0, 0.92, 0.4, 1.0)
DISTILLED_COLOR = (0.25, 0.78, 1.0, 1.0)
# Scratch: a warm green, far in hue from the distilled student's blue and the teacher's orange.
SCRATCH_COLOR = (0.55, 0.95, 0.35, 1.0)
TEACHER_COLOR = (1.0, 0.6, 0.18, 0.8)
AXIS_COLOR = (0.6, 0.65, 0.78, 1.0)
GRID_COLOR = (0.16, 0.19, 0.27, 1.0)
TITLE_COLOR = (0.92, 0.94, 1.0, 1.0)
MUTED_COLOR = (0.6, 0.65, 0.75, 1.0)
BACKING_COLOR = (0.05, 0.07, 0.12, 0.86)
GAP_POSITIVE_COLOR = (0.45, 0.9, 0.45, 1.0)
GAP_NEGATIVE_COLOR = (1.0, 0.45, 0.4, 1.0)


def nice_step(span: float, max_ticks: int = MAX_TICKS) -> float:
    """Return a tick spacing of 1, 2, 2.5 or 5 times a power of ten giving at most max_ticks + 1 ticks."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max_ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw - 1e-12:
            return factor * power
    return 10.0 * power


def nice_ticks(low: float, high: float, max_ticks: int = MAX_TICKS) -> np.ndarray:
    """Return evenly spaced round tick values from low to high inclusive."""
    step = nice_step(high - low, max_ticks)
    first = math.ceil(low / step - 1e-9) * step
    return np.arange(first, high + step * 1e-6, step)


def loss_range(history) -> tuple[float, float]:
    """Return (0, top) covering every loss in `history`, with top rounded up to a tick."""
    values = [value for record in history
              for value in (record.soft_loss, record.hard_loss, record.total_loss) if math.isfinite(value)]
    peak = max(values, default=1.0)
    step = nice_step(peak)
    return 0.0, max(step, math.ceil(peak / step - 1e-9) * step)


def accuracy_range(values) -> tuple[float, float]:
    """Return (bottom, 1) with bottom the lowest value rounded down to a tenth."""
    low = min(values, default=0.0)
    return max(0.0, math.floor(low * 10 - 1e-9) / 10), 1.0


class LossPlots:
    """Loss curves and accuracy curves over epochs, rebuilt when the training history changes."""

    def __init__(self, parent: NodePath, lab: Lab, font: TextFont | None = None):
        self.lab = lab
        self.font = font if font is not None else load_font()
        self.tau = symbol(self.font, "τ", "tau")
        self.times = symbol(self.font, "·", "*")
        self.root = parent.attachNewNode("loss-plots")
        self.root.setLightOff()
        self.dynamic = self.root.attachNewNode("curves-and-ticks")
        self.drawn_state = None
        # (epochs, values) of every curve as drawn, keyed by name, for tests and debugging.
        self.curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # (x, z) points of every curve drawn as a line, keyed by name.
        self.curve_points: dict[str, np.ndarray] = {}
        # Segments of the next rebuild per line width: lists of (start, end, y, colour).
        self.segments: dict[float, list] = {}
        self.static_segments: dict[float, list] = {}
        self.build_static()
        self.rebuild()

    # --- construction ---------------------------------------------------------------------

    def build_static(self) -> None:
        """Build the backing, the axes, titles and legends that never change."""
        backing = QuadBatch(self.root, 1, "plots-backing", y=0.05)
        x0, z0, x1, z1 = BACKING_BOX
        backing.set_rects([x0], [z0], [x1], [z1])
        backing.set_colors(BACKING_COLOR)

        for ax0, az0, ax1, az1 in (LOSS_AREA, ACCURACY_AREA):
            self.add_segment(AXIS_THICKNESS, (ax0, az0), (ax1, az0), 0.0, AXIS_COLOR)
            self.add_segment(AXIS_THICKNESS, (ax0, az0), (ax0, az1), 0.0, AXIS_COLOR)

        make_text(self.root, "Loss per epoch", self.font, pos=(LOSS_AREA[0], TITLE_Z), scale=TITLE_SCALE,
                  color=TITLE_COLOR, y=TEXT_Y, name="loss-title")
        make_text(self.root, "Held-out accuracy", self.font, pos=(ACCURACY_AREA[0], TITLE_Z),
                  scale=TITLE_SCALE, color=TITLE_COLOR, y=TEXT_Y, name="accuracy-title")
        for area in (LOSS_AREA, ACCURACY_AREA):
            make_text(self.root, "epoch", self.font, pos=(area[2], area[1] - 0.78), scale=TICK_SCALE,
                      color=MUTED_COLOR, align="right", y=TEXT_Y, name="epoch-label")

        entries = [
            (f"soft: KL{self.times}{self.tau}²", SOFT_COLOR),
            ("hard: cross-entropy", HARD_COLOR),
            ("total", TOTAL_COLOR),
        ]
        widest = max(self.text_width(label, LEGEND_SCALE) for label, _ in entries)
        _, _, x1, z1 = LOSS_AREA
        self.loss_legend = self.add_legend(self.root, entries, x1 - widest - 0.55, z1 - LEGEND_INSET - 0.1)
        self.gap_text = make_text(self.root, "", self.font, pos=(ACCURACY_AREA[0], GAP_Z),
                                  scale=GAP_SCALE, y=TEXT_Y, name="race-gap")
        self.epoch_text = make_text(self.root, "", self.font, pos=(LOSS_AREA[2], TITLE_Z), scale=COUNT_SCALE,
                                    color=MUTED_COLOR, align="right", y=TEXT_Y, name="epoch-count")
        self.static_texts = [path for path in self.root.getChildren() if isinstance(path.node(), TextNode)]
        self.static_segments, self.segments = self.segments, {}
        self.text = BakedText(self.root, self.static_texts, "plot-text", draw_after_transparent=True)

    def text_width(self, text: str, scale: float) -> float:
        """Return the width of `text` at `scale` in this font, in local units."""
        probe = TextNode("width-probe")
        probe.setFont(self.font)
        probe.setText(text)
        return probe.getWidth() * scale

    def add_legend(self, parent: NodePath, entries, x: float, top_z: float) -> list[NodePath]:
        """Draw (label, colour) legend entries in rows downward from top_z, each with a line swatch."""
        texts = []
        for row, (label, color) in enumerate(entries):
            z = top_z - row * LEGEND_ROW
            self.add_segment(LINE_THICKNESS, (x, z + 0.09), (x + 0.4, z + 0.09), 0.0, color)
            texts.append(make_text(parent, label, self.font, pos=(x + 0.55, z), scale=LEGEND_SCALE,
                                   color=color, y=TEXT_Y, name="legend"))
        return texts

    def add_segment(self, thickness: float, start, end, y: float, color) -> None:
        """Queue a line from start to end, both (x, z), for the Geom of lines `thickness` wide."""
        self.segments.setdefault(thickness, []).append((start, end, y, color))

    def build_lines(self) -> None:
        """Draw the queued segments and the static ones as one LineBatch per line width."""
        self.lines = {}
        for thickness in (GRID_THICKNESS, AXIS_THICKNESS, LINE_THICKNESS):
            segments = self.static_segments.get(thickness, []) + self.segments.get(thickness, [])
            if thickness == LINE_THICKNESS:
                segments += self.curve_segments()
            if not segments:
                continue
            starts, ends, depths, colors = zip(*segments)
            lines = LineBatch(self.dynamic, len(segments), f"lines-{thickness:g}px", thickness=thickness)
            lines.set_segments(np.array(starts), np.array(ends), y=np.array(depths))
            lines.set_colors(np.array(colors))
            self.lines[thickness] = lines
        self.segments = {}

        curves = self.lines.get(LINE_THICKNESS)
        if curves is not None:
            curves.path.setBin("fixed", CURVE_BIN_ORDER)
            # Later segments win depth ties, so a later curve draws over an earlier one where they cross.
            curves.path.setAttrib(DepthTestAttrib.make(RenderAttrib.MLessEqual))

    def curve_segments(self) -> list:
        """Return the segments of every curve, in CURVE_ORDER, at the curves' depth."""
        segments = []
        for name in CURVE_ORDER:
            if name not in self.curve_points:
                continue
            points, color = self.curve_points[name]
            segments += [(start, end, -0.01, color) for start, end in zip(points[:-1], points[1:])]
        return segments

    # --- drawing --------------------------------------------------------------------------

    def history_state(self):
        """Return a key that changes whenever the plotted data changes."""
        scratch = self.lab.scratch
        return (
            id(self.lab.distiller.history), len(self.lab.distiller.history),
            None if scratch is None else (id(scratch.history), len(scratch.history)),
            self.lab.distiller.config.epochs,
        )

    def update(self, dt: float) -> None:
        if self.history_state() != self.drawn_state:
            self.rebuild()

    def rebuild(self) -> None:
        """Redraw curves, ticks and readouts from the lab's epoch records."""
        self.drawn_state = self.history_state()
        self.dynamic.removeNode()
        self.dynamic = self.root.attachNewNode("curves-and-ticks")
        self.curves = {}
        self.curve_points = {}

        distiller = self.lab.distiller
        history = list(distiller.history)
        scratch_history = list(self.lab.scratch.history) if self.lab.scratch is not None else None
        last_epoch = max([distiller.config.epochs, *(r.epoch for r in history),
                          *(r.epoch for r in scratch_history or [])])
        x_range = (0.0, float(last_epoch))
        set_text(self.epoch_text, f"epoch {distiller.epoch} of {distiller.config.epochs}")

        loss_y = loss_range(history)
        self.draw_axes(LOSS_AREA, x_range, loss_y, lambda value: f"{value:g}")
        epochs = np.array([r.epoch for r in history], dtype=np.float32)
        for name, color, values in (
            ("soft", SOFT_COLOR, [r.soft_loss for r in history]),
            ("hard", HARD_COLOR, [r.hard_loss for r in history]),
            ("total", TOTAL_COLOR, [r.total_loss for r in history]),
        ):
            self.draw_curve(name, LOSS_AREA, x_range, loss_y, epochs, np.array(values, dtype=np.float32), color)

        accuracies = [r.accuracy for r in history]
        scratch_accuracies = [r.accuracy for r in scratch_history or []]
        teacher_accuracy = distiller.teacher_accuracy
        accuracy_y = accuracy_range(accuracies + scratch_accuracies + [teacher_accuracy])
        self.draw_axes(ACCURACY_AREA, x_range, accuracy_y, lambda value: f"{value * 100:.0f} %")
        self.draw_teacher_line(x_range, accuracy_y, teacher_accuracy)
        self.draw_curve("distilled", ACCURACY_AREA, x_range, accuracy_y, epochs,
                        np.array(accuracies, dtype=np.float32), DISTILLED_COLOR)
        if scratch_history is not None:
            scratch_epochs = np.array([r.epoch for r in scratch_history], dtype=np.float32)
            self.draw_curve("scratch", ACCURACY_AREA, x_range, accuracy_y, scratch_epochs,
                            np.array(scratch_accuracies, dtype=np.float32), SCRATCH_COLOR)
        self.draw_accuracy_legend(scratch_history is not None)
        self.build_lines()
        tick_texts = [path for path in self.dynamic.getChildren() if isinstance(path.node(), TextNode)]
        self.write_gap()
        self.text.set_texts(self.static_texts + tick_texts)

    def to_local(self, area, x_range, y_range, xs, ys) -> tuple[np.ndarray, np.ndarray]:
        """Map data coordinates to local (x, z) inside `area`."""
        x0, z0, x1, z1 = area
        xs = x0 + (np.asarray(xs, dtype=np.float64) - x_range[0]) / (x_range[1] - x_range[0]) * (x1 - x0)
        ys = z0 + (np.asarray(ys, dtype=np.float64) - y_range[0]) / (y_range[1] - y_range[0]) * (z1 - z0)
        return xs, np.clip(ys, z0, z1)

    def draw_axes(self, area, x_range, y_range, format_y) -> None:
        """Draw grid lines and tick labels for both axes of one plot."""
        x0, z0, x1, z1 = area
        x_ticks = nice_ticks(*x_range)
        y_ticks = nice_ticks(*y_range)
        tick_x, _ = self.to_local(area, x_range, y_range, x_ticks, np.zeros_like(x_ticks))
        _, tick_z = self.to_local(area, x_range, y_range, np.zeros_like(y_ticks), y_ticks)

        for z in tick_z:
            self.add_segment(GRID_THICKNESS, (x0, z), (x1, z), 0.02, GRID_COLOR)
        for x in tick_x:
            self.add_segment(GRID_THICKNESS, (x, z0 - 0.1), (x, z0), 0.02, AXIS_COLOR)

        for value, z in zip(y_ticks, tick_z):
            make_text(self.dynamic, format_y(value), self.font, pos=(x0 - TICK_LABEL_GAP, z - 0.07),
                      scale=TICK_SCALE, color=MUTED_COLOR, align="right", y=TEXT_Y, name="y-tick")
        for value, x in zip(x_ticks, tick_x):
            make_text(self.dynamic, f"{value:g}", self.font, pos=(x, z0 - 0.38), scale=TICK_SCALE,
                      color=MUTED_COLOR, align="center", y=TEXT_Y, name="x-tick")

    def draw_curve(self, name, area, x_range, y_range, epochs, values, color) -> None:
        finite = np.isfinite(values)
        epochs, values = epochs[finite], values[finite]
        self.curves[name] = (epochs, values)
        if len(epochs) < 2:
            return
        xs, zs = self.to_local(area, x_range, y_range, epochs, values)
        self.curve_points[name] = (np.stack([xs, zs], axis=1), color)

    def draw_teacher_line(self, x_range, y_range, teacher_accuracy: float) -> None:
        x0, _, x1, _ = ACCURACY_AREA
        _, (z,) = self.to_local(ACCURACY_AREA, x_range, y_range, [0.0], [teacher_accuracy])
        self.add_segment(AXIS_THICKNESS, (x0, z), (x1, z), 0.01, TEACHER_COLOR)
        make_text(self.dynamic, "teacher", self.font, pos=(x1 + 0.1, z - 0.07), scale=TICK_SCALE,
                  color=TEACHER_COLOR, y=TEXT_Y, name="teacher-label")

    def draw_accuracy_legend(self, race: bool) -> None:
        """List the curves near the plot's bottom edge, which rising curves leave empty."""
        entries = [("distilled student", DISTILLED_COLOR)]
        if race:
            entries.append(("scratch: labels only", SCRATCH_COLOR))
        x0, z0, _, _ = ACCURACY_AREA
        top_z = z0 + LEGEND_INSET + LEGEND_ROW * (len(entries) - 1)
        self.accuracy_legend = self.add_legend(self.dynamic, entries, x0 + 0.3, top_z)

    def write_gap(self) -> None:
        gap = self.lab.race_gap()
        if gap is None:
            set_text(self.gap_text, "")
            return
        set_text(self.gap_text, f"race gap: {gap * 100:+.1f} points")
        set_text_color(self.gap_text, GAP_POSITIVE_COLOR if gap >= 0 else GAP_NEGATIVE_COLOR)

    def destroy(self) -> None:
        self.root.removeNode()
