"""The kd-explorer command line: option checks, batch runs and the error paths."""

import os
import subprocess
import sys

import pytest

from game import app as app_module
from game import cli
from sim.model import load_teacher


def test_defaults():
    options = cli.parse_args([])

    assert options.size == (1280, 720)
    assert options.temperature is None
    assert options.alpha is None
    assert not options.offscreen
    assert not options.no_bloom
    assert not options.autostart
    assert options.frames is None


def test_all_options_parse():
    options = cli.parse_args(["--size", "800x600", "--offscreen", "--no-bloom", "--seed", "7",
                              "--temperature", "4.5", "--alpha", "0.3", "--autostart",
                              "--frames", "10", "--screenshot", "out.png"])

    assert options.size == (800, 600)
    assert options.seed == 7
    assert options.temperature == 4.5
    assert options.alpha == 0.3
    assert options.frames == 10
    assert options.screenshot == "out.png"

    settings = cli.settings_from(options)
    assert settings.bloom is False
    assert settings.autostart is True


@pytest.mark.parametrize("value", ["auto", "on", "off"])
def test_antialias_reaches_settings(value):
    settings = cli.settings_from(cli.parse_args(["--antialias", value]))

    assert settings.antialias == value


def test_antialias_defaults_to_auto():
    assert cli.settings_from(cli.parse_args([])).antialias == "auto"


def test_recording_options_present():
    options = cli.parse_args(["--capture-dir", "shots", "--fps", "24"])

    assert str(options.capture_dir) == "shots"
    assert options.fps == 24
    assert options.demo is None


@pytest.mark.parametrize("arguments, message", [
    (["--temperature", "0.5"], "invalid temperature 0.5"),
    (["--temperature", "25"], "invalid temperature 25"),
    (["--temperature", "hot"], "invalid temperature 'hot'"),
    (["--alpha", "1.5"], "invalid alpha 1.5"),
    (["--alpha", "-0.1"], "invalid alpha -0.1"),
    (["--size", "1280"], "invalid size '1280'"),
    (["--size", "axb"], "invalid size 'axb'"),
    (["--size", "10x10"], "invalid size '10x10'"),
    (["--frames", "0"], "invalid count 0"),
    (["--screenshot", "x.png"], "--screenshot needs --frames"),
    (["--antialias", "sometimes"], "invalid choice: 'sometimes'"),
    (["--seed", "-1"], "invalid seed -1: choose a value from 0 to 4294967295"),
    (["--seed", "abc"], "invalid seed 'abc': expected a whole number"),
])
def test_bad_values_rejected(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(arguments)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_window_prints_one_line(monkeypatch, capsys):
    def no_window(*args, **kwargs):
        raise Exception("Could not open window.")

    monkeypatch.setattr(app_module, "ShowBase", no_window)

    code = cli.main(["--frames", "1", "--no-bloom"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_NO_DISPLAY
    assert "Traceback" not in err
    assert "--offscreen" in err
    assert "xvfb-run" in err
    assert len([line for line in err.splitlines() if line.startswith("kd-explorer:")]) == 1


def test_other_window_errors_propagate(monkeypatch):
    def broken(*args, **kwargs):
        raise Exception("something else")

    monkeypatch.setattr(app_module, "ShowBase", broken)

    with pytest.raises(Exception, match="something else"):
        app_module.open_window(app_module.ExplorerSettings(offscreen=True))


def test_output_paths_must_not_be_folders(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--frames", "2", "--screenshot", str(tmp_path)])
    assert "is a folder; give a file name such as shot.png" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        cli.parse_args(["--demo", str(tmp_path)])
    assert "is a folder; give a file name such as tour.mp4" in capsys.readouterr().err


def test_capture_dir_under_file_rejected(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")

    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(["--capture-dir", str(blocker / "shots" / "today")])

    assert exit_info.value.code == 2
    assert f"{blocker} is a file, not a folder" in capsys.readouterr().err


def test_demo_under_file_rejected(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")

    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(["--demo", str(blocker / "tour.mp4")])

    assert exit_info.value.code == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_no_display_prints_one_line_only(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(app_module, "build_lab", lambda settings: pytest.fail("loaded the lab first"))

    code = cli.main([])

    captured = capsys.readouterr()
    assert code == cli.EXIT_NO_DISPLAY
    assert captured.err.strip() == cli.no_display_message()
    assert captured.out == ""


@pytest.mark.parametrize("argv0, expected", [
    (".venv/bin/kd-explorer", ".venv/bin/kd-explorer"),
    ("/opt/kd/bin/kd-explorer", "/opt/kd/bin/kd-explorer"),
    ("/repo/game/__main__.py", f"{sys.executable} -m game"),
])
def test_no_display_hint_repeats_launcher(monkeypatch, argv0, expected):
    monkeypatch.setattr(sys, "argv", [argv0])

    assert cli.no_display_message().endswith(f'xvfb-run -a -s "-screen 0 1280x720x24" {expected}')


def test_parse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--seed", "-1"])

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("see kd-explorer --help")


def test_no_display_subprocess_has_no_traceback():
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}

    result = subprocess.run([sys.executable, "-m", "game", "--frames", "1", "--no-bloom"],
                            capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == cli.EXIT_NO_DISPLAY
    assert "Traceback" not in result.stderr
    assert "kd-explorer: could not open a window" in result.stderr


def test_corrupt_teacher_prints_engine_message(monkeypatch, tmp_path, capsys):
    corrupt = tmp_path / "teacher.npz"
    corrupt.write_bytes(b"this is not a zip archive")
    monkeypatch.setattr(app_module, "load_teacher", lambda: load_teacher(corrupt))

    code = cli.main(["--offscreen", "--frames", "1"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_ASSET_ERROR
    assert "Traceback" not in err
    assert str(corrupt) in err
    assert "damaged" in err
    assert "kd-sim train-teacher" in err


def test_offscreen_frames_write_screenshot(tmp_path):
    """A batch run opens its own window, so it runs in a fresh process."""
    path = tmp_path / "shot.png"

    result = subprocess.run([sys.executable, "-m", "game", "--offscreen", "--no-bloom", "--size", "320x180",
                             "--frames", "3", "--screenshot", str(path)],
                            capture_output=True, text=True, timeout=90)

    assert result.returncode == 0, result.stderr[-2000:]
    assert path.stat().st_size > 1000
    from PIL import Image

    with Image.open(path) as image:
        assert image.size == (320, 180)


def test_unset_display_fails_before_panda3d(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(app_module, "ShowBase", lambda *args, **kwargs: pytest.fail("tried to open a window"))

    with pytest.raises(app_module.DisplayUnavailableError, match="DISPLAY is not set"):
        app_module.open_window(app_module.ExplorerSettings())


@pytest.mark.parametrize("arguments, message", [
    (["--demo", "out.mp4", "--frames", "3"], "--demo renders its own frames"),
    (["--capture-dir", "{file}"], "is a file; give a folder"),
    (["--frames", "1", "--screenshot", "{file}/shot.png"], "is a file, not a folder"),
])
def test_conflicting_paths_rejected(arguments, message, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    arguments = [argument.replace("{file}", str(blocker)) for argument in arguments]

    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(arguments)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_screenshot_folder_created(tmp_path):
    path = tmp_path / "new" / "deeper" / "shot.png"

    result = subprocess.run([sys.executable, "-m", "game", "--offscreen", "--no-bloom", "--size", "320x180",
                             "--frames", "2", "--screenshot", str(path)],
                            capture_output=True, text=True, timeout=90)

    assert result.returncode == 0, result.stderr[-2000:]
    assert path.is_file()


def test_unwritable_screenshot_explained(tmp_path, capsys, monkeypatch):
    class FailingApp:
        def screenshot(self, path):
            return False

    assert not cli.save_batch_screenshot(FailingApp(), tmp_path / "shot.png")

    assert "could not write the screenshot" in capsys.readouterr().err
