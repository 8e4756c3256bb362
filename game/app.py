"""The explorer app: opens the window, builds every view and runs the one per-frame task.

Each frame the task reads dt (from the clock, or a fixed step for tests and recordings),
advances training within a time budget, then updates the views from the lab's state.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from direct.showbase.DirectObject import DirectObject
from direct.showbase.ShowBase import ShowBase
from panda3d.core import (
    ClockObject,
    Filename,
    FrameBufferProperties,
    GraphicsPipe,
    PNMImage,
    Point3,
    WindowProperties,
    loadPrcFileData,
)

from game.camera import CameraRig, View
from game.charts import BAR_BASE_Z, OutputCharts
from game.cli import ANTIALIAS_CHOICES
from game.controls import DEFAULT_SPEED, SPEED_RANGE, ControlPanel
from game import drawpad, heatmap
from game.drawpad import DrawPad
from game.experiments_panel import ExperimentsPanel
from game.flow import InputPulse, KnowledgeFlow, Sparks
from game.heatmap import DarkKnowledgeMap
from game.help import Captions, HelpOverlay
from game.network_view import InputCard, NetworkView
from game.panels import ACCURACY_BOX, VERDICT_BOX, AccuracyPanel, VerdictPanel
from game.plots import LossPlots
from game.scene import Scene
from game.widgets import SCREEN_FONT_PIXELS_PER_UNIT, load_font
from sim.data import load_split
from sim.errors import SettingError
from sim.lab import Lab
from sim.model import load_teacher
from sim.training import TEMPERATURE_RANGE, TrainingConfig

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1280, 720)
WINDOW_TITLE = "KD Explorer: knowledge distillation"
FRAME_TASK = "kd-explorer-frame"

# Training gets at most this much wall time per frame, so the frame rate stays steady.
TRAINING_BUDGET_S = 0.004
# dt above this (a stall, a window drag) is clamped so animations do not jump.
MAX_FRAME_DT = 0.1
# The student's edges are recoloured from its weights every this many frames while training.
STUDENT_REFRESH_FRAMES = 4
# Fixed step of `--frames` runs, so screenshots do not depend on the machine's speed.
BATCH_FRAME_DT = 1.0 / 30.0

# World layout: layers flow along +X, the teacher above the student, charts to the right.
TEACHER_Z, STUDENT_Z = 5.0, -5.0
NETWORK_X = (-10.0, 3.0)
INPUT_CARD_CENTER = (-15.5, 0.0, 0.0)
CHARTS_CENTER = (13.0, 0.0, 0.0)   # clear of the teacher's "10 logits" label in the overview
# The charts and plots turn by this heading (degrees) to face the overview camera, and are
# scaled up so their readouts stay legible there.
OUTPUTS_HEADING = 20.0
OUTPUTS_SCALE = 1.24
# The plots hang this far below the charts' centre, in the charts' unscaled units.
PLOTS_DROP = 8.5
# The student's 16 hidden neurons sit this far apart (world units), over twice the usual
# spacing, so its 4 x 4 grid does not merge into one glow.
STUDENT_HIDDEN_SPACING = 1.0
TEACHER_TINT = (1.0, 0.72, 0.32)
STUDENT_TINT = (0.35, 0.85, 1.0)
LENS_FOV = 50.0
# Samples per pixel of multisample antialiasing, in the window or, with bloom, the scene buffer.
MULTISAMPLES = 4
# Renderer names (GL_RENDERER) of drivers that rasterise on the CPU. On Mesa's llvmpipe at
# 1280x720, 4x multisampling of the bloom scene buffer took 121 ms of CPU per frame against
# 62 ms without it, and about 30 MB more memory, so "auto" turns it off on these.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer", "swiftshader",
                      "gdi generic", "microsoft basic render", "tinygraphicsstateguardian")
LENS_NEAR_FAR = (0.5, 500.0)

CAMERA_PRESETS = {
    "overview": View(focus=(3.0, 0.4, -5.5), heading=20.0, pitch=-8.0, distance=67.5),
    "teacher": View(focus=(-3.1, -0.2, 5.3), heading=10.0, pitch=0.0, distance=26.5),
    "student": View(focus=(-4.6, -0.2, -6.4), heading=-42.0, pitch=-12.0, distance=25.0),
    "outputs": View(focus=(19.5, 2.5, -5.3), heading=20.0, pitch=-2.0, distance=52.0),
}

# The 2D panels are laid out for a 16:9 window; fit_screen() adapts them to other shapes.
LAYOUT_ASPECT = 16.0 / 9.0
# Shift (x, z) of the drawing pad from drawpad.BOX, which puts it over the verdict panel with
# its right edge at the window's.
DRAWPAD_OFFSET = (2.12, 0.0, -0.13)

# Panda3D raises plain Exceptions with these messages when no window can be opened.
NO_WINDOW_MESSAGES = ("Could not open window", "No graphics pipe is available")


class DisplayUnavailableError(RuntimeError):
    """No graphics window could be opened (no display, or no usable graphics driver)."""


@dataclass
class ExplorerSettings:
    """Start-up options; None leaves the lab's default."""

    size: tuple[int, int] = DEFAULT_SIZE
    offscreen: bool = False
    bloom: bool = True
    seed: int | None = None
    temperature: float | None = None
    alpha: float | None = None
    autostart: bool = False
    # Where saved students and exported curves go (the capture folder by default).
    results_dir: Path = Path("captures")
    speed: float = DEFAULT_SPEED
    # Multisample antialiasing: "on", "off", or "auto" (off on a software renderer).
    antialias: str = "auto"

    def __post_init__(self):
        if self.antialias not in ANTIALIAS_CHOICES:
            raise ValueError(f"antialias {self.antialias!r} is invalid; use one of {', '.join(ANTIALIAS_CHOICES)}")


def is_software_renderer(renderer: str) -> bool:
    """Return whether a GL_RENDERER string names a driver that rasterises on the CPU."""
    name = renderer.lower()
    return any(software in name for software in SOFTWARE_RENDERERS)


def renderer_name(base: ShowBase) -> str:
    """Return the window's GL_RENDERER string, or the GSG's class name where the driver has none."""
    gsg = base.win.getGsg() if base.win is not None else None
    if gsg is None:
        return "none"
    return gsg.getDriverRenderer() or gsg.getType().getName()


def multisamples_for(antialias: str, renderer: str) -> int:
    """Return the samples per pixel to ask for: MULTISAMPLES, or 0 when antialiasing is off."""
    if antialias == "auto":
        return 0 if is_software_renderer(renderer) else MULTISAMPLES
    return MULTISAMPLES if antialias == "on" else 0


def build_lab(settings: ExplorerSettings) -> Lab:
    """Load the teacher and digits (AssetError on a bad file) and apply the settings."""
    chosen = {"seed": settings.seed, "temperature": settings.temperature, "alpha": settings.alpha}
    config = TrainingConfig(**{key: value for key, value in chosen.items() if value is not None})
    return Lab(teacher=load_teacher(), split=load_split(), config=config)


def display_missing(settings: ExplorerSettings) -> bool:
    """Return whether a visible window is wanted on Linux with no X or Wayland display to open it on."""
    return not settings.offscreen and sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_window(settings: ExplorerSettings) -> ShowBase:
    """Create the ShowBase and its window; raise DisplayUnavailableError when none opens."""
    width, height = settings.size
    # These defaults also shape every buffer that CommonFilters makes. With bloom, the window
    # gets no multisampling, and Scene asks for it on the scene's render-to-texture buffer alone.
    # Offscreen, the first pipe tried (EGL) has no bloom, so there the window takes the samples.
    # Where the window does, "auto" first reads the renderer's name (open_after_renderer_probe).
    window_takes_samples = not settings.bloom or settings.offscreen
    window_multisampled = window_takes_samples and settings.antialias == "on"
    multisample = ["framebuffer-multisample 1", f"multisamples {MULTISAMPLES}"] if window_multisampled else []
    # Offscreen, OpenGL through EGL needs no display server at all. Where EGL is missing, and
    # for windows without a display, the pipes after it are tried in turn, down to the software
    # renderer p3tinydisplay, which has no shaders (so no bloom) and rougher text.
    pipes = ["load-display p3headlessgl", "aux-display pandagl"] if settings.offscreen else []
    if settings.offscreen:
        # An offscreen buffer is never swapped. Without a glFinish per frame, Mesa's EGL queue
        # grew by about 1 MB a frame (1.4 GB after 800 frames at 1280x720), and with it memory
        # stays level.
        pipes.append("gl-finish true")
        # Panda3D warns at every start that gl-finish slows rendering; here it is chosen on purpose.
        pipes.append("notify-level-glgsg error")
    loadPrcFileData("kd-explorer", "\n".join([
        f"win-size {width} {height}",
        f"window-title {WINDOW_TITLE}",
        "audio-library-name null",
        *pipes,
        "aux-display p3tinydisplay",
        "print-pipe-types false",
        # The explorer reads no gamepads, and where /dev/input is missing (containers, CI) the
        # input device manager would print two errors at every start.
        "notify-level-device fatal",
        # Headless EGL first tries a default display, which a machine without X lacks, and then
        # finds a device by itself. Its warning about the first attempt is only noise.
        "notify-level-egldisplay error",
        *multisample,
        # By default Panda3D pads render-to-texture targets to powers of two, so at 1280x720
        # the bloom filter's 4x-multisampled scene buffer was 2048x1024. At its exact size the
        # peak resident memory fell by about 45 MB (Mesa llvmpipe under Xvfb), and the frame
        # is pixel-identical. The explorer's own textures are powers of two already.
        "textures-power-2 none",
        "text-minfilter linear_mipmap_linear",
    ]))
    if display_missing(settings):
        raise DisplayUnavailableError("DISPLAY is not set")
    window_type = "offscreen" if settings.offscreen else "onscreen"
    try:
        if not window_takes_samples or settings.antialias != "auto":
            return ShowBase(windowType=window_type)
        return open_after_renderer_probe(window_type)
    except Exception as error:
        if not any(message in str(error) for message in NO_WINDOW_MESSAGES):
            raise
        raise DisplayUnavailableError(str(error)) from error


def probe_renderer(base: ShowBase) -> str:
    """Return the GL_RENDERER of base's default pipe, read from a throwaway 16x16 buffer.

    Returns "" when no buffer opens without a window (the caller then assumes hardware).
    """
    if base.pipe is None:
        base.makeDefaultPipe()
    properties = FrameBufferProperties()
    properties.setRgbColor(True)
    buffer = base.graphicsEngine.makeOutput(base.pipe, "renderer-probe", 0, properties,
                                            WindowProperties.size(16, 16), GraphicsPipe.BFRefuseWindow)
    if buffer is None:
        return ""
    base.graphicsEngine.openWindows()
    gsg = buffer.getGsg()
    renderer = gsg.getDriverRenderer() if gsg is not None and buffer.isValid() else ""
    base.graphicsEngine.removeWindow(buffer)
    return renderer


def open_after_renderer_probe(window_type: str) -> ShowBase:
    """Open the main window with multisampling unless the renderer rasterises on the CPU.

    A window's multisampling is fixed when it opens, so the renderer's name comes from a
    throwaway offscreen buffer first. On Mesa llvmpipe at 1280x720 without bloom, the window's
    4x multisampling took 65 ms of CPU per frame against 37 ms without it.
    """
    base = ShowBase(windowType="none")
    renderer = probe_renderer(base)
    samples = multisamples_for("auto", renderer) if renderer else MULTISAMPLES
    log.debug("renderer probe: %s, so %d samples per pixel for the window", renderer or "unknown", samples)
    properties = FrameBufferProperties(FrameBufferProperties.getDefault())
    properties.setMultisamples(samples)
    if not base.openDefaultWindow(props=WindowProperties.getDefault(), type=window_type, fbprops=properties,
                                  startDirect=False):
        base.destroy()
        raise DisplayUnavailableError("Could not open window.")
    return base


class ExplorerApp:
    """The 3D explorer: the networks, their outputs and the controls, driven by one Lab.

    Pass `base` to draw into an existing ShowBase (tests do); without it a window opens from
    `settings`. Pass `lab` to reuse one; without it the shipped teacher and digits are loaded.
    destroy() destroys the ShowBase too when the app owns it (by default, when it opened it).
    """

    def __init__(self, settings: ExplorerSettings | None = None, base: ShowBase | None = None,
                 lab: Lab | None = None, owns_base: bool | None = None):
        self.settings = settings or ExplorerSettings()
        self.lab = lab if lab is not None else build_lab(self.settings)
        if lab is not None:
            self._apply_settings_to_lab()
        self.owns_base = base is None if owns_base is None else owns_base
        self.base = base if base is not None else open_window(self.settings)
        self.base.disableMouse()
        self.clock = ClockObject.getGlobalClock()

        self.fixed_dt: float | None = None
        self.training_budget_s: float | None = TRAINING_BUDGET_S
        self.training = False
        self.speed = float(np.clip(self.settings.speed, *SPEED_RANGE))
        self.frame_count = 0
        self.rng = np.random.default_rng(self.lab.distiller.config.seed)
        self.overlays: dict[str, object] = {}
        self._student_dirty = True

        renderer = renderer_name(self.base)
        multisamples = multisamples_for(self.settings.antialias, renderer)
        self.scene = Scene(self.base, bloom=self.settings.bloom, multisamples=multisamples)
        # With bloom the scene's buffer is multisampled, without it the window.
        if self.scene.bloom_enabled:
            samples = self.scene.multisamples
        else:
            samples = self.base.win.getFbProperties().getMultisamples()
        log.info("antialiasing %s (%d samples per pixel) on renderer %s, --antialias %s",
                 "on" if samples > 1 else "off", samples, renderer, self.settings.antialias)
        self._build_world()
        self._build_screen()
        self._bind_keys()
        self._input_key = None
        self._watch_input()

        self.base.taskMgr.add(self._frame_task, FRAME_TASK)
        if self.owns_base:
            self.base.exitFunc = self.destroy
        if self.settings.autostart:
            self.set_training(True)
        log.info("explorer ready: teacher %r, student %r, %s", self.lab.teacher, self.lab.student,
                 "bloom" if self.scene.bloom_enabled else "halo glow")

    def _apply_settings_to_lab(self) -> None:
        if self.settings.seed is not None:
            self.lab.reset_student(self.settings.seed)
        if self.settings.temperature is not None:
            self.lab.temperature = self.settings.temperature
        if self.settings.alpha is not None:
            self.lab.alpha = self.settings.alpha

    # --- construction -----------------------------------------------------------------------

    def _build_world(self) -> None:
        world, font, glow = self.scene.root, self.scene.font, self.scene.glow
        bloom = self.scene.bloom_enabled
        self.teacher_view = NetworkView(world, "teacher", self.lab.teacher.sizes, *NETWORK_X, TEACHER_Z,
                                        TEACHER_TINT, glow, bloom, font)
        self.student_view = NetworkView(world, "student", self.lab.student.sizes, *NETWORK_X, STUDENT_Z,
                                        STUDENT_TINT, glow, bloom, font, neuron_scale=1.15,
                                        hidden_spacing=STUDENT_HIDDEN_SPACING)
        middle = (NETWORK_X[0] + NETWORK_X[1]) / 2
        self.teacher_view.add_title(f"Teacher   {self.lab.teacher.param_count:,} parameters",
                                    (middle, 0.0, self.teacher_view.top + 1.3), font)
        self.student_view.add_title(f"Student   {self.lab.student.param_count:,} parameters",
                                    (middle, 0.0, self.student_view.bottom - 2.5), font)
        self.teacher_view.set_weights(self.lab.teacher.layers())
        self.student_view.set_weights(self.lab.student.layers())

        self.input_card = InputCard(world, INPUT_CARD_CENTER,
                                    [self.teacher_view.layer_positions[0], self.student_view.layer_positions[0]],
                                    font)

        self.charts = OutputCharts(world, self.lab, font)
        self.plots = LossPlots(world, self.lab, font)
        x, y, z = CHARTS_CENTER
        for part, center in ((self.charts, CHARTS_CENTER), (self.plots, (x, y, z - PLOTS_DROP * OUTPUTS_SCALE))):
            part.root.setPos(*center)
            part.root.setH(OUTPUTS_HEADING)
            part.root.setScale(OUTPUTS_SCALE)

        self.sparks = Sparks(world, glow)
        self.pulse = InputPulse([self.teacher_view, self.student_view], self.sparks,
                                self.input_card.pixel_positions, self.chart_targets, self.rng)
        self.knowledge_flow = KnowledgeFlow(self.sparks, self.teacher_view.layer_positions[-1],
                                            self.student_view.layer_positions[-1], TEACHER_TINT, self.rng)

        lens = self.base.camLens
        lens.setFov(LENS_FOV)
        lens.setNearFar(*LENS_NEAR_FAR)
        self.camera_rig = CameraRig(self.base.camera, self.base.mouseWatcherNode, CAMERA_PRESETS)

    def _build_screen(self) -> None:
        font = load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        # Every 2D panel is laid out in aspect2d units of a 16:9 window, under `screen`. On a
        # narrower window fit_screen() shrinks that node, so the panels keep their 16:9 share
        # of the width instead of covering the 3D view, whose horizontal field of view is fixed.
        self.screen = self.base.aspect2d.attachNewNode("screen")
        self.left_column = self.screen.attachNewNode("left-column")
        self.right_column = self.screen.attachNewNode("right-column")
        self.fit_screen()
        self.accuracy_panel = AccuracyPanel(self.right_column, self.lab, font)
        self.verdict_panel = VerdictPanel(self.right_column, self.lab, font=font)

        self.heatmap = DarkKnowledgeMap(self.screen, self.lab, font)
        # The pad takes the place of the verdict panel, which toggle_overlay() hides meanwhile, so
        # both networks and the output charts stay in view while the user draws.
        self.drawpad = DrawPad(self.right_column, self.lab, self.base.mouseWatcherNode, font)
        self.drawpad.root.setPos(*DRAWPAD_OFFSET)
        self.heatmap.hide()
        self.drawpad.hide()
        self.experiments = ExperimentsPanel(self.screen, self, self.settings.results_dir, font)
        self.overlays = {"heatmap": self.heatmap, "drawpad": self.drawpad, "experiments": self.experiments}
        self.camera_rig.click_filters.append(self._drawpad_takes_click)
        self.camera_rig.click_filters.append(self._pointer_over_panel)

        self.captions = Captions(self.screen, self.lab, font)
        self.help = HelpOverlay(self.screen, self.lab.teacher.widths, self.lab.student.widths, font)
        self.controls = ControlPanel(self.left_column, self, font)

    def _on_window_event(self, window) -> None:
        if window == self.base.win:
            self.fit_screen()

    def fit_screen(self) -> None:
        """Scale the 2D layout to the window's aspect ratio and hang the columns from its sides.

        At 16:9 or wider the scale is 1 and the columns sit at the window's left and right
        edges. Narrower, everything 2D shrinks by aspect / (16/9) about the centre, like a 16:9
        picture fitted into the window. The camera's field of view follows too.
        """
        aspect = self.base.getAspectRatio()
        scale = min(1.0, aspect / LAYOUT_ASPECT)
        self.screen.setScale(scale)
        # In the scaled node's units, the window spans x from -aspect / scale to aspect / scale.
        self.left_column.setPos(-aspect / scale, 0.0, 1.0)
        self.right_column.setPos(aspect / scale - LAYOUT_ASPECT, 0.0, 0.0)

        # LENS_FOV is horizontal. Wider than 16:9 it would crop the scene at the top and bottom,
        # so there the lens keeps the vertical field of view it has at 16:9 instead.
        lens = self.base.camLens
        if aspect > LAYOUT_ASPECT:
            half_vertical = math.atan(math.tan(math.radians(LENS_FOV / 2)) / LAYOUT_ASPECT)
            half_horizontal = math.atan(math.tan(half_vertical) * aspect)
            lens.setFov(math.degrees(2 * half_horizontal), math.degrees(2 * half_vertical))
        else:
            lens.setFov(LENS_FOV)

    def _bind_keys(self) -> None:
        self.events = DirectObject()
        accept = self.events.accept
        accept("space", self.toggle_training)
        accept("window-event", self._on_window_event)
        accept("r", self.reset_student)
        for key in ("n", "]", "page_down"):
            accept(key, self.next_sample)
        for key in ("b", "[", "page_up"):
            accept(key, self.previous_sample)
        accept("-", self.nudge_temperature, [-1.0])
        # "+" is shift and "=" on most layouts, which Panda3D may report either way.
        for key in ("=", "+", "shift-="):
            accept(key, self.nudge_temperature, [1.0])
        accept("h", self.toggle_help)
        accept("f1", self.toggle_help)
        accept("g", self.toggle_race)
        accept("escape", self.close_overlays)
        # Clicks reach the pad through the camera's click filter; releases come here.
        accept("mouse1-up", self.drawpad.on_mouse_up)
        accept("mouse3-up", self.drawpad.on_mouse_up)
        for name, key in (("heatmap", "m"), ("drawpad", "c"), ("experiments", "x")):
            accept(key, self.toggle_overlay, [name])
        accept("control-s", self.experiments.save_student)
        accept("control-o", self.experiments.load_student)
        accept("control-e", self.experiments.export_curves)

    # --- time -------------------------------------------------------------------------------

    def frame_dt(self) -> float:
        """Return the seconds this frame advances: the fixed step if set, else the clock's dt."""
        if self.fixed_dt is not None:
            return self.fixed_dt
        return min(self.clock.getDt(), MAX_FRAME_DT)

    def _frame_task(self, task):
        self.update(self.frame_dt())
        return task.cont

    def update(self, dt: float) -> None:
        """Advance training by dt, then bring every view up to date."""
        self.frame_count += 1
        if self.training:
            ran = self.lab.advance(dt, self.speed, self.training_budget_s)
            if ran:
                self._student_dirty = True
            if self.lab.distiller.finished:
                log.info("training finished at epoch %d", self.lab.distiller.epoch)
                self.training = False

        self._watch_input()
        if self._student_dirty and (self.frame_count % STUDENT_REFRESH_FRAMES == 0 or not self.training):
            self.refresh_student()

        self.pulse.update(dt)
        soft_loss = self.lab.distiller.latest_losses()[0]
        self.knowledge_flow.update(dt, self.training, soft_loss, self.teacher_view.activations[-1])
        self.sparks.update(dt)
        self.teacher_view.update(dt)
        self.student_view.update(dt)

        self.charts.update(dt)
        self.plots.update(dt)
        self.accuracy_panel.update(dt)
        self.verdict_panel.update(dt)
        for overlay in self.overlays.values():
            overlay.update(dt)
        self.controls.update(dt)
        self.captions.update(dt)
        self.camera_rig.update(dt)

    # --- lab state to views -----------------------------------------------------------------

    def _watch_input(self) -> None:
        """Redraw both networks when the lab's input changed (here, on the pad or elsewhere).

        A new held-out sample sends a fresh pulse. A drawing in progress starts one only when
        none is running, so strokes do not restart it every frame.
        """
        key = (self.lab.sample_index, self.lab.custom_image is None, self.lab.current_image.tobytes())
        if key == self._input_key:
            return
        new_source = self._input_key is None or key[:2] != self._input_key[:2]
        self._input_key = key
        self._show_input(restart_pulse=new_source or not self.pulse.active)

    def _show_input(self, restart_pulse: bool = True) -> None:
        label = self.lab.current_label
        caption = "your drawing" if label is None else f"held-out #{self.lab.sample_index}   label {label}"
        self.input_card.set_image(self.lab.current_image, caption)
        self._refresh_outputs()
        if restart_pulse:
            self.pulse.start()
        self.controls.refresh()

    def _refresh_outputs(self, teacher: bool = True) -> None:
        """Set the networks' glow from the current input; `teacher=False` leaves the teacher.

        The teacher's glow depends only on the input and the temperature, and recolouring its
        33,000 edges costs about a millisecond, so student-only changes skip it.
        """
        snapshot = self.lab.outputs()
        if teacher:
            self.teacher_view.set_activations(self.lab.teacher_activations(), snapshot.teacher_probs)
        self.student_view.set_activations(self.lab.student_activations(), snapshot.student_probs)

    def refresh_student(self) -> None:
        """Redraw the student's edges and glow after its weights changed."""
        self.student_view.set_weights(self.lab.student.layers())
        self._refresh_outputs(teacher=False)
        self._student_dirty = False

    def chart_targets(self, view_index: int) -> np.ndarray:
        """Return (10, 3) world positions at the foot of each class's bar in the output charts."""
        centers = self.charts.bar_centers[view_index]
        world = self.scene.root
        return np.array([
            tuple(world.getRelativePoint(self.charts.root, Point3(float(x), -0.1, BAR_BASE_Z + 0.2)))
            for x in centers
        ], dtype=np.float32)

    # --- actions (buttons and keys) ---------------------------------------------------------

    def set_training(self, running: bool) -> None:
        running = bool(running) and not self.lab.distiller.finished
        if running != self.training:
            log.info("training %s at epoch %d", "started" if running else "paused", self.lab.distiller.epoch)
        self.training = running
        if running:
            self.captions.show("soft_loss")
        self.controls.refresh()

    def toggle_training(self) -> None:
        self.set_training(not self.training)

    def reset_student(self) -> None:
        """Restore the untrained student (its initial snapshot) and stop training."""
        self.training = False
        self.lab.reset_student()
        self.sparks.clear()
        self.refresh_student()
        self.pulse.start()
        self.controls.refresh()
        log.info("student reset to its untrained weights")

    def set_omitted_class(self, digit: int | None) -> None:
        """Leave `digit` out of the student's transfer set (None keeps all) and restart it."""
        self.training = False
        self.lab.set_omitted_class(digit)
        self.sparks.clear()
        self.refresh_student()
        self.pulse.start()
        self.controls.refresh()

    def set_temperature(self, temperature: float) -> None:
        """Set the temperature for the displays and the student's training target."""
        temperature = float(np.clip(temperature, *TEMPERATURE_RANGE))
        if math.isclose(temperature, self.lab.temperature):
            return
        self.lab.temperature = temperature
        self._refresh_outputs()
        self.captions.show("temperature")
        self.controls.sync()

    def nudge_temperature(self, step: float) -> None:
        """Move the temperature to the next whole number up (step > 0) or down."""
        temperature = self.lab.temperature
        if step > 0:
            self.set_temperature(math.floor(temperature) + 1)
        else:
            self.set_temperature(math.ceil(temperature) - 1)

    def set_alpha(self, alpha: float) -> None:
        try:
            self.lab.alpha = alpha
        except SettingError as error:
            log.warning("%s", error)
            return
        self.captions.show("total_loss")
        self.controls.sync()

    def set_speed(self, epochs_per_second: float) -> None:
        self.speed = float(np.clip(epochs_per_second, *SPEED_RANGE))
        self.controls.sync()

    def set_race(self, enabled: bool) -> None:
        """Start or stop the race; starting it resets the student so both start level."""
        self.lab.set_race(enabled)
        self.refresh_student()
        self.accuracy_panel.refresh()
        self.controls.refresh()

    def toggle_race(self) -> None:
        """Start or stop the race from its key, unless the help covers the screen."""
        if self.help.shown:
            return
        self.set_race(not self.lab.race_enabled)

    def set_sample(self, index: int) -> None:
        self.lab.set_sample(index)
        self._watch_input()

    def next_sample(self) -> None:
        self.set_sample(self.lab.sample_index + 1)

    def previous_sample(self) -> None:
        self.set_sample(self.lab.sample_index - 1)

    @property
    def help_shown(self) -> bool:
        return self.help.shown

    def toggle_help(self) -> None:
        self.help.toggle()
        self.controls.refresh()

    def overlay_shown(self, name: str) -> bool:
        overlay = self.overlays.get(name)
        return overlay is not None and overlay.visible

    def toggle_overlay(self, name: str) -> None:
        """Show or hide overlay `name`; while the help is shown, nothing opens under it."""
        overlay = self.overlays.get(name)
        if overlay is None or (self.help.shown and not overlay.visible):
            return
        overlay.toggle()
        if name == "drawpad" and overlay.visible:
            self.verdict_panel.root.hide()
        elif name == "drawpad":
            self.verdict_panel.root.show()
        if name == "drawpad" and not overlay.visible and self.lab.custom_image is not None:
            # Closing the pad hands the networks back to the held-out sample.
            self.lab.set_sample(self.lab.sample_index)
        self.controls.refresh()

    def close_overlays(self) -> None:
        if self.help.shown:
            self.help.toggle()
        for name, overlay in self.overlays.items():
            if overlay.visible:
                self.toggle_overlay(name)
        self.controls.refresh()

    def _drawpad_takes_click(self, button: str) -> bool:
        """Let the visible drawing pad take a click before the camera starts a drag."""
        return self.drawpad.visible and self.drawpad.on_mouse_down(button)

    def panel_boxes(self) -> list[tuple[float, float, float, float]]:
        """Return (x0, z0, x1, z1) aspect2d boxes of the visible 2D panels that are not DirectGUI.

        DirectGUI widgets are MouseWatcher regions, which the camera rig checks by itself.
        """
        boxes = [(self.right_column, ACCURACY_BOX)]
        if not self.verdict_panel.root.isHidden():
            boxes.append((self.right_column, VERDICT_BOX))
        if self.heatmap.visible:
            boxes.append((self.screen, heatmap.BOX))
        if self.drawpad.visible:
            boxes.append((self.drawpad.root, drawpad.BOX))
        aspect2d = self.base.aspect2d
        placed = []
        for parent, (x0, z0, x1, z1) in boxes:
            low = aspect2d.getRelativePoint(parent, Point3(x0, 0.0, z0))
            high = aspect2d.getRelativePoint(parent, Point3(x1, 0.0, z1))
            placed.append((low.x, low.z, high.x, high.z))
        return placed

    def point_over_panel(self, x: float, z: float) -> bool:
        """Return whether aspect2d point (x, z) lies on a visible 2D panel."""
        return any(x0 <= x <= x1 and z0 <= z <= z1 for x0, z0, x1, z1 in self.panel_boxes())

    def _pointer_over_panel(self, button: str) -> bool:
        """Keep clicks on the 2D panels from starting a camera drag."""
        pointer = self.camera_rig.pointer()
        if pointer is None:
            return False
        return self.point_over_panel(pointer[0] * self.base.getAspectRatio(), pointer[1])

    # --- running ----------------------------------------------------------------------------

    def step_frames(self, count: int, dt: float = 1.0 / 60.0) -> None:
        """Run `count` frames (tasks and rendering) with a fixed dt."""
        previous = self.fixed_dt
        self.fixed_dt = dt
        try:
            for _ in range(count):
                self.base.taskMgr.step()
        finally:
            self.fixed_dt = previous

    def screenshot(self, path) -> bool:
        """Save the last rendered frame as an opaque image file (format from the extension).

        The alpha channel is dropped: on p3tinydisplay the additive lines leave it below 1, and
        image viewers would show those pixels see-through.
        """
        self.base.graphicsEngine.renderFrame()
        texture = self.base.win.getScreenshot()
        image = PNMImage()
        saved = texture is not None and texture.store(image)
        if saved:
            image.removeAlpha()
            saved = image.write(Filename.fromOsSpecific(str(path)))
        if saved:
            log.info("wrote screenshot %s", path)
        else:
            log.error("could not write screenshot %s", path)
        return bool(saved)

    def run(self) -> None:
        self.base.run()

    def destroy(self) -> None:
        """Remove the task, event handlers, views and filters; close the window if it is ours."""
        if getattr(self, "_destroyed", False):
            return
        self._destroyed = True
        self.base.taskMgr.remove(FRAME_TASK)
        self.events.ignoreAll()
        self.camera_rig.destroy()
        for overlay in self.overlays.values():
            overlay.destroy()
        for part in (self.help, self.captions, self.controls, self.verdict_panel, self.accuracy_panel,
                     self.plots, self.charts, self.sparks, self.input_card, self.student_view,
                     self.teacher_view):
            part.destroy()
        self.right_column.removeNode()
        self.scene.destroy()
        if self.owns_base:
            self.base.exitFunc = None
            self.base.destroy()
