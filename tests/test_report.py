"""``dlwp report``: rows per run and book figure, summaries over seeds, CSV and Markdown output."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

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


# -- robustness, sweeps, width, plots and synthetic runs ------------------------------------------------


def sweep_run(folder, overrides, accuracy, source="real", val_loss=(0.5, 0.4)):
    """A finished run folder as a sweep job leaves it: metrics.json, config.yaml, .hydra/overrides.yaml."""
    fake_run(folder, 42, accuracy)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.update(status="completed", history={"val_loss": list(val_loss)}, data={"source": source},
                   baselines={"random": 0.5, "majority": 0.5})
    run_folder.write_json(folder / "metrics.json", metrics)
    (folder / "config.yaml").write_text(f"seed: 42\nsource: {source}\n")
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    return folder


@pytest.fixture
def sweep(tmp_path):
    root = tmp_path / "outputs" / "multirun" / "2026-01-01_00-00-00"
    for i, (dropout, rate, accuracy) in enumerate(((0, "1e-3", 0.88), (0.5, "1e-3", 0.885), (0.5, "1e-4", 0.87))):
        overrides = ["experiment=ch04/imdb_dense_final", f"model.dropout={dropout}",
                     f"optimizer.learning_rate={rate}", "epochs=4", "hydra.sweep.dir=outputs/multirun"]
        sweep_run(root / f"{i}_ch04/imdb_dense_final", overrides, accuracy, val_loss=(0.5, 0.4 - i / 100))
    return root


@pytest.mark.parametrize(("content", "problem"), [
    ("{\"test\": {\"accuracy\": 0.9", "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2, 3]", "expected a JSON object"),
    ("{\"targets\": [\"test.accuracy\"]}", "'targets' is not a list of objects"),
    ("{\"targets\": {\"metric\": \"x\"}}", "'targets' is not a list of objects"),
    ("{\"test\": [0.9]}", "'test' is not an object"),
    ("{\"test\": {\"accuracy\": \"high\"}}", "'test.accuracy' is not a number"),
])
def test_a_malformed_metrics_file_is_skipped_with_one_warning(runs, capsys, content, problem):
    bad = runs / "broken"
    bad.mkdir()
    (bad / "metrics.json").write_text(content)
    assert report.report_command([str(runs)], "csv") == 0
    out, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 1, err
    assert "warning" in warnings[0] and str(bad / "metrics.json") in warnings[0] and problem in warnings[0]
    assert "Traceback" not in err
    reported = list(csv.DictReader(io.StringIO(out)))
    assert sorted(r["run"] for r in reported) == ["seed1", "seed2", "seed3"]
    assert report.report_command([str(runs)], "csv", summary=True) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["runs"] == "3"


def test_swept_overrides_are_columns_of_their_own(sweep):
    table = report.rows(report.find_runs([str(sweep)]))
    assert report.columns_of(table) == ("run", "experiment", "key metrics", "model.dropout",
                                        "optimizer.learning_rate", *report.COLUMNS[3:])
    by_run = {row["run"]: row for row in table}
    assert set(by_run) == {"0_ch04/imdb_dense_final", "1_ch04/imdb_dense_final", "2_ch04/imdb_dense_final"}
    assert [(by_run[f"{i}_ch04/imdb_dense_final"]["model.dropout"],
             by_run[f"{i}_ch04/imdb_dense_final"]["optimizer.learning_rate"]) for i in range(3)] == \
        [("0", "1e-3"), ("0.5", "1e-3"), ("0.5", "1e-4")]
    assert "epochs" not in table[0] and "hydra.sweep.dir" not in table[0]  # the same in every run
    labels = sorted(report.run_labels(report.find_runs([str(sweep)])).values())
    assert labels == ["ch04/imdb_dense_final model.dropout=0 optimizer.learning_rate=1e-3",
                      "ch04/imdb_dense_final model.dropout=0.5 optimizer.learning_rate=1e-3",
                      "ch04/imdb_dense_final model.dropout=0.5 optimizer.learning_rate=1e-4"]


def test_overrides_are_read_as_yaml(tmp_path):
    """Quoted values and values with '=' come back as Hydra wrote them."""
    runs = []
    for i, value in enumerate(("'a=b: c'", "plain")):
        folder = sweep_run(tmp_path / f"r{i}", [f"task.text={value}", "seed=1"], 0.88)
        runs.append(folder)
    (tmp_path / "r1" / ".hydra" / "overrides.yaml").write_text("- task.text=plain\n- seed=1\n")
    table = report.rows(runs)
    assert [row["task.text"] for row in table] == ["'a=b: c'", "plain"]


def test_the_table_fits_a_100_column_terminal(sweep):
    from rich.console import Console

    long_path = sweep.parent / "a_much_longer_sweep_folder_name_to_test_2026-01-01_00-00-00"
    sweep.rename(long_path)
    table = report.rows(report.find_runs([str(long_path)]))
    out = Console(width=100, record=True)
    report.print_table(table, report.columns_of(table), out)
    text = out.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "experiment: ch04/imdb_dense_final" in text  # the same for every run: a title, not a column
    for row in table:  # every run on one line with its swept values; "3_<experiment>" is shown as "3"
        job = row["run"].split("_")[0]
        assert any(line.startswith(job + " ") and row["model.dropout"] in line
                   and row["optimizer.learning_rate"] in line for line in lines), row["run"]
    assert "dropout" in text and "learning_rate" in text  # swept keys, without their common prefix
    assert "test.accuracy" in text and "0.8833" in text  # the book figure is still there
    narrow = Console(width=60, record=True)
    report.print_table(table, report.columns_of(table), narrow)
    narrow_text = narrow.export_text()
    lines = narrow_text.splitlines()
    assert max(len(line) for line in lines) <= 60 and "not shown at this width: delta" in narrow_text
    for row in table:
        assert any(line.startswith(row["run"].split("_")[0] + " ") for line in lines)


def test_plot_goes_next_to_the_runs(sweep, tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert report.report_command([str(sweep)], "csv", plot="val_loss") == 0
    assert (sweep / "compare_val_loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(elsewhere.iterdir())
    one = sweep / "1_ch04" / "imdb_dense_final"
    assert report.report_command([str(one)], "csv", plot="val_loss") == 0
    assert (one / "compare_val_loss.png").is_file()
    assert report.report_command([str(sweep)], "csv", plot="val_loss", plot_file="here.png") == 0
    assert (elsewhere / "here.png").is_file()
    two = [str(sweep / "0_ch04" / "imdb_dense_final"), str(sweep / "2_ch04" / "imdb_dense_final")]
    with pytest.raises(ConfigError, match="No run has a 'loss' curve"):
        report.report_command(two, "csv", plot="loss")
    (sweep / "compare_val_loss.png").unlink()
    assert report.report_command(two, "csv", plot="val_loss") == 0  # two runs: the folder they share
    assert (sweep / "compare_val_loss.png").is_file() and not list(elsewhere.glob("compare_*"))


def test_synthetic_runs_are_marked_and_never_in_or_out_of_band(tmp_path):
    root = tmp_path / "outputs"
    sweep_run(root / "real", ["seed=1"], 0.886)
    sweep_run(root / "smoke", ["seed=1", "debug=smoke"], 0.5, source="synthetic")
    by_config = sweep_run(root / "smoke_config", ["seed=1", "debug=smoke"], 0.4)
    metrics = json.loads((by_config / "metrics.json").read_text())
    del metrics["data"]  # known from config.yaml only
    run_folder.write_json(by_config / "metrics.json", metrics)
    (by_config / "config.yaml").write_text("seed: 1\nsource: synthetic\n")
    table = {row["run"]: row for row in report.rows(report.find_runs([str(root)]))}
    assert table["real"]["in band"] == "yes"
    assert table["smoke"]["in band"] == table["smoke_config"]["in band"] == "n/a (synthetic)"
    assert table["smoke"]["delta"] == ""
    (row,) = report.summary_rows(report.find_runs([str(root)]))
    assert row["runs"] == "1 (+2 synthetic)" and row["median"] == "0.886" and row["median in band"] == "yes"
    (only,) = report.summary_rows(report.find_runs([str(root / "smoke"), str(root / "smoke_config")]))
    assert only["median in band"] == "n/a (synthetic)" and only["mean"] == ""


def test_sweep_summary_counts_failed_job_folders(sweep, tmp_path):
    from rich.console import Console

    failed_job = sweep / "3_ch04" / "imdb_dense_final"
    (failed_job / ".hydra").mkdir(parents=True)
    (failed_job / ".hydra" / "overrides.yaml").write_text("- model.dropout=0.9\n")
    out = Console(width=200, record=True)
    assert report.sweep_summary([sweep], out=out) == [failed_job.resolve()]
    text = out.export_text()
    assert "1 of 4 jobs failed" in text and "3_ch04/imdb_dense_final" in text
    (failed_job / ".hydra" / "overrides.yaml").unlink()
    out = Console(width=200, record=True)
    assert report.sweep_summary([sweep], out=out) == []
    assert "all 3 jobs completed" in out.export_text()
