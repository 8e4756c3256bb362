"""The control panel in the left column: training, temperature, alpha, speed, losses, input.

The panel only calls the app's methods (set_training, set_temperature, ...) and reads the lab
for its numbers, so keys and buttons share one code path.

DirectGUI draws each widget as a frame Geom plus a text Geom, which made this panel 55 of the
explorer's draw calls. Here the DirectGUI buttons and sliders stay, for their mouse regions,
clicks and thumb dragging, but draw nothing (no relief, no text). What the user sees is one
QuadBatch for every rectangle, one Geom of baked static text and one of changing text: three
draw calls. Each frame the quads follow the widgets' states (ready, pressed, under the
pointer) and the slider thumbs' positions.
"""

from __future__ import annotations

import math

import numpy as np
from direct.gui import DirectGuiGlobals as DGG
from direct.gui.DirectGui import DirectButton, DirectFrame, DirectSlider
from panda3d.core import NodePath, PGButton

from game.widgets import (
    SCREEN_FONT_PIXELS_PER_UNIT,
    BakedText,
    QuadBatch,
    bake_text,
    load_font,
    make_text,
    screen_root,
    set_text,
    symbol,
)
from sim.training import ALPHA_RANGE, TEMPERATURE_RANGE

# Layout in a2dTopLeft coordinates (x right from the window's left edge, z down from its top),
# so the panel stays in the left column at any aspect ratio. At 16:9, x in [0.0, 0.65] is
# aspect2d x in [-1.77, -1.12].
PANEL_LEFT, PANEL_RIGHT = 0.0, 0.65
PANEL_TOP, PANEL_BOTTOM = -0.02, -1.76
INSET = 0.035
CONTENT_WIDTH = PANEL_RIGHT - PANEL_LEFT - 2 * INSET
SLIDER_HALF_WIDTH = CONTENT_WIDTH / 2
SLIDER_HIT_HALF_HEIGHT = 0.012   # the slider's mouse region; the drawn track is thinner
SLIDER_TRACK_HALF_HEIGHT = 0.004
THUMB_HALF_SIZE = (0.018, 0.032)
BUTTON_HEIGHT = 0.062
BUTTON_TEXT_DROP = 0.012      # baseline below the button's centre, so the text looks centred
PROGRESS_HALF_HEIGHT = 0.008
RULE_HALF_HEIGHT = 0.002

SPEED_RANGE = (0.25, 12.0)  # epochs per second
DEFAULT_SPEED = 2.0
TEMPERATURE_PAGE = 1.0
REFRESH_S = 0.1

TITLE_SCALE = 0.05
TEXT_SCALE = 0.036
SMALL_SCALE = 0.03
BUTTON_TEXT_SCALE = TEXT_SCALE * 0.95

PANEL_COLOR = (0.025, 0.035, 0.07, 0.93)
RULE_COLOR = (0.3, 0.4, 0.7, 0.35)
ACCENT_COLOR = (0.35, 0.55, 1.0, 1.0)
TEXT_COLOR = (0.86, 0.9, 0.98, 1.0)
MUTED_COLOR = (0.58, 0.64, 0.78, 1.0)
SOFT_COLOR = (1.0, 0.62, 0.25, 1.0)
HARD_COLOR = (0.35, 0.8, 1.0, 1.0)
TOTAL_COLOR = (0.95, 0.95, 1.0, 1.0)
TRACK_COLOR = (0.18, 0.22, 0.36, 1.0)
PROGRESS_TRACK_COLOR = (0.15, 0.18, 0.28, 1.0)
PROGRESS_COLOR = (0.4, 0.65, 1.0, 1.0)
# Face colours for PGButton's states, indexed by PGButton.S_ready, S_depressed, S_rollover and
# S_inactive (0 to 3).
BUTTON_COLORS = ((0.12, 0.18, 0.34, 1.0), (0.3, 0.45, 0.8, 1.0), (0.18, 0.27, 0.5, 1.0), (0.1, 0.1, 0.12, 1.0))
TRAIN_COLORS = ((0.13, 0.42, 0.25, 1.0), (0.25, 0.7, 0.4, 1.0), (0.18, 0.55, 0.32, 1.0), (0.1, 0.1, 0.12, 1.0))
PAUSE_COLORS = ((0.5, 0.3, 0.1, 1.0), (0.85, 0.55, 0.2, 1.0), (0.65, 0.4, 0.15, 1.0), (0.1, 0.1, 0.12, 1.0))
TOGGLE_ON_COLORS = ((0.3, 0.25, 0.55, 1.0), (0.5, 0.45, 0.85, 1.0), (0.4, 0.35, 0.7, 1.0), (0.1, 0.1, 0.12, 1.0))
THUMB_COLORS = ((0.55, 0.7, 1.0, 1.0), (0.8, 0.88, 1.0, 1.0), (0.68, 0.8, 1.0, 1.0), (0.3, 0.3, 0.35, 1.0))


def format_loss(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.3f}"


class ControlPanel:
    """Invisible DirectGUI widgets that drive `app`, drawn as batched quads and baked text.

    `app` needs: lab, training, speed, set_training(), set_temperature(), set_alpha(),
    set_speed(), reset_student(), next_sample(), previous_sample(), set_race(), toggle_help()
    and toggle_overlay(name) with `overlays` naming the available overlays.
    """

    def __init__(self, parent: NodePath, app, font=None):
        self.app = app
        self.lab = app.lab
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.tau = symbol(self.font, "τ", "tau")
        self.alpha = symbol(self.font, "α", "alpha")
        self.refresh_clock = REFRESH_S
        self.overlay_buttons: dict[str, DirectButton] = {}

        # Draw order inside the "unsorted" bin: quads, then static text, then changing text.
        self.root = screen_root(parent, "control-panel")
        self.quad_layer = self.root.attachNewNode("control-quads")
        self.text_layer = self.root.attachNewNode("control-text")
        # The invisible frame is a mouse region over the whole panel, so clicks between the
        # widgets do not start a camera drag.
        self.hit_root = DirectFrame(parent=self.root, relief=None, state=DGG.NORMAL,
                                    frameSize=(PANEL_LEFT, PANEL_RIGHT, PANEL_BOTTOM, PANEL_TOP))

        self.boxes: list[tuple[float, float, float, float]] = []
        self.colors: list[tuple[float, ...]] = []
        self.texts: dict[str, NodePath] = {}
        self.quad_of: dict[DirectButton, int] = {}           # button or slider thumb -> quad index
        self.button_palettes: dict[int, tuple] = {}          # quad index -> state colours
        self.sliders: list[tuple[DirectSlider, int]] = []    # (widget, thumb quad index)

        self._add_rect((PANEL_LEFT, PANEL_BOTTOM, PANEL_RIGHT, PANEL_TOP), PANEL_COLOR)
        self.z = PANEL_TOP - INSET
        self._build_header()
        self._build_training()
        self._build_settings()
        self._build_losses()
        self._build_input()
        self._build_toggles()

        self.quads = QuadBatch(self.quad_layer, len(self.boxes), "control-quads")
        self.box_array = np.array(self.boxes, dtype=np.float32)
        self.color_array = np.array(self.colors, dtype=np.float32)

        bake_text(self.text_layer, keep=list(self.texts.values()), name="control-static-text")
        self.changing_text = BakedText(self.root, list(self.texts.values()), "control-changing-text")
        self.progress_fraction = 0.0
        self.refresh()

    # --- building blocks --------------------------------------------------------------------

    def _add_rect(self, box, color) -> int:
        """Queue a rectangle (x0, z0, x1, z1) for the quad batch; return its index."""
        self.boxes.append(tuple(box))
        self.colors.append(tuple(color))
        return len(self.boxes) - 1

    def _label(self, text: str, z: float, scale: float = TEXT_SCALE, color=TEXT_COLOR,
               x: float = PANEL_LEFT + INSET, align: str = "left", name: str | None = None) -> NodePath:
        """Add a text line with its baseline at z; `name` marks text that refresh() rewrites."""
        path = make_text(self.text_layer, text, self.font, pos=(x, z), scale=scale, color=color, align=align,
                         name=name or "label")
        if name is not None:
            self.texts[name] = path
        return path

    def _button(self, text: str, command, x0: float, x1: float, z: float, colors=BUTTON_COLORS,
                name: str | None = None) -> DirectButton:
        """Add a button from x0 to x1 centred on z; `name` marks a label that refresh() rewrites."""
        half_width, half_height = (x1 - x0) / 2, BUTTON_HEIGHT / 2
        button = DirectButton(parent=self.hit_root, relief=None, command=command,
                              frameSize=(-half_width, half_width, -half_height, half_height),
                              pos=((x0 + x1) / 2, 0, z))
        index = self._add_rect((x0, z - half_height, x1, z + half_height), colors[PGButton.S_ready])
        self.quad_of[button] = index
        self.button_palettes[index] = colors
        self._label(text, z - BUTTON_TEXT_DROP, BUTTON_TEXT_SCALE, x=(x0 + x1) / 2, align="center", name=name)
        return button

    def _slider(self, value_range, value: float, command, z: float, page: float) -> DirectSlider:
        center = PANEL_LEFT + INSET + SLIDER_HALF_WIDTH
        half_x, half_z = THUMB_HALF_SIZE
        slider = DirectSlider(
            parent=self.hit_root, range=value_range, value=value, pageSize=page, command=command,
            frameSize=(-SLIDER_HALF_WIDTH, SLIDER_HALF_WIDTH, -SLIDER_HIT_HALF_HEIGHT, SLIDER_HIT_HALF_HEIGHT),
            relief=None, thumb_relief=None, thumb_frameSize=(-half_x, half_x, -half_z, half_z),
            pos=(center, 0, z),
        )
        self._add_rect((center - SLIDER_HALF_WIDTH, z - SLIDER_TRACK_HALF_HEIGHT,
                        center + SLIDER_HALF_WIDTH, z + SLIDER_TRACK_HALF_HEIGHT), TRACK_COLOR)
        thumb = self._add_rect((center - half_x, z - half_z, center + half_x, z + half_z), THUMB_COLORS[0])
        self.sliders.append((slider, thumb))
        self.quad_of[slider.thumb] = thumb
        self.button_palettes[thumb] = THUMB_COLORS
        return slider

    def _rule(self, z: float) -> None:
        self._add_rect((PANEL_LEFT + INSET, z - RULE_HALF_HEIGHT, PANEL_RIGHT - INSET, z + RULE_HALF_HEIGHT),
                       RULE_COLOR)

    def _section(self, title: str) -> None:
        self.z -= 0.03
        self._rule(self.z)
        self.z -= 0.05
        self._label(title.upper(), self.z, SMALL_SCALE, ACCENT_COLOR)
        self.z -= 0.05

    # --- sections ---------------------------------------------------------------------------

    def _build_header(self) -> None:
        self.z -= 0.04
        self._label("KD Explorer", self.z, TITLE_SCALE, TEXT_COLOR)
        self.z -= 0.045
        self._label("knowledge distillation, live", self.z, SMALL_SCALE, MUTED_COLOR)
        self.z -= 0.035

    def _build_training(self) -> None:
        self._section("Training")
        left, right = PANEL_LEFT + INSET, PANEL_RIGHT - INSET
        middle = left + CONTENT_WIDTH * 0.42
        self.train_button = self._button("Train", self._toggle_training, left, middle - 0.01, self.z,
                                         TRAIN_COLORS, name="train")
        self.reset_button = self._button("Reset student", self.app.reset_student, middle + 0.01, right, self.z)
        self.z -= 0.075
        self._label("", self.z, name="epoch")
        self._label("", self.z, SMALL_SCALE, MUTED_COLOR, x=right, align="right", name="state")
        self.z -= 0.035
        self._add_rect((left, self.z - PROGRESS_HALF_HEIGHT, right, self.z + PROGRESS_HALF_HEIGHT),
                       PROGRESS_TRACK_COLOR)
        self.progress_quad = self._add_rect((left, self.z - PROGRESS_HALF_HEIGHT, left, self.z + PROGRESS_HALF_HEIGHT),
                                            PROGRESS_COLOR)
        self.z -= 0.06
        self._label("", self.z, name="speed")
        self.z -= 0.05
        self.speed_slider = self._slider(SPEED_RANGE, self.app.speed, self._on_speed, self.z, 1.0)
        self.z -= 0.02

    def _build_settings(self) -> None:
        self._section("Distillation")
        self._label("", self.z, name="temperature")
        self.z -= 0.05
        self.temperature_slider = self._slider(TEMPERATURE_RANGE, self.lab.temperature, self._on_temperature,
                                               self.z, TEMPERATURE_PAGE)
        self.z -= 0.075
        self._label("", self.z, name="alpha")
        self.z -= 0.05
        self.alpha_slider = self._slider(ALPHA_RANGE, self.lab.alpha, self._on_alpha, self.z, 0.1)
        self.z -= 0.02

    def _build_losses(self) -> None:
        self._section("Loss, epoch mean")
        right = PANEL_RIGHT - INSET
        rows = (
            ("soft", f"{self.tau}²·KL", SOFT_COLOR),
            ("hard", "cross-entropy", HARD_COLOR),
            ("total", f"{self.alpha}·soft + (1−{self.alpha})·hard", TOTAL_COLOR),
        )
        for name, formula, color in rows:
            self._label(name, self.z, TEXT_SCALE, color)
            self._label(formula, self.z, SMALL_SCALE * 0.9, MUTED_COLOR, x=PANEL_LEFT + INSET + 0.1)
            self._label("", self.z, TEXT_SCALE, color, x=right, align="right", name=f"{name} loss")
            self.z -= 0.05

    def _build_input(self) -> None:
        self._section("Input digit")
        left, right = PANEL_LEFT + INSET, PANEL_RIGHT - INSET
        self.previous_button = self._button("◀", self.app.previous_sample, left, left + 0.08, self.z + 0.012)
        self.next_button = self._button("▶", self.app.next_sample, right - 0.08, right, self.z + 0.012)
        self._label("", self.z, TEXT_SCALE * 0.9, x=(left + right) / 2, align="center", name="sample")
        self.z -= 0.05
        self._label("N / B  next, previous", self.z, SMALL_SCALE * 0.9, MUTED_COLOR,
                    x=(left + right) / 2, align="center")
        self.z -= 0.02

    def _build_toggles(self) -> None:
        self._section("Show")
        left, right = PANEL_LEFT + INSET, PANEL_RIGHT - INSET
        entries = [("race", "Race a scratch student   G", self._toggle_race)]
        names = {"heatmap": "Dark-knowledge map   M", "drawpad": "Draw a digit   C",
                 "experiments": "Experiments   X"}
        for name in self.app.overlays:
            entries.append((name, names.get(name, name), lambda n=name: self.app.toggle_overlay(n)))
        entries.append(("help", "Help   H", self.app.toggle_help))
        for name, text, command in entries:
            self.overlay_buttons[name] = self._button(text, command, left, right, self.z)
            self.z -= 0.072

    # --- events -----------------------------------------------------------------------------

    def _toggle_training(self) -> None:
        self.app.set_training(not self.app.training)

    def _toggle_race(self) -> None:
        self.app.set_race(not self.lab.race_enabled)

    def _on_temperature(self) -> None:
        self.app.set_temperature(round(float(self.temperature_slider["value"]), 1))

    def _on_alpha(self) -> None:
        self.app.set_alpha(round(float(self.alpha_slider["value"]), 2))

    def _on_speed(self) -> None:
        self.app.set_speed(round(float(self.speed_slider["value"]), 2))

    def sync(self) -> None:
        """Move the sliders to the app's current settings (after a key changed one)."""
        for slider, value in ((self.temperature_slider, self.lab.temperature),
                              (self.alpha_slider, self.lab.alpha),
                              (self.speed_slider, self.app.speed)):
            if abs(float(slider["value"]) - value) > 1e-3:
                slider["value"] = value
        self.refresh()

    def text(self, name: str) -> str:
        """Return the string a changing label shows now, e.g. text("epoch")."""
        return self.texts[name].node().getText()

    # --- per frame --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        self.refresh_clock += dt
        if self.refresh_clock >= REFRESH_S:
            self.refresh_clock = 0.0
            self.refresh()
        else:
            self._draw_widgets()

    def refresh(self) -> None:
        """Rewrite every number from the lab; the text Geom is rebuilt only when one changed."""
        distiller = self.lab.distiller
        epochs = distiller.config.epochs
        done = min(distiller.epoch + distiller.epoch_fraction, epochs)
        set_text(self.texts["epoch"], f"Epoch {distiller.epoch} / {epochs}")
        state = "paused"
        if distiller.finished:
            state = "finished"
        elif self.app.training:
            state = "training"
        set_text(self.texts["state"], state)
        self.progress_fraction = done / epochs

        running = self.app.training and not distiller.finished
        set_text(self.texts["train"], "Pause" if running else "Train")
        self.button_palettes[self.quad_of[self.train_button]] = PAUSE_COLORS if running else TRAIN_COLORS

        set_text(self.texts["speed"], f"Speed   {self.app.speed:.2f} epochs/s")
        set_text(self.texts["temperature"], f"Temperature {self.tau} = {self.lab.temperature:.1f}")
        set_text(self.texts["alpha"], f"Soft-target weight {self.alpha} = {self.lab.alpha:.2f}")

        for name, value in zip(("soft", "hard", "total"), distiller.latest_losses()):
            set_text(self.texts[f"{name} loss"], format_loss(value))

        label = self.lab.current_label
        which = "drawn digit" if label is None else f"#{self.lab.sample_index}  label {label}"
        set_text(self.texts["sample"], which)

        for name, button in self.overlay_buttons.items():
            if name == "race":
                shown = self.lab.race_enabled
            elif name == "help":
                shown = self.app.help_shown
            else:
                shown = self.app.overlay_shown(name)
            self.button_palettes[self.quad_of[button]] = TOGGLE_ON_COLORS if shown else BUTTON_COLORS

        self.changing_text.rebake()
        self._draw_widgets()

    def _draw_widgets(self) -> None:
        """Colour each button by its state, place the slider thumbs and the progress fill.

        The quad batch is rewritten only when a colour or position changed.
        """
        for widget, index in self.quad_of.items():
            self.color_array[index] = self.button_palettes[index][widget.guiItem.getState()]
        for slider, index in self.sliders:
            x = slider.thumb.getX(self.root)
            half_x = THUMB_HALF_SIZE[0]
            self.box_array[index, 0], self.box_array[index, 2] = x - half_x, x + half_x
        left, right = PANEL_LEFT + INSET, PANEL_RIGHT - INSET
        self.box_array[self.progress_quad, 2] = left + (right - left) * self.progress_fraction

        self.quads.write_changed(self.box_array, self.color_array)

    def destroy(self) -> None:
        self.hit_root.destroy()
        self.root.removeNode()
