"""task=timeseries: reading a CSV series, chronological splits and windows, the naive baseline, training in the
target's units, the forecast plot, `dlwp predict` on recent rows, and the bad inputs that stop a run before it
starts (exit 2, no run folder)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.commands.predict import predict_command
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.console import baseline_rows
from dlwp_cli.main import main
from dlwp_tasks.datasets.series_file import parse_series, read_series
from dlwp_tasks.datasets.timeseries import Windows, naive_errors, recent_windows, window_dataset

QUIET = ["output.console=false", "output.tensorboard=false"]


def write_series(path, rows=600, seed=0, gap_at=None, header=("time", "load", "temp", "site")):
    """Hourly readings: a daily cycle in ``temp`` with slow noise, ``load`` following it, a text ``site``."""
    rng = np.random.default_rng(seed)
    hours = np.arange(rows, dtype=np.int64)
    if gap_at is not None:
        hours[gap_at:] += 5                       # five missing hours
    stamps = np.datetime64("2021-03-01T00:00") + hours.astype("timedelta64[h]")
    noise = np.cumsum(rng.normal(0, 0.3, rows)) * 0.2
    temp = 10 + 5 * np.sin(2 * np.pi * hours / 24) + noise
    load = 100 + 3 * temp + rng.normal(0, 1, rows)
    lines = [",".join(header)]
    lines += [f"{str(t).replace('T', ' ')},{a:.3f},{b:.3f},north" for t, a, b in zip(stamps, load, temp)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------- windows and splits

def test_splits_follow_the_books_formula_from_the_row_count():
    for rows, sizes in ((420451, (210225, 105112, 105114)), (420551, (210275, 105137, 105139))):
        windows = Windows(rows, 6, 120, 144, 0.25, 0.25, book_windows=True)
        assert tuple(windows.sizes.values()) == sizes
        assert windows.offset == 858 and windows.needed == 859
    windows = Windows(420451, 6, 120, 144, 0.25, 0.25, book_windows=True)
    # listing 10.7: raw_data[:-858]; train and validation windows end at their split, test at the cut data's end
    assert windows.counts() == {"train": 210225 - 714, "validation": 105112 - 714, "test": 105114 - 858 - 714}
    assert Windows(420451, 6, 120, 144, 0.25, 0.25).counts()["test"] == 105114 - 144 - 714


def test_windows_hold_the_rows_and_targets_delay_rows_after_their_last_row():
    rows = 200
    values = np.stack([np.arange(rows), -np.arange(rows)], axis=1).astype(np.float32)
    target = np.arange(rows, dtype=np.float64) * 10
    for book in (False, True):
        windows = Windows(rows, 3, 4, 5, 0.25, 0.25, book_windows=book)
        for split in ("train", "validation", "test"):
            pairs = list(window_dataset(values, target, windows, split).as_numpy_iterator())
            starts = windows.starts(split)
            assert len(pairs) == len(starts) == windows.counts()[split] > 0
            for (window, y), start in zip(pairs, starts):
                rows_read = start + 3 * np.arange(4)
                assert window.shape == (4, 2) and np.array_equal(window[:, 0], rows_read)
                assert y == target[rows_read[-1] + 5]
            first, end = windows.bounds()[split]
            assert starts[0] == first and starts[-1] + 9 < end + 1   # the window stays inside its split
        errors = naive_errors(target, windows)
        assert errors == {split: 50.0 for split in ("train", "validation", "test")}  # 5 rows of 10 each


def test_the_training_windows_come_in_a_new_seeded_order_each_epoch():
    values = np.arange(400, dtype=np.float32)[:, None]
    windows = Windows(400, 1, 3, 1, 0.25, 0.25)

    def epochs(seed):
        dataset = window_dataset(values, values[:, 0].astype(np.float64), windows, "train", shuffle=True, seed=seed)
        return [[float(w[0, 0]) for w, _ in dataset.as_numpy_iterator()] for _ in range(2)]

    first, second = epochs(3)
    assert sorted(first) == sorted(second) == list(range(198)) and first != second
    assert epochs(3) == [first, second]


# ----------------------------------------------------------------------------- reading

def test_a_plain_file_reads_fast_and_as_the_careful_reader_does(tmp_path):
    from dlwp_tasks.datasets.series_file import _careful_series

    text = write_series(tmp_path / "s.csv", rows=50).read_text()
    fast, careful = parse_series(text, "s.csv"), _careful_series(text, "s.csv", ",")
    assert fast.header == careful.header and fast.text == careful.text
    assert all(np.array_equal(fast.numeric[k], careful.numeric[k]) for k in careful.numeric)
    assert list(fast.numeric) == ["load", "temp"] and list(fast.text) == ["time", "site"]
    assert fast.lines[0] == 2 and fast.lines[-1] == 51


def test_gaps_and_missing_cells_are_warned_about_never_refused(tmp_path):
    path = write_series(tmp_path / "s.csv", rows=400, gap_at=100)
    lines = [line.split(",") for line in path.read_text().splitlines()]
    lines[50][2], lines[51][2] = "NA", ""             # rows 49 and 50: temp missing
    path.write_text("\n".join(",".join(fields) for fields in lines))
    cfg = compose_validated(["task=timeseries", f"task.path={path}", "task.target=temp"])
    from dlwp_tasks.datasets.timeseries import load_timeseries

    splits = load_timeseries(**{k: v for k, v in dict(cfg.task.dataset).items() if k != "_target_"}, layers=False)
    warned = " ".join(splits.warnings)
    assert "column 'time': 1 of the 399 steps between rows differ from the usual step of 1 h" in warned
    assert "the largest, 6 h, is between lines 101 and 102" in warned
    assert "column 'temp': 2 missing cells filled with the previous row's value" in warned
    schema = splits.schema
    assert schema["features"] == ["load", "temp"] and schema["time_column"] == "time" and schema["ignored"] == ["site"]
    series = read_series(path)
    assert np.isnan(series.numeric["temp"][49]) and not series.bad_cells


# ----------------------------------------------------------------------------- bad input: exit 2, nothing written

@pytest.mark.parametrize(("edit", "overrides", "said"), [
    (None, ["task.target=temperature"], ["no column 'temperature'", "time, load, temp, site",
                                         "Did you mean 'temp'?"]),
    ("bad_cell", ["task.target=temp"], ["line 31, column 'load' holds 'n/a?'", "not a number"]),
    (None, ["task.target=temp", "task.sequence_length=30", "task.sampling_rate=3", "task.delay=12"],
     ["(sequence_length - 1) * sampling_rate + delay + 1 = 100 rows", "the validation split has 80 rows"]),
    (None, ["task.target=site"], ["column 'site' (task.target) holds text"]),
])
def test_bad_series_stop_before_the_run_folder(tmp_path, capsys, edit, overrides, said):
    path = write_series(tmp_path / "s.csv", rows=320)
    if edit == "bad_cell":
        lines = path.read_text().splitlines()
        lines[30] = ",".join([lines[30].split(",")[0], "n/a?", *lines[30].split(",")[2:]])
        path.write_text("\n".join(lines))
    run_dir = tmp_path / "run"
    assert main(["run", "task=timeseries", f"task.path={path}", *overrides, f"hydra.run.dir={run_dir}"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert not run_dir.exists()
    for part in said:
        assert part in message, message


# ----------------------------------------------------------------------------- a run end to end

@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    path = write_series(folder / "s.csv", rows=600, gap_at=300)
    run_dir = folder / "run"
    cfg = compose_validated(["task=timeseries", f"task.path={path}", "task.target=temp", "epochs=4", *QUIET])
    metrics = pipeline.run(cfg, run_dir, choices={})
    return path, run_dir, metrics


def test_a_series_trains_in_the_targets_units_next_to_the_naive_baseline(series_run):
    import keras

    from dlwp_cli.loading import load_model

    _, run_dir, metrics = series_run
    schema = json.loads((run_dir / "schema.json").read_text())
    assert metrics["parameters"] == 7 * 2 * 16 + 16 + 17      # Flatten (7 steps x 2 features), Dense 16, Dense 1
    assert set(metrics["baselines"]["naive"]) == {"validation", "test"}
    assert metrics["baselines"]["naive"] == schema["naive"]
    assert metrics["data"]["split_rows"] == {"train": 300, "validation": 150, "test": 150}
    assert (run_dir / "forecast.png").stat().st_size > 10_000 and metrics["forecast_plot"] == "forecast.png"
    # the recorded test MAE is the model's error in degrees, recomputed from its raw outputs
    from dlwp_tasks.datasets.timeseries import load_timeseries

    splits = load_timeseries(str(run_dir.parent / "s.csv"), "temp", sequence_length=7)
    pairs = list(splits.x_test.batch(1000).as_numpy_iterator())[0]
    model = load_model(run_dir, compile=False)
    predicted = np.asarray(model.predict(pairs[0], verbose=0))[:, 0]
    assert abs(np.mean(np.abs(predicted - pairs[1])) - metrics["test"]["mae"]) < 1e-3
    assert abs(np.mean(np.abs(pairs[0][:, -1, 1] - pairs[1])) - schema["naive"]["test"]) < 1e-4
    assert isinstance(model.get_layer("target_scale"), keras.layers.Layer)


def test_predict_forecasts_delay_rows_after_the_files_last_row(series_run, tmp_path, capsys):
    path, run_dir, _ = series_run
    lines = path.read_text().splitlines()
    recent = tmp_path / "recent.csv"
    recent.write_text("\n".join([lines[0], *lines[-10:]]))
    capsys.readouterr()
    assert predict_command(str(run_dir), [str(recent)]) == 0
    name, value = capsys.readouterr().out.strip().split("\t")
    schema = json.loads((run_dir / "schema.json").read_text())
    window = recent_windows(recent, schema)
    assert name == str(recent) and window.shape == (1, 7, 2)
    np.testing.assert_array_equal(window[0, :, 1], read_series(recent).numeric["temp"][-7:].astype(np.float32))
    # a fresh process loads the saved model (its window layers registered through the run's config) alike
    code = (f"import sys; from dlwp_cli.loading import load_model; import numpy as np; "
            f"m = load_model({str(run_dir)!r}, compile=False); "
            f"print(float(m.predict(np.load(sys.argv[1]), verbose=0)[0, 0]))")
    np.save(tmp_path / "window.npy", window)
    fresh = subprocess.run([sys.executable, "-c", code, str(tmp_path / "window.npy")], capture_output=True,
                           text=True, check=True)
    assert abs(float(fresh.stdout.strip().splitlines()[-1]) - float(value)) < 1e-4
    short = tmp_path / "short.csv"
    short.write_text("\n".join([lines[0], *lines[-3:]]))
    assert main(["predict", str(run_dir), str(short)]) == 2
    assert "needs (sequence_length - 1) * sampling_rate + 1 = 7" in " ".join(capsys.readouterr().err.split())


def test_the_naive_trainer_scores_the_windows_the_task_gives(series_run, tmp_path):
    path, run_dir, metrics = series_run
    cfg = compose_validated(["task=timeseries", f"task.path={path}", "task.target=temp", "trainer=random_baseline",
                             "trainer._target_=dlwp_tasks.naive_forecast.NaiveBaseline", *QUIET])
    naive = pipeline.run(cfg, tmp_path / "naive", choices={})
    assert "parameters" not in naive and not (tmp_path / "naive" / "model.keras").exists()
    assert naive["test"]["mae"] == pytest.approx(metrics["baselines"]["naive"]["test"], abs=1e-5)
    assert naive["validation"]["mae"] == pytest.approx(metrics["baselines"]["naive"]["validation"], abs=1e-5)


def test_smoke_reads_a_few_windows_of_the_users_file(tmp_path):
    path = write_series(tmp_path / "s.csv", rows=400)
    cfg = compose_validated(["task=timeseries", f"task.path={path}", "task.target=load", "model=rnn", "debug=smoke",
                             *QUIET])
    metrics = pipeline.run(cfg, tmp_path / "run", choices={})
    assert metrics["steps_per_epoch"] <= 2 and metrics["train_examples"] == 8
    assert metrics["parameters"] == 4 * (16 * (2 + 16) + 16) + 17


# ----------------------------------------------------------------------------- console and report

def test_the_naive_baseline_is_shown_next_to_the_model():
    from dlwp_cli.commands.report import _key_metrics, shape_problem

    metrics = {"test": {"mae": 2.55}, "baselines": {"naive": {"validation": 2.44, "test": 2.62}}}
    assert baseline_rows(metrics["baselines"]) == [("naive baseline (validation)", 2.44),
                                                   ("naive baseline (test)", 2.62)]
    assert baseline_rows({"majority": 0.5}) == [("chance (majority)", 0.5)]
    assert shape_problem(metrics) is None
    assert _key_metrics(metrics) == "test.mae=2.55, naive.validation=2.44, naive.test=2.62"
    assert shape_problem({"baselines": {"naive": {"test": "x"}}}) == "'baselines.naive.test' is not a number"
