"""``dlwp report``: rows per run and book figure, summaries over seeds, CSV and Markdown output."""

from __future__ import annotations

import csv
import io

import pytest

from dlwp_cli import run_folder, targets
from dlwp_cli.commands import report
from dlwp_cli.errors import ConfigError

TARGET = {"metric": "test.accuracy", "book": 0.8833, "band": [0.87, 0.89], "ref": "listing 4.10"}


def fake_run(folder, seed, accuracy):
    folder.mkdir(parents=True)
    metrics = {"experiment": "ch04/imdb_dense_final", "name": "ch04/imdb_dense_final", "seed": seed,
               "test": {"accuracy": accuracy, "loss": 0.3}}
    metrics["targets"] = [targets.check(TARGET, metrics)]
    run_folder.write_json(folder / "metrics.json", metrics)


@pytest.fixture
def runs(tmp_path):
    for seed, accuracy in ((1, 0.887), (2, 0.886), (3, 0.865)):
        fake_run(tmp_path / "outputs" / f"seed{seed}", seed, accuracy)
    (tmp_path / "outputs" / "unfinished").mkdir()  # no metrics.json: not a finished run
    return tmp_path / "outputs"


def test_rows_compare_each_run_with_the_book(runs):
    table = report.rows(report.find_runs([str(runs)]))
    assert len(table) == 3
    by_seed = {row["run"].rsplit("seed", 1)[1]: row for row in table}
    assert by_seed["3"]["measured"] == "0.865" and by_seed["3"]["in band"] == "no"
    assert by_seed["1"]["delta"] == "+0.0037" and by_seed["1"]["in band"] == "yes"


def test_summary_over_seeds(runs):
    (row,) = report.summary_rows(report.find_runs([str(runs)]))
    assert row["runs"] == "3" and row["median"] == "0.886" and row["median in band"] == "yes"
    assert float(row["mean"]) == pytest.approx((0.887 + 0.886 + 0.865) / 3, abs=1e-4)


def test_csv_and_markdown(runs, tmp_path):
    out = tmp_path / "report.md"
    assert report.report_command([str(runs)], "markdown", str(out)) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("| run | experiment |") and len(lines) == 2 + 3
    parsed = list(csv.DictReader(io.StringIO(report.to_csv(report.rows(report.find_runs([str(runs)]))))))
    assert {r["book"] for r in parsed} == {"0.8833"}


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        report.find_runs([str(tmp_path / "nope")])


@pytest.mark.parametrize(("path", "expected"), [
    ("test.accuracy", 0.9), ("history.loss.-1", 0.2), ("max.val_accuracy", 0.8), ("min.loss", 0.2),
    ("cv.folds.1.val_mae", 3.0), ("test.nothing", None), ("history.loss.9", None),
])
def test_target_lookup(path, expected):
    metrics = {"test": {"accuracy": 0.9}, "history": {"loss": [0.5, 0.2], "val_accuracy": [0.7, 0.8]},
               "cv": {"folds": [{"val_mae": 2.0}, {"val_mae": 3.0}]}}
    assert targets.lookup(metrics, path) == expected
