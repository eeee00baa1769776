"""The examples/ kit, run the way a user runs it: a copy of examples/ in a fresh folder, ``dlwp`` started
as a process from there, with the kit's modules on PYTHONPATH and its configs given with -cd.

Covers a user config dir (list, run), a CSV task preset extending ``csv``, a user model body, dataset and
optimizer, ``dlwp predict`` on a table run, a smoke run, and bad tables stopped with exit status 2.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CONF = "examples/conf"   # relative to the folder dlwp runs in, as a user types it
ORCHARD = "examples/data/orchard.csv"


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """The folder a user works in: a fresh copy of examples/ (so nothing is written into the repository)."""
    root = tmp_path_factory.mktemp("kit")
    shutil.copytree(EXAMPLES, root / "examples", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


@pytest.fixture(scope="module")
def env(kit, tmp_path_factory) -> dict[str, str]:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(kit / "examples"), os.environ.get("PYTHONPATH")) if p)
    environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    environ["DLWP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    environ.pop("DLWP_DATA_DIR", None)
    return environ


def dlwp(kit: Path, env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlwp_cli.main", *args], cwd=kit, env=env, capture_output=True,
                          text=True, timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def one_line(text: str) -> str:
    return " ".join(text.split())


def data_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for row in list(csv.reader(f))[1:] if row)


# -- the kit itself ------------------------------------------------------------------------------------


def test_the_csv_is_what_its_script_writes(kit):
    """make_orchard.py documents the table: rerunning it gives the committed file, byte for byte."""
    committed = (kit / ORCHARD).read_bytes()
    (kit / ORCHARD).unlink()
    subprocess.run([sys.executable, str(kit / "examples/data/make_orchard.py")], check=True, timeout=60)
    assert (kit / ORCHARD).read_bytes() == committed
    assert len(committed) < 30_000
    with open(kit / ORCHARD, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 250 <= len(rows) <= 350
    assert {r["fruit"] for r in rows} == {"apple", "pear", "plum"}
    missing = sum(r[c].strip() in ("", "NA") for r in rows for c in r)
    assert 0.01 < missing / (len(rows) * len(rows[0])) < 0.05   # ~5 % of the cells of three columns
    assert len({r["tree_id"] for r in rows}) > 150


def test_list_shows_the_user_options(kit, env):
    experiments = ok(dlwp(kit, env, "list", "experiment", "-cd", CONF)).stdout
    assert "mine" in experiments and "ch02/mnist_dense" in experiments
    models = ok(dlwp(kit, env, "list", "model", "-cd", CONF)).stdout
    assert "resmlp" in models and "dense" in models


# -- experiment=mine: a CSV preset, a user model body and a user optimizer -----------------------------


@pytest.fixture(scope="module")
def mine(kit, env) -> Path:
    run_dir = kit / "runs" / "mine"
    ok(dlwp(kit, env, "run", "-cd", CONF, "experiment=mine", "epochs=3", "output.console=false",
            f"hydra.run.dir={run_dir}"))
    return run_dir


def test_mine_trains_on_the_table(mine):
    metrics = json.loads((mine / "metrics.json").read_text())
    assert metrics["problem"] == "classification"
    assert metrics["class_names"] == ["apple", "pear", "plum"]
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert isinstance(metrics["parameters"], int) and metrics["parameters"] > 0
    assert any("tree_id" in warning for warning in metrics["warnings"])
    assert len(metrics["history"]["loss"]) == 3
    schema = json.loads((mine / "schema.json").read_text())
    assert schema["label"] == "fruit"
    config = yaml.safe_load((mine / "config.yaml").read_text())
    assert config["model"]["_target_"] == "my_models.ResidualMLP"
    assert config["optimizer"]["_target_"] == "my_optimizers.ClippedSGD"
    assert config["task"]["name"] == "orchard"


def test_predict_answers_one_line_per_row(kit, env, mine):
    rows = data_rows(kit / ORCHARD)
    out = kit / "out.csv"
    result = ok(dlwp(kit, env, "predict", str(mine), ORCHARD, "--top", "2", "--output", str(out)))
    lines = result.stdout.splitlines()
    assert len(lines) == rows
    noise = re.compile(r"I0000|oneDNN|cudart_stub|cuda_platform|absl::InitializeLog|port\.cc")
    assert not noise.search(result.stderr), result.stderr  # TensorFlow's C++ start-up lines are filtered out
    for line in lines:
        fields = line.split("\t")
        assert len(fields) == 5
        assert fields[1] in ("apple", "pear", "plum") and fields[3] in ("apple", "pear", "plum")
        assert float(fields[2]) >= float(fields[4])
    with open(out, newline="", encoding="utf-8") as f:
        written = list(csv.reader(f))
    assert written[0][:3] == ["input", "prediction", "probability"]
    assert len(written) == rows + 1


def test_smoke_run_of_the_experiment(kit, env):
    run_dir = kit / "runs" / "smoke"
    ok(dlwp(kit, env, "run", "-cd", CONF, "experiment=mine", "debug=smoke", "output.console=false",
            f"hydra.run.dir={run_dir}"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["train_examples"] <= 8


# -- task=moons: a user dataset -------------------------------------------------------------------------


def test_user_dataset_model_and_optimizer(kit, env):
    run_dir = kit / "runs" / "moons"
    ok(dlwp(kit, env, "run", "-cd", CONF, "task=moons", "model=resmlp", "optimizer=clipped_sgd", "epochs=2",
            "output.console=false", f"hydra.run.dir={run_dir}"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["class_names"] == ["upper", "lower"]
    assert len(metrics["history"]["loss"]) == 2 and "accuracy" in metrics["test"]
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["task"]["dataset"]["_target_"] == "my_datasets.two_moons"
    assert config["optimizer"] == {"_target_": "my_optimizers.ClippedSGD", "learning_rate": 0.05, "clip": 1.0,
                                   "momentum": 0.9}


def test_user_trainer_mode(kit, env):
    run_dir = kit / "runs" / "warmup"
    ok(dlwp(kit, env, "run", "-cd", CONF, "task=moons", "model=resmlp", "trainer=warmup_fit", "epochs=2",
            "trainer.warmup_epochs=4", "output.console=false", f"hydra.run.dir={run_dir}"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["warmup"] == {"epochs": 4, "learning_rate": 0.001}
    assert len(metrics["history"]["loss"]) == 2 and "accuracy" in metrics["test"]
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["trainer"]["_target_"] == "my_trainers.WarmupFit" and config["trainer"]["validation_size"] == 0


# -- bad tables: exit status 2, a message naming the problem, no run folder -----------------------------

BAD = {
    "missing_file": ("task.path=does_not_exist.csv task.label=x", ["task.path", "does_not_exist.csv",
                                                                   "does not exist"]),
    "ragged_row": ("task.path=ragged.csv task.label=fruit", ["ragged.csv", "line 4", "4 fields",
                                                             "3 columns"]),
    "unknown_label": (f"task.path={ORCHARD} task.label=fruits", ["no column 'fruits'",
                                                                 "Did you mean 'fruit'?"]),
    "one_class": ("task.path=one_class.csv task.label=fruit", ["label column 'fruit'", "only one class",
                                                               "'apple'"]),
    "empty_file": ("task.path=empty.csv task.label=x", ["empty.csv", "is empty", "no header row"]),
}


@pytest.fixture(scope="module")
def bad_runs(kit, env) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    (kit / "ragged.csv").write_text("weight_g,color,fruit\n150,red,apple\n60,purple,plum\n70,purple,plum,x\n")
    (kit / "one_class.csv").write_text("weight_g,color,fruit\n" + "".join(f"{150 + i},red,apple\n" for i in range(9)))
    (kit / "empty.csv").write_text("")
    results = {}
    for name, (overrides, _) in BAD.items():
        run_dir = kit / "runs" / f"bad_{name}"
        results[name] = dlwp(kit, env, "run", "task=csv", *overrides.split(), f"hydra.run.dir={run_dir}"), run_dir
    return results


@pytest.mark.parametrize("case", list(BAD))
def test_bad_table_message(bad_runs, case):
    result, _ = bad_runs[case]
    assert result.returncode != 0
    message = one_line(result.stderr)
    for part in BAD[case][1]:
        assert part in message, message[-2000:]


@pytest.mark.parametrize("case", list(BAD))
def test_bad_table_stops_before_training(bad_runs, case):
    result, run_dir = bad_runs[case]
    assert result.returncode == 2, one_line(result.stderr)[-2000:]
    assert not run_dir.exists()
