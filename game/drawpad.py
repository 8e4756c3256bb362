"""An 8 x 8 drawing pad whose image both networks see live.

Construct with `DrawPad(parent, lab, mouse_watcher, font=None)` with `parent` under aspect2d
(it fills x in [-1.05, -0.35] and z in [-0.52, 0.3]) and `mouse_watcher` the ShowBase's
`mouseWatcherNode`. It starts hidden: call `show()`, `hide()` or `toggle()` from a key
binding, `update(dt)` every frame and `destroy()` when done.

The app forwards the mouse buttons, and the pad polls the pointer itself in `update()`:

    accept("mouse1", pad.on_mouse_down, ["left"])     # paint
    accept("mouse1-up", pad.on_mouse_up)
    accept("mouse3", pad.on_mouse_down, ["right"])    # erase
    accept("mouse3-up", pad.on_mouse_up)

`on_mouse_down` returns True when the press landed on the visible pad (a cell or a button), so
the app can skip its own handling of that click, for example camera dragging. While a button is
held, each frame paints or erases the cell under the pointer. The Clear button blanks the
image, and "Use sample" returns both networks to the current held-out sample.

`font` defaults to load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT), as in the other 2D
panels. Every change to the image goes to `lab.set_custom_image(pad.image)` unaltered. While nothing is
being drawn, the pad mirrors whatever input the networks see, so it starts from the current
sample and follows sample changes made elsewhere.
"""

from __future__ import annotations

import logging

import numpy as np
from panda3d.core import NodePath, Point3, TextFont, TextNode

from game.widgets import (
    BACKING_QUADS,
    OVERLAY_BACKING_COLOR,
    PANEL_BORDER_COLOR,
    SCREEN_FONT_PIXELS_PER_UNIT,
    BakedText,
    LineBatch,
    QuadBatch,
    load_font,
    make_text,
    place_backing,
    screen_root,
    set_text,
)
from sim.lab import Lab

log = logging.getLogger(__name__)

BOX = (-1.05, -0.52, -0.35, 0.3)             # x0, z0, x1, z1 in the root's units
GRID = (-0.94, -0.3, -0.46, 0.18)            # the 8 x 8 cells
CLEAR_BUTTON = (-1.02, -0.495, -0.72, -0.41)
SAMPLE_BUTTON = (-0.69, -0.495, -0.38, -0.41)
SIZE = 8

# Soft brush: the cell under the pointer goes to 1, its four neighbours to at least this.
BRUSH_NEIGHBOUR = 0.35
# Eraser: the cell under the pointer goes to 0, its four neighbours keep this fraction.
ERASER_NEIGHBOUR_KEEP = 0.5

TITLE_SCALE = 0.045
TEXT_SCALE = 0.03
BUTTON_SCALE = 0.036

INK_OFF_COLOR = np.array([0.07, 0.08, 0.13, 1.0])
INK_ON_COLOR = np.array([1.0, 1.0, 1.0, 1.0])
GRID_COLOR = (0.3, 0.34, 0.46, 1.0)
HOVER_COLOR = (1.0, 0.84, 0.25, 1.0)
BUTTON_COLOR = (0.16, 0.19, 0.28, 1.0)
BUTTON_HOVER_COLOR = (0.26, 0.31, 0.45, 1.0)
TITLE_COLOR = (0.92, 0.94, 1.0, 1.0)
TEXT_COLOR = (0.85, 0.88, 0.95, 1.0)
MUTED_COLOR = (0.6, 0.65, 0.75, 1.0)

BUTTON_NAMES = {"left": "left", "mouse1": "left", "right": "right", "mouse3": "right"}


def inside(box, x: float, z: float) -> bool:
    x0, z0, x1, z1 = box
    return x0 <= x <= x1 and z0 <= z <= z1


class DrawPad:
    """A toggleable 8 x 8 canvas: left mouse paints with a soft brush, right mouse erases."""

    def __init__(self, parent: NodePath, lab: Lab, mouse_watcher, font: TextFont | None = None):
        self.lab = lab
        self.mouse_watcher = mouse_watcher
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.root = screen_root(parent, "draw-pad")
        self.image = np.zeros((SIZE, SIZE), dtype=np.float32)
        self.held_button: str | None = None
        self.hover_cell: tuple[int, int] | None = None
        self.button_colors: list | None = None

        self.build()
        self.sync_from_lab()
        self.root.hide()

    # --- construction ---------------------------------------------------------------------

    def build(self) -> None:
        x0, z0, x1, z1 = BOX
        # The backing and the two buttons share one batch, the buttons drawn over the backing.
        frame = QuadBatch(self.root, BACKING_QUADS + 2, "pad-frame")
        place_backing(frame.part(0, BACKING_QUADS), BOX, OVERLAY_BACKING_COLOR, PANEL_BORDER_COLOR)
        self.buttons = frame.part(BACKING_QUADS, 2)
        boxes = np.array([CLEAR_BUTTON, SAMPLE_BUTTON])
        self.buttons.set_rects(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
        self.buttons.set_colors(BUTTON_COLOR)

        make_text(self.root, "Draw a digit", self.font, pos=(x0 + 0.03, z1 - 0.06), scale=TITLE_SCALE,
                  color=TITLE_COLOR, name="pad-title")
        make_text(self.root, "left drag: paint    right drag: erase", self.font, pos=(x0 + 0.03, z1 - 0.105),
                  scale=TEXT_SCALE, color=MUTED_COLOR, name="pad-help")

        gx0, gz0, gx1, gz1 = GRID
        self.cell_size = (gx1 - gx0) / SIZE
        columns = np.tile(np.arange(SIZE), SIZE)
        rows = np.repeat(np.arange(SIZE), SIZE)
        self.cells = QuadBatch(self.root, SIZE * SIZE, "pad-cells", transparent=False)
        self.cells.set_rects(gx0 + columns * self.cell_size, gz1 - (rows + 1) * self.cell_size,
                             gx0 + (columns + 1) * self.cell_size, gz1 - rows * self.cell_size)

        lines = np.linspace(0.0, SIZE * self.cell_size, SIZE + 1)
        grid = LineBatch(self.root, 2 * (SIZE + 1), "pad-grid")
        starts = [(gx0 + offset, gz0) for offset in lines] + [(gx0, gz0 + offset) for offset in lines]
        ends = [(gx0 + offset, gz1) for offset in lines] + [(gx1, gz0 + offset) for offset in lines]
        grid.set_segments(starts, ends)
        grid.set_colors(GRID_COLOR)

        # The hover outline is four thin rectangles around cell (0, 0), moved with setPos.
        self.hover = QuadBatch(self.root, 4, "pad-hover")
        edge, size = 0.006, self.cell_size
        self.hover.set_rects([0, 0, size - edge, 0], [-size, -edge, -size, -size],
                             [edge, size, size, size], [0, 0, 0, -size + edge])
        self.hover.set_colors(HOVER_COLOR)
        self.hover.path.hide()

        self.status = make_text(self.root, "", self.font, pos=(x0 + 0.03, gz0 - 0.05), scale=TEXT_SCALE,
                                color=TEXT_COLOR, name="pad-status")
        for label, (bx0, bz0, bx1, bz1) in (("Clear", CLEAR_BUTTON), ("Use sample", SAMPLE_BUTTON)):
            make_text(self.root, label, self.font, pos=((bx0 + bx1) / 2, (bz0 + bz1) / 2 - 0.012),
                      scale=BUTTON_SCALE, color=TEXT_COLOR, align="center", name="pad-button-label")

        # Every text, the changing status included, draws as one Geom per font page, last.
        texts = [path for path in self.root.getChildren() if isinstance(path.node(), TextNode)]
        self.text = BakedText(self.root, texts, "pad-text")

    # --- visibility -----------------------------------------------------------------------

    @property
    def visible(self) -> bool:
        return not self.root.isHidden()

    def show(self) -> None:
        self.sync_from_lab()
        self.root.show()

    def hide(self) -> None:
        self.held_button = None
        self.root.hide()

    def toggle(self) -> None:
        if self.visible:
            self.hide()
        else:
            self.show()

    # --- editing --------------------------------------------------------------------------

    def paint(self, row: int, col: int, value: float) -> None:
        """Set one cell to exactly `value` in [0, 1] and send the image to the lab."""
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"pixel value {value} is out of range: choose a value from 0 to 1")
        self.image[row, col] = value
        self.commit()

    def stroke(self, row: int, col: int, value: float = 1.0) -> bool:
        """Paint with the soft brush at (row, col) and return whether any pixel changed."""
        before = self.image.copy()
        self.image[row, col] = max(self.image[row, col], value)
        for r, c in self.neighbours(row, col):
            self.image[r, c] = max(self.image[r, c], BRUSH_NEIGHBOUR * value)
        return self.commit_if_changed(before)

    def erase(self, row: int, col: int) -> bool:
        """Erase (row, col), fade its four neighbours and return whether any pixel changed."""
        before = self.image.copy()
        self.image[row, col] = 0.0
        for r, c in self.neighbours(row, col):
            self.image[r, c] *= ERASER_NEIGHBOUR_KEEP
        return self.commit_if_changed(before)

    def clear(self) -> None:
        """Blank the image, so both networks see an empty drawing."""
        self.image[:] = 0.0
        self.commit()

    def use_sample(self) -> None:
        """Return both networks to the current held-out sample."""
        self.lab.set_sample(self.lab.sample_index)
        self.sync_from_lab()

    @staticmethod
    def neighbours(row: int, col: int):
        for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            if 0 <= r < SIZE and 0 <= c < SIZE:
                yield r, c

    def commit_if_changed(self, before: np.ndarray) -> bool:
        if np.array_equal(before, self.image):
            return False
        self.commit()
        return True

    def commit(self) -> None:
        self.lab.set_custom_image(self.image)
        self.write_cells()

    def sync_from_lab(self) -> None:
        """Show the input the networks currently see."""
        self.image[:] = self.lab.current_image.reshape(SIZE, SIZE)
        self.write_cells()

    def write_cells(self) -> None:
        ink = np.clip(self.image.ravel(), 0.0, 1.0)[:, None]
        self.cells.set_colors(INK_OFF_COLOR + (INK_ON_COLOR - INK_OFF_COLOR) * ink)
        label = self.lab.current_label
        if label is None:
            set_text(self.status, "drawn digit: both networks see this")
        else:
            set_text(self.status, f"held-out sample {self.lab.sample_index}, label {label}")
        self.text.rebake()

    # --- pointer --------------------------------------------------------------------------

    def cell_at(self, x: float, z: float) -> tuple[int, int] | None:
        """Return (row, col) of the cell at pad coordinates (x, z), or None outside the grid."""
        gx0, gz0, gx1, gz1 = GRID
        if not (gx0 <= x < gx1 and gz0 < z <= gz1):
            return None
        col = int((x - gx0) / self.cell_size)
        row = int((gz1 - z) / self.cell_size)
        return min(row, SIZE - 1), min(col, SIZE - 1)

    def pointer(self) -> tuple[float, float] | None:
        """Return the mouse position in pad coordinates, or None when the mouse is outside the window."""
        if self.mouse_watcher is None or not self.mouse_watcher.hasMouse():
            return None
        mouse = self.mouse_watcher.getMouse()
        # The mouse watcher reports render2d coordinates, but the pad lives under aspect2d.
        point = self.root.getRelativePoint(self.root.getTop(), Point3(mouse[0], 0.0, mouse[1]))
        return point[0], point[2]

    def handle_pointer(self, x: float, z: float, button: str | None) -> bool:
        """Paint ("left") or erase ("right") the cell at (x, z) and return whether the image changed."""
        cell = self.cell_at(x, z)
        if cell is None or button is None:
            return False
        if button == "left":
            return self.stroke(*cell)
        return self.erase(*cell)

    def on_mouse_down(self, button: str = "left") -> bool:
        """Start painting or erasing, or press a button. Returns True if the click hit the pad."""
        position = self.pointer()
        if not self.visible or position is None:
            return False
        return self.press(*position, BUTTON_NAMES.get(button, button))

    def press(self, x: float, z: float, button: str) -> bool:
        """Handle a press of `button` ("left" or "right") at pad coordinates (x, z)."""
        if not inside(BOX, x, z):
            return False
        if button == "left" and inside(CLEAR_BUTTON, x, z):
            self.clear()
        elif button == "left" and inside(SAMPLE_BUTTON, x, z):
            self.use_sample()
        elif self.cell_at(x, z) is not None:
            self.held_button = button
            self.handle_pointer(x, z, button)
        return True

    def on_mouse_up(self, button: str | None = None) -> None:
        self.held_button = None

    def update(self, dt: float) -> None:
        """Mirror the lab's input while idle, paint while a button is held, and track hovering."""
        if not self.visible:
            return
        if self.held_button is None and not np.array_equal(self.image.ravel(), self.lab.current_image):
            self.sync_from_lab()

        position = self.pointer()
        cell = self.cell_at(*position) if position is not None else None
        if self.held_button is not None and position is not None:
            self.handle_pointer(*position, self.held_button)
        self.show_hover(cell, position)

    def show_hover(self, cell, position) -> None:
        if cell != self.hover_cell:
            self.hover_cell = cell
            if cell is None:
                self.hover.path.hide()
            else:
                gx0, _, _, gz1 = GRID
                self.hover.path.setPos(gx0 + cell[1] * self.cell_size, 0.0, gz1 - cell[0] * self.cell_size)
                self.hover.path.show()

        colors = [BUTTON_COLOR, BUTTON_COLOR]
        if position is not None:
            for index, box in enumerate((CLEAR_BUTTON, SAMPLE_BUTTON)):
                if inside(box, *position):
                    colors[index] = BUTTON_HOVER_COLOR
        if colors != self.button_colors:
            self.button_colors = colors
            self.buttons.set_colors(np.array(colors))

    def destroy(self) -> None:
        self.held_button = None
        self.root.removeNode()
