"""The installed ``dlwp`` command: fast help and listing, runs, sweeps, reports, and clean errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DLWP = shutil.which("dlwp") or str(Path(sys.executable).parent / "dlwp")


def dlwp(*args, cwd, env=None, timeout=300):
    merged = {**os.environ, **(env or {})}
    return subprocess.run([DLWP, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=merged)


def test_help_and_list_do_not_import_tensorflow(tmp_path):
    code = ("import sys; from dlwp_cli.main import main; main(['list']); main(['--help']) if False else None; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ch04/imdb_dense_final" in result.stdout


def test_every_verb_is_in_help_and_its_help_imports_no_tensorflow(tmp_path):
    code = ("import sys\nfrom dlwp_cli.main import main\n"
            "for words in (['run', '--help'], ['list', '--help'], ['show', '--help'], ['report', '--help'],\n"
            "              ['launch', '--help'], ['predict', '--help'], ['--help']):\n"
            "    try:\n        main(words)\n    except SystemExit:\n        pass\n"
            "print('checked')\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "checked" in result.stdout
    for usage in ("dlwp run [OVERRIDES...]", "dlwp predict RUN_DIR INPUT... [--file PATH] [--output FILE] [--top K]",
                  "dlwp launch --workers N", "usage: dlwp predict"):
        assert usage in result.stdout, usage


def test_list_one_group(tmp_path):
    result = dlwp("list", "task", cwd=tmp_path)
    assert result.returncode == 0
    for task in ("digits", "mnist", "imdb", "reuters", "boston"):
        assert task in result.stdout


def test_show_prints_the_validated_config(tmp_path):
    result = dlwp("show", "experiment=ch04/boston_kfold", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "folds: 4" in result.stdout and "ch04/boston_kfold" in result.stdout


def test_default_run_from_any_directory(tmp_path):
    result = dlwp("run", "epochs=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (metrics_file,) = tmp_path.glob("outputs/digits-dense/*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert len(metrics["history"]["loss"]) == 2 and "accuracy" in metrics["test"]
    assert "test.accuracy" in result.stdout


def test_multirun_sweep_and_report(tmp_path):
    result = dlwp("run", "-m", "model.units=[8],[16]", "epochs=1", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = sorted(tmp_path.glob("sweep/*/metrics.json"))
    assert len(runs) == 2
    widths = {json.loads(p.read_text())["parameters"] for p in runs}
    assert widths == {64 * 8 + 8 + 8 * 10 + 10, 64 * 16 + 16 + 16 * 10 + 10}
    report = dlwp("report", "sweep", "--format", "csv", "-o", "report.csv", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    lines = (tmp_path / "report.csv").read_text().splitlines()
    assert lines[0].startswith("run,experiment,key metrics") and len(lines) == 3
    plot = dlwp("report", "sweep", "--plot", "loss", "--plot-file", "loss.png", cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "loss.png").stat().st_size > 1000
    labels = report_labels(tmp_path / "sweep")
    assert sorted(labels) == ["digits-dense model.units=[16]", "digits-dense model.units=[8]"]


def report_labels(folder):
    from dlwp_cli.commands.report import find_runs, run_labels

    return list(run_labels(find_runs([str(folder)])).values())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["task=nosuchtask"], "Unknown task 'nosuchtask'"),
        (["model=nosuchmodel"], "Unknown model 'nosuchmodel'"),
        (["epohcs=3"], "Did you mean 'epochs'"),
        (["task=imdb", "model=convnet"], "Models that fit task 'imdb': bow, dense"),
        (["epochs=abc"], "'epochs' must be an integer"),
        (["epochs=-1"], "'epochs' must be at least 1"),
        (["-m", "epochs=1,-2"], "'epochs' must be at least 1"),
    ],
)
def test_bad_input_fails_fast_without_traceback(tmp_path, args, expected):
    result = dlwp("run", *args, cwd=tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "outputs").exists()


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = dlwp("run", f"hydra.run.dir={blocker}/run", cwd=tmp_path)
    assert result.returncode != 0
    assert "Cannot write the run folder" in result.stderr and "hydra.run.dir" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_offline_names_the_file(tmp_path):
    empty = tmp_path / "data"
    empty.mkdir()
    result = dlwp("run", "task=mnist", f"data_dir={empty}", "download=false", "hydra.run.dir=run", cwd=tmp_path,
                  env={"KERAS_HOME": str(tmp_path / "keras")})
    assert result.returncode != 0
    assert "train-images-idx3-ubyte.gz" in result.stderr and "DLWP_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())  # a failed run, not a result
    assert recorded["status"] == "failed" and "train-images-idx3-ubyte.gz" in recorded["error"]
    assert "train-images-idx3-ubyte.gz" in (tmp_path / "run" / "error.log").read_text()


def test_glob_sweep_reaches_nested_experiments(tmp_path):
    result = dlwp("run", "-m", "experiment=glob(ch05/mnist_lr_*)", "debug=smoke", "output.console=false",
                  "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    experiments = {json.loads(p.read_text())["experiment"] for p in tmp_path.glob("sweep/**/metrics.json")}
    assert experiments == {"ch05/mnist_lr_1e-2", "ch05/mnist_lr_too_high"}


def test_a_reader_that_stops_early_gets_no_traceback():
    """`dlwp run --help | head -1`: the pipe closes before dlwp has written; dlwp exits as a shell command does
    (141) without a traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "dlwp_cli.main", "run", "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before the interpreter has started: every write of the help meets a closed pipe
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
