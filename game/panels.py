"""Screen panels: held-out verdicts of the three networks, and accuracy, size and speed.

Both panels are 2D: parent them under aspect2d (x from -1.778 to 1.778 at 16:9, z from -1 to
1) or a node in the same units. Call `update(dt)` every frame and `destroy()` when done. The
default font comes from load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT). Load any font
passed in the same way so small text stays sharp.

- `VerdictPanel(parent, lab, indices=None, font=None)` fills the right column, x in
  [1.15, 1.77] and z in [-0.78, 0.30]. Each row shows one held-out digit, its true label and
  the predictions of the untrained student, the current student and the teacher, green when
  right and red when wrong. Without `indices` it picks six digits with different labels,
  mostly ones the untrained student gets wrong.
- `AccuracyPanel(parent, lab, font=None)` fills the top-right corner, x in [1.05, 1.77] and
  z in [0.35, 0.98]: teacher and live student accuracy, parameter counts and their ratio, and
  the measured inference speed ratio, and while the race runs the scratch student's accuracy
  and the race gap. Building it measures the speed ratio once (about 0.1 s).

Each panel draws its rectangles as one Geom and all its text as another. The verdict panel
adds one Geom for its digit images, which share one texture.
"""

from __future__ import annotations

import logging

import numpy as np
from panda3d.core import NodePath, TextFont, TextNode

from game.widgets import (
    BACKING_QUADS,
    PANEL_BORDER_COLOR,
    SCREEN_FONT_PIXELS_PER_UNIT,
    BakedText,
    QuadBatch,
    atlas_uv_rows,
    image_atlas_texture,
    load_font,
    make_text,
    place_backing,
    screen_root,
    set_text,
    set_text_color,
    symbol,
    textured_cards,
)
from sim.lab import Lab, SampleVerdict

log = logging.getLogger(__name__)

VERDICT_BOX = (1.15, -0.78, 1.77, 0.30)          # x0, z0, x1, z1 in aspect2d units
VERDICT_ROWS = 6
VERDICT_ROWS_TOP = 0.10
VERDICT_ROW_HEIGHT = 0.115
VERDICT_IMAGE_SIZE = 0.105
# Column centres: true label, untrained student, current student, teacher.
VERDICT_COLUMNS_X = (1.335, 1.445, 1.555, 1.675)
VERDICT_REFRESH_S = 0.2

ACCURACY_BOX = (1.05, 0.35, 1.77, 0.98)
ACCURACY_BAR_X = (1.49, 1.745)
# Baselines below the panel's top edge, without and with the race's scratch and gap rows.
ACCURACY_ROWS = {
    False: {"teacher": 0.15, "student": 0.225, "params": 0.32, "ratio": 0.395, "speed": 0.49, "note": 0.55},
    True: {"teacher": 0.15, "student": 0.225, "scratch": 0.3, "gap": 0.355,
           "params": 0.43, "ratio": 0.495, "speed": 0.565, "note": 0.615},
}
ACCURACY_REFRESH_S = 0.25

TITLE_SCALE = 0.05
TEXT_SCALE = 0.045
HEADER_SCALE = 0.033
NOTE_SCALE = 0.031
DIGIT_SCALE = 0.052

BACKING_COLOR = (0.03, 0.04, 0.08, 0.93)
TITLE_COLOR = (0.92, 0.94, 1.0, 1.0)
TEXT_COLOR = (0.85, 0.88, 0.95, 1.0)
MUTED_COLOR = (0.6, 0.65, 0.75, 1.0)
RIGHT_COLOR = (0.45, 0.92, 0.5, 1.0)
WRONG_COLOR = (1.0, 0.42, 0.38, 1.0)
RIGHT_CELL_COLOR = (0.2, 0.6, 0.25, 0.28)
WRONG_CELL_COLOR = (0.75, 0.2, 0.18, 0.35)
TEACHER_COLOR = (1.0, 0.6, 0.18, 1.0)
STUDENT_COLOR = (0.25, 0.78, 1.0, 1.0)
# The scratch student's colour, the same green as its curve in the accuracy plot.
SCRATCH_COLOR = (0.55, 0.95, 0.35, 1.0)
BAR_BACK_COLOR = (0.16, 0.18, 0.26, 1.0)


def pick_verdict_indices(lab: Lab, count: int = VERDICT_ROWS) -> list[int]:
    """Choose `count` held-out digits with different labels where possible.

    Prefers digits the untrained student gets wrong, so training visibly turns rows green, and
    includes one the teacher gets wrong when there is one.
    """
    verdicts = lab.verdicts(np.arange(lab.n_samples))
    chosen: list[int] = []
    labels: set[int] = set()

    def take(candidates) -> None:
        for verdict in candidates:
            if len(chosen) >= count:
                return
            if verdict.index not in chosen and verdict.label not in labels:
                chosen.append(verdict.index)
                labels.add(verdict.label)

    take([v for v in verdicts if v.teacher_prediction != v.label][:1])
    take([v for v in verdicts if v.untrained_prediction != v.label])
    take(verdicts)
    # Fewer distinct labels than rows: allow repeats.
    for verdict in verdicts:
        if len(chosen) >= count:
            break
        if verdict.index not in chosen:
            chosen.append(verdict.index)
    return sorted(chosen, key=lambda index: int(lab.split.test_labels[index]))


class VerdictPanel:
    """A table of held-out digits with the untrained student's, the student's and the teacher's guess."""

    def __init__(self, parent: NodePath, lab: Lab, indices=None, font: TextFont | None = None):
        self.lab = lab
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.indices = list(indices) if indices is not None else pick_verdict_indices(lab)
        self.root = screen_root(parent, "verdict-panel")
        self.verdicts: list[SampleVerdict] = []
        self.clock = VERDICT_REFRESH_S

        rows = len(self.indices)
        quads = QuadBatch(self.root, BACKING_QUADS + 3 * rows, "verdict-quads")
        place_backing(quads.part(0, BACKING_QUADS), VERDICT_BOX, BACKING_COLOR, PANEL_BORDER_COLOR)
        self.cells = quads.part(BACKING_QUADS, 3 * rows)

        x0, z0, x1, z1 = VERDICT_BOX
        make_text(self.root, "Held-out digits", self.font, pos=(x0 + 0.025, z1 - 0.06), scale=TITLE_SCALE,
                  color=TITLE_COLOR, name="verdict-title")
        header_z = VERDICT_ROWS_TOP + 0.03
        for x, label in zip(VERDICT_COLUMNS_X, ("true", "start", "now", "teacher")):
            make_text(self.root, label, self.font, pos=(x, header_z), scale=HEADER_SCALE, color=MUTED_COLOR,
                      align="center", name="verdict-header")
        notes = ("start: untrained student", "now: student in training", "green: right    red: wrong")
        for line, note in enumerate(notes):
            make_text(self.root, note, self.font, pos=(x0 + 0.025, z0 + 0.1 - 0.037 * line),
                      scale=NOTE_SCALE, color=MUTED_COLOR, name="verdict-note")

        self.labels, self.predictions = [], []
        # Image and cell boxes (x0, z0, x1, z1) per row. The images share one atlas texture.
        self.image_boxes, image_uvs = [], []
        cell_half = (VERDICT_COLUMNS_X[2] - VERDICT_COLUMNS_X[1]) / 2 - 0.008
        cell_x0, cell_z0, cell_x1, cell_z1 = [], [], [], []
        for row in range(rows):
            top = VERDICT_ROWS_TOP - row * VERDICT_ROW_HEIGHT
            middle = top - VERDICT_ROW_HEIGHT / 2
            size = VERDICT_IMAGE_SIZE
            self.image_boxes.append((x0 + 0.03, middle - size / 2, x0 + 0.03 + size, middle + size / 2))
            v0, v1 = atlas_uv_rows(row, rows)
            image_uvs.append((0.0, v0, 1.0, v1))
            baseline = middle - DIGIT_SCALE * 0.36
            self.labels.append(make_text(self.root, "", self.font, pos=(VERDICT_COLUMNS_X[0], baseline),
                                         scale=DIGIT_SCALE, color=TEXT_COLOR, align="center"))
            row_predictions = []
            for x in VERDICT_COLUMNS_X[1:]:
                row_predictions.append(make_text(self.root, "", self.font, pos=(x, baseline), scale=DIGIT_SCALE,
                                                 color=TEXT_COLOR, align="center", name="verdict-prediction"))
                cell_x0.append(x - cell_half)
                cell_x1.append(x + cell_half)
                cell_z0.append(middle - size / 2)
                cell_z1.append(middle + size / 2)
            self.predictions.append(row_predictions)
        self.cells.set_rects(cell_x0, cell_z0, cell_x1, cell_z1)
        self.atlas = image_atlas_texture(np.zeros((rows, 64)), name="verdict-digits")
        self.images = textured_cards(self.root, self.atlas, self.image_boxes, image_uvs, name="verdict-images")
        # Static and changing text draw as one Geom, rebuilt when a prediction changes.
        texts = [path for path in self.root.getChildren() if isinstance(path.node(), TextNode)]
        self.baked_text = BakedText(self.root, texts, "verdict-text")
        self.refresh()

    def refresh(self) -> None:
        """Ask the lab for fresh predictions and recolour the rows."""
        self.verdicts = self.lab.verdicts(self.indices)
        cell_colors = []
        image_atlas_texture([verdict.image for verdict in self.verdicts], self.atlas)
        for row, verdict in enumerate(self.verdicts):
            set_text(self.labels[row], str(verdict.label))
            guesses = (verdict.untrained_prediction, verdict.student_prediction, verdict.teacher_prediction)
            for text, guess in zip(self.predictions[row], guesses):
                right = guess == verdict.label
                set_text(text, str(guess))
                set_text_color(text, RIGHT_COLOR if right else WRONG_COLOR)
                cell_colors.append(RIGHT_CELL_COLOR if right else WRONG_CELL_COLOR)
        self.cells.set_colors(np.array(cell_colors))
        self.baked_text.rebake()

    def update(self, dt: float) -> None:
        self.clock += dt
        if self.clock >= VERDICT_REFRESH_S:
            self.clock = 0.0
            previous = [(v.untrained_prediction, v.student_prediction, v.teacher_prediction)
                        for v in self.verdicts]
            current = self.lab.verdicts(self.indices)
            if [(v.untrained_prediction, v.student_prediction, v.teacher_prediction)
                    for v in current] != previous:
                self.refresh()

    def destroy(self) -> None:
        self.root.removeNode()


class AccuracyPanel:
    """Teacher and student held-out accuracy with bars, parameter counts and the speed ratio."""

    def __init__(self, parent: NodePath, lab: Lab, font: TextFont | None = None):
        self.lab = lab
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.times = symbol(self.font, "×", "x")
        self.root = screen_root(parent, "accuracy-panel")
        self.clock = 0.0
        self.summary = None

        # The backing, then three accuracy bars, each a background and a fill: teacher,
        # student and scratch student.
        quads = QuadBatch(self.root, BACKING_QUADS + 6, "accuracy-quads")
        place_backing(quads.part(0, BACKING_QUADS), ACCURACY_BOX, BACKING_COLOR, PANEL_BORDER_COLOR)
        self.bars = quads.part(BACKING_QUADS, 6)
        x0, z0, x1, z1 = ACCURACY_BOX
        left = x0 + 0.03
        self.title = make_text(self.root, "Held-out accuracy", self.font, pos=(left, z1 - 0.07),
                               scale=TITLE_SCALE, color=TITLE_COLOR, name="accuracy-title")
        self.teacher_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=TEXT_SCALE,
                                      color=TEACHER_COLOR, name="teacher-accuracy")
        self.student_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=TEXT_SCALE,
                                      color=STUDENT_COLOR, name="student-accuracy")
        self.scratch_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=TEXT_SCALE,
                                      color=SCRATCH_COLOR, name="scratch-accuracy")
        self.gap_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=NOTE_SCALE,
                                  color=MUTED_COLOR, name="race-gap")
        self.params_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=TEXT_SCALE,
                                     color=TEXT_COLOR, name="parameters")
        self.ratio_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=TEXT_SCALE,
                                    color=TEXT_COLOR, name="parameter-ratio")
        self.speed_line = make_text(self.root, "", self.font, pos=(left, 0.0), scale=TEXT_SCALE,
                                    color=TEXT_COLOR, name="speed-ratio")
        self.note_line = make_text(self.root, "inference time, measured once", self.font,
                                   pos=(left, 0.0), scale=NOTE_SCALE, color=MUTED_COLOR, name="speed-note")
        self.rows = {"teacher": self.teacher_line, "student": self.student_line, "scratch": self.scratch_line,
                     "gap": self.gap_line, "params": self.params_line, "ratio": self.ratio_line,
                     "speed": self.speed_line, "note": self.note_line}
        self.lines = [self.title, self.teacher_line, self.student_line, self.scratch_line, self.gap_line,
                      self.params_line, self.ratio_line, self.speed_line, self.note_line]

        self.bars.set_colors(np.array([BAR_BACK_COLOR, TEACHER_COLOR, BAR_BACK_COLOR, STUDENT_COLOR,
                                       BAR_BACK_COLOR, SCRATCH_COLOR]))
        self.baked_text = BakedText(self.root, self.lines, "accuracy-text")
        self.refresh()

    @property
    def text(self) -> str:
        """All lines of the panel, newline-separated, as displayed."""
        return "\n".join(line.node().getText() for line in self.lines)

    def refresh(self) -> None:
        summary = self.lab.accuracy_summary()
        scratch = self.lab.scratch
        scratch_accuracy = None if scratch is None else scratch.student_accuracy
        state = (summary, scratch_accuracy)
        if state == self.summary:
            return
        self.summary = state
        race = scratch_accuracy is not None
        set_text(self.teacher_line, f"Teacher  {summary.teacher_accuracy * 100:.1f} %")
        set_text(self.student_line, f"Student  {summary.student_accuracy * 100:.1f} %")
        set_text(self.params_line, f"Parameters  {summary.teacher_params:,} vs {summary.student_params:,}")
        set_text(self.ratio_line, f"student is {summary.param_ratio:.1f}{self.times} smaller")
        set_text(self.speed_line, f"Speed: student {summary.speed_ratio:.1f}{self.times} faster")
        self.write_race(scratch_accuracy)

        _, _, _, top = ACCURACY_BOX
        rows = ACCURACY_ROWS[race]
        for name, line in self.rows.items():
            if name in rows:
                line.setZ(top - rows[name])
                line.show()
            else:
                line.hide()

        x0, x1 = ACCURACY_BAR_X
        bars = [(rows["teacher"], summary.teacher_accuracy), (rows["student"], summary.student_accuracy)]
        if race:
            bars.append((rows["scratch"], scratch_accuracy))
        rect_x0, rect_z0, rect_x1, rect_z1 = [], [], [], []
        for below_top, value in bars:
            z = top - below_top
            for end in (x1, x0 + (x1 - x0) * float(np.clip(value, 0.0, 1.0))):
                rect_x0.append(x0)
                rect_x1.append(end)
                rect_z0.append(z - 0.002)
                rect_z1.append(z + 0.03)
        # While the race is off, the scratch bar's two rectangles have zero size.
        missing = 6 - len(rect_x0)
        rect_x0 += [x0] * missing
        rect_x1 += [x0] * missing
        rect_z0 += [top] * missing
        rect_z1 += [top] * missing
        self.bars.set_rects(rect_x0, rect_z0, rect_x1, rect_z1)
        self.baked_text.rebake()

    def write_race(self, scratch_accuracy: float | None) -> None:
        """Write the scratch student's accuracy and the race gap, or clear both when off."""
        gap = self.lab.race_gap()
        if scratch_accuracy is None or gap is None:
            set_text(self.scratch_line, "")
            set_text(self.gap_line, "")
            return
        set_text(self.scratch_line, f"Scratch  {scratch_accuracy * 100:.1f} %")
        points = round(gap * 100, 1)
        if points == 0:
            leader = "level"
        else:
            leader = "distilled ahead" if points > 0 else "scratch ahead"
        set_text(self.gap_line, f"race gap {gap * 100:+.1f} points ({leader})")
        set_text_color(self.gap_line, WRONG_COLOR if points < 0 else RIGHT_COLOR)

    def update(self, dt: float) -> None:
        self.clock += dt
        if self.clock >= ACCURACY_REFRESH_S:
            self.clock = 0.0
            self.refresh()

    def destroy(self) -> None:
        self.root.removeNode()
