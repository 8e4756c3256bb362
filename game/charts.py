"""In-world bar charts of the teacher's and the student's softmax outputs for the current input.

Construct with `OutputCharts(parent, lab, font=None)` and call `update(dt)` every frame and
`destroy()` when done. Everything lies in the local XZ plane inside a box 12 wide and 10 high
centred on the origin and facing -Y, so it reads upright to a camera looking along +Y. Parent it
under render and move or scale `charts.root` to place it. The teacher's chart is on the left, the
student's on the right; both show solid bars at the current temperature and an outline of the
tau = 1 bars, mark the true class, and share a KL readout and a match gauge underneath.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import NodePath, TextFont, TextNode

from game.widgets import BakedText, LineBatch, QuadBatch, load_font, make_text, set_text, set_text_color, symbol
from sim.data import N_CLASSES
from sim.lab import Lab

# Layout, in local units (the whole chart fits 12 x 10 around the origin).
CHART_CENTERS_X = (-3.05, 3.05)
CHART_WIDTH = 5.7
AXIS_LABEL_WIDTH = 0.55
BAR_BASE_Z = -1.7
BAR_MAX_HEIGHT = 5.2                # height of a bar at probability 1
BAR_WIDTH = 0.32
GHOST_WIDTH = 0.42
GHOST_LINE = 0.065    # at least a pixel wide in the overview, so outlines stay solid without multisampling
TITLE_Z = 4.4
CLASS_LABEL_Z = -2.28
LEGEND_Z = -2.82
KL_Z = -3.52
GAUGE_Z = (-4.3, -3.92)
GAUGE_X = (-2.9, 2.9)
AGREE_Z = -4.8
TEXT_Y = -0.03                      # text and outlines sit slightly in front of the bars
BACKING_BOX = (-6.0, -5.0, 6.0, 5.0)

# Sized to stay legible in the overview, where a local unit spans about 25 pixels at 1280x720.
TITLE_SCALE = 0.57                  # "Student  τ = 20.0" still fits inside the backing
LABEL_SCALE = 0.44
SMALL_SCALE = 0.34
READOUT_SCALE = 0.5

# Each frame, bars close a fraction 1 - exp(-APPROACH_RATE * dt) of the gap to their target.
APPROACH_RATE = 8.0
TEXT_REFRESH_S = 0.1

TEACHER_COLOR = (1.0, 0.6, 0.18, 1.0)
STUDENT_COLOR = (0.25, 0.78, 1.0, 1.0)
GHOST_COLOR = (0.92, 0.94, 1.0, 0.85)
GRID_COLOR = (0.2, 0.23, 0.32, 1.0)
AXIS_COLOR = (0.7, 0.75, 0.85, 0.9)
LABEL_COLOR = (0.85, 0.88, 0.95, 1.0)
MUTED_COLOR = (0.6, 0.65, 0.75, 1.0)
TRUE_LABEL_COLOR = (1.0, 0.84, 0.25, 1.0)
BACKING_COLOR = (0.05, 0.07, 0.12, 0.86)
GAUGE_BACK_COLOR = (0.16, 0.18, 0.26, 1.0)
AGREE_COLOR = (0.45, 0.9, 0.45, 1.0)
DIFFER_COLOR = (1.0, 0.42, 0.38, 1.0)
LOW_MATCH_COLOR = np.array([0.95, 0.35, 0.3, 1.0])
HIGH_MATCH_COLOR = np.array([0.35, 0.9, 0.45, 1.0])

TEACHER, STUDENT, TEACHER_T1, STUDENT_T1 = range(4)
GRID_LEVELS = (0.25, 0.5, 0.75, 1.0)

# Every rectangle is in one Geom, drawn in this order: each group lies in front of the ones
# before it, so drawing them back to front blends the translucent ones over what is behind.
# Bars and gauge are opaque colours, so blending draws them exactly as an opaque Geom would.
BACKING_QUADS = 1
MARKER_QUADS = 2                    # one gold box behind the true class's label per chart
BAR_QUADS = 2 * N_CLASSES
OUTLINE_QUADS = 6 * N_CLASSES       # each tau = 1 outline is a left side, a right side and a top
GAUGE_QUADS = 2                     # the gauge's track and its fill


class OutputCharts:
    """Teacher and student output bars at the current temperature, with tau = 1 outlines."""

    def __init__(self, parent: NodePath, lab: Lab, font: TextFont | None = None):
        self.lab = lab
        self.font = font if font is not None else load_font()
        self.tau = symbol(self.font, "τ", "tau")
        self.root = parent.attachNewNode("output-charts")
        self.root.setLightOff()

        # Row order: teacher at tau, student at tau, teacher at 1, student at 1; (4, classes).
        self.targets = np.zeros((4, N_CLASSES), dtype=np.float32)
        self.heights = np.zeros((4, N_CLASSES), dtype=np.float32)
        self.match_target = 0.0
        self.match_fill = 0.0
        self.marked_label: int | None = None
        self.snapshot = None
        self.text_clock = TEXT_REFRESH_S

        slot = (CHART_WIDTH - AXIS_LABEL_WIDTH) / N_CLASSES
        self.bar_centers = [
            center - CHART_WIDTH / 2 + AXIS_LABEL_WIDTH + slot * (np.arange(N_CLASSES) + 0.5)
            for center in CHART_CENTERS_X
        ]

        self.quads = QuadBatch(self.root, BACKING_QUADS + MARKER_QUADS + BAR_QUADS + OUTLINE_QUADS + GAUGE_QUADS,
                               "chart-quads")
        parts = []
        first = 0
        for count in (BACKING_QUADS, MARKER_QUADS, BAR_QUADS, OUTLINE_QUADS, GAUGE_QUADS):
            parts.append(self.quads.part(first, count))
            first += count
        self.backing, self.label_markers, self.bars, self.ghosts, self.gauge = parts

        self.build_frame()
        self.build_bars()
        self.build_readouts()
        # All text, static and changing, draws as one Geom after the translucent rectangles.
        texts = [path for path in self.root.getChildren() if isinstance(path.node(), TextNode)]
        self.text = BakedText(self.root, texts, "chart-text", draw_after_transparent=True)

    # --- construction ---------------------------------------------------------------------

    def build_frame(self) -> None:
        """Build the backing panel, grid, axes, class labels, titles and legend."""
        x0, z0, x1, z1 = BACKING_BOX
        self.backing.set_rects([x0], [z0], [x1], [z1], y=0.05)
        self.backing.set_colors(BACKING_COLOR)

        starts, ends, colors = [], [], []
        for centers in self.bar_centers:
            left, right = centers[0] - 0.3, centers[-1] + 0.26
            for level in GRID_LEVELS:
                z = BAR_BASE_Z + level * BAR_MAX_HEIGHT
                starts.append((left, z))
                ends.append((right, z))
                colors.append(GRID_COLOR)
            starts.append((left, BAR_BASE_Z))
            ends.append((right, BAR_BASE_Z))
            colors.append(AXIS_COLOR)
        grid = LineBatch(self.root, len(starts), "chart-grid", y=0.02)
        grid.set_segments(starts, ends)
        grid.set_colors(np.array(colors))

        self.titles = []
        for name, center, centers in zip(("Teacher", "Student"), CHART_CENTERS_X, self.bar_centers):
            color = TEACHER_COLOR if name == "Teacher" else STUDENT_COLOR
            title = make_text(self.root, name, self.font, pos=(center + AXIS_LABEL_WIDTH / 2, TITLE_Z),
                              scale=TITLE_SCALE, color=color, align="center", y=TEXT_Y, name="title")
            self.titles.append(title)
            for level, label in ((0.0, "0"), (0.5, "0.5"), (1.0, "1")):
                make_text(self.root, label, self.font,
                          pos=(centers[0] - 0.32, BAR_BASE_Z + level * BAR_MAX_HEIGHT - 0.1),
                          scale=SMALL_SCALE, color=MUTED_COLOR, align="right", y=TEXT_Y, name="tick")
            for digit, x in enumerate(centers):
                make_text(self.root, str(digit), self.font, pos=(x, CLASS_LABEL_Z), scale=LABEL_SCALE,
                          color=LABEL_COLOR, align="center", y=TEXT_Y, name="class-label")

        self.legend = make_text(self.root, "", self.font, pos=(0.0, LEGEND_Z), scale=SMALL_SCALE,
                                color=MUTED_COLOR, align="center", y=TEXT_Y, name="legend")

    def build_bars(self) -> None:
        self.bars.set_colors(np.repeat([TEACHER_COLOR, STUDENT_COLOR], N_CLASSES, axis=0))
        self.ghosts.set_colors(GHOST_COLOR)
        self.label_markers.set_colors((TRUE_LABEL_COLOR[0], TRUE_LABEL_COLOR[1], TRUE_LABEL_COLOR[2], 0.45))
        self.mark_label(None)
        self.write_bars()

    def build_readouts(self) -> None:
        self.kl_text = make_text(self.root, "", self.font, pos=(0.0, KL_Z), scale=READOUT_SCALE,
                                 color=LABEL_COLOR, align="center", y=TEXT_Y, name="kl")
        self.gauge.set_colors(np.array([GAUGE_BACK_COLOR, HIGH_MATCH_COLOR]))
        make_text(self.root, "match", self.font, pos=(GAUGE_X[0] - 0.2, GAUGE_Z[0] + 0.05),
                  scale=READOUT_SCALE, color=LABEL_COLOR, align="right", y=TEXT_Y, name="gauge-label")
        self.match_text = make_text(self.root, "", self.font, pos=(GAUGE_X[1] + 0.2, GAUGE_Z[0] + 0.05),
                                    scale=READOUT_SCALE, color=LABEL_COLOR, y=TEXT_Y, name="match")
        self.agree_text = make_text(self.root, "", self.font, pos=(0.0, AGREE_Z), scale=READOUT_SCALE,
                                    color=AGREE_COLOR, align="center", y=TEXT_Y, name="top1")
        self.write_gauge()

    # --- animated values ------------------------------------------------------------------

    @property
    def teacher_targets(self) -> np.ndarray:
        """Target bar heights (classes,) for the teacher at the current tau, in local units."""
        return self.targets[TEACHER]

    @property
    def student_targets(self) -> np.ndarray:
        return self.targets[STUDENT]

    @property
    def teacher_heights(self) -> np.ndarray:
        """Displayed (animated) teacher bar heights at the current tau, in local units."""
        return self.heights[TEACHER]

    @property
    def student_heights(self) -> np.ndarray:
        return self.heights[STUDENT]

    @property
    def teacher_ghost_heights(self) -> np.ndarray:
        """Displayed heights of the teacher's tau = 1 outlines."""
        return self.heights[TEACHER_T1]

    @property
    def student_ghost_heights(self) -> np.ndarray:
        return self.heights[STUDENT_T1]

    def update(self, dt: float) -> None:
        """Read the lab's outputs and move bars, gauge and readouts toward them."""
        snapshot = self.lab.outputs()
        self.snapshot = snapshot
        self.targets[TEACHER] = snapshot.teacher_probs
        self.targets[STUDENT] = snapshot.student_probs
        self.targets[TEACHER_T1] = snapshot.teacher_probs_t1
        self.targets[STUDENT_T1] = snapshot.student_probs_t1
        self.targets *= BAR_MAX_HEIGHT
        self.match_target = snapshot.match

        step = 1.0 - math.exp(-APPROACH_RATE * max(dt, 0.0))
        change = (self.targets - self.heights) * step
        if np.abs(change).max() > 1e-5:
            self.heights += change
            self.write_bars()
        gauge_change = (self.match_target - self.match_fill) * step
        if abs(gauge_change) > 1e-5:
            self.match_fill += gauge_change
            self.write_gauge()

        if snapshot.label != self.marked_label:
            self.mark_label(snapshot.label)

        self.text_clock += dt
        if self.text_clock >= TEXT_REFRESH_S:
            self.text_clock = 0.0
            self.write_readouts(snapshot)

    def write_bars(self) -> None:
        heights = np.maximum(self.heights, 0.0)
        centers = np.concatenate(self.bar_centers)
        solid = heights[[TEACHER, STUDENT]].ravel()
        self.bars.set_rects(centers - BAR_WIDTH / 2, BAR_BASE_Z, centers + BAR_WIDTH / 2, BAR_BASE_Z + solid, y=0.0)

        ghost = heights[[TEACHER_T1, STUDENT_T1]].ravel()
        top = BAR_BASE_Z + np.maximum(ghost, GHOST_LINE)
        left, right = centers - GHOST_WIDTH / 2, centers + GHOST_WIDTH / 2
        x0 = np.concatenate([left, right - GHOST_LINE, left])
        x1 = np.concatenate([left + GHOST_LINE, right, right])
        z0 = np.concatenate([np.full_like(top, BAR_BASE_Z), np.full_like(top, BAR_BASE_Z), top - GHOST_LINE])
        z1 = np.concatenate([top, top, top])
        self.ghosts.set_rects(x0, z0, x1, z1, y=TEXT_Y / 2)

    def write_gauge(self) -> None:
        fill = float(np.clip(self.match_fill, 0.0, 1.0))
        x0, x1 = GAUGE_X
        z0, z1 = GAUGE_Z
        inset = 0.05
        self.gauge.set_rects([x0, x0 + inset], [z0, z0 + inset],
                             [x1, x0 + inset + (x1 - x0 - 2 * inset) * fill], [z1, z1 - inset],
                             y=[0.0, TEXT_Y / 2])
        fill_color = LOW_MATCH_COLOR + (HIGH_MATCH_COLOR - LOW_MATCH_COLOR) * fill
        self.gauge.set_colors(np.array([GAUGE_BACK_COLOR, fill_color]))

    def mark_label(self, label: int | None) -> None:
        """Put the gold marker behind class `label` in both charts, or hide it for None."""
        self.marked_label = label
        if label is None:
            # Zero-size rectangles draw nothing.
            self.label_markers.set_rects(0.0, 0.0, 0.0, 0.0, y=0.01)
            return
        half = (CHART_WIDTH - AXIS_LABEL_WIDTH) / N_CLASSES / 2 - 0.03
        x = np.array([centers[label] for centers in self.bar_centers])
        self.label_markers.set_rects(x - half, CLASS_LABEL_Z - 0.14, x + half, CLASS_LABEL_Z + 0.42, y=0.01)

    def write_readouts(self, snapshot) -> None:
        tau = f"{self.tau} = {snapshot.temperature:.1f}"
        set_text(self.titles[0], f"Teacher  {tau}")
        set_text(self.titles[1], f"Student  {tau}")
        label_note = "gold: true label" if snapshot.label is not None else "drawn digit: no true label"
        set_text(self.legend, f"solid bars: {tau}      outlines: {self.tau} = 1      {label_note}")

        bar = symbol(self.font, "‖", "||")
        set_text(self.kl_text, f"KL(teacher {bar} student) at {tau}: {snapshot.kl:.3f} nats")
        set_text(self.match_text, f"{snapshot.match * 100:.0f} %")
        if snapshot.top1_agree:
            set_text(self.agree_text, f"top-1 classes agree: both pick {snapshot.teacher_top1}")
            set_text_color(self.agree_text, AGREE_COLOR)
        else:
            set_text(self.agree_text, f"top-1 classes differ: teacher {snapshot.teacher_top1}, "
                                      f"student {snapshot.student_top1}")
            set_text_color(self.agree_text, DIFFER_COLOR)
        self.text.rebake()

    def destroy(self) -> None:
        self.root.removeNode()
