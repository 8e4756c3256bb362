"""The scripted tour and `--demo`: step timing, the player, the MP4 and its failure cases."""

import argparse
import errno
import sys

import numpy as np
import pytest
from PIL import Image

from game import video
from game.app import CAMERA_PRESETS
from game.camera import View
from game.recorder import add_recording_options
from game.tour import (
    EXIT_DEMO_FAILED,
    CHARTS_CLOSE_UP,
    HIGHLIGHT_BOXES,
    STUDENT_CLOSE_UP,
    TEACHER_CLOSE_UP,
    TOUR,
    Step,
    TourPlayer,
    caption_values,
    demo_frames_dir,
    demo_main,
    run_demo,
    step_durations,
)
from sim.training import TEMPERATURE_RANGE

DEMO_SIZE = (320, 180)
DEMO_FPS = 10
DEMO_SECONDS = 2.5


def open_base(size=DEMO_SIZE):
    """Open an offscreen p3tinydisplay ShowBase of `size`; return it and its config page."""
    from panda3d.core import loadPrcFileData

    page = loadPrcFileData(
        "kd-tour-test",
        "load-display p3tinydisplay\nwindow-type offscreen\n"
        f"win-size {size[0]} {size[1]}\naudio-library-name null\nsync-video false\n",
    )
    from direct.showbase.ShowBase import ShowBase

    return ShowBase(windowType="offscreen"), page


def close_base(base, page) -> None:
    from panda3d.core import unloadPrcFile

    base.destroy()
    unloadPrcFile(page)


def build_app(base, lab):
    from game.app import ExplorerApp, ExplorerSettings

    settings = ExplorerSettings(size=(base.win.getXSize(), base.win.getYSize()), offscreen=True, bloom=False)
    return ExplorerApp(settings, base=base, lab=lab, owns_base=False)


@pytest.fixture
def small_app(lab):
    """The explorer in a 320x180 offscreen window, destroyed with its window after the test."""
    base, page = open_base()
    app = build_app(base, lab)
    yield app
    app.destroy()
    close_base(base, page)


def demo_options(out_path, duration=DEMO_SECONDS, fps=DEMO_FPS, keep_frames=True):
    return argparse.Namespace(demo=out_path, duration=duration, fps=fps, keep_frames=keep_frames)


def error_messages(stderr: str) -> list[str]:
    """Return the lines of stderr that report an error, leaving out the progress bar."""
    return [line for line in stderr.split("\n") if line.startswith("kd-explorer:")]


def decoded_frames(folder) -> list[np.ndarray]:
    return [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("frame_*.png"))]


# --- the tour as data -----------------------------------------------------------------------


def test_step_durations_scale_to_total():
    steps = [Step(1.0), Step(3.0), Step(4.0)]

    durations = step_durations(steps, 16.0)

    assert durations == pytest.approx([2.0, 6.0, 8.0])
    assert sum(step_durations(TOUR, 37.0)) == pytest.approx(37.0)


def test_step_durations_reject_zero_weight():
    with pytest.raises(ValueError, match="positive weight"):
        step_durations([Step(0.0)], 10.0)


def test_tour_uses_known_vocabulary():
    low, high = TEMPERATURE_RANGE
    for step in TOUR:
        assert step.weight > 0
        assert step.camera is None or isinstance(step.camera, View) or step.camera in CAMERA_PRESETS
        assert step.highlight is None or step.highlight in HIGHLIGHT_BOXES
        temperatures = step.temperature if isinstance(step.temperature, tuple) else (step.temperature,)
        for temperature in temperatures:
            assert temperature is None or low <= temperature <= high


def test_tour_captions_format(lab):
    values = caption_values(lab)

    for step in TOUR:
        text = step.caption.format(**values)
        assert "{" not in text
        assert len(text) < 200


def test_tour_covers_required_scenes():
    cameras = {step.camera for step in TOUR}
    ramps = [step.temperature for step in TOUR if isinstance(step.temperature, tuple)]

    assert {"overview", TEACHER_CLOSE_UP, STUDENT_CLOSE_UP, CHARTS_CLOSE_UP} <= cameras
    assert any(step.orbit for step in TOUR)
    assert any(step.sample is not None for step in TOUR)
    assert ramps[0] == (1.0, 20.0)
    assert ramps[-1][1] == 4.0
    assert any(step.train for step in TOUR)
    assert {step.highlight for step in TOUR} >= {"verdict", "accuracy"}


# --- the player -----------------------------------------------------------------------------


def test_player_ramps_temperature(small_app):
    steps = [Step(1.0, temperature=(1.0, 20.0)), Step(1.0, temperature=4.0)]
    player = TourPlayer(small_app, steps, duration=2.0)
    seen = []

    for _ in range(20):
        small_app.step_frames(1, 0.1)
        seen.append(small_app.lab.temperature)
    player.destroy()

    assert seen[0] == pytest.approx(1.0)
    assert seen[5] == pytest.approx(1.0 + 19.0 * 0.5)
    assert seen[9] == pytest.approx(1.0 + 19.0 * 0.9)
    assert np.all(np.diff(seen[:10]) > 0)
    assert seen[10] == pytest.approx(4.0)
    assert seen[-1] == pytest.approx(4.0)
    assert player.finished


def test_player_trains_to_convergence(small_app):
    steps = [Step(1.0, reset=True, train=True, caption="{student_accuracy:.1f} %")]
    player = TourPlayer(small_app, steps, duration=8.0)

    small_app.step_frames(80, 0.1)
    player.destroy()

    assert small_app.lab.distiller.finished
    assert not small_app.training
    assert small_app.lab.distiller.student_accuracy > 0.8


def test_player_moves_camera_to_preset(small_app):
    player = TourPlayer(small_app, [Step(1.0, camera="teacher", orbit=30.0)], duration=1.0)

    small_app.step_frames(10, 0.1)
    player.destroy()

    goal = small_app.camera_rig.goal
    assert goal.focus == CAMERA_PRESETS["teacher"].focus
    assert goal.heading == pytest.approx(CAMERA_PRESETS["teacher"].heading + 30.0 * 0.9)


# --- the demo video -------------------------------------------------------------------------


def test_demo_mp4_frames_and_size(small_app, tmp_path):
    import imageio_ffmpeg

    out_path = run_demo(small_app, tmp_path / "demo.mp4", DEMO_SECONDS, DEMO_FPS, progress=False)

    reader = imageio_ffmpeg.read_frames(str(out_path))
    metadata = next(reader)
    frames = list(reader)
    assert metadata["size"] == DEMO_SIZE
    assert metadata["fps"] == pytest.approx(DEMO_FPS)
    assert len(frames) == round(DEMO_SECONDS * DEMO_FPS)
    assert not demo_frames_dir(out_path).exists()


def test_demo_same_seed_same_frames(teacher, split, tmp_path, monkeypatch):
    from sim.lab import Lab

    # The Lab times the student's inference speed with a wall clock for the accuracy panel.
    # A fixed ratio keeps that one number equal between the two renders.
    monkeypatch.setattr("sim.lab.speed_ratio", lambda *args, **kwargs: 12.5)
    renders = []
    for name in ("first", "second"):
        base, page = open_base()
        try:
            app = build_app(base, Lab(teacher=teacher, split=split))
            out_path = run_demo(app, tmp_path / f"{name}.mp4", DEMO_SECONDS, DEMO_FPS,
                                keep_frames=True, progress=False)
            app.destroy()
        finally:
            close_base(base, page)
        renders.append(decoded_frames(demo_frames_dir(out_path)))

    first, second = renders
    assert len(first) == round(DEMO_SECONDS * DEMO_FPS)
    assert len(second) == len(first)
    for index, (a, b) in enumerate(zip(first, second)):
        assert np.array_equal(a, b), f"frame {index + 1} differs"
    # The tour moves: the first and last frames are different pictures.
    assert not np.array_equal(first[0], first[-1])


def test_demo_missing_encoder_exits_nonzero(small_app, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    out_path = tmp_path / "demo.mp4"

    code = demo_main(small_app, demo_options(out_path, keep_frames=False))

    assert code == EXIT_DEMO_FAILED
    error_lines = error_messages(capsys.readouterr().err)
    assert len(error_lines) == 1
    assert "imageio-ffmpeg is not installed" in error_lines[0]
    assert len(list(demo_frames_dir(out_path).glob("frame_*.png"))) == round(DEMO_SECONDS * DEMO_FPS)
    assert not out_path.exists()


def test_demo_full_disk_exits_nonzero(small_app, tmp_path, monkeypatch, capsys):
    real_write = video.write_png
    written = []

    def write_until_full(path, pixels):
        if len(written) >= 5:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, pixels)
        written.append(path)

    monkeypatch.setattr(video, "write_png", write_until_full)
    out_path = tmp_path / "demo.mp4"

    code = demo_main(small_app, demo_options(out_path))

    assert code == EXIT_DEMO_FAILED
    error_lines = error_messages(capsys.readouterr().err)
    assert len(error_lines) == 1
    assert "the disk is full" in error_lines[0]
    assert "5 frames kept" in error_lines[0]
    assert len(list(demo_frames_dir(out_path).glob("frame_*.png"))) == 5
    assert not out_path.exists()


def test_demo_unwritable_folder_exits_nonzero(small_app, tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")

    code = demo_main(small_app, demo_options(blocker / "videos" / "demo.mp4"))

    assert code == EXIT_DEMO_FAILED
    error_lines = error_messages(capsys.readouterr().err)
    assert len(error_lines) == 1
    assert "choose another path for --demo" in error_lines[0]


def test_demo_options_parse():
    parser = argparse.ArgumentParser()
    add_recording_options(parser)

    options = parser.parse_args(["--demo", "out.mp4", "--duration", "20", "--fps", "24"])

    assert str(options.demo) == "out.mp4"
    assert options.duration == 20.0
    assert options.fps == 24
