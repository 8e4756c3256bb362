"""A screen overlay of the teacher's dark knowledge: its mean output per true digit at tau.

Construct with `DarkKnowledgeMap(parent, lab, font=None)` under aspect2d or a node in the same
units. It fills x in [0.08, 1.02] and z in [-0.75, 0.75], left of the accuracy panel, and
starts hidden. Call `show()`, `hide()` or `toggle()` from a key binding, `update(dt)` every
frame and `destroy()` when done.

Row r, column c is the teacher's mean probability for digit c over training images of digit r,
so each row sums to 1. The diagonal is the teacher's confidence, the rest is the dark knowledge
that soft targets pass on. Colours follow log10 of the probability, clipped below at
COLOR_FLOOR, so small off-diagonal values stay visible. The map is recomputed only when the
temperature differs from the one last drawn.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from panda3d.core import NodePath, TextFont, TextNode, TextureStage

from game.widgets import (
    OVERLAY_BACKING_COLOR,
    PANEL_BORDER_COLOR,
    add_backing,
    SCREEN_FONT_PIXELS_PER_UNIT,
    BakedText,
    LineBatch,
    load_font,
    make_text,
    screen_root,
    rgb_texture,
    set_text,
    symbol,
    textured_card,
)
from sim.data import N_CLASSES
from sim.lab import Lab

log = logging.getLogger(__name__)

BOX = (0.08, -0.75, 1.02, 0.75)                 # x0, z0, x1, z1 in aspect2d units
GRID = (0.27, -0.27, 0.97, 0.43)                # the 10 x 10 cells
SCALE_BAR = (0.27, -0.43, 0.97, -0.38)          # the colour scale under the grid

COLOR_FLOOR = 1e-4                             # probabilities at or below this get the darkest colour
# Colour map anchors from dark to bright: (position in [0, 1], RGB).
COLOR_ANCHORS = (
    (0.0, (0.03, 0.03, 0.08)),
    (0.3, (0.3, 0.08, 0.45)),
    (0.55, (0.72, 0.2, 0.42)),
    (0.8, (0.98, 0.52, 0.22)),
    (1.0, (1.0, 0.96, 0.72)),
)
MISSING_COLOR = (0.3, 0.3, 0.3)                # rows without training images (an omitted class)
SCALE_BAR_STEPS = 128
# p3tinydisplay draws a 10 x 10 RAM texture blank, so the cells sit in a power-of-two texture.
TEXTURE_SIZE = 16

TITLE_SCALE = 0.045
TEXT_SCALE = 0.032
DIGIT_SCALE = 0.036
NOTE_SCALE = 0.03

TITLE_COLOR = (0.92, 0.94, 1.0, 1.0)
TEXT_COLOR = (0.85, 0.88, 0.95, 1.0)
MUTED_COLOR = (0.6, 0.65, 0.75, 1.0)
DIAGONAL_COLOR = (0.85, 0.88, 0.95, 0.55)


def probability_colors(probabilities: np.ndarray) -> np.ndarray:
    """Map probabilities (any shape) to RGB (shape + (3,)) on a log scale from COLOR_FLOOR to 1."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    missing = ~np.isfinite(probabilities)
    clipped = np.clip(np.where(missing, 1.0, probabilities), COLOR_FLOOR, 1.0)
    position = (np.log10(clipped) - math.log10(COLOR_FLOOR)) / -math.log10(COLOR_FLOOR)

    stops = np.array([stop for stop, _ in COLOR_ANCHORS])
    anchors = np.array([color for _, color in COLOR_ANCHORS])
    colors = np.stack([np.interp(position, stops, anchors[:, channel]) for channel in range(3)], axis=-1)
    colors[missing] = MISSING_COLOR
    return colors


class DarkKnowledgeMap:
    """A toggleable 10 x 10 heat map of lab.dark_knowledge_map(tau) with labelled axes and a colour scale."""

    def __init__(self, parent: NodePath, lab: Lab, font: TextFont | None = None):
        self.lab = lab
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.tau = symbol(self.font, "τ", "tau")
        self.root = screen_root(parent, "dark-knowledge-map")
        self.drawn_temperature: float | None = None
        self.values = np.full((N_CLASSES, N_CLASSES), np.nan)
        self.colors = np.zeros((N_CLASSES, N_CLASSES, 3))

        self.build_frame()
        self.texture = rgb_texture(self.padded_colors(), name="dark-knowledge")
        x0, z0, x1, z1 = GRID
        self.cells = textured_card(self.root, self.texture, x0, z0, x1, z1, name="heat-cells")
        # Only the top-left 10 x 10 texels of the padded texture hold cells.
        visible = N_CLASSES / TEXTURE_SIZE
        self.cells.setTexScale(TextureStage.getDefault(), visible, visible)
        self.cells.setTexOffset(TextureStage.getDefault(), 0.0, 1.0 - visible)
        self.build_scale_bar()

        # Every text, the changing title included, draws as one Geom per font page after the
        # cells and the scale bar, which no text overlaps.
        texts = [path for path in self.root.getChildren() if isinstance(path.node(), TextNode)]
        self.text = BakedText(self.root, texts, "heatmap-text")
        self.root.hide()

    # --- construction ---------------------------------------------------------------------

    def build_frame(self) -> None:
        x0, z0, x1, z1 = BOX
        add_backing(self.root, BOX, "heatmap-backing", OVERLAY_BACKING_COLOR, PANEL_BORDER_COLOR)

        self.title = make_text(self.root, "", self.font, pos=(x0 + 0.03, z1 - 0.07), scale=TITLE_SCALE,
                               color=TITLE_COLOR, name="heatmap-title")
        make_text(self.root, "teacher's mean output per true digit", self.font, pos=(x0 + 0.03, z1 - 0.12),
                  scale=TEXT_SCALE, color=MUTED_COLOR, name="heatmap-subtitle")

        gx0, gz0, gx1, gz1 = GRID
        cell = (gx1 - gx0) / N_CLASSES
        make_text(self.root, "teacher's probability for digit", self.font, pos=((gx0 + gx1) / 2, gz1 + 0.08),
                  scale=TEXT_SCALE, color=TEXT_COLOR, align="center", name="column-axis")
        axis = make_text(self.root, "true digit", self.font, pos=(gx0 - 0.09, (gz0 + gz1) / 2),
                         scale=TEXT_SCALE, color=TEXT_COLOR, align="center", name="row-axis")
        axis.setR(-90)
        for digit in range(N_CLASSES):
            make_text(self.root, str(digit), self.font, pos=(gx0 + cell * (digit + 0.5), gz1 + 0.018),
                      scale=DIGIT_SCALE, color=TEXT_COLOR, align="center", name="column-digit")
            make_text(self.root, str(digit), self.font, pos=(gx0 - 0.03, gz1 - cell * (digit + 0.5) - 0.012),
                      scale=DIGIT_SCALE, color=TEXT_COLOR, align="center", name="row-digit")

    def build_scale_bar(self) -> None:
        x0, z0, x1, z1 = SCALE_BAR
        steps = np.logspace(math.log10(COLOR_FLOOR), 0.0, SCALE_BAR_STEPS)
        ramp = probability_colors(steps)[None, :, :]
        textured_card(self.root, rgb_texture(ramp, name="dark-knowledge-scale"), x0, z0, x1, z1,
                      name="scale-bar")

        decades = int(round(-math.log10(COLOR_FLOOR)))
        ticks = LineBatch(self.root, decades + 1, "scale-ticks")
        starts, ends = [], []
        for power in range(-decades, 1):
            x = x0 + (power + decades) / decades * (x1 - x0)
            starts.append((x, z0 - 0.015))
            ends.append((x, z0))
            make_text(self.root, f"{10.0 ** power:g}", self.font, pos=(x, z0 - 0.055), scale=NOTE_SCALE,
                      color=MUTED_COLOR, align="center", name="scale-tick")
        ticks.set_segments(starts, ends)
        ticks.set_colors(MUTED_COLOR)

        bx0, bz0, _, _ = BOX
        notes = (
            f"colour: log scale, clipped at {COLOR_FLOOR:g}",
            "diagonal: confidence in the right digit",
            "off-diagonal: the dark knowledge",
        )
        for line, note in enumerate(notes):
            make_text(self.root, note, self.font, pos=(bx0 + 0.03, bz0 + 0.14 - 0.042 * line), scale=NOTE_SCALE,
                      color=MUTED_COLOR, name="heatmap-note")

    # --- visibility -----------------------------------------------------------------------

    @property
    def visible(self) -> bool:
        return not self.root.isHidden()

    def show(self) -> None:
        self.root.show()
        self.update(0.0)

    def hide(self) -> None:
        self.root.hide()

    def toggle(self) -> None:
        if self.visible:
            self.hide()
        else:
            self.show()

    # --- drawing --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        """Redraw while visible if the temperature changed since the last drawing."""
        if self.visible and self.lab.temperature != self.drawn_temperature:
            self.refresh()

    def refresh(self) -> None:
        temperature = self.lab.temperature
        self.values = self.lab.dark_knowledge_map(temperature)
        self.colors = probability_colors(self.values)
        rgb_texture(self.padded_colors(), self.texture)
        self.drawn_temperature = temperature
        set_text(self.title, f"Dark knowledge at {self.tau} = {temperature:.1f}")
        self.text.rebake()

    def padded_colors(self) -> np.ndarray:
        """Return the (10, 10, 3) colours in the top-left corner of a power-of-two texture."""
        padded = np.zeros((TEXTURE_SIZE, TEXTURE_SIZE, 3))
        padded[:N_CLASSES, :N_CLASSES] = self.colors
        return padded

    def destroy(self) -> None:
        self.root.removeNode()
