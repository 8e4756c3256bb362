"""The scripted tour (as data), its player, and `--demo`, which renders the tour to an MP4.

A tour is a list of Step records played in order. Each step lasts `weight` parts of the
whole, so the same tour fits any duration. The step vocabulary, one field each:

- `title`, `caption`: text in the banner at the top of the screen for the whole step. Fields in
  braces are filled from the lab every frame: {teacher_params}, {student_params},
  {param_ratio}, {teacher_accuracy} and {student_accuracy} (both in percent), {temperature},
  {label} (the current digit's class) and {runner_up} (the teacher's second choice for it).
- `camera`: a preset name of the app's camera rig ("overview", "teacher", "student",
  "outputs") or an explicit camera.View. The camera eases to it from the step's start.
- `orbit`: degrees of heading the camera turns, spread evenly over the step.
- `temperature`: one value set at the step's start, or (start, end) ramped linearly.
- `sample`: the held-out digit to show, with the input pulse sent through both networks
  (again, if that digit is already shown).
- `reset`: restore the untrained student at the step's start.
- `train`: True starts training at a speed that finishes the planned epochs within
  TRAIN_SHARE of the step, within the app's speed range. False pauses training.
- `highlight`: "verdict" or "accuracy" outlines that screen panel during the step.

Every change goes through the app's own methods (set_temperature, set_sample, set_training,
reset_student, set_speed) and its camera rig, exactly as keys and buttons do.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from panda3d.core import LineSegs, NodePath

from game.camera import View
from game.panels import ACCURACY_BOX, VERDICT_BOX
from game.recorder import Recorder, RecordingError
from game.video import find_ffmpeg, remove_frames
from game.widgets import SCREEN_FONT_PIXELS_PER_UNIT, load_font, make_text, set_text
from sim.progress import ProgressBar

log = logging.getLogger(__name__)

PLAYER_TASK = "kd-tour-player"
# Before the app's frame task (sort 0), so each frame draws the state the tour set for it.
PLAYER_SORT = -5

# The student should finish training within this share of its step, leaving the rest of the
# step to show the converged result.
TRAIN_SHARE = 0.8

BANNER_Z = -0.1   # below the window's top edge
BANNER_HALF_WIDTH = 1.0
TITLE_SCALE = 0.06
CAPTION_SCALE = 0.04
CAPTION_WRAP = 2 * BANNER_HALF_WIDTH / CAPTION_SCALE
CAPTION_GAP = 0.075
BANNER_COLOR = (0.02, 0.03, 0.07, 0.78)
TITLE_COLOR = (1.0, 0.78, 0.35, 1.0)
CAPTION_COLOR = (0.9, 0.93, 1.0, 1.0)
FADE_SECONDS = 0.4

HIGHLIGHT_COLOR = (1.0, 0.8, 0.3, 1.0)
HIGHLIGHT_MARGIN = 0.015
HIGHLIGHT_THICKNESS = 4.0
HIGHLIGHT_PULSE_HZ = 0.8
HIGHLIGHT_BOXES = {"verdict": VERDICT_BOX, "accuracy": ACCURACY_BOX}

EXIT_DEMO_FAILED = 4
OUTPUT_PATH_FIX = "choose another path for --demo"
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Step:
    """One timed step of a tour; the module docstring describes each field."""

    weight: float
    title: str = ""
    caption: str = ""
    camera: str | View | None = None
    orbit: float = 0.0
    temperature: float | tuple[float, float] | None = None
    sample: int | None = None
    reset: bool = False
    train: bool | None = None
    highlight: str | None = None


# Held-out digit #116 is a 3 that the teacher gets right with p = 0.97 at tau = 1 and that
# the untrained student of seed 0 gets wrong. The teacher's second choice for it is 8.
TOUR_SAMPLE = 116

# Close-ups that keep each network's title and all its layers in frame at 16:9.
TEACHER_CLOSE_UP = View(focus=(-2.5, 0.0, 5.5), heading=-20.0, pitch=-12.0, distance=30.0)
STUDENT_CLOSE_UP = View(focus=(-3.5, 0.0, -5.0), heading=-22.0, pitch=-4.0, distance=24.0)
# The output charts alone, low enough that the banner clears their titles.
CHARTS_CLOSE_UP = View(focus=(12.5, 0.0, 1.0), heading=20.0, pitch=-3.0, distance=38.0)

TOUR: tuple[Step, ...] = (
    Step(4.0, "Knowledge distillation",
         "A large teacher network (top) and a small student (bottom) see the same handwritten "
         "digit. The student will learn to copy the teacher's outputs.",
         camera="overview", orbit=24.0, temperature=1.0, sample=TOUR_SAMPLE, reset=True),
    Step(4.0, "The teacher",
         "{teacher_params:,} parameters in four layers. Each dot is a neuron, glowing with its "
         "activation as the digit flows through.",
         camera=TEACHER_CLOSE_UP, sample=TOUR_SAMPLE),
    Step(3.5, "The student",
         "{student_params:,} parameters, {param_ratio:.0f}\u00d7 fewer. Untrained, its answer "
         "is close to a guess.",
         camera=STUDENT_CLOSE_UP, sample=TOUR_SAMPLE),
    Step(3.5, "Soft targets",
         "At temperature \u03c4 = 1 the teacher puts almost all its probability on one class.",
         camera=CHARTS_CLOSE_UP, temperature=1.0),
    Step(6.0, "Raising the temperature",
         "Dividing the logits by \u03c4 before the softmax spreads probability onto the other "
         "classes. For this {label} the teacher's next choice is {runner_up}: that similarity "
         "is its dark knowledge.",
         camera=CHARTS_CLOSE_UP, temperature=(1.0, 20.0)),
    Step(4.0, "Back to \u03c4 = 4",
         "Training uses a moderate \u03c4: soft enough to carry the similarities, sharp "
         "enough to keep the right answer on top.",
         camera=CHARTS_CLOSE_UP, temperature=(20.0, 4.0)),
    Step(11.0, "Distillation",
         "The student trains on \u03b1\u00b7soft loss + (1 \u2212 \u03b1)\u00b7hard loss. The "
         "sparks falling from the teacher are the soft targets it learns from.",
         camera="overview", orbit=-16.0, reset=True, train=True),
    Step(4.5, "Before and after",
         "Held-out digits: the untrained student (start) against the distilled student (now) "
         "and the teacher.",
         camera="overview", train=False, highlight="verdict"),
    Step(4.5, "Smaller, nearly as accurate",
         "Student {student_accuracy:.1f} % against teacher {teacher_accuracy:.1f} % on held-out "
         "digits, with {param_ratio:.0f}\u00d7 fewer parameters.",
         camera="overview", highlight="accuracy"),
)


def step_durations(steps, duration: float) -> list[float]:
    """Return each step's length in seconds: its weight's share of `duration`."""
    total = sum(step.weight for step in steps)
    if total <= 0:
        raise ValueError("a tour needs at least one step with a positive weight")
    return [duration * step.weight / total for step in steps]


def caption_values(lab) -> dict:
    """Return the live numbers that captions may name in braces."""
    summary = lab.accuracy_summary()
    snapshot = lab.outputs()
    ranked = snapshot.teacher_probs.argsort()[::-1]
    return {
        "teacher_params": summary.teacher_params,
        "student_params": summary.student_params,
        "param_ratio": summary.param_ratio,
        "teacher_accuracy": summary.teacher_accuracy * 100.0,
        "student_accuracy": summary.student_accuracy * 100.0,
        "temperature": lab.temperature,
        "label": "drawing" if snapshot.label is None else snapshot.label,
        "runner_up": int(ranked[1]),
    }


class Banner:
    """The tour's title and caption, centred at the top of the window over a dark card."""

    def __init__(self, base, font):
        self.root = base.a2dTopCenter.attachNewNode("tour-banner")
        self.root.setZ(BANNER_Z)
        self.root.setBin("gui-popup", 0)
        self.title = make_text(self.root, "", font, pos=(0.0, -0.03), scale=TITLE_SCALE,
                               color=TITLE_COLOR, align="center", name="tour-title")
        self.caption = make_text(self.root, "", font, pos=(0.0, -0.03 - CAPTION_GAP),
                                 scale=CAPTION_SCALE, color=CAPTION_COLOR, align="center",
                                 name="tour-caption")
        self.caption.node().setWordwrap(CAPTION_WRAP)
        self.title.node().setCardColor(*BANNER_COLOR)
        self.title.node().setCardAsMargin(1.0, 1.0, 0.35, 0.3)
        self.caption.node().setCardColor(*BANNER_COLOR)
        self.caption.node().setCardAsMargin(0.8, 0.8, 0.3, 0.4)
        self.root.hide()

    def show(self, title: str, caption: str) -> None:
        set_text(self.title, title)
        set_text(self.caption, caption)
        if title or caption:
            self.root.show()
        else:
            self.root.hide()

    def set_opacity(self, opacity: float) -> None:
        self.root.setAlphaScale(opacity)

    def destroy(self) -> None:
        self.root.removeNode()


def outline(parent: NodePath, box, name: str) -> NodePath:
    """Draw a rectangle around `box` = (x0, z0, x1, z1) in `parent`'s XZ plane."""
    x0, z0, x1, z1 = box
    x0, z0 = x0 - HIGHLIGHT_MARGIN, z0 - HIGHLIGHT_MARGIN
    x1, z1 = x1 + HIGHLIGHT_MARGIN, z1 + HIGHLIGHT_MARGIN
    lines = LineSegs(name)
    lines.setThickness(HIGHLIGHT_THICKNESS)
    lines.setColor(*HIGHLIGHT_COLOR)
    lines.moveTo(x0, 0, z0)
    for x, z in ((x1, z0), (x1, z1), (x0, z1), (x0, z0)):
        lines.drawTo(x, 0, z)
    path = parent.attachNewNode(lines.create())
    path.setTransparency(True)
    path.setBin("gui-popup", 0)
    return path


class TourPlayer:
    """Plays `steps` over `duration` seconds of the app's frame time, one task call per frame.

    Time advances by app.frame_dt(), so under a fixed step the tour is the same on every
    machine. `finished` turns true once the whole duration has played.
    """

    def __init__(self, app, steps=TOUR, duration: float = 45.0, font=None):
        self.app = app
        self.steps = tuple(steps)
        self.durations = step_durations(self.steps, duration)
        self.duration = float(duration)
        self.time = 0.0
        self.index = -1
        self.step_start = 0.0
        self.base_view: View | None = None
        self.finished = False

        base = app.base
        font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)
        self.banner = Banner(base, font)
        panel_parent = getattr(app, "right_column", base.aspect2d)
        self.highlights = {name: outline(panel_parent, box, f"tour-highlight-{name}")
                           for name, box in HIGHLIGHT_BOXES.items()}
        for path in self.highlights.values():
            path.hide()
        base.taskMgr.add(self._task, PLAYER_TASK, sort=PLAYER_SORT)
        log.info("tour started: %d steps over %.1f s", len(self.steps), self.duration)

    # --- time -------------------------------------------------------------------------------

    def _task(self, task):
        if not self.finished:
            self.advance(self.app.frame_dt())
        return task.cont

    def advance(self, dt: float) -> None:
        """Apply the tour's state for the current time, then move the clock on by dt."""
        self._enter_steps_up_to(self.time)
        if self.index >= 0:
            self._apply(self.steps[self.index], self._progress())
        self.time += dt
        if self.time >= self.duration - 1e-9:
            self.finished = True

    def _enter_steps_up_to(self, time: float) -> None:
        """Enter every step that starts at or before `time`, finishing the ones passed over."""
        while self.index + 1 < len(self.steps):
            next_start = self.step_start + (self.durations[self.index] if self.index >= 0 else 0.0)
            if next_start > time + 1e-9:
                return
            if self.index >= 0:
                self._apply(self.steps[self.index], 1.0)
            self.index += 1
            self.step_start = next_start
            self._enter(self.steps[self.index])

    def _progress(self) -> float:
        length = self.durations[self.index]
        return 1.0 if length <= 0 else min(max((self.time - self.step_start) / length, 0.0), 1.0)

    # --- steps ------------------------------------------------------------------------------

    def _enter(self, step: Step) -> None:
        """Apply a step's one-off changes: reset, sample, training, camera goal, captions."""
        app = self.app
        if step.reset:
            app.reset_student()
        if step.sample is not None:
            already_shown = app.lab.custom_image is None and app.lab.sample_index == step.sample
            app.set_sample(step.sample)
            if already_shown:
                # The app pulses only when the input changes; a step showing the same
                # digit again still sends its pulse.
                app.pulse.start()
        if isinstance(step.temperature, (int, float)):
            app.set_temperature(float(step.temperature))
        if step.train is True:
            self._start_training(self.durations[self.index])
        elif step.train is False:
            app.set_training(False)

        rig = app.camera_rig
        if isinstance(step.camera, str):
            self.base_view = rig.presets[step.camera]
        elif isinstance(step.camera, View):
            self.base_view = step.camera
        else:
            self.base_view = rig.goal
        rig.goal = self.base_view

        self.banner.show(step.title, step.caption.format(**caption_values(app.lab)))
        for name, path in self.highlights.items():
            if name == step.highlight:
                path.show()
            else:
                path.hide()
        log.debug("tour step %d: %s", self.index, step.title)

    def _start_training(self, seconds: float) -> None:
        distiller = self.app.lab.distiller
        remaining = distiller.config.epochs - distiller.epoch - distiller.epoch_fraction
        self.app.set_speed(remaining / max(seconds * TRAIN_SHARE, 1e-6))
        self.app.set_training(True)
        if self.app.speed * seconds < remaining:
            log.warning("tour step of %.1f s is too short to train %.0f epochs at the maximum speed "
                        "of %.1f epochs/s; the student will not converge", seconds, remaining, self.app.speed)

    def _apply(self, step: Step, progress: float) -> None:
        """Apply a step's gradual changes at `progress` in [0, 1]: ramps, orbit, fades."""
        if isinstance(step.temperature, tuple):
            start, end = step.temperature
            self.app.set_temperature(start + (end - start) * progress)
        if step.orbit and self.base_view is not None:
            heading = self.base_view.heading + step.orbit * progress
            self.app.camera_rig.goal = replace(self.base_view, heading=heading)
        if step.caption and "{" in step.caption:
            set_text(self.banner.caption, step.caption.format(**caption_values(self.app.lab)))

        seconds_in = progress * self.durations[self.index]
        # The first step shows its banner at once, so the video's first frame has a caption.
        fade = 1.0 if self.index == 0 else min(seconds_in / FADE_SECONDS, 1.0)
        self.banner.set_opacity(fade)
        pulse = 0.65 + 0.35 * math.cos(2.0 * math.pi * HIGHLIGHT_PULSE_HZ * seconds_in)
        for path in self.highlights.values():
            path.setAlphaScale(pulse)

    def destroy(self) -> None:
        self.app.base.taskMgr.remove(PLAYER_TASK)
        self.banner.destroy()
        for path in self.highlights.values():
            path.removeNode()


# --- the demo video -----------------------------------------------------------------------


def prepare(app, steps) -> None:
    """Put the app in the tour's starting state: panels closed, race off, camera in place."""
    app.close_overlays()
    if app.lab.race_enabled:
        app.set_race(False)
    app.set_training(False)
    app.reset_student()
    first = steps[0]
    rig = app.camera_rig
    if isinstance(first.camera, str):
        rig.goal = rig.presets[first.camera]
    elif isinstance(first.camera, View):
        rig.goal = first.camera
    rig.snap()


def demo_frames_dir(out_path: Path) -> Path:
    """Return the folder for a demo's PNG frames: beside the video, named after it."""
    return out_path.with_name(f"{out_path.stem}-frames")


def run_demo(app, out_path, duration: float = 45.0, fps: int = 30, keep_frames: bool = False,
             steps=TOUR, progress: bool = True) -> Path:
    """Render the tour to `out_path` (an MP4) at a fixed 1/fps step; return the path.

    The frames go to demo_frames_dir(out_path) and are deleted after a successful encode
    unless `keep_frames`. Raises RecordingError, with the frames written so far kept, when a
    frame cannot be written or the video cannot be encoded.
    """
    out_path = Path(out_path)
    frames_dir = demo_frames_dir(out_path)
    total_frames = max(1, round(duration * fps))
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if frames_dir.exists():
            remove_frames(frames_dir)
    except OSError as error:
        reason = error.strerror or str(error)
        raise RecordingError(f"could not prepare {frames_dir} for the demo frames ({reason}); "
                             f"{OUTPUT_PATH_FIX}") from error
    if find_ffmpeg() is None:
        log.warning("imageio-ffmpeg is not installed, so the demo stays as PNG frames in %s", frames_dir)

    prepare(app, steps)
    player = TourPlayer(app, steps, total_frames / fps)
    recorder = Recorder(app, frames_dir.parent, fps, overlay=False, keep_frames=keep_frames,
                        folder_fix=OUTPUT_PATH_FIX)
    bar = ProgressBar(f"rendering {out_path.name}", total_frames) if progress else None
    # NOTE: two demo runs can still differ in two places. The accuracy panel's speed ratio is
    # timed with a wall clock once per process. Where two loss-plot curves cross, the pixel
    # takes the colour of whichever curve Panda3D's state sort draws first.
    try:
        if not recorder.start(frames_dir, out_path, real_time=False):
            raise RecordingError(recorder.last_error)
        log.info("rendering the demo: %d frames at %d fps into %s", total_frames, fps, frames_dir)
        for frame in range(total_frames):
            app.base.taskMgr.step()
            if not recorder.is_recording:
                raise RecordingError(recorder.last_error or "recording stopped")
            if bar is not None:
                bar.update(frame + 1)
        if bar is not None:
            bar.close()
            bar = None

        log.info("encoding %s", out_path)
        result = recorder.stop(wait=True)
        if result is None or not result.ok:
            raise RecordingError(recorder.last_error or result.message)
    finally:
        if bar is not None:
            bar.close()
        if recorder.is_recording:
            recorder.stop(encode=False)
            log.warning("demo stopped early; the frames written so far stay in %s", frames_dir)
        recorder.destroy()
        player.destroy()
    return out_path


def demo_main(app, options) -> int:
    """Run `--demo` for the command line: render, print one line on failure, return the exit code.

    `options` needs demo, duration, fps and keep_frames (see recorder.add_recording_options).
    The app is destroyed before returning.
    """
    try:
        path = run_demo(app, options.demo, options.duration, options.fps, keep_frames=options.keep_frames)
    except RecordingError as error:
        print(f"kd-explorer: demo failed: {error}", file=sys.stderr)
        return EXIT_DEMO_FAILED
    except KeyboardInterrupt:
        print(f"kd-explorer: demo interrupted; frames so far are in {demo_frames_dir(Path(options.demo))}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        app.destroy()
    log.info("demo written to %s", path)
    return 0
