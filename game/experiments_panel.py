"""The experiments overlay: leave a digit out of the transfer set, and keep your results.

Construct with `ExperimentsPanel(parent, app, results_dir, font=None)` with `parent` under
aspect2d; it fills x in [-1.05, 0.0] and z in [0.615, 0.98] at 16:9 and starts hidden. `app`
needs `lab` and `set_omitted_class(digit or None)`, which restarts the student. Call
`update(dt)` every frame and `destroy()` when done.

Hinton, Vinyals and Dean (2015) trained a student whose transfer set had no 3s. Raising the
bias of its class-3 output afterwards let it recognise most test 3s. This panel repeats that:
pick a digit, train, and read that digit's held-out accuracy before and after the bias shift
that maximises accuracy on the training split.

The DirectGUI buttons stay for their mouse regions and clicks but draw nothing. One QuadBatch
draws the backing and every button face in the colour of its PGButton state, and one BakedText
draws every text, so the panel is two draw calls plus one per extra font page.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from direct.gui import DirectGuiGlobals as DGG
import numpy as np
from direct.gui.DirectGui import DirectButton, DirectFrame
from panda3d.core import NodePath, PGButton

from game.controls import BUTTON_COLORS, MUTED_COLOR, PAUSE_COLORS, TEXT_COLOR
from game.widgets import (
    SCREEN_FONT_PIXELS_PER_UNIT,
    BakedText,
    QuadBatch,
    load_font,
    make_text,
    set_text,
    set_text_color,
)
from sim.data import N_CLASSES
from sim.errors import AssetError

log = logging.getLogger(__name__)

BOX = (-1.05, 0.0, 0.615, 0.98)  # x0, x1, z0, z1 in aspect2d units
INSET = 0.03
TITLE_SCALE = 0.045
TEXT_SCALE = 0.034
SMALL_SCALE = 0.029
DIGIT_BUTTON_WIDTH = 0.066
NONE_BUTTON_WIDTH = 0.11
BUTTON_HEIGHT = 0.05
BUTTON_TEXT_DROP = 0.01       # baseline below the button's centre
# A pressed button and its label shrink to this size about the button's centre, as
# DirectButton's pressEffect draws them.
PRESS_SCALE = 0.98
REFRESH_S = 0.25
STUDENT_PREFIX = "student"
CURVES_PREFIX = "curves"

PANEL_COLOR = (0.025, 0.035, 0.07, 1.0)   # opaque, so the titles it covers do not show through
GOOD_COLOR = (0.5, 0.92, 0.55, 1.0)
ERROR_COLOR = (1.0, 0.55, 0.45, 1.0)
# The chosen digit's button wears the control panel's orange Pause colours.
CHOSEN_COLORS = PAUSE_COLORS


def timestamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def latest_file(folder: Path, prefix: str, suffix: str) -> Path | None:
    """Return the most recently modified `prefix*suffix` file in folder, or None."""
    candidates = sorted(Path(folder).glob(f"{prefix}*{suffix}"), key=lambda path: path.stat().st_mtime)
    return candidates[-1] if candidates else None


class ExperimentsPanel:
    """Toggleable 2D panel with the held-out-class experiment and save, load and export."""

    def __init__(self, parent: NodePath, app, results_dir: Path, font=None):
        self.app = app
        self.lab = app.lab
        self.results_dir = Path(results_dir)
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.refresh_clock = 0.0
        self.shown_key = None
        self.status = ""

        # The invisible frame is a mouse region over the whole panel, so clicks between the
        # buttons do not start a camera drag. The drawing hangs below it in the "unsorted" bin,
        # in scene-graph order, which puts it over the control panel where the two overlap.
        x0, x1, z0, z1 = BOX
        self.root = DirectFrame(parent=parent, relief=None, state=DGG.NORMAL, frameSize=(x0, x1, z0, z1))
        self.drawing = self.root.attachNewNode("experiments-drawing")
        self.drawing.setBin("unsorted", 0)
        self.text_layer = self.drawing.attachNewNode("experiments-text-sources")
        self.boxes: list[tuple[float, float, float, float]] = [(x0, z0, x1, z1)]
        self.texts: dict[str, NodePath] = {}
        # Per button: (widget, quad index, label, label position and scale when not pressed).
        self.buttons: list[tuple[DirectButton, int, NodePath, tuple]] = []
        self.palettes: dict[DirectButton, tuple] = {}

        left = x0 + INSET
        z = z1 - INSET - 0.015
        self._label("Experiments", left, z, TITLE_SCALE)
        self._label("X  show or hide", x1 - INSET, z, SMALL_SCALE, MUTED_COLOR, "right")

        z -= 0.05
        self._label("Leave a digit out of the student's transfer set:", left, z, SMALL_SCALE, MUTED_COLOR)
        z -= 0.045
        self.digit_buttons: dict[int | None, DirectButton] = {}
        x = left
        for digit in [None] + list(range(N_CLASSES)):
            width = NONE_BUTTON_WIDTH if digit is None else DIGIT_BUTTON_WIDTH
            text = "none" if digit is None else str(digit)
            self.digit_buttons[digit] = self._button(text, self.choose_digit, [digit], x + width / 2, z + 0.01,
                                                     width, SMALL_SCALE)
            x += width + 0.008

        z -= 0.06
        self._label("", left, z, TEXT_SCALE, name="result")
        z -= 0.037
        self._label("", left, z, SMALL_SCALE, MUTED_COLOR, name="detail")

        z -= 0.055
        width = (x1 - x0 - 2 * INSET - 0.02) / 3
        actions = (("Save student  Ctrl+S", self.save_student), ("Load latest  Ctrl+O", self.load_student),
                   ("Export curves  Ctrl+E", self.export_curves))
        for index, (text, command) in enumerate(actions):
            x = left + width / 2 + index * (width + 0.01)
            self._button(text, command, [], x, z + 0.01, width, SMALL_SCALE * 0.95)
        z -= 0.048
        self._label("", left, z, SMALL_SCALE, MUTED_COLOR, name="status")

        # The backing is rectangle 0 and each button face the next, so faces draw over it.
        self.quads = QuadBatch(self.drawing, len(self.boxes), "experiments-quads")
        self.box_array = np.array(self.boxes, dtype=np.float32)
        self.color_array = np.empty((len(self.boxes), 4), dtype=np.float32)
        self.color_array[0] = PANEL_COLOR
        self.baked_text = BakedText(self.drawing, list(self.text_layer.getChildren()), "experiments-text")

        self.root.hide()
        self._refresh(force=True)

    # --- widgets ----------------------------------------------------------------------------

    def _label(self, text, x, z, scale, color=TEXT_COLOR, align="left", name: str | None = None) -> NodePath:
        """Add a text with its baseline at z; `name` marks a text that text(name) reads back."""
        path = make_text(self.text_layer, text, self.font, pos=(x, z), scale=scale, color=color, align=align,
                         name=name or "label")
        if name is not None:
            self.texts[name] = path
        return path

    def _button(self, text, command, extra, x, z, width, scale) -> DirectButton:
        """Add an invisible button centred on (x, z) with its face and label queued for drawing."""
        half_width, half_height = width / 2, BUTTON_HEIGHT / 2
        button = DirectButton(parent=self.root, relief=None, command=command, extraArgs=extra,
                              frameSize=(-half_width, half_width, -half_height, half_height),
                              pos=(x, 0, z), pressEffect=0)
        self.boxes.append((x - half_width, z - half_height, x + half_width, z + half_height))
        label = self._label(text, x, z - BUTTON_TEXT_DROP, scale, align="center")
        self.buttons.append((button, len(self.boxes) - 1, label, (x, z, scale)))
        self.palettes[button] = BUTTON_COLORS
        return button

    def text(self, name: str) -> str:
        """Return the string a changing text shows now: "result", "detail" or "status"."""
        return self.texts[name].node().getText()

    # --- visibility -------------------------------------------------------------------------

    @property
    def visible(self) -> bool:
        return not self.root.isHidden()

    def show(self) -> None:
        self.root.show()
        self._refresh(force=True)

    def hide(self) -> None:
        self.root.hide()

    def toggle(self) -> None:
        self.hide() if self.visible else self.show()

    # --- actions ----------------------------------------------------------------------------

    def choose_digit(self, digit: int | None) -> None:
        """Leave `digit` out of the transfer set (None keeps every digit) and restart the student."""
        self.app.set_omitted_class(digit)
        self._refresh(force=True)

    def save_student(self) -> Path | None:
        """Save the student as a timestamped .npz in the results folder and return its path."""
        problem = self._prepare_folder()
        if problem is not None:
            return self._report(f"could not save the student: {problem}", error=True)
        path = self.results_dir / f"{STUDENT_PREFIX}-{timestamp()}.npz"
        try:
            self.lab.save_student(path)
        except OSError as error:
            return self._report(f"could not save the student: {error}", error=True)
        return self._report(f"saved student to {path}", path=path)

    def load_student(self, path: Path | None = None) -> Path | None:
        """Load `path`, or the newest saved student in the results folder.

        A missing, damaged or wrongly shaped file leaves the current student as it was.
        """
        if path is None:
            path = latest_file(self.results_dir, STUDENT_PREFIX, ".npz") if self.results_dir.is_dir() else None
            if path is None:
                return self._report(f"no saved student in {self.results_dir}; press Ctrl+S to save one first",
                                    error=True)
        try:
            info = self.lab.load_student(path)
        except AssetError as error:
            return self._report(str(error), error=True)
        self.app.refresh_student()
        return self._report(f"loaded {path} (τ {info['temperature']:g}, α {info['alpha']:g}, "
                            f"seed {info['seed']})", path=path)

    def export_curves(self) -> Path | None:
        """Write the training curves as a timestamped CSV in the results folder."""
        if not self.lab.distiller.history:
            return self._report("no finished epoch yet: train for at least one epoch first", error=True)
        problem = self._prepare_folder()
        if problem is not None:
            return self._report(f"could not export the curves: {problem}", error=True)
        path = self.results_dir / f"{CURVES_PREFIX}-{timestamp()}.csv"
        try:
            self.lab.export_curves(path)
        except OSError as error:
            return self._report(f"could not export the curves: {error}", error=True)
        return self._report(f"wrote {len(self.lab.distiller.history)} epochs of curves to {path}", path=path)

    def _prepare_folder(self) -> str | None:
        """Create the results folder if needed; return why it cannot be used, or None."""
        folder = self.results_dir
        if folder.exists() and not folder.is_dir():
            return f"{folder} is a file, not a folder; start the explorer with another --capture-dir"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return f"cannot create folder {folder} ({error.strerror or error}); choose another --capture-dir"
        return None

    def _report(self, text: str, error: bool = False, path: Path | None = None) -> Path | None:
        """Show the outcome of an action in the panel (opening it) and log it."""
        (log.error if error else log.info)("%s", text)
        self.status = text
        set_text(self.texts["status"], self._shorten(text))
        set_text_color(self.texts["status"], ERROR_COLOR if error else GOOD_COLOR)
        self.baked_text.rebake()
        if not self.visible:
            self.show()
        return path

    @staticmethod
    def _shorten(text: str, limit: int = 72) -> str:
        """Cut long messages to one panel line; the full text is in the log."""
        return text if len(text) <= limit else text[:limit - 1] + "…"

    # --- per frame --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        if not self.visible:
            return
        self.refresh_clock -= dt
        if self.refresh_clock <= 0:
            self._refresh()
        self._draw_widgets()

    def _refresh(self, force: bool = False) -> None:
        self.refresh_clock = REFRESH_S
        self.lab = self.app.lab
        digit = self.lab.omitted_class
        key = (digit, self.lab.distiller.epoch, id(self.lab.distiller))
        if key == self.shown_key and not force:
            return
        self.shown_key = key

        for choice, button in self.digit_buttons.items():
            self.palettes[button] = CHOSEN_COLORS if choice == digit else BUTTON_COLORS

        if digit is None:
            set_text(self.texts["result"], "Every digit reaches the student.")
            set_text(self.texts["detail"], "Pick a digit, then train: the student never sees it.")
        else:
            result = self.lab.omitted_class_result()
            epochs = self.lab.distiller.epoch
            set_text(self.texts["result"], f"digit {digit} right: {result.accuracy_before:.0%} → "
                                           f"{result.accuracy_after:.0%} with bias +{result.bias_shift:.2f}")
            set_text(self.texts["detail"], f"after {epochs} epochs; shift chosen on the training split; "
                                           f"all digits {result.overall_accuracy_after:.1%}")
        self._draw_widgets()

    def _draw_widgets(self) -> None:
        """Colour each button face by its PGButton state and shrink a pressed button and its label.

        The quad batch is rewritten, and the text rebaked, only when something changed.
        """
        for button, index, label, (x, z, scale) in self.buttons:
            state = button.guiItem.getState()
            self.color_array[index] = self.palettes[button][state]
            shrink = PRESS_SCALE if state == PGButton.S_depressed else 1.0
            x0, z0, x1, z1 = self.boxes[index]
            self.box_array[index] = (x + (x0 - x) * shrink, z + (z0 - z) * shrink,
                                     x + (x1 - x) * shrink, z + (z1 - z) * shrink)
            label.setPos(x, 0, z - BUTTON_TEXT_DROP * shrink)
            label.setScale(scale * shrink)

        self.quads.write_changed(self.box_array, self.color_array)
        self.baked_text.rebake()

    def destroy(self) -> None:
        self.root.destroy()
