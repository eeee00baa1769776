"""task=csv end to end: training from a table, the saved schema, and `dlwp predict` giving back the run's own
test predictions."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.commands.predict import predict_command
from dlwp_cli.config.compose import compose_validated


def write_table(path, rows=240, seed=0):
    """Three separable kinds of parcel, with a text category, missing cells and an ID column."""
    rng = np.random.default_rng(seed)
    kinds = ["letter", "parcel", "crate"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "weight_kg", "length_cm", "carrier", "kind"])
        for i in range(rows):
            k = i % 3
            weight = [0.1, 3.0, 40.0][k] * rng.uniform(0.7, 1.3)
            length = [30, 60, 150][k] * rng.uniform(0.8, 1.2)
            carrier = rng.choice(["post", "courier", "freight"], p=[[0.8, 0.2, 0], [0.3, 0.6, 0.1], [0, 0.2, 0.8]][k])
            writer.writerow([f"P{i:05d}", "NA" if i % 17 == 0 else f"{weight:.3f}", f"{length:.1f}",
                             "" if i % 23 == 0 else carrier, kinds[k]])


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    table = folder / "parcels.csv"
    write_table(table)
    run_dir = folder / "run"
    cfg = compose_validated(["task=csv", f"task.path={table}", "task.label=kind", "epochs=40",
                             "output.console=false", "output.plots=false", "output.tensorboard=false",
                             "output.predict_samples=48"])
    pipeline.run(cfg, run_dir, choices={})
    return table, run_dir, json.loads((run_dir / "metrics.json").read_text())


def test_a_table_trains_with_the_defaults(table_run):
    _, run_dir, metrics = table_run
    assert metrics["problem"] == "classification" and metrics["class_names"] == ["crate", "letter", "parcel"]
    assert metrics["test"]["accuracy"] >= 0.9 > metrics["baselines"]["majority"]
    assert any("'id'" in warning and "dropped" in warning for warning in metrics["warnings"])
    schema = json.loads((run_dir / "schema.json").read_text())
    columns = {c["name"]: c for c in schema["columns"]}
    assert columns["weight_kg"]["missing_indicator"] and columns["id"]["type"] == "dropped"
    assert "<missing>" in columns["carrier"]["categories"]
    assert schema["rows"]["test"] == 48 and len(schema["rows"]["test_lines"]) == 48
    config = (run_dir / "config.yaml").read_text()
    assert "activation: softmax" in config and "sparse_categorical_crossentropy" in config


def test_predict_gives_back_the_runs_own_test_predictions(table_run, tmp_path, capsys):
    table, run_dir, metrics = table_run
    schema = json.loads((run_dir / "schema.json").read_text())
    lines = table.read_text().splitlines()
    test_rows = tmp_path / "test_rows.csv"
    # The test rows in the run's order, with their label column (which predict ignores).
    test_rows.write_text("\n".join([lines[0], *(lines[n - 1] for n in schema["rows"]["test_lines"])]) + "\n")
    capsys.readouterr()
    assert predict_command(str(run_dir), [str(test_rows)], output=str(tmp_path / "answers.csv"), top=3) == 0
    printed = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert len(printed) == 48 and all(len(fields) == 7 for fields in printed)
    names = metrics["class_names"]
    predicted = [names.index(fields[1]) for fields in printed]
    probability = [float(fields[2]) for fields in printed]
    assert predicted == metrics["predictions"]["predicted"]
    np.testing.assert_allclose(probability, metrics["predictions"]["probability"], rtol=1e-4)
    with open(tmp_path / "answers.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 48 and set(rows[0]) >= {"input", "prediction", "probability"}


def test_regression_reports_mae_in_the_targets_units(tmp_path):
    table = tmp_path / "weights.csv"
    write_table(table, rows=150)
    cfg = compose_validated(["task=csv", f"task.path={table}", "task.label=weight_kg", "epochs=3",
                             "output.console=false", "output.plots=false", "output.tensorboard=false"])
    pipeline.run(cfg, tmp_path / "run", choices={})
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["problem"] == "regression" and "mae" in metrics["test"]
    assert "baselines" in metrics and not metrics["baselines"]  # no chance level for regression
    capped = float(np.mean(np.abs([0.1, 3.0, 40.0])))  # the scale of the target, in kg
    assert 0 < metrics["test"]["mae"] < 10 * capped


def test_predict_on_an_array_task_takes_raw_npy_examples(tmp_path, capsys):
    """digits: raw 8x8 images in a .npy, prepared as the run prepared its training arrays (features.json)."""
    from dlwp_tasks.datasets.digits import load_digits

    cfg = compose_validated(["task=digits", "epochs=2", "output.console=false", "output.plots=false",
                             "output.tensorboard=false"])
    pipeline.run(cfg, tmp_path / "run", choices={})
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    raw = load_digits(test_fraction=0.25).x_test[:10]
    np.save(tmp_path / "digits.npy", raw)
    capsys.readouterr()
    assert predict_command(str(tmp_path / "run"), [str(tmp_path / "digits.npy")]) == 0
    printed = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [fields[0] for fields in printed] == [f"{tmp_path / 'digits.npy'}[{i}]" for i in range(10)]
    assert [int(fields[1]) for fields in printed] == metrics["predictions"]["predicted"]
    np.testing.assert_allclose([float(f[2]) for f in printed], metrics["predictions"]["probability"], rtol=1e-4)
