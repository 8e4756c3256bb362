"""Screenshots and video recording of the explorer, with their keys, task and on-screen notes.

Keys: F12 or P saves a screenshot as a timestamped PNG in the capture folder. F10 or V starts
and stops a recording. While recording, the app advances a fixed 1/fps seconds per rendered
frame and every frame is captured. The video therefore plays at true speed however slowly the
frames render. When the recording stops, its frames become an MP4 in a background ffmpeg
process.

The REC indicator and the notes ("saved ...") are hidden while a frame is captured, so they
never appear in a screenshot or a video.

Wiring into the app (the only calls the explorer needs):

    # game/cli.py, build_parser(): after the "batch run" group
    from game.recorder import add_recording_options
    add_recording_options(parser)

    # game/cli.py, main(): after `app = ExplorerApp(...)`
    if options.demo is not None:
        from game.tour import demo_main
        return demo_main(app, options)
    from game.recorder import install_recorder
    install_recorder(app, options.capture_dir, options.fps, keep_frames=options.keep_frames)

install_recorder() registers the recorder's destroy() to run when the app's window closes.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from direct.showbase.DirectObject import DirectObject
from panda3d.core import CardMaker, ClockObject, NodePath

from game import video
from game.widgets import SCREEN_FONT_PIXELS_PER_UNIT, load_font, make_text, set_text, set_text_color
from sim.options import bounded

log = logging.getLogger(__name__)

DEFAULT_CAPTURE_DIR = Path("captures")
DEFAULT_FPS = 30
FPS_RANGE = (1, 120)
DEFAULT_DURATION_S = 45.0
DURATION_RANGE_S = (5.0, 600.0)

SCREENSHOT_KEYS = ("f12", "p")
RECORD_KEYS = ("f10", "v")
SCREENSHOT_PREFIX = "kd-explorer"
# The end of every message about a folder that cannot be written.
CAPTURE_DIR_FIX = "choose another folder with --capture-dir"
RECORDING_PREFIX = "recording"

# While an overlay is shown, the capture task renders each frame once more without it, just
# before ShowBase's igLoop (sort 50) draws the frame for the screen. With no overlay, the task
# instead reads back the frame that igLoop has just drawn, so each frame renders only once.
CAPTURE_BEFORE_RENDER_SORT = 49
CAPTURE_AFTER_RENDER_SORT = 51
CAPTURE_BEFORE_TASK = "kd-recorder-capture-before-render"
CAPTURE_AFTER_TASK = "kd-recorder-capture-after-render"
POLL_TASK = "kd-recorder-poll"

NOTE_SECONDS = 2.5
ERROR_NOTE_SECONDS = 8.0
REC_TEXT_SCALE = 0.05
NOTE_TEXT_SCALE = 0.04
NOTE_WRAP = 40  # in units of the text scale
REC_Z = -0.09   # below the window's top edge
NOTE_Z = 0.3    # above the window's bottom edge, clear of the caption strip
REC_COLOR = (1.0, 0.22, 0.2, 1.0)
NOTE_COLOR = (0.9, 0.94, 1.0, 1.0)
ERROR_COLOR = (1.0, 0.55, 0.45, 1.0)
BACKING_COLOR = (0.0, 0.0, 0.0, 0.6)


class RecordingError(RuntimeError):
    """A screenshot or recording could not be written or encoded; the message gives the reason."""


# --- command-line options -----------------------------------------------------------------


parse_fps = bounded(int, *FPS_RANGE, "frame rate")
parse_duration = bounded(float, *DURATION_RANGE_S, "duration")


def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """Add --capture-dir, --fps, --demo, --duration and --keep-frames to `parser`."""
    group = parser.add_argument_group("recording")
    group.add_argument("--capture-dir", type=Path, default=DEFAULT_CAPTURE_DIR, metavar="DIR",
                       help=f"folder for screenshots (F12 or P), recordings (F10 or V), saved "
                            f"students (Ctrl+S) and curves (Ctrl+E); created if missing "
                            f"(default ./{DEFAULT_CAPTURE_DIR})")
    group.add_argument("--fps", type=parse_fps, default=DEFAULT_FPS, metavar="N",
                       help=f"frames per second of recordings and of --demo, {FPS_RANGE[0]} to "
                            f"{FPS_RANGE[1]} (default {DEFAULT_FPS})")
    group.add_argument("--demo", type=Path, default=None, metavar="OUT.mp4",
                       help="render the scripted tour to an MP4 file with no user input, then exit")
    group.add_argument("--duration", type=parse_duration, default=DEFAULT_DURATION_S, metavar="S",
                       help=f"length of the --demo video in seconds, {DURATION_RANGE_S[0]:g} to "
                            f"{DURATION_RANGE_S[1]:g} (default {DEFAULT_DURATION_S:g})")
    group.add_argument("--keep-frames", action="store_true",
                       help="keep the PNG frames after they have been encoded to MP4")


# --- file names ---------------------------------------------------------------------------


def timestamp(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now()
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}"


def unused_path(path: Path) -> Path:
    """Return `path`, or the same name with -2, -3, ... before the suffix if it exists."""
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1
    return candidate


def describe_os_error(error: OSError, path: Path, fix: str = CAPTURE_DIR_FIX) -> str:
    """Return a one-line reason for a failed write, ending with `fix`."""
    if error.errno == errno.ENOSPC:
        return f"the disk is full (writing {path}); free some space or {fix}"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{path} is not writable ({error.strerror}); {fix}"
    reason = error.strerror or str(error)
    return f"could not write {path} ({reason}); {fix}"


# --- the on-screen overlay ----------------------------------------------------------------


class RecorderOverlay:
    """The REC indicator at the top centre and one note at a time near the bottom.

    Both hang from the window's anchor nodes. hide_all() and restore() take them off screen
    while a frame is read back.
    """

    def __init__(self, base, font=None):
        self.font = font if font is not None else load_font(pixels_per_unit=SCREEN_FONT_PIXELS_PER_UNIT)

        self.rec_root = base.a2dTopCenter.attachNewNode("recorder-rec")
        self.rec_root.setZ(REC_Z)
        # The gui-popup bin draws in scene-graph order, so the backing goes first.
        self.rec_root.setBin("gui-popup", 0)
        self._card(self.rec_root, (-0.11, 0.27, -0.05, 0.055), BACKING_COLOR)
        self.rec_dot = self._card(self.rec_root, (-0.075, -0.035, -0.02, 0.02), REC_COLOR)
        self.rec_text = make_text(self.rec_root, "REC 00:00", self.font, pos=(0.0, -0.018),
                                  scale=REC_TEXT_SCALE, color=REC_COLOR, align="left", name="rec-text")
        self.rec_root.hide()

        self.note_root = base.a2dBottomCenter.attachNewNode("recorder-note")
        self.note_root.setZ(NOTE_Z)
        self.note_root.setBin("gui-popup", 0)
        self.note_text = make_text(self.note_root, "", self.font, scale=NOTE_TEXT_SCALE,
                                   color=NOTE_COLOR, align="center", name="note-text")
        self.note_text.node().setWordwrap(NOTE_WRAP)
        self.note_text.node().setCardColor(*BACKING_COLOR)
        self.note_text.node().setCardAsMargin(0.6, 0.6, 0.4, 0.3)
        self.note_root.hide()
        self.note_left = 0.0

    @staticmethod
    def _card(parent: NodePath, frame, color) -> NodePath:
        maker = CardMaker("recorder-card")
        maker.setFrame(*frame)
        card = parent.attachNewNode(maker.generate())
        card.setColor(*color)
        card.setTransparency(True)
        return card

    @property
    def visible(self) -> bool:
        return not (self.rec_root.isHidden() and self.note_root.isHidden())

    def show_recording(self, seconds: float) -> None:
        """Show "REC mm:ss" for `seconds` of video, the dot blinking once a second."""
        minutes, whole = divmod(int(seconds), 60)
        set_text(self.rec_text, f"REC {minutes:02d}:{whole:02d}")
        if int(seconds * 2) % 2 == 0:
            self.rec_dot.show()
        else:
            self.rec_dot.hide()
        self.rec_root.show()

    def hide_recording(self) -> None:
        self.rec_root.hide()

    def note(self, text: str, error: bool = False) -> None:
        set_text(self.note_text, text)
        set_text_color(self.note_text, ERROR_COLOR if error else NOTE_COLOR)
        self.note_left = ERROR_NOTE_SECONDS if error else NOTE_SECONDS
        self.note_root.show()

    def update(self, dt: float) -> None:
        if self.note_left > 0.0:
            self.note_left -= dt
            if self.note_left <= 0.0:
                self.note_root.hide()

    def hide_all(self) -> tuple[bool, bool]:
        """Hide both parts and return which were shown, for restore()."""
        shown = (not self.rec_root.isHidden(), not self.note_root.isHidden())
        self.rec_root.hide()
        self.note_root.hide()
        return shown

    def restore(self, shown: tuple[bool, bool]) -> None:
        for node, was_shown in zip((self.rec_root, self.note_root), shown):
            if was_shown:
                node.show()

    def destroy(self) -> None:
        self.rec_root.removeNode()
        self.note_root.removeNode()


# --- the recorder -------------------------------------------------------------------------


@dataclass
class Recording:
    """One recording in progress: its frame folder, its MP4 path and the frame writer."""

    frames_dir: Path
    out_path: Path
    writer: video.FrameWriter
    shape: tuple[int, int] | None = None


class Recorder:
    """Screenshots and recordings of `app`'s window.

    `app` is an ExplorerApp, or anything with `base` (a ShowBase), `fixed_dt` and
    `training_budget_s`. With `overlay=False` (the demo) nothing is drawn on screen, messages
    go only to the log, and each frame is read back without rendering it twice. `folder_fix`
    ends each message about a folder that cannot be written.
    """

    def __init__(self, app, capture_dir: Path = DEFAULT_CAPTURE_DIR, fps: int = DEFAULT_FPS,
                 overlay: bool = True, keep_frames: bool = False, font=None,
                 folder_fix: str = CAPTURE_DIR_FIX):
        self.app = app
        self.base = app.base
        self.capture_dir = Path(capture_dir)
        if not FPS_RANGE[0] <= int(fps) <= FPS_RANGE[1]:
            raise ValueError(f"frame rate {fps} is out of range: choose {FPS_RANGE[0]} to {FPS_RANGE[1]}")
        self.fps = int(fps)
        self.keep_frames = keep_frames
        self.folder_fix = folder_fix
        self.clock = ClockObject.getGlobalClock()
        self.overlay = RecorderOverlay(self.base, font) if overlay else None

        self.recording: Recording | None = None
        self.encoders: list[video.Encoder] = []
        self.last_result: video.EncodeResult | None = None
        self.last_error: str | None = None
        self._saved_timing = None

        self.events = DirectObject()
        for key in SCREENSHOT_KEYS:
            self.events.accept(key, self.screenshot)
        for key in RECORD_KEYS:
            self.events.accept(key, self.toggle_recording)
        task_manager = self.base.taskMgr
        task_manager.add(self._capture_before_render, CAPTURE_BEFORE_TASK, sort=CAPTURE_BEFORE_RENDER_SORT)
        task_manager.add(self._capture_after_render, CAPTURE_AFTER_TASK, sort=CAPTURE_AFTER_RENDER_SORT)
        task_manager.add(self._poll, POLL_TASK)
        log.info("recorder ready: capture folder %s, %d fps", self.capture_dir, self.fps)

    # --- messages ---------------------------------------------------------------------------

    def notify(self, text: str, error: bool = False) -> None:
        """Log `text` and show it on screen (when the overlay is on)."""
        if error:
            self.last_error = text
            log.error("%s", text)
        else:
            log.info("%s", text)
        if self.overlay is not None:
            self.overlay.note(text, error)

    # --- frames -----------------------------------------------------------------------------

    def grab_clean_frame(self) -> np.ndarray:
        """Render the current state without the overlay and return its pixels."""
        shown = self.overlay.hide_all() if self.overlay is not None else (False, False)
        try:
            self.base.graphicsEngine.renderFrame()
            return video.grab_pixels(self.base.win)
        finally:
            if self.overlay is not None:
                self.overlay.restore(shown)

    def screenshot(self) -> Path | None:
        """Save the window, without the overlay, as a timestamped PNG; return its path."""
        try:
            self.capture_dir.mkdir(parents=True, exist_ok=True)
            path = unused_path(self.capture_dir / f"{SCREENSHOT_PREFIX}-{timestamp()}.png")
            pixels = self.grab_clean_frame()
            video.write_png(path, pixels)
        except OSError as error:
            target = getattr(error, "filename", None) or self.capture_dir
            self.notify(f"screenshot not saved: {describe_os_error(error, Path(target), self.folder_fix)}",
                        error=True)
            return None
        except video.CaptureError as error:
            self.notify(f"screenshot not saved: {error}", error=True)
            return None

        self.notify(f"saved screenshot {path}")
        return path

    # --- recording --------------------------------------------------------------------------

    @property
    def is_recording(self) -> bool:
        return self.recording is not None

    def toggle_recording(self) -> None:
        if self.recording is None:
            self.start()
        else:
            self.stop()

    def start(self, frames_dir: Path | None = None, out_path: Path | None = None,
              real_time: bool = True) -> bool:
        """Start recording into `frames_dir` (default: a new timestamped folder); return success.

        The app then advances 1/fps seconds per frame, and training gets no time budget, so the
        work per frame is fixed. With `real_time` the clock also holds the frame rate to at
        most fps, so the window plays at true speed when rendering is fast enough.
        """
        if self.recording is not None:
            return True
        name = f"{RECORDING_PREFIX}-{timestamp()}"
        frames_dir = Path(frames_dir) if frames_dir is not None else self.capture_dir / name
        out_path = Path(out_path) if out_path is not None else unused_path(self.capture_dir / f"{name}.mp4")
        try:
            frames_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            target = Path(getattr(error, "filename", None) or frames_dir)
            self.notify(f"recording not started: {describe_os_error(error, target, self.folder_fix)}",
                        error=True)
            return False

        self.recording = Recording(frames_dir, out_path, video.FrameWriter(frames_dir))
        self._use_fixed_step(real_time)
        log.info("recording started: %d fps into %s", self.fps, frames_dir)
        return True

    def stop(self, wait: bool = False, encode: bool = True) -> video.EncodeResult | None:
        """Stop recording and start encoding its frames; return the result if `wait`.

        Without `wait` the encoder runs in the background and the poll task reports when it
        ends. With `encode=False` the frames are only kept. Returns None when nothing is
        encoded (no recording, no frames, no encoder, or `encode=False`).
        """
        recording = self.recording
        if recording is None:
            return None
        self.recording = None
        self._restore_timing()
        if self.overlay is not None:
            self.overlay.hide_recording()

        recording.writer.close()
        writer = recording.writer
        if writer.error is not None:
            reason = describe_os_error(writer.error, writer.failed_path, self.folder_fix)
            self.notify(f"recording stopped: {reason}. {writer.written} frames kept in "
                        f"{recording.frames_dir}", error=True)
            self._log_assembly_command(recording)
            return None
        if writer.written == 0:
            self.notify(f"recording stopped with no frames; removed {recording.frames_dir}")
            video.remove_frames(recording.frames_dir)
            return None

        log.info("recording stopped: %d frames (%.1f s of video)", writer.written, writer.written / self.fps)
        if not encode:
            return None
        return self._encode(recording, wait)

    def _encode(self, recording: Recording, wait: bool) -> video.EncodeResult | None:
        executable = video.find_ffmpeg()
        if executable is None:
            self.notify(f"no MP4 made: imageio-ffmpeg is not installed (pip install imageio-ffmpeg); "
                        f"the frames stay in {recording.frames_dir}", error=True)
            self._log_assembly_command(recording)
            return None
        try:
            encoder = video.Encoder(executable, recording.frames_dir, recording.out_path, self.fps)
        except OSError as error:
            self.notify(f"no MP4 made: could not start ffmpeg ({error}); the frames stay in "
                        f"{recording.frames_dir}", error=True)
            self._log_assembly_command(recording)
            return None

        if wait:
            return self._finish_encoding(encoder.wait())
        self.encoders.append(encoder)
        self.notify(f"encoding {recording.out_path.name} ...")
        return None

    def _finish_encoding(self, result: video.EncodeResult) -> video.EncodeResult:
        self.last_result = result
        if not result.ok:
            self.notify(result.message, error=True)
            return result
        self.notify(result.message)
        if not self.keep_frames:
            video.remove_frames(result.frames_dir)
        return result

    def wait_for_encoders(self) -> list[video.EncodeResult]:
        """Block until every background encoder has finished; return their results."""
        results = [self._finish_encoding(encoder.wait()) for encoder in self.encoders]
        self.encoders.clear()
        return results

    def _log_assembly_command(self, recording: Recording) -> None:
        command = video.ffmpeg_command(recording.frames_dir, recording.out_path, self.fps)
        log.warning("to make the MP4 from these frames, run: %s", video.shell_command(command))

    def _use_fixed_step(self, real_time: bool) -> None:
        self._saved_timing = (self.app.fixed_dt, self.app.training_budget_s, self.clock.getMode())
        self.app.fixed_dt = 1.0 / self.fps
        self.app.training_budget_s = None
        self.clock.setFrameRate(self.fps)
        self.clock.setMode(ClockObject.MForced if real_time else ClockObject.MNonRealTime)

    def _restore_timing(self) -> None:
        if self._saved_timing is None:
            return
        self.app.fixed_dt, self.app.training_budget_s, mode = self._saved_timing
        self._saved_timing = None
        # A forced clock's frame time falls behind real time whenever frames render slower than
        # fps. Moving the real-time origin to the frame time avoids one huge dt after recording.
        frame_time = self.clock.getFrameTime()
        self.clock.setMode(mode)
        self.clock.setRealTime(frame_time)

    # --- per frame --------------------------------------------------------------------------

    def _capture_before_render(self, task):
        if self.recording is not None and self.overlay is not None and self.overlay.visible:
            self._capture(clean=True)
        return task.cont

    def _capture_after_render(self, task):
        if self.recording is not None and not (self.overlay is not None and self.overlay.visible):
            self._capture(clean=False)
        return task.cont

    def _capture(self, clean: bool) -> None:
        """Queue this frame for writing; `clean` renders it again without the overlay first."""
        recording = self.recording
        if recording.writer.error is not None:
            self.stop()
            return
        try:
            pixels = self.grab_clean_frame() if clean else video.grab_pixels(self.base.win)
        except video.CaptureError as error:
            self.notify(f"recording stopped: {error}", error=True)
            self.stop()
            return

        pixels = video.even_size(pixels)
        if recording.shape is None:
            recording.shape = pixels.shape[:2]
        recording.writer.submit(video.fit_to(pixels, recording.shape))

    def _poll(self, task):
        if self.overlay is not None:
            if self.recording is not None:
                self.overlay.show_recording(self.recording.writer.submitted / self.fps)
            self.overlay.update(self.clock.getDt())
        if self.recording is not None and self.recording.writer.error is not None:
            self.stop()
        for encoder in list(self.encoders):
            result = encoder.poll()
            if result is not None:
                self.encoders.remove(encoder)
                self._finish_encoding(result)
        return task.cont

    # --- teardown ---------------------------------------------------------------------------

    def destroy(self) -> None:
        """Stop and encode a recording in progress, wait for encoders, remove keys and tasks."""
        if self.recording is not None:
            log.info("window closing: finishing the recording first")
            self.stop(wait=True)
        if self.encoders:
            log.info("waiting for %d encoder(s) to finish", len(self.encoders))
            self.wait_for_encoders()
        self.events.ignoreAll()
        for name in (CAPTURE_BEFORE_TASK, CAPTURE_AFTER_TASK, POLL_TASK):
            self.base.taskMgr.remove(name)
        if self.overlay is not None:
            self.overlay.destroy()
            self.overlay = None


def install_recorder(app, capture_dir=DEFAULT_CAPTURE_DIR, fps: int = DEFAULT_FPS,
                     keep_frames: bool = False) -> Recorder:
    """Attach a Recorder to a running explorer: keys F12, P, F10 and V, its tasks and overlay.

    The recorder is destroyed before the app when the window closes, so a recording in
    progress is still encoded.
    """
    recorder = Recorder(app, capture_dir, fps, overlay=True, keep_frames=keep_frames)

    previous_exit = app.base.exitFunc

    def exit_with_recorder():
        recorder.destroy()
        if previous_exit is not None:
            previous_exit()

    app.base.exitFunc = exit_with_recorder
    return recorder
