"""``dlwp data inspect``: split sizes, class balance, target distribution, missing values, column types and
leakage hints, checked against numbers computed here from the data itself; pictures; no run folder."""

from __future__ import annotations

import csv
import gzip
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli.commands import data
from dlwp_cli.commands.data import inspect_command, inspect_task, split_arrays
from dlwp_cli.inspect_plots import write_pictures
from dlwp_cli.inspection import Block, classification_leaks, regression_leaks
from dlwp_tasks.datasets.base import DataSplits
from shared_data import SHARED_DATASETS, shared_file

DLWP = shutil.which("dlwp") or str(Path(sys.executable).parent / "dlwp")
OFFLINE = [f"data_dir={SHARED_DATASETS}", "download=false"]


def dlwp(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([DLWP, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=dict(os.environ))


def write_customers(path: Path, rows: int = 300, copy_label: bool = False, seed: int = 0) -> None:
    """Random customers: an ID, numbers and categories with empty cells, and a churn label unrelated to
    them (optionally copied into another column)."""
    rng = np.random.default_rng(seed)
    header = ["customer_id", "age", "city", "income", "plan", "churn"] + (["churn_copy"] if copy_label else [])
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(rows):
            churn = str(rng.choice(["yes", "no"], p=[0.3, 0.7]))
            row = [1000 + i, "" if i % 13 == 0 else int(rng.integers(18, 80)),
                   "" if i % 11 == 0 else str(rng.choice(["Oslo", "Bergen", "Trondheim"])),
                   f"{rng.normal(50, 15):.1f}", str(rng.choice(["basic", "pro"])), churn]
            writer.writerow(row + ([churn] if copy_label else []))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def table_inspection(path: Path, label: str = "churn"):
    return inspect_task(["task=csv", f"task.path={path}", f"task.label={label}"])[2]


def test_a_table_reports_sizes_balance_missing_cells_and_column_types(tmp_path):
    path = tmp_path / "customers.csv"
    write_customers(path)
    rows = read_csv(path)
    report = table_inspection(path)

    n_test = math.ceil(0.2 * len(rows))
    n_val = math.ceil(0.2 * (len(rows) - n_test))
    assert report.sizes == {"train": len(rows) - n_test - n_val, "validation": n_val, "test": n_test}

    (output,) = report.outputs
    assert output.name == "churn" and output.problem == "classification"
    per_class = Counter()
    for split, balance in output.balance.items():
        assert sum(c.count for c in balance) == report.sizes[split]
        per_class.update({c.name: c.count for c in balance})
    assert per_class == Counter(row["churn"] for row in rows)

    empty = {name: sum(not row[name].strip() for row in rows) for name in rows[0]}
    assert empty["age"] > 0 and empty["city"] > 0
    assert {c["name"]: c["empty"] for c in report.columns} == empty
    assert report.file_rows == len(rows)
    for name in ("age", "city"):
        assert sum(report.missing[name].values()) == empty[name]
    assert "income" not in report.missing

    types = {c["name"]: c["type"] for c in report.columns}
    expected = {name: "numeric" if all(is_number(row[name]) for row in rows if row[name].strip()) else "categorical"
                for name in rows[0] if name != "churn"}
    assert types == {"churn": "label", **expected}
    assert expected["city"] == "categorical" and expected["age"] == "numeric"


def test_a_copy_of_the_label_is_flagged_and_an_id_column_is_not(tmp_path):
    leaky, clean = tmp_path / "leaky.csv", tmp_path / "clean.csv"
    write_customers(leaky, copy_label=True)
    write_customers(clean)
    assert [leak.feature for leak in table_inspection(leaky).leaks] == ["churn_copy"]
    assert table_inspection(clean).leaks == []


def test_unique_strings_are_grouped_and_never_flagged():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=400)
    ids = np.array([f"C{i:05d}" for i in range(400)], dtype=object).reshape(-1, 1)
    copy = np.where(y == 1, "yes", "no").astype(object).reshape(-1, 1)
    leaks = classification_leaks([Block("customer", ids), Block("answer", copy)], y)
    assert [(leak.feature, leak.score) for leak in leaks] == [("answer", 1.0)]


def test_regression_leak_by_correlation():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    x = rng.normal(size=(500, 4))
    x[:, 2] = 3 * y - 1 + rng.normal(scale=0.01, size=500)
    x[:, 3] = np.arange(500)
    leaks = regression_leaks([Block("", x)], y)
    assert [leak.feature for leak in leaks] == ["feature 2"] and leaks[0].score > 0.99


def test_synthetic_boston_target_distribution():
    _, splits, report = inspect_task(["task=boston", "source=synthetic"])
    target = report.outputs[0].targets["train"]
    y = np.asarray(splits.y_train, dtype=np.float64)
    assert report.outputs[0].problem == "regression" and report.sizes == {"train": 404, "test": 102}
    assert (target.min, target.median, target.max) == pytest.approx((y.min(), np.median(y), y.max()))
    assert (target.mean, target.std) == pytest.approx((y.mean(), y.std()))


def test_boston_target_distribution():
    path = shared_file("boston/boston_housing.npz")
    with np.load(path) as npz:
        y = npz["y"]
    order = np.arange(len(y))
    np.random.RandomState(113).shuffle(order)
    y_train, y_test = y[order][:404], y[order][404:]
    report = inspect_task(["task=boston", *OFFLINE])[2]
    assert report.sizes == {"train": 404, "test": 102}
    for split, values in (("train", y_train), ("test", y_test)):
        target = report.outputs[0].targets[split]
        got = (target.min, target.q1, target.median, target.q3, target.max, target.mean, target.std)
        want = (values.min(), *np.percentile(values, [25, 50, 75]), values.max(), values.mean(), values.std())
        assert got == pytest.approx(want)
    assert report.leaks == []


def mnist_labels(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), dtype=np.uint8, offset=8)


def test_mnist_sizes_balance_and_samples(tmp_path):
    train = mnist_labels(shared_file("mnist/train-labels-idx1-ubyte.gz"))
    test = mnist_labels(shared_file("mnist/t10k-labels-idx1-ubyte.gz"))
    shared_file("mnist/train-images-idx3-ubyte.gz")
    shared_file("mnist/t10k-images-idx3-ubyte.gz")
    report = inspect_task(["task=mnist", *OFFLINE])[2]
    assert report.sizes == {"train": 60000, "test": 10000}
    balance = report.outputs[0].balance
    assert [c.count for c in balance["train"]] == np.bincount(train).tolist()
    assert [c.count for c in balance["test"]] == np.bincount(test).tolist()
    assert report.inputs[0].shape == "(28, 28)" and report.inputs[0].dtype == "uint8"
    assert report.leaks == [] and "784 features" in report.leak_note
    written = write_pictures(report, tmp_path / "pictures")
    assert {p.name for p in written} == {"samples.png", "labels.png"}
    assert (tmp_path / "pictures" / "samples.png").stat().st_size > 5000


def test_imdb_sizes_balance_and_no_leak_check():
    shared_file("imdb/aclImdb_labeled.tar.gz")
    shared_file("imdb/imdb_word_index.json")
    report = inspect_task(["task=imdb", *OFFLINE])[2]
    assert report.sizes == {"train": 25000, "test": 25000}
    for split in ("train", "test"):
        assert [c.count for c in report.outputs[0].balance[split]] == [12500, 12500]
        assert report.lengths[split].count == 25000
    assert report.leaks is None and "n/a" in report.leak_note


class PairDataset:
    """The part of an unbatched tf.data.Dataset of (inputs, target) pairs that the inspection reads."""

    element_spec = None

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y

    def as_numpy_iterator(self):
        return zip(self.x, self.y)


def test_a_dataset_split_is_read_up_to_a_cap(monkeypatch):
    monkeypatch.setattr(data, "DATASET_ELEMENTS", 100)
    x, y = np.arange(450.0).reshape(150, 3), np.arange(150) % 2
    xs, ys, notes = split_arrays(DataSplits(PairDataset(x, y), None, PairDataset(x[:40], y[:40]), None))
    assert xs["train"].shape == (100, 3) and np.array_equal(ys["train"], y[:100])
    assert xs["test"].shape == (40, 3) and len(ys["test"]) == 40
    assert notes == ["train: a tf.data.Dataset; only its first 100 elements are inspected"]


def test_pictures_default_to_the_inspect_folder(tmp_path, monkeypatch, capsys):
    path = tmp_path / "customers.csv"
    write_customers(path)
    monkeypatch.chdir(tmp_path)
    assert inspect_command(["task=csv", f"task.path={path}", "task.label=income"]) == 0
    assert sorted(p.name for p in (tmp_path / "inspect" / "csv").iterdir()) == ["features.png", "labels.png"]
    printed = capsys.readouterr().out
    assert "Target 'income' (regression)" in printed and "inspect/csv/labels.png" in printed


def test_cli_writes_pictures_to_output_and_makes_no_run_folder(tmp_path):
    write_customers(tmp_path / "customers.csv", copy_label=True)
    result = dlwp("data", "inspect", "task=csv", "task.path=customers.csv", "--output", "pictures",
                  "task.label=churn", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Class balance of 'churn'" in result.stdout and "Missing values" in result.stdout
    assert "warning: feature 'churn_copy' alone predicts 'churn'" in " ".join(result.stdout.split())
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == ["features.png", "labels.png"]
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "inspect").exists()


def test_unknown_task_is_one_clear_error(tmp_path):
    result = dlwp("data", "inspect", "task=nosuchtask", cwd=tmp_path)
    assert result.returncode == 2
    assert "Unknown task 'nosuchtask'" in result.stderr and "Traceback" not in result.stderr


def test_data_help_imports_no_tensorflow(tmp_path):
    code = ("import sys\nfrom dlwp_cli.main import main\n"
            "for words in (['data', '--help'], ['data', 'inspect', '--help'], ['--help']):\n"
            "    try:\n        main(words)\n    except SystemExit:\n        pass\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("dlwp data inspect [OVERRIDES...] [--output DIR]") >= 3
