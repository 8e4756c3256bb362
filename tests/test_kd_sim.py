"""The kd-sim command line: report, students, curves and bad options."""

import json

import numpy as np
import pytest

from sim.cli import main
from sim.results import read_curves

REPORT_KEYS = {
    "teacher_accuracy", "scratch_accuracy_mean", "scratch_accuracy_std", "distilled_accuracy_mean",
    "distilled_accuracy_std", "teacher_params", "student_params", "speed_ratio", "temperature",
    "alpha", "epochs", "seeds",
}


def run_json(capsys, *args):
    assert main(["report", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_report_json_keys_and_ranges(capsys):
    report = run_json(capsys, "--epochs", "3", "--seeds", "2", "--temperature", "5", "--alpha", "0.5")

    assert REPORT_KEYS <= set(report)
    for key in ("teacher_accuracy", "scratch_accuracy_mean", "distilled_accuracy_mean"):
        assert 0 <= report[key] <= 1
    assert report["temperature"] == 5.0
    assert report["alpha"] == 0.5
    assert report["epochs"] == 3
    assert report["seeds"] == 2
    assert report["teacher_params"] == 33_738
    assert report["student_params"] == 1_210
    assert report["speed_ratio"] > 1


def test_report_defaults_distillation_beats_scratch(capsys):
    report = run_json(capsys)

    assert report["distilled_accuracy_mean"] > report["scratch_accuracy_mean"]


def test_report_table(capsys):
    assert main(["report", "--epochs", "2", "--seeds", "1"]) == 0
    table = capsys.readouterr().out

    for row in ("teacher accuracy", "scratch student accuracy", "distilled student accuracy",
                "teacher parameters", "student parameters", "inference speed ratio (measured)"):
        assert row in table


def test_report_omit_class(capsys):
    report = run_json(capsys, "--omit-class", "3", "--temperature", "8", "--seeds", "2")

    assert report["omitted_class"] == 3
    assert report["omitted_class_accuracy_after"] > report["omitted_class_accuracy_before"]
    assert report["omitted_class_accuracy_after"] > 0.5, "well above the 10% of chance"
    assert report["bias_shift"] > 0
    assert 0 <= report["overall_accuracy_after"] <= 1


@pytest.mark.parametrize("args,message", [
    (["report", "--temperature", "0.5"], "invalid temperature 0.5: choose a value from 1 to 20"),
    (["report", "--temperature", "hot"], "invalid temperature 'hot': expected a number"),
    (["report", "--alpha", "1.5"], "invalid alpha 1.5: choose a value from 0 to 1"),
    (["report", "--epochs", "0"], "invalid epochs 0: choose a value from 1"),
    (["report", "--epochs", "2.5"], "invalid epochs '2.5': expected a whole number"),
    (["report", "--seeds", "-2"], "invalid seeds -2: choose a value from 1"),
    (["report", "--omit-class", "10"], "invalid omitted class 10: choose a value from 0 to 9"),
    (["train-teacher", "--seed", "-1"], "invalid seed -1: choose a value from 0 to 4294967295"),
    (["train-student", "--seed", "seven"], "invalid seed 'seven': expected a whole number"),
])
def test_bad_options_get_argparse_errors(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)

    error = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert message in error
    assert len(error.strip().splitlines()) == 1


def test_train_student_saves_and_evaluates(tmp_path, capsys):
    student_path, curves_path = tmp_path / "student.npz", tmp_path / "curves.csv"

    assert main(["train-student", "--epochs", "4", "--save", str(student_path),
                 "--curves", str(curves_path), "--race"]) == 0
    trained = capsys.readouterr().out
    assert main(["evaluate-student", str(student_path)]) == 0
    evaluated = capsys.readouterr().out

    accuracy_line = trained.splitlines()[1]
    assert accuracy_line.split()[-1] == evaluated.split()[-1]
    rows = read_curves(curves_path)
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4]
    assert all(0 <= row["scratch_accuracy"] <= 1 for row in rows)
    saved = np.load(student_path)
    assert saved["temperature"] == 3.0
    assert saved["seed"] == 0


def test_unwritable_folder_message(tmp_path, capsys):
    assert main(["train-student", "--epochs", "1", "--save", str(tmp_path / "missing" / "s.npz")]) == 1

    error = capsys.readouterr().err
    assert error.startswith("kd-sim: error: cannot write the student")
    assert "does not exist; create it first" in error


def test_damaged_student_message(tmp_path, capsys):
    path = tmp_path / "student.npz"
    path.write_text("not an archive")

    assert main(["evaluate-student", str(path)]) == 1

    assert "damaged" in capsys.readouterr().err


def test_train_student_continues_from_saved(tmp_path, capsys):
    path = tmp_path / "student.npz"
    assert main(["train-student", "--epochs", "3", "--save", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0].split()[-1]

    assert main(["train-student", "--epochs", "1", "--load", str(path)]) == 0

    assert capsys.readouterr().out.splitlines()[0] == f"starting from {path}: held-out accuracy {first}"


def test_train_student_rejects_damaged_load(tmp_path, capsys):
    path = tmp_path / "student.npz"
    path.write_bytes(b"garbage")

    assert main(["train-student", "--epochs", "1", "--load", str(path)]) == 1

    error = capsys.readouterr().err
    assert "student file" in error
    assert "damaged" in error


def test_output_path_checked_before_training(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    monkeypatch.setattr("sim.training.Distiller.run", lambda self: pytest.fail("trained before checking"))

    assert main(["train-student", "--curves", str(blocker / "c.csv")]) == 1

    assert "is a file, not a folder" in capsys.readouterr().err


def test_teacher_path_checked_first(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    monkeypatch.setattr("sim.teacher.train_teacher", lambda *args, **kwargs: pytest.fail("trained before checking"))

    assert main(["train-teacher", "--epochs", "1", "--output", str(blocker / "t.npz")]) == 1

    assert "cannot write the teacher weights" in capsys.readouterr().err


def test_report_table_names_omitted_digit(capsys):
    assert main(["report", "--epochs", "2", "--seeds", "1", "--omit-class", "4"]) == 0

    assert "digit 4 left out of the students' transfer set" in capsys.readouterr().out
