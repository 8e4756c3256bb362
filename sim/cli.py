"""`kd-sim`: train the teacher, compare scratch and distilled students, save results."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from sim.data import N_CLASSES, load_split
from sim.errors import AssetError, SettingError
from sim.model import TEACHER_PATH, load_teacher
from sim.options import CommandLineParser, bounded
from sim.options import seed as seed_type
from sim.progress import ProgressBar
from sim.training import (
    ALPHA_RANGE, DEFAULT_ALPHA, DEFAULT_EPOCHS, DEFAULT_TEMPERATURE, TEMPERATURE_RANGE,
    TrainingConfig,
)

log = logging.getLogger("sim")

DEFAULT_SEEDS = 10
MAX_EPOCHS = 10_000
MAX_SEEDS = 1_000


def add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--temperature", "-t", type=bounded(float, *TEMPERATURE_RANGE, "temperature"),
                        default=DEFAULT_TEMPERATURE,
                        help=f"softmax temperature tau for the soft targets, 1 to 20 (default {DEFAULT_TEMPERATURE:g})")
    parser.add_argument("--alpha", "-a", type=bounded(float, *ALPHA_RANGE, "alpha"), default=DEFAULT_ALPHA,
                        help=f"weight of the soft loss; 1 - alpha weights the hard loss (default {DEFAULT_ALPHA:g})")
    parser.add_argument("--epochs", "-e", type=bounded(int, 1, MAX_EPOCHS, "epochs"), default=DEFAULT_EPOCHS,
                        help=f"training epochs per student (default {DEFAULT_EPOCHS})")
    parser.add_argument("--omit-class", type=bounded(int, 0, N_CLASSES - 1, "omitted class"), default=None,
                        metavar="C", help="leave digit C out of the student's transfer set")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(prog="kd-sim", description=__doc__)
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    teach = commands.add_parser("train-teacher", help="train the teacher and write its weights")
    teach.add_argument("--epochs", type=bounded(int, 1, MAX_EPOCHS, "epochs"), default=None,
                       help="training epochs (default: the shipped teacher's)")
    teach.add_argument("--seed", type=seed_type, default=None, help="random seed (default: the shipped teacher's)")
    teach.add_argument("--output", type=Path, default=TEACHER_PATH, help=f"weights file (default {TEACHER_PATH})")

    report = commands.add_parser("report", help="compare scratch and distilled students")
    add_training_options(report)
    report.add_argument("--seeds", type=bounded(int, 1, MAX_SEEDS, "seeds"), default=DEFAULT_SEEDS,
                        help=f"number of seeds to average over (default {DEFAULT_SEEDS})")
    report.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    student = commands.add_parser("train-student", help="distil one student; save it and its curves")
    add_training_options(student)
    student.add_argument("--seed", type=seed_type, default=0, help="random seed (default 0)")
    student.add_argument("--save", type=Path, metavar="PATH", help="write the trained student to PATH (.npz)")
    student.add_argument("--curves", type=Path, metavar="CSV", help="write the training curves to CSV")
    student.add_argument("--load", type=Path, metavar="PATH",
                         help="start from a student saved with --save instead of fresh weights")
    student.add_argument("--race", action="store_true",
                         help="also train a scratch student and add its accuracy to the curves")

    evaluate = commands.add_parser("evaluate-student", help="print a saved student's held-out accuracy")
    evaluate.add_argument("path", type=Path, help="student file written by train-student --save")
    return parser


def command_train_teacher(args) -> int:
    from sim.results import check_writable
    from sim.teacher import TEACHER_EPOCHS, TEACHER_SEED, train_teacher

    # Fail on a bad output path now, not after the training it would have stored.
    check_writable(args.output, "the teacher weights")
    epochs = TEACHER_EPOCHS if args.epochs is None else args.epochs
    seed = TEACHER_SEED if args.seed is None else args.seed
    run = train_teacher(load_split(), epochs=epochs, seed=seed, show_progress=True)
    run.teacher.save(args.output, held_out_accuracy=run.held_out_accuracy, epochs=epochs, seed=seed)
    print(f"teacher {run.teacher!r}: held-out accuracy {run.held_out_accuracy:.2%}, written to {args.output}")
    return 0


def format_report(report: dict) -> str:
    """Return the report as an aligned text table."""
    rows = [
        ("teacher accuracy", f"{report['teacher_accuracy']:.2%}"),
        ("scratch student accuracy",
         f"{report['scratch_accuracy_mean']:.2%} ± {report['scratch_accuracy_std']:.2%}"),
        ("distilled student accuracy",
         f"{report['distilled_accuracy_mean']:.2%} ± {report['distilled_accuracy_std']:.2%}"),
        ("distilled minus scratch",
         f"{report['distilled_accuracy_mean'] - report['scratch_accuracy_mean']:+.2%}"),
        ("teacher parameters", f"{report['teacher_params']:,}"),
        ("student parameters", f"{report['student_params']:,}"),
        ("parameter ratio", f"{report['teacher_params'] / report['student_params']:.1f}x"),
        ("inference speed ratio (measured)", f"{report['speed_ratio']:.1f}x"),
    ]
    if "omitted_class" in report:
        digit = report["omitted_class"]
        rows += [
            (f"digit {digit} accuracy, no correction", f"{report['omitted_class_accuracy_before']:.2%}"),
            (f"digit {digit} accuracy, bias +{report['bias_shift']:.2f}",
             f"{report['omitted_class_accuracy_after']:.2%}"),
            ("overall accuracy after correction", f"{report['overall_accuracy_after']:.2%}"),
        ]
    width = max(len(name) for name, _ in rows)
    header = (f"tau {report['temperature']:g}, alpha {report['alpha']:g}, {report['epochs']} epochs, "
              f"{report['seeds']} seeds (mean ± std over seeds, held-out split)")
    if "omitted_class" in report:
        header += f"\ndigit {report['omitted_class']} left out of the students' transfer set"
    return "\n".join([header] + [f"  {name.ljust(width)}  {value}" for name, value in rows])


def command_report(args) -> int:
    from sim.experiments import run_report

    bar = None if args.json else ProgressBar("training students", args.seeds)
    report = run_report(load_teacher(), load_split(), args.temperature, args.alpha, args.epochs,
                        args.seeds, omit_class=args.omit_class,
                        progress=None if bar is None else bar.update)
    if bar is not None:
        bar.close()
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def command_train_student(args) -> int:
    from sim.results import check_writable, load_student, save_student, write_curves
    from sim.training import Distiller

    # Fail on a bad output path now, not after the training it would have stored.
    if args.save is not None:
        check_writable(args.save, "the student")
    if args.curves is not None:
        check_writable(args.curves, "the training curves")
    teacher, split = load_teacher(), load_split()
    config = TrainingConfig(temperature=args.temperature, alpha=args.alpha, epochs=args.epochs,
                            seed=args.seed, omit_class=args.omit_class)
    distiller = Distiller(teacher, split, config)
    if args.load is not None:
        load_student(distiller, args.load)
        print(f"starting from {args.load}: held-out accuracy {distiller.student_accuracy:.2%}")
    distiller.run()
    scratch_history = None
    if args.race:
        scratch = Distiller(teacher, split, TrainingConfig(**{**config.__dict__, "alpha": 0.0}))
        scratch.run()
        scratch_history = scratch.history
        print(f"scratch student: held-out accuracy {scratch.student_accuracy:.2%}")
    print(f"distilled student {distiller.student!r}: held-out accuracy {distiller.student_accuracy:.2%}")

    if args.save is not None:
        print(f"student written to {save_student(distiller, args.save)}")
    if args.curves is not None:
        print(f"curves written to {write_curves(args.curves, distiller.history, scratch_history)}")
    return 0


def command_evaluate_student(args) -> int:
    from sim.metrics import accuracy
    from sim.model import STUDENT_SIZES
    from sim.results import load_student_model

    split = load_split()
    model = load_student_model(args.path, STUDENT_SIZES)
    print(f"{model!r} from {args.path}: held-out accuracy "
          f"{accuracy(model, split.test_images, split.test_labels):.2%}")
    return 0


COMMANDS = {
    "train-teacher": command_train_teacher,
    "report": command_report,
    "train-student": command_train_student,
    "evaluate-student": command_evaluate_student,
}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (AssetError, SettingError, OSError) as error:
        print(f"kd-sim: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
