"""The `kd-explorer` command (also `python -m game`): parse options, open the explorer, run it."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from sim.errors import AssetError
from sim.options import CommandLineParser, bounded
from sim.options import seed as seed_type
from sim.training import ALPHA_RANGE, DEFAULT_ALPHA, DEFAULT_TEMPERATURE, TEMPERATURE_RANGE

# Values of --antialias and ExplorerSettings.antialias.
ANTIALIAS_CHOICES = ("auto", "on", "off")

log = logging.getLogger(__name__)

EXIT_ASSET_ERROR = 1
EXIT_NO_DISPLAY = 3
MIN_WINDOW_SIDE = 160
MAX_WINDOW_SIDE = 8192


def launcher() -> str:
    """Return the command that started this process, so a hint can repeat it as typed."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    if program.name == "kd-explorer":
        return str(program)
    return f"{sys.executable} -m game"


def no_display_message() -> str:
    return (f"kd-explorer: could not open a window (no display?); run with --offscreen, or under a "
            f"virtual display: xvfb-run -a -s \"-screen 0 1280x720x24\" {launcher()}")


def window_size(text: str) -> tuple[int, int]:
    """Parse WIDTHxHEIGHT, e.g. 1280x720."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: use WIDTHxHEIGHT, e.g. 1280x720")
    width, height = int(match.group(1)), int(match.group(2))
    for side in (width, height):
        if not MIN_WINDOW_SIDE <= side <= MAX_WINDOW_SIDE:
            raise argparse.ArgumentTypeError(
                f"invalid size {text!r}: each side must be {MIN_WINDOW_SIDE} to {MAX_WINDOW_SIDE} pixels"
            )
    return width, height


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid count {value}: must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the option parser; each group is a separate concern, so others can add groups."""
    parser = CommandLineParser(
        prog="kd-explorer",
        description="Explore knowledge distillation in 3D: a teacher network, a student learning "
                    "from its soft targets, and the temperature that softens them.",
    )

    window = parser.add_argument_group("window")
    window.add_argument("--size", type=window_size, default=(1280, 720), metavar="WxH",
                        help="window size in pixels (default 1280x720)")
    window.add_argument("--offscreen", action="store_true",
                        help="render without a visible window, e.g. with --frames and --screenshot")
    window.add_argument("--no-bloom", action="store_true",
                        help="skip the bloom filter; neurons glow with additive halos instead")
    window.add_argument("--antialias", choices=ANTIALIAS_CHOICES, default="auto",
                        help="4x multisample antialiasing. auto (the default) turns it off on software "
                             "renderers such as Mesa llvmpipe, where it nearly doubles the time per frame")

    training = parser.add_argument_group("training")
    training.add_argument("--seed", type=seed_type, default=None,
                          help="seed of the student's initial weights and batch order (default 0)")
    training.add_argument("--temperature", type=bounded(float, *TEMPERATURE_RANGE, "temperature"),
                          default=None, metavar="TAU",
                          help=f"softmax temperature tau, {TEMPERATURE_RANGE[0]:g} to {TEMPERATURE_RANGE[1]:g} "
                               f"(default {DEFAULT_TEMPERATURE:g})")
    training.add_argument("--alpha", type=bounded(float, *ALPHA_RANGE, "alpha"), default=None,
                          help=f"weight of the soft loss in the total, {ALPHA_RANGE[0]:g} to {ALPHA_RANGE[1]:g} "
                               f"(default {DEFAULT_ALPHA:g})")
    training.add_argument("--autostart", action="store_true", help="start training at once")

    batch = parser.add_argument_group("batch run")
    batch.add_argument("--frames", type=positive_int, default=None, metavar="N",
                       help="render N frames with a fixed 1/30 s step, then exit")
    batch.add_argument("--screenshot", default=None, metavar="PATH",
                       help="with --frames: save the last frame to PATH (the type follows the name, "
                            "e.g. .png)")

    from game.recorder import add_recording_options

    add_recording_options(parser)
    return parser


def file_in_path(path: Path) -> Path | None:
    """Return the nearest existing parent of `path` if it is a file, else None."""
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def parse_args(argv=None) -> argparse.Namespace:
    """Parse command-line options into a namespace (argparse exits with status 2 on errors)."""
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.screenshot is not None and options.frames is None:
        parser.error("--screenshot needs --frames N: the number of frames to render first")
    if options.demo is not None and options.frames is not None:
        parser.error("--demo renders its own frames; leave out --frames and --screenshot")
    if options.capture_dir.exists() and not options.capture_dir.is_dir():
        parser.error(f"--capture-dir {options.capture_dir} is a file; give a folder (it is created if missing)")
    blocker = file_in_path(options.capture_dir)
    if blocker is not None:
        parser.error(f"--capture-dir {options.capture_dir}: {blocker} is a file, not a folder; choose another folder")
    if options.screenshot is not None:
        folder = Path(options.screenshot).parent
        if folder.exists() and not folder.is_dir():
            parser.error(f"--screenshot {options.screenshot}: {folder} is a file, not a folder; choose another path")
        if Path(options.screenshot).is_dir():
            parser.error(f"--screenshot {options.screenshot} is a folder; give a file name such as shot.png")
    if options.demo is not None:
        folder = options.demo.parent
        if folder.exists() and not folder.is_dir():
            parser.error(f"--demo {options.demo}: {folder} is a file, not a folder; choose another path")
        if options.demo.is_dir():
            parser.error(f"--demo {options.demo} is a folder; give a file name such as tour.mp4")
    return options


def settings_from(options: argparse.Namespace):
    from game.app import ExplorerSettings

    return ExplorerSettings(
        size=options.size, offscreen=options.offscreen, bloom=not options.no_bloom,
        seed=options.seed, temperature=options.temperature, alpha=options.alpha,
        autostart=options.autostart, results_dir=options.capture_dir, antialias=options.antialias,
    )


def save_batch_screenshot(app, path: Path) -> bool:
    """Save the last frame of a --frames run, creating its folder; print why if it fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"kd-explorer: cannot create the folder for --screenshot {path}: "
              f"{error.strerror or error}; choose another path", file=sys.stderr)
        return False
    if not app.screenshot(path):
        print(f"kd-explorer: could not write the screenshot {path}; check that the folder is "
              f"writable and the name ends in an image type such as .png", file=sys.stderr)
        return False
    return True


def main(argv=None) -> int:
    options = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from game.app import DisplayUnavailableError, ExplorerApp, build_lab, display_missing, open_window

    settings = settings_from(options)
    if display_missing(settings):
        print(no_display_message(), file=sys.stderr)
        return EXIT_NO_DISPLAY
    try:
        lab = build_lab(settings)
    except AssetError as error:
        print(f"kd-explorer: {error}", file=sys.stderr)
        return EXIT_ASSET_ERROR

    try:
        base = open_window(settings)
    except DisplayUnavailableError:
        print(no_display_message(), file=sys.stderr)
        return EXIT_NO_DISPLAY

    app = ExplorerApp(settings, base=base, lab=lab, owns_base=True)
    if options.demo is not None:
        from game.tour import demo_main

        return demo_main(app, options)

    from game.recorder import install_recorder

    install_recorder(app, options.capture_dir, options.fps, keep_frames=options.keep_frames)
    if options.frames is None:
        app.run()
        return 0

    from game.app import BATCH_FRAME_DT

    app.step_frames(options.frames, BATCH_FRAME_DT)
    saved = True
    if options.screenshot:
        saved = save_batch_screenshot(app, Path(options.screenshot))
    app.destroy()
    return 0 if saved else 1
