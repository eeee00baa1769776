"""``dlwp ensemble``: averaged predictions of finished runs in a run folder of their own, optimised weights on a
shared validation split, and the checks that members predict the same data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.main import main

QUIET = ["output.console=false", "output.tensorboard=false", "output.plots=false"]
DIGITS = ["task=digits", "model=dense", "optimizer=adam", "epochs=4", "seed=1"]


def make_run(folder: Path, *overrides: str) -> Path:
    pipeline.run(compose_validated([*overrides, *QUIET]), folder, choices={})
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ensemble-runs")
    held_out = ["trainer.validation_size=0.2"]
    return {
        # two different networks validated on the same 20 % hold-out of digits' training rows
        "narrow": make_run(root / "narrow", *DIGITS, *held_out, "model.units=[32]"),
        "wide": make_run(root / "wide", *DIGITS, *held_out, "model.units=[128,64]"),
        "no_validation": make_run(root / "no_validation", *DIGITS, "model.units=[32]"),
        "gaussians": make_run(root / "gaussians", "task=two_gaussians", "debug=smoke"),
        "smoke_seed_1": make_run(root / "smoke_seed_1", "task=digits", "debug=smoke", "seed=1"),
        "smoke_seed_2": make_run(root / "smoke_seed_2", "task=digits", "debug=smoke", "seed=2"),
    }


def metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_an_ensemble_of_identical_members_equals_the_member(runs, tmp_path):
    member = runs["no_validation"]
    out = tmp_path / "same"
    assert main(["ensemble", str(member), str(member), f"hydra.run.dir={out}"]) == 0
    ensemble, alone = metrics(out), metrics(member)
    assert ensemble["status"] == "completed" and ensemble["weights"] == [0.5, 0.5]
    assert ensemble["test"] == ensemble["members"][0]["test"] == ensemble["members"][1]["test"]
    assert ensemble["test"]["accuracy"] == pytest.approx(alone["test"]["accuracy"], abs=1e-6)
    assert ensemble["test"]["loss"] == pytest.approx(alone["test"]["loss"], rel=1e-5)
    np.testing.assert_allclose(ensemble["predictions"]["probability"], alone["predictions"]["probability"], atol=1e-6)
    assert ensemble["predictions"]["predicted"] == alone["predictions"]["predicted"]
    assert ensemble["data"]["test_examples"] == 450 and "validation" not in ensemble
    config = (out / "config.yaml").read_text()
    assert "weights: equal" in config and str(member.resolve()) in config


def test_optimised_weights_sum_to_one_and_beat_equal_weights_on_validation(runs, tmp_path):
    out = tmp_path / "optimized"
    assert main(["ensemble", str(runs["narrow"]), str(runs["wide"]), "--weights", "optimized",
                 f"hydra.run.dir={out}"]) == 0
    found = metrics(out)
    weights = np.asarray(found["weights"])
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    validation = found["validation"]
    assert validation["examples"] == 270 and "validation_size=0.2" in validation["source"]
    assert validation["ensemble"]["loss"] <= validation["equal_weights"]["loss"] + 1e-6
    assert validation["ensemble"]["loss"] <= min(m["loss"] for m in validation["members"]) + 1e-6
    assert found["weight_fit"]["validation_loss"]["optimized"] <= found["weight_fit"]["validation_loss"]["equal"]
    for member, run in zip(found["members"], (runs["narrow"], runs["wide"])):   # recomputed as the run scored
        assert member["test"]["accuracy"] == pytest.approx(metrics(run)["test"]["accuracy"], abs=1e-6)
    assert found["members"][0]["test"] != found["members"][1]["test"]   # two different models


def test_equal_weights_report_the_shared_validation_split(runs, tmp_path):
    out = tmp_path / "equal"
    assert main(["ensemble", str(runs["narrow"]), str(runs["wide"]), f"hydra.run.dir={out}"]) == 0
    found = metrics(out)
    assert found["weights"] == [0.5, 0.5] and len(found["validation"]["members"]) == 2
    assert set(found["test"]) == {"accuracy", "loss"}


def test_runs_of_different_tasks_are_refused_before_a_folder_is_made(runs, tmp_path, capsys):
    out = tmp_path / "mixed"
    assert main(["ensemble", str(runs["narrow"]), str(runs["gaussians"]), f"hydra.run.dir={out}"]) == 2
    message = capsys.readouterr().err
    assert "same task" in message and "'digits'" in message and "'two_gaussians'" in message
    assert str(runs["gaussians"]) in message.replace("\n", "")
    assert not out.exists()


def test_runs_with_different_test_splits_are_refused(runs, tmp_path, capsys):
    out = tmp_path / "splits"
    assert main(["ensemble", str(runs["smoke_seed_1"]), str(runs["smoke_seed_2"]), f"hydra.run.dir={out}"]) == 2
    assert "must share the test split" in capsys.readouterr().err
    assert not out.exists()


def test_optimised_weights_need_a_shared_validation_split(runs, tmp_path, capsys):
    out = tmp_path / "no_validation"
    assert main(["ensemble", str(runs["narrow"]), str(runs["no_validation"]), "--weights", "optimized",
                 f"hydra.run.dir={out}"]) == 2
    message = capsys.readouterr().err.replace("\n", "")
    assert "validation split" in message and "has no validation split" in message
    assert "--weights equal" in message and not out.exists()


def test_usage_errors(runs, tmp_path, capsys):
    assert main(["ensemble", str(runs["narrow"])]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["ensemble", str(runs["narrow"]), str(runs["wide"]), "--weights", "best"]) == 2
    assert "equal or optimized" in capsys.readouterr().err
    assert main(["ensemble", str(runs["narrow"]), str(tmp_path / "nope")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert main(["ensemble", str(runs["narrow"]), str(runs["wide"]), "epochz=3"]) == 2
    assert "'epochz' is not a value" in capsys.readouterr().err
    assert main(["ensemble", str(runs["narrow"]), str(runs["wide"]), f"hydra.run.dir={runs['wide']}"]) == 2
    assert "holds another run" in capsys.readouterr().err
