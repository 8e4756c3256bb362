"""Screenshots, recordings and their failure cases, on an offscreen explorer (p3tinydisplay)."""

import argparse
import errno
import io
import logging
import sys

import numpy as np
import pytest
from PIL import Image

from game import recorder as recorder_module
from game import video
from game.recorder import add_recording_options, install_recorder

RECORD_FPS = 10


@pytest.fixture
def make_recorder(explorer):
    """Build recorders on the explorer and destroy them after the test."""
    made = []

    def make(capture_dir, fps=RECORD_FPS, keep_frames=True):
        recorder = install_recorder(explorer, capture_dir, fps, keep_frames=keep_frames)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.destroy()


def window_size(base) -> tuple[int, int]:
    return base.win.getXSize(), base.win.getYSize()


def decode_png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def red_pixel_count(pixels: np.ndarray) -> int:
    """Count strongly red pixels in the top centre of a frame, where the REC indicator sits."""
    height, width = pixels.shape[:2]
    region = pixels[: height // 8, width // 2 - width // 8: width // 2 + width // 4].astype(int)
    red, green, blue = region[..., 0], region[..., 1], region[..., 2]
    return int(np.sum((red > green + 60) & (red > blue + 60)))


def frame_files(folder):
    return sorted(folder.glob("frame_*.png"))


def record(explorer, recorder, frames: int) -> None:
    assert recorder.start(real_time=False)
    for _ in range(frames):
        explorer.base.taskMgr.step()


# --- PNG writing and frame helpers ----------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (180, 320, 3)])
def test_png_round_trip(shape):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)

    decoded = np.asarray(Image.open(io.BytesIO(video.encode_png(pixels))))

    assert decoded.shape == shape
    assert np.array_equal(decoded, pixels)


def test_png_rejects_grey_image():
    with pytest.raises(ValueError, match="RGB"):
        video.encode_png(np.zeros((4, 4), dtype=np.uint8))


def test_even_size_crops_odd_sides():
    pixels = np.zeros((181, 321, 3), dtype=np.uint8)
    assert video.even_size(pixels).shape == (180, 320, 3)
    assert video.even_size(pixels[:180, :320]).shape == (180, 320, 3)


def test_fit_to_pads_and_crops():
    pixels = np.full((4, 6, 3), 9, dtype=np.uint8)

    padded = video.fit_to(pixels, (6, 8))
    cropped = video.fit_to(pixels, (2, 2))

    assert padded.shape == (6, 8, 3)
    assert np.all(padded[:4, :6] == 9)
    assert np.all(padded[4:] == 0)
    assert cropped.shape == (2, 2, 3)


def test_ffmpeg_command_makes_playable_h264(tmp_path):
    command = video.ffmpeg_command(tmp_path / "frames", tmp_path / "out.mp4", 24, "ffmpeg")

    assert command[0] == "ffmpeg"
    assert command[command.index("-c:v") + 1] == "libx264"
    assert command[command.index("-pix_fmt") + 1] == "yuv420p"
    assert command[command.index("-framerate") + 1] == "24"
    assert command[-1] == str(tmp_path / "out.mp4")


# --- command-line options -------------------------------------------------------------------


def recording_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kd-explorer")
    add_recording_options(parser)
    return parser


def test_options_defaults():
    options = recording_parser().parse_args([])

    assert str(options.capture_dir) == "captures"
    assert options.fps == 30
    assert options.demo is None
    assert options.duration == 45.0
    assert options.keep_frames is False


@pytest.mark.parametrize("arguments", [
    ["--fps", "0"], ["--fps", "121"], ["--fps", "thirty"], ["--fps", "2.5"],
    ["--duration", "4"], ["--duration", "601"], ["--duration", "long"],
])
def test_options_reject_out_of_range(arguments, capsys):
    with pytest.raises(SystemExit) as raised:
        recording_parser().parse_args(arguments)

    assert raised.value.code == 2
    assert "invalid" in capsys.readouterr().err


def test_recorder_rejects_bad_fps(explorer, tmp_path):
    with pytest.raises(ValueError, match="frame rate 0"):
        recorder_module.Recorder(explorer, tmp_path, fps=0, overlay=False)


# --- screenshots ----------------------------------------------------------------------------


def test_screenshot_matches_window_size(explorer, make_recorder, tmp_path):
    recorder = make_recorder(tmp_path / "captures")

    path = recorder.screenshot()

    assert path is not None
    assert path.parent == tmp_path / "captures"
    assert path.name.startswith("kd-explorer-")
    assert path.suffix == ".png"
    width, height = window_size(explorer.base)
    assert Image.open(path).size == (width, height)


def test_screenshot_excludes_confirmation(explorer, make_recorder, tmp_path):
    recorder = make_recorder(tmp_path)
    recorder.screenshot()
    assert not recorder.overlay.note_root.isHidden()
    assert "saved screenshot" in recorder.overlay.note_text.node().getText()

    # The note of the first screenshot is on screen while the second one is taken.
    path = recorder.screenshot()
    saved = decode_png(path)
    explorer.base.graphicsEngine.renderFrame()
    on_screen = video.grab_pixels(explorer.base.win)
    shown = recorder.overlay.hide_all()
    explorer.base.graphicsEngine.renderFrame()
    without_overlay = video.grab_pixels(explorer.base.win)
    recorder.overlay.restore(shown)

    assert np.array_equal(saved, without_overlay)
    changed_rows = np.flatnonzero(np.any(on_screen != saved, axis=(1, 2)))
    assert changed_rows.size > 0
    # The note sits near the bottom edge, so every changed row is in the lower half.
    assert changed_rows.min() > on_screen.shape[0] // 2


def test_screenshots_get_distinct_names(make_recorder, tmp_path):
    recorder = make_recorder(tmp_path)

    paths = {recorder.screenshot() for _ in range(3)}

    assert len(paths) == 3
    assert all(path.is_file() for path in paths)


# --- recordings -----------------------------------------------------------------------------


def test_recording_one_second_gives_fps_frames(explorer, make_recorder, tmp_path):
    recorder = make_recorder(tmp_path)
    explorer.set_speed(2.0)
    explorer.set_training(True)
    epochs_before = explorer.lab.distiller.epoch + explorer.lab.distiller.epoch_fraction

    record(explorer, recorder, RECORD_FPS)
    assert explorer.fixed_dt == pytest.approx(1.0 / RECORD_FPS)
    assert explorer.training_budget_s is None
    frames_dir = recorder.recording.frames_dir
    result = recorder.stop(wait=True)

    assert result is not None and result.ok, recorder.last_error
    assert len(frame_files(frames_dir)) == RECORD_FPS
    # One second of simulated time at 2 epochs per second, with no time budget.
    epochs_after = explorer.lab.distiller.epoch + explorer.lab.distiller.epoch_fraction
    batches = round((epochs_after - epochs_before) * explorer.lab.distiller.batches_per_epoch)
    assert batches == pytest.approx(2.0 * explorer.lab.distiller.batches_per_epoch, abs=1)
    assert explorer.fixed_dt is None
    assert explorer.training_budget_s is not None


def test_recording_mp4_reads_back(explorer, make_recorder, tmp_path):
    import imageio_ffmpeg

    recorder = make_recorder(tmp_path, keep_frames=False)
    record(explorer, recorder, 5)
    frames_dir = recorder.recording.frames_dir
    result = recorder.stop(wait=True)

    assert result.ok, result.message
    reader = imageio_ffmpeg.read_frames(str(result.out_path))
    metadata = next(reader)
    frames = list(reader)
    width, height = window_size(explorer.base)
    assert metadata["size"] == (width - width % 2, height - height % 2)
    assert len(frames) == 5
    assert not frames_dir.exists()


def test_recording_indicator_not_in_frames(explorer, make_recorder, tmp_path):
    recorder = make_recorder(tmp_path)
    record(explorer, recorder, 3)
    on_screen = video.grab_pixels(explorer.base.win)
    frames_dir = recorder.recording.frames_dir
    recorder.stop(wait=True)
    frames = [decode_png(path) for path in frame_files(frames_dir)]

    # The last frame and the screen show the same state, so they differ only by the indicator.
    changed_rows = np.flatnonzero(np.any(on_screen != frames[-1], axis=(1, 2)))
    assert changed_rows.size > 0
    assert changed_rows.max() < on_screen.shape[0] // 8
    assert red_pixel_count(on_screen) > 20
    for frame in frames:
        assert red_pixel_count(frame) == 0


def test_recording_in_background_reports_done(explorer, make_recorder, tmp_path):
    recorder = make_recorder(tmp_path)
    record(explorer, recorder, 3)

    assert recorder.stop() is None
    assert len(recorder.encoders) == 1
    for _ in range(600):
        explorer.base.taskMgr.step()
        if not recorder.encoders:
            break

    assert not recorder.encoders
    assert recorder.last_result.ok
    assert "saved" in recorder.overlay.note_text.node().getText()


def test_screenshot_keys(explorer, make_recorder, tmp_path):
    make_recorder(tmp_path)

    explorer.base.messenger.send("f12")
    explorer.base.messenger.send("p")

    assert len(list(tmp_path.glob("kd-explorer-*.png"))) == 2


def test_recording_toggle_key(explorer, make_recorder, tmp_path):
    recorder = make_recorder(tmp_path)

    explorer.base.messenger.send("v")
    assert recorder.is_recording
    explorer.base.taskMgr.step()
    explorer.base.messenger.send("f10")

    assert not recorder.is_recording
    recorder.wait_for_encoders()
    assert recorder.last_result.ok


# --- failures -------------------------------------------------------------------------------


def test_unwritable_folder_is_reported(explorer, make_recorder, tmp_path, caplog):
    # A folder under a regular file cannot be created, even by root.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    recorder = make_recorder(blocker / "captures")

    with caplog.at_level(logging.ERROR, logger="game.recorder"):
        assert recorder.screenshot() is None
        assert recorder.start() is False

    assert "choose another folder with --capture-dir" in recorder.last_error
    assert "recording not started" in recorder.overlay.note_text.node().getText()
    assert any("screenshot not saved" in record.message for record in caplog.records)
    explorer.step_frames(2, 1.0 / 30.0)


def test_full_disk_keeps_written_frames(explorer, make_recorder, tmp_path, monkeypatch):
    real_write = video.write_png
    calls = []

    def write_until_full(path, pixels):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, pixels)

    monkeypatch.setattr(video, "write_png", write_until_full)
    recorder = make_recorder(tmp_path)
    record(explorer, recorder, 8)
    frames_dir = recorder.recording.frames_dir if recorder.recording else None
    recorder.stop(wait=True)
    explorer.step_frames(2, 1.0 / 30.0)

    assert not recorder.is_recording
    assert "the disk is full" in recorder.last_error
    assert "3 frames kept" in recorder.last_error
    folder = frames_dir or next(tmp_path.glob("recording-*"))
    assert len(frame_files(folder)) == 3
    assert not list(tmp_path.glob("*.mp4"))
    assert explorer.fixed_dt is None


def test_missing_encoder_keeps_frames(explorer, make_recorder, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    recorder = make_recorder(tmp_path, keep_frames=False)
    record(explorer, recorder, 4)
    frames_dir = recorder.recording.frames_dir

    with caplog.at_level(logging.WARNING, logger="game.recorder"):
        assert recorder.stop(wait=True) is None

    assert "imageio-ffmpeg is not installed" in recorder.last_error
    assert len(frame_files(frames_dir)) == 4
    commands = [record.message for record in caplog.records if "run: " in record.message]
    assert len(commands) == 1
    assert "-pix_fmt yuv420p" in commands[0]
    assert str(frames_dir / video.FRAME_PATTERN) in commands[0]


def test_failed_encoding_keeps_frames(explorer, make_recorder, tmp_path, monkeypatch):
    # An output path inside a missing folder makes ffmpeg fail.
    recorder = make_recorder(tmp_path, keep_frames=False)
    assert recorder.start(out_path=tmp_path / "missing" / "out.mp4", real_time=False)
    explorer.base.taskMgr.step()
    frames_dir = recorder.recording.frames_dir

    result = recorder.stop(wait=True)

    assert not result.ok
    assert "the frames stay in" in result.message
    assert len(frame_files(frames_dir)) == 1
