"""``dlwp report``: rows per run and book figure, summaries over seeds, CSV and Markdown output."""

from __future__ import annotations

import csv
import io
import json
import statistics

import pytest
import yaml

from dlwp_cli import run_folder, targets
from dlwp_cli.commands import report, report_groups
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
    # A smoke run's config differs from the real run's (source: synthetic): a group of its own, never in band.
    real, smoke = report.summary_rows(report.find_runs([str(root)]))
    assert real["runs"] == "1" and real["median"] == "0.886" and real["median in band"] == "yes"
    assert smoke["runs"] == "2 synthetic" and smoke["median in band"] == "n/a (synthetic)" and smoke["mean"] == ""
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


# -- report at scale: seeds as mean ± std, --group-by, --plot METRIC --against KEY ---------------------


def config_run(folder, seed, accuracy, *, rate=1e-3, units=(16,), overrides=(), val_loss=(0.6, 0.5, 0.55),
               output_console=True, data_dir="data"):
    """A finished run folder with a realistic config.yaml (the composed config), metrics.json and the
    overrides Hydra recorded."""
    folder.mkdir(parents=True)
    config = {"experiment": None, "name": "digits-dense", "seed": seed, "epochs": 3, "data_dir": data_dir,
              "source": "real", "model": {"_target_": "Dense", "units": list(units)},
              "optimizer": {"_target_": "keras.optimizers.RMSprop", "learning_rate": rate},
              "output": {"console": output_console}, "performance": {"steps_per_execution": seed}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"seed={seed}", *overrides]))
    metrics = {"name": "digits-dense", "status": "completed", "seed": seed,
               "choices": {"optimizer": "rmsprop", "model": "dense", "hydra/launcher": "basic"},
               "test": {"accuracy": accuracy, "loss": 1 - accuracy}, "history": {"val_loss": list(val_loss)}}
    run_folder.write_json(folder / "metrics.json", metrics)
    return folder


@pytest.fixture
def lr_sweep(tmp_path):
    """Learning rates 1e-4, 1e-2 and 1e-1, two seeds each, as a sweep folder leaves them."""
    root = tmp_path / "multirun"
    job = 0
    for rate, accuracies in ((1e-4, (0.30, 0.34)), (1e-2, (0.90, 0.94)), (1e-1, (0.70, 0.80))):
        for seed, accuracy in zip((1, 2), accuracies):
            config_run(root / f"{job}_digits-dense", seed, accuracy, rate=rate,
                       overrides=[f"optimizer.learning_rate={rate:g}"], val_loss=(1.0, 1 - accuracy, 1.0))
            job += 1
    return root


def test_runs_that_differ_only_by_seed_are_one_row_of_mean_and_std(tmp_path, capsys):
    root = tmp_path / "outputs"
    # data_dir, output.* and performance.* never change results: these three differ only by seed
    for seed, accuracy in ((1, 0.80), (2, 0.82), (3, 0.84)):
        config_run(root / f"s{seed}", seed, accuracy, output_console=seed == 1, data_dir=f"d{seed}")
    config_run(root / "wide", 1, 0.90, units=(64,), overrides=["model.units=[64]"])
    summary = report.summary_rows(report.find_runs([str(root)]))
    assert len(summary) == 2
    seeds, wide = summary
    assert seeds["runs"] == "3" and seeds["seeds"] == "1, 2, 3"
    assert seeds["key metrics"] == "test.accuracy=0.82 ± 0.02, test.loss=0.18 ± 0.02"  # sample std (n - 1)
    assert wide["runs"] == "1" and wide["key metrics"] == "test.accuracy=0.9, test.loss=0.1"
    assert seeds["model.units"] == "" and wide["model.units"] == "[64]"  # the override that tells them apart
    assert report.summary_columns(summary)[:2] == ("experiment", "model.units")
    # the per-run table stays one row per run, and says how to see the groups
    assert report.report_command([str(root)]) == 0
    out = capsys.readouterr().out
    assert "3 runs differ only by seed (1 group): --summary" in out
    assert all(name in out for name in ("s1", "s2", "s3", "wide"))
    # a different learning rate is a different group, not another seed
    config_run(root / "slow", 4, 0.5, rate=1e-4)
    assert [row["runs"] for row in report.summary_rows(report.find_runs([str(root)]))] == ["3", "1", "1"]


def test_summary_compares_a_group_with_the_book(runs):
    """Runs without config.yaml are grouped by experiment and overrides (seed aside)."""
    (row,) = report.summary_rows(report.find_runs([str(runs)]))
    values = (0.887, 0.886, 0.865)
    assert row["seeds"] == "1, 2, 3" and row["book metric"] == "test.accuracy" and row["book"] == "0.8833"
    assert row["std"] == f"{statistics.stdev(values):.2g}" == "0.012"
    assert row["key metrics"] == f"test.accuracy={statistics.fmean(values):.4g} ± 0.012, test.loss=0.3 ± 0"


def test_group_by_a_swept_key(lr_sweep, capsys):
    table, columns = report.group_rows(report.find_runs([str(lr_sweep)]), "optimizer.learning_rate")
    assert columns == ("optimizer.learning_rate", "runs", "test.accuracy", "test.loss")
    assert [row["optimizer.learning_rate"] for row in table] == ["0.0001", "0.01", "0.1"]  # ascending
    assert [row["runs"] for row in table] == ["2", "2", "2"]
    assert [row["test.accuracy"] for row in table] == [
        f"0.32 ± {statistics.stdev((0.30, 0.34)):.2g}", f"0.92 ± {statistics.stdev((0.90, 0.94)):.2g}",
        f"0.75 ± {statistics.stdev((0.70, 0.80)):.2g}"]
    assert table[0]["test.accuracy"] == "0.32 ± 0.028"
    # a config group groups by the option chosen; an override-only key by the override's value
    (by_group,), _ = report.group_rows(report.find_runs([str(lr_sweep)]), "optimizer")
    assert by_group["optimizer"] == "rmsprop" and by_group["runs"] == "6"
    (lr_sweep / "0_digits-dense" / ".hydra" / "overrides.yaml").write_text("- seed=1\n- +tag=first\n")
    (tagged,), _ = report.group_rows(report.find_runs([str(lr_sweep)]), "tag")
    assert tagged == {"tag": "first", "runs": "1", "test.accuracy": "0.3", "test.loss": "0.7"}
    assert "left out 5 of 6 runs that have no 'tag'" in capsys.readouterr().err
    # the command prints the grouped table, and CSV keeps one cell per mean ± std
    assert report.report_command([str(lr_sweep)], "csv", group_by="seed") == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["seed"], r["runs"]) for r in parsed] == [("1", "3"), ("2", "3")]


def test_group_by_a_key_no_run_has_names_the_keys_that_vary(lr_sweep):
    with pytest.raises(ConfigError) as err:
        report.report_command([str(lr_sweep)], group_by="optimizer.learnig_rate")
    message = str(err.value)
    assert "none of the 6 runs has the config key or override 'optimizer.learnig_rate'" in message
    assert "Did you mean 'optimizer.learning_rate'?" in message
    assert "Keys that vary between them: optimizer.learning_rate, seed." in message
    with pytest.raises(ConfigError, match="--summary and --group-by"):
        report.report_command([str(lr_sweep)], summary=True, group_by="seed")


def test_plot_against_a_swept_key(lr_sweep, tmp_path, monkeypatch, capsys):
    from matplotlib import image

    from dlwp_cli.commands.report_against import against_data

    runs = report.load_runs(report.find_runs([str(lr_sweep)]))
    data = against_data(runs, "val_loss", "optimizer.learning_rate")
    assert len(data.points) == 6 and data.left_out == 0
    assert sorted(y for _, y, _ in data.points) == pytest.approx([0.06, 0.1, 0.2, 0.3, 0.66, 0.7])  # best epoch
    assert [(v, n) for v, _, _, n in data.means] == [(1e-4, 2), (1e-2, 2), (1e-1, 2)]
    assert [m for _, m, _, _ in data.means] == pytest.approx([0.68, 0.08, 0.25])
    assert data.means[0][2] == pytest.approx(statistics.stdev((0.66, 0.70)))
    assert data.log_x and not data.categorical  # 1e-4 to 1e-1: three decades
    monkeypatch.chdir(tmp_path)
    assert report.report_command([str(lr_sweep)], "csv", plot="val_loss", against="optimizer.learning_rate") == 0
    png = lr_sweep / "compare_val_loss_vs_optimizer.learning_rate.png"
    pixels = image.imread(png)
    assert pixels.shape[0] > 200 and pixels.std() > 0.05  # a picture, not a blank canvas
    out = capsys.readouterr().out
    assert "val_loss against optimizer.learning_rate of 6 runs: multirun/compare_val_loss_vs_" in out
    grouped = list(csv.DictReader(io.StringIO(out.split("\n", 1)[1])))
    assert [r["val_loss"] for r in grouped] == ["0.68 ± 0.028", "0.08 ± 0.028", "0.25 ± 0.071"]


def test_plot_against_a_key_of_lists_is_categorical(tmp_path):
    from dlwp_cli.commands.report_against import against_data, plot_against

    root = tmp_path / "units"
    for i, (units, accuracy) in enumerate((((64, 64), 0.9), ((16, 16), 0.8), ((16, 16), 0.82), ((4,), 0.5))):
        config_run(root / str(i), i, accuracy, units=units, overrides=[f"model.units=[{','.join(map(str, units))}]"])
    runs = report.load_runs(report.find_runs([str(root)]))
    data = against_data(runs, "test.accuracy", "model.units")
    assert data.categorical and not data.log_x and len(data.points) == 4
    assert [report_groups.shown(v) for v, *_ in data.means] == ["[4]", "[16, 16]", "[64, 64]"]
    assert data.means[1][1:] == pytest.approx((0.81, statistics.stdev((0.8, 0.82)), 2))
    assert plot_against(data, tmp_path / "units.png").stat().st_size > 5000


def test_plot_against_errors(lr_sweep):
    with pytest.raises(ConfigError, match="no run has the metric 'val_accuracy'. These runs have: test.accuracy, "
                                          "test.loss, val_loss"):
        report.report_command([str(lr_sweep)], plot="val_accuracy", against="optimizer.learning_rate")
    with pytest.raises(ConfigError, match=r"'epochs' does not vary between these runs \(it is 3 in each\).*"
                                          r"Keys that vary: optimizer.learning_rate, seed"):
        report.report_command([str(lr_sweep)], plot="val_loss", against="epochs")
    with pytest.raises(ConfigError, match="--against seed goes with --plot METRIC"):
        report.report_command([str(lr_sweep)], against="seed")
    assert not list(lr_sweep.glob("*.png"))


@pytest.mark.parametrize(("metric", "expected"), [
    ("val_loss", 0.2), ("val_accuracy", 0.9), ("val_mae", 1.5), ("history.val_loss.-1", 0.3), ("test.accuracy", 0.88),
    ("cv.val_mae", 2.5), ("min.val_accuracy", 0.7), ("parameters", 100.0), ("nothing", None),
])
def test_the_final_value_of_a_metric(metric, expected):
    metrics = {"test": {"accuracy": 0.88}, "cv": {"mean": {"val_mae": 2.5}}, "parameters": 100,
               "history": {"val_loss": [0.5, 0.2, 0.3], "val_accuracy": [0.7, 0.9, 0.8], "val_mae": [2.0, 1.5, 1.7]}}
    assert report_groups.final_value(metrics, metric) == (None if expected is None else pytest.approx(expected))


def test_a_sweeps_objective_direction_decides_its_best_epoch():
    metrics = {"history": {"val_auc_gap": [0.5, 0.2, 0.3]},
               "objective": {"metric": "val_auc_gap", "direction": "min", "value": 0.2}}
    assert report_groups.final_value(metrics, "val_auc_gap") == 0.2
    assert report_groups.final_value({"history": {"val_auc_gap": [0.5, 0.2, 0.3]}}, "val_auc_gap") == 0.5
    assert report_groups.final_value({"objective": {"metric": "val_loss", "value": 0.4}}, "val_loss") == 0.4


def test_the_command_line_groups_plots_and_exits_2_on_bad_keys(lr_sweep, capsys):
    from dlwp_cli.main import main

    assert main(["report", str(lr_sweep), "--format", "csv", "--group-by", "optimizer.learning_rate"]) == 0
    assert [r["runs"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))] == ["2", "2", "2"]
    assert main(["report", str(lr_sweep), "--format", "csv", "--plot", "test.accuracy", "--against", "seed"]) == 0
    assert (lr_sweep / "compare_test.accuracy_vs_seed.png").is_file()
    assert main(["report", str(lr_sweep), "--group-by", "no.such.key"]) == 2
    assert "Keys that vary between them" in capsys.readouterr().err
