"""The control panel in the left column: training, temperature, alpha, speed, losses, input.

The panel only calls the app's methods (set_training, set_temperature, ...) and reads the lab
for its numbers, so keys and buttons share one code path.
"""

from __future__ import annotations

import math

from direct.gui import DirectGuiGlobals as DGG
from direct.gui.DirectGui import DirectButton, DirectFrame, DirectLabel, DirectSlider, DirectWaitBar
from panda3d.core import NodePath, TextNode

from game.widgets import symbol
from sim.training import ALPHA_RANGE, TEMPERATURE_RANGE

# Layout in a2dTopLeft coordinates (x right from the window's left edge, z down from its top),
# so the panel stays in the left column at any aspect ratio. At 16:9, x in [0.0, 0.65] is
# aspect2d x in [-1.77, -1.12].
PANEL_LEFT, PANEL_RIGHT = 0.0, 0.65
PANEL_TOP, PANEL_BOTTOM = -0.02, -1.76
INSET = 0.035
CONTENT_WIDTH = PANEL_RIGHT - PANEL_LEFT - 2 * INSET
SLIDER_HALF_WIDTH = CONTENT_WIDTH / 2

SPEED_RANGE = (0.25, 12.0)  # epochs per second
DEFAULT_SPEED = 2.0
TEMPERATURE_PAGE = 1.0
REFRESH_S = 0.1

TITLE_SCALE = 0.05
TEXT_SCALE = 0.036
SMALL_SCALE = 0.03

PANEL_COLOR = (0.025, 0.035, 0.07, 0.93)
ACCENT_COLOR = (0.35, 0.55, 1.0, 1.0)
TEXT_COLOR = (0.86, 0.9, 0.98, 1.0)
MUTED_COLOR = (0.58, 0.64, 0.78, 1.0)
SOFT_COLOR = (1.0, 0.62, 0.25, 1.0)
HARD_COLOR = (0.35, 0.8, 1.0, 1.0)
TOTAL_COLOR = (0.95, 0.95, 1.0, 1.0)
# Button frame colours for the states ready, pressed, under the pointer, disabled.
BUTTON_COLORS = ((0.12, 0.18, 0.34, 1.0), (0.3, 0.45, 0.8, 1.0), (0.18, 0.27, 0.5, 1.0), (0.1, 0.1, 0.12, 1.0))
TRAIN_COLORS = ((0.13, 0.42, 0.25, 1.0), (0.25, 0.7, 0.4, 1.0), (0.18, 0.55, 0.32, 1.0), (0.1, 0.1, 0.12, 1.0))
PAUSE_COLORS = ((0.5, 0.3, 0.1, 1.0), (0.85, 0.55, 0.2, 1.0), (0.65, 0.4, 0.15, 1.0), (0.1, 0.1, 0.12, 1.0))
TOGGLE_ON_COLORS = ((0.3, 0.25, 0.55, 1.0), (0.5, 0.45, 0.85, 1.0), (0.4, 0.35, 0.7, 1.0), (0.1, 0.1, 0.12, 1.0))


def format_loss(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.3f}"


class ControlPanel:
    """DirectGUI widgets that drive `app` and show the lab's training state.

    `app` needs: lab, training, speed, set_training(), set_temperature(), set_alpha(),
    set_speed(), reset_student(), next_sample(), previous_sample(), set_race(), toggle_help()
    and toggle_overlay(name) with `overlays` naming the available overlays.
    """

    def __init__(self, parent: NodePath, app, font=None):
        self.app = app
        self.lab = app.lab
        self.font = font
        self.tau = symbol(font, "τ", "tau") if font is not None else "tau"
        self.alpha = symbol(font, "α", "alpha") if font is not None else "alpha"
        self.refresh_clock = REFRESH_S
        self.overlay_buttons: dict[str, DirectButton] = {}

        self.root = DirectFrame(
            parent=parent, frameColor=PANEL_COLOR, relief=DGG.FLAT,
            frameSize=(PANEL_LEFT, PANEL_RIGHT, PANEL_BOTTOM, PANEL_TOP), state=DGG.NORMAL,
        )
        self.z = PANEL_TOP - INSET
        self._build_header()
        self._build_training()
        self._build_settings()
        self._build_losses()
        self._build_input()
        self._build_toggles()
        self.refresh()

    # --- building blocks --------------------------------------------------------------------

    def _label(self, text: str, z: float, scale: float = TEXT_SCALE, color=TEXT_COLOR,
               x: float = PANEL_LEFT + INSET, align=TextNode.ALeft) -> DirectLabel:
        return DirectLabel(
            parent=self.root, text=text, text_font=self.font, text_scale=scale, text_fg=color,
            text_align=align, frameColor=(0, 0, 0, 0), pos=(x, 0, z), relief=None,
        )

    def _button(self, text: str, command, x0: float, x1: float, z: float, colors=BUTTON_COLORS,
                extra=None) -> DirectButton:
        height = 0.062
        return DirectButton(
            parent=self.root, text=text, text_font=self.font, text_scale=TEXT_SCALE * 0.95,
            text_fg=TEXT_COLOR, text_pos=(0, -0.012), command=command, extraArgs=extra or [],
            frameSize=(-(x1 - x0) / 2, (x1 - x0) / 2, -height / 2, height / 2),
            frameColor=colors, relief=DGG.FLAT, pos=((x0 + x1) / 2, 0, z), pressEffect=1,
        )

    def _slider(self, value_range, value: float, command, z: float, page: float) -> DirectSlider:
        return DirectSlider(
            parent=self.root, range=value_range, value=value, pageSize=page, command=command,
            frameSize=(-SLIDER_HALF_WIDTH, SLIDER_HALF_WIDTH, -0.012, 0.012),
            frameColor=(0.18, 0.22, 0.36, 1.0), relief=DGG.FLAT,
            thumb_frameSize=(-0.018, 0.018, -0.032, 0.032), thumb_relief=DGG.FLAT,
            thumb_frameColor=(0.55, 0.7, 1.0, 1.0),
            pos=(PANEL_LEFT + INSET + SLIDER_HALF_WIDTH, 0, z),
        )

    def _rule(self, z: float) -> None:
        DirectFrame(parent=self.root, frameColor=(0.3, 0.4, 0.7, 0.35), relief=DGG.FLAT,
                    frameSize=(PANEL_LEFT + INSET, PANEL_RIGHT - INSET, z - 0.002, z + 0.002))

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
                                         TRAIN_COLORS)
        self.reset_button = self._button("Reset student", self.app.reset_student, middle + 0.01, right,
                                         self.z)
        self.z -= 0.075
        self.epoch_label = self._label("", self.z)
        self.batch_label = self._label("", self.z, SMALL_SCALE, MUTED_COLOR, x=right, align=TextNode.ARight)
        self.z -= 0.035
        self.progress = DirectWaitBar(
            parent=self.root, range=1000, value=0, relief=DGG.FLAT,
            frameSize=(left, right, -0.008, 0.008), frameColor=(0.15, 0.18, 0.28, 1.0),
            barColor=(0.4, 0.65, 1.0, 1.0), pos=(0, 0, self.z),
        )
        self.z -= 0.06
        self.speed_label = self._label("", self.z)
        self.z -= 0.05
        self.speed_slider = self._slider(SPEED_RANGE, self.app.speed, self._on_speed, self.z, 1.0)
        self.z -= 0.02

    def _build_settings(self) -> None:
        self._section("Distillation")
        self.temperature_label = self._label("", self.z)
        self.z -= 0.05
        self.temperature_slider = self._slider(TEMPERATURE_RANGE, self.lab.temperature, self._on_temperature,
                                               self.z, TEMPERATURE_PAGE)
        self.z -= 0.075
        self.alpha_label = self._label("", self.z)
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
        self.loss_labels = {}
        for name, formula, color in rows:
            self._label(name, self.z, TEXT_SCALE, color)
            self._label(formula, self.z, SMALL_SCALE * 0.9, MUTED_COLOR, x=PANEL_LEFT + INSET + 0.1)
            self.loss_labels[name] = self._label("", self.z, TEXT_SCALE, color, x=right, align=TextNode.ARight)
            self.z -= 0.05

    def _build_input(self) -> None:
        self._section("Input digit")
        left, right = PANEL_LEFT + INSET, PANEL_RIGHT - INSET
        self.previous_button = self._button("◀", self.app.previous_sample, left, left + 0.08, self.z + 0.012)
        self.next_button = self._button("▶", self.app.next_sample, right - 0.08, right, self.z + 0.012)
        self.sample_label = self._label("", self.z, TEXT_SCALE * 0.9, x=(left + right) / 2, align=TextNode.ACenter)
        self.z -= 0.05
        self._label("N / B  next, previous", self.z, SMALL_SCALE * 0.9, MUTED_COLOR,
                    x=(left + right) / 2, align=TextNode.ACenter)
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

    # --- per frame --------------------------------------------------------------------------

    def update(self, dt: float) -> None:
        self.refresh_clock += dt
        if self.refresh_clock >= REFRESH_S:
            self.refresh_clock = 0.0
            self.refresh()

    def refresh(self) -> None:
        """Rewrite every number from the lab; text only changes when its value does."""
        distiller = self.lab.distiller
        epochs = distiller.config.epochs
        done = min(distiller.epoch + distiller.epoch_fraction, epochs)
        self._set(self.epoch_label, f"Epoch {distiller.epoch} / {epochs}")
        state = "paused"
        if distiller.finished:
            state = "finished"
        elif self.app.training:
            state = "training"
        self._set(self.batch_label, state)
        self.progress["value"] = 1000 * done / epochs

        running = self.app.training and not distiller.finished
        self._set(self.train_button, "Pause" if running else "Train")
        self._paint(self.train_button, PAUSE_COLORS if running else TRAIN_COLORS)

        self._set(self.speed_label, f"Speed   {self.app.speed:.2f} epochs/s")
        self._set(self.temperature_label, f"Temperature {self.tau} = {self.lab.temperature:.1f}")
        self._set(self.alpha_label, f"Soft-target weight {self.alpha} = {self.lab.alpha:.2f}")

        soft, hard, total = distiller.latest_losses()
        self._set(self.loss_labels["soft"], format_loss(soft))
        self._set(self.loss_labels["hard"], format_loss(hard))
        self._set(self.loss_labels["total"], format_loss(total))

        label = self.lab.current_label
        which = "drawn digit" if label is None else f"#{self.lab.sample_index}  label {label}"
        self._set(self.sample_label, which)

        for name, button in self.overlay_buttons.items():
            if name == "race":
                shown = self.lab.race_enabled
            elif name == "help":
                shown = self.app.help_shown
            else:
                shown = self.app.overlay_shown(name)
            self._paint(button, TOGGLE_ON_COLORS if shown else BUTTON_COLORS)

    @staticmethod
    def _set(widget, text: str) -> None:
        if widget["text"] != text:
            widget["text"] = text

    @staticmethod
    def _paint(widget, colors) -> None:
        """Set a button's state colours, only when they change (each set rebuilds its frames)."""
        if tuple(widget["frameColor"]) != colors:
            widget["frameColor"] = colors

    def destroy(self) -> None:
        self.root.destroy()
