"""The CSV-table dataset: reading, types, the split, training-row statistics, errors and new rows."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dlwp_tasks.datasets.cache import sha256_of
from dlwp_tasks.datasets.table import MISSING, count_rows, describe, load_csv, read_rows
from dlwp_tasks.errors import DataError


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table(header: list[str], rows: list[list[object]], delimiter: str = ",") -> str:
    return "\n".join(delimiter.join(str(v) for v in row) for row in [header, *rows]) + "\n"


def classes_table(counts: dict[str, int], seed: int = 0) -> str:
    """rowid (numeric, 0..n-1), x (numeric), label; labels in blocks of the given sizes."""
    rng = np.random.default_rng(seed)
    labels = [name for name, n in counts.items() for _ in range(n)]
    return table(["rowid", "x", "label"], [[i, f"{rng.normal():.3f}", c] for i, c in enumerate(labels)])


def trained_ids(splits) -> np.ndarray:
    return splits.x_train["rowid"][:, 0].astype(int)


def held_out_ids(splits) -> np.ndarray:
    return splits.x_test["rowid"][:, 0].astype(int)


# ----------------------------------------------------------------------------- problem and labels

def test_text_label_is_classification_with_sorted_class_names(tmp_path):
    path = write(tmp_path, classes_table({"virginica": 10, "setosa": 10, "versicolor": 10}))
    splits = load_csv(path, "label")
    assert splits.problem == "classification"
    assert splits.class_names == ["setosa", "versicolor", "virginica"]
    assert splits.y_train.dtype == np.int64 and splits.y_train.shape == (24,)
    assert splits.y_test.shape == (6,)
    assert splits.postprocessing is None and splits.schema["target"] is None
    # class index follows the sorted names: rowid 0..9 are virginica (index 2)
    ids, y = trained_ids(splits), splits.y_train
    assert set(y[ids < 10]) == {2} and set(y[(ids >= 10) & (ids < 20)]) == {0}


def test_few_integers_are_classes_sorted_numerically(tmp_path):
    labels = ["10", "2", "2.0", "1", "10.0", "1"] * 5
    path = write(tmp_path, table(["x", "y"], [[i, v] for i, v in enumerate(labels)]))
    splits = load_csv(path, "y")
    assert splits.problem == "classification"
    assert splits.class_names == ["1", "2", "10"]      # numeric order; 2.0 is the class 2
    assert sorted(np.bincount(np.concatenate([splits.y_train, splits.y_test]))) == [10, 10, 10]


def test_boolean_label_is_binary_classification(tmp_path):
    labels = ["True", "false", "TRUE", "False"] * 5
    path = write(tmp_path, table(["x", "ok"], [[i, v] for i, v in enumerate(labels)]))
    splits = load_csv(path, "ok")
    assert splits.problem == "classification" and splits.class_names == ["false", "true"]


def test_float_label_is_regression_scaled_on_training_rows(tmp_path):
    rng = np.random.default_rng(1)
    price = rng.normal(100, 15, 40)
    path = write(tmp_path, table(["x", "price"], [[i, f"{p:.4f}"] for i, p in enumerate(price)]))
    splits = load_csv(path, "price")
    assert splits.problem == "regression" and splits.class_names is None
    assert splits.y_train.dtype == np.float32 and splits.y_train.shape == (32,)
    target = splits.schema["target"]
    assert target["mean"] == pytest.approx(float(np.mean(splits.y_train.astype(np.float64))), rel=1e-6)
    assert target["std"] == pytest.approx(float(np.std(splits.y_train.astype(np.float64))), rel=1e-6)
    assert target["mean"] != pytest.approx(float(np.mean(price)), rel=1e-9)   # test rows left out
    post = splits.postprocessing.get_config()
    assert (post["mean"], post["std"]) == (target["mean"], target["std"])


def test_many_distinct_integers_are_regression(tmp_path):
    path = write(tmp_path, table(["x", "y"], [[i, i * 3] for i in range(30)]))
    assert load_csv(path, "y", max_classes=20).problem == "regression"
    assert load_csv(path, "y", max_classes=30).problem == "classification"


def test_problem_override(tmp_path):
    path = write(tmp_path, table(["x", "y"], [[i, i % 3] for i in range(30)]))
    splits = load_csv(path, "y", problem="regression")
    assert splits.problem == "regression" and splits.y_train.dtype == np.float32
    path = write(tmp_path, table(["x", "y"], [[i, [0.5, 1.5][i % 2]] for i in range(30)]), "f.csv")
    assert load_csv(path, "y").problem == "regression"
    splits = load_csv(path, "y", problem="classification")
    assert splits.class_names == ["0.5", "1.5"]


# ----------------------------------------------------------------------------- column types

def test_column_types_are_guessed(tmp_path):
    rows = [[f" {i * 1e3:.0e} ", f"-{i}.5", ["a", "b"][i % 2], i % 2] for i in range(20)]
    path = write(tmp_path, table(["sci", "neg", "word", "y"], rows))
    splits = load_csv(path, "y")
    kinds = {c["name"]: c["type"] for c in splits.schema["columns"]}
    assert kinds == {"sci": "numeric", "neg": "numeric", "word": "categorical"}
    assert splits.x_train["sci"].dtype == np.float32 and splits.x_train["sci"].shape == (16, 1)
    assert splits.x_train["word"].dtype == object and splits.x_train["word"].shape == (16, 1)
    assert all(type(v) is str for v in splits.x_train["word"][:, 0])
    assert set(splits.x_train["neg"][:, 0]) <= {-(i + 0.5) for i in range(20)}


def test_mostly_numbers_column_with_a_word_names_line_column_and_value(tmp_path):
    cells = [str(i) for i in range(9)] + ["oops"]          # 90 % numbers -> numeric
    path = write(tmp_path, table(["a", "y"], [[c, i % 2] for i, c in enumerate(cells)]))
    with pytest.raises(DataError) as err:
        load_csv(path, "y")
    message = str(err.value)
    assert str(path) in message and "line 11" in message and "'a'" in message and "'oops'" in message
    assert "\n" not in message
    # 80 % numbers -> categorical, no error
    cells = [str(i) for i in range(8)] + ["oops", "x"]
    path = write(tmp_path, table(["a", "y"], [[c, i % 2] for i, c in enumerate(cells)]), "b.csv")
    assert load_csv(path, "y").schema["columns"][0]["type"] == "categorical"


def test_column_types_override(tmp_path):
    rows = [[i % 4, ["u", "v"][i % 2], f"n{i}", i % 2] for i in range(20)]
    path = write(tmp_path, table(["code", "word", "note", "y"], rows))
    splits = load_csv(path, "y", column_types={"code": "categorical", "note": "ignore"})
    columns = {c["name"]: c for c in splits.schema["columns"]}
    assert columns["code"]["type"] == "categorical" and columns["code"]["categories"] == ["0", "1", "2", "3"]
    assert columns["note"] == {"name": "note", "type": "ignored", "reason": "column_types"}
    assert set(splits.x_train) == {"code", "word"}
    assert splits.x_train["code"].dtype == object


def test_forced_numeric_column_with_a_word_names_line_and_column(tmp_path):
    rows = [[["u", "v"][i % 2], i % 2] for i in range(10)]
    path = write(tmp_path, table(["word", "y"], rows))
    with pytest.raises(DataError) as err:
        load_csv(path, "y", column_types={"word": "numeric"})
    assert "line 2" in str(err.value) and "'word'" in str(err.value) and "'u'" in str(err.value)


@pytest.mark.parametrize("column_types, words", [
    ({"wrod": "numeric"}, ["'wrod'", "Did you mean 'word'"]),
    ({"word": "number"}, ["'number'", "numeric, categorical, ignore"]),
    ({"y": "ignore"}, ["label column 'y'"]),
])
def test_bad_column_types(tmp_path, column_types, words):
    path = write(tmp_path, table(["word", "y"], [[["u", "v"][i % 2], i % 2] for i in range(10)]))
    with pytest.raises(DataError) as err:
        load_csv(path, "y", column_types=column_types)
    for word in words:
        assert word in str(err.value)
    assert str(path) in str(err.value)


# ----------------------------------------------------------------------------- training-row statistics

def test_statistics_and_categories_come_from_training_rows_only(tmp_path):
    n = 40
    labels = [i % 2 for i in range(n)]
    first = load_csv(write(tmp_path, table(["rowid", "y"], [[i, labels[i]] for i in range(n)]), "a.csv"), "y")
    train, test = set(trained_ids(first)), set(held_out_ids(first))
    a_test_row = min(test)
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, n) + np.where(np.arange(n) == a_test_row, 1000.0, 0.0)   # an outlier in test
    colour = ["red" if i % 3 else "blue" for i in range(n)]
    colour[a_test_row] = "only_in_test"
    gappy = [f"{v:.3f}" for v in values]
    gappy[a_test_row] = "NA"                      # its one missing cell is in a test row
    rows = [[i, f"{values[i]:.3f}", gappy[i], colour[i], labels[i]] for i in range(n)]
    second = load_csv(write(tmp_path, table(["rowid", "v", "gappy", "colour", "y"], rows), "b.csv"), "y")
    assert set(trained_ids(second)) == train and set(held_out_ids(second)) == test  # the split depends on labels

    columns = {c["name"]: c for c in second.schema["columns"]}
    v_train = np.array([float(f"{values[i]:.3f}") for i in sorted(train)])
    assert columns["v"]["median"] == pytest.approx(np.median(v_train))
    assert columns["v"]["mean"] == pytest.approx(v_train.mean())
    assert columns["v"]["std"] == pytest.approx(v_train.std())
    assert abs(columns["v"]["mean"]) < 1                      # the 1000 outlier (a test row) left out
    assert columns["v"]["missing_indicator"] is False
    assert columns["gappy"]["missing_indicator"] is False     # its NA is in a test row
    assert np.isnan(second.x_test["gappy"][:, 0]).sum() == 1
    assert columns["colour"]["categories"] == ["blue", "red"]
    assert "only_in_test" in second.x_test["colour"][:, 0]


def test_missing_cells(tmp_path):
    tokens = ["", "NA", "NaN", "null", " na ", "NULL", "nan"]
    rows = []
    for i in range(40):
        missing = i % 4 == 0
        rows.append([tokens[i % len(tokens)] if missing else str(i),
                     tokens[(i + 1) % len(tokens)] if missing else ["a", "b"][i % 2], i % 2])
    splits = load_csv(write(tmp_path, table(["num", "cat", "y"], rows)), "y")
    columns = {c["name"]: c for c in splits.schema["columns"]}
    x = np.concatenate([splits.x_train["num"], splits.x_test["num"]])[:, 0]
    assert np.isnan(x).sum() == 10
    train = splits.x_train["num"][:, 0]
    assert columns["num"]["missing_indicator"] is True
    assert columns["num"]["median"] == pytest.approx(np.nanmedian(train))
    filled = np.where(np.isnan(train), np.nanmedian(train), train)
    assert columns["num"]["mean"] == pytest.approx(filled.mean(), rel=1e-6)
    assert columns["num"]["std"] == pytest.approx(filled.std(), rel=1e-6)
    assert columns["cat"]["categories"] == [MISSING, "a", "b"]
    cats = np.concatenate([splits.x_train["cat"], splits.x_test["cat"]])[:, 0]
    assert list(cats).count(MISSING) == 10


def test_rows_without_label_are_dropped_with_a_warning(tmp_path):
    rows = [[i, ["a", "b"][i % 2]] for i in range(20)] + [[20, ""], [21, "NA"], [22, " null "]]
    splits = load_csv(write(tmp_path, table(["x", "y"], rows)), "y")
    assert len(splits.y_train) + len(splits.y_test) == 20
    rows = dict(splits.schema["rows"])
    assert len(rows.pop("test_lines")) == 4
    assert rows == {"train": 16, "validation": 0, "test": 4, "dropped_unlabeled": 3}
    assert any("3 row(s)" in w and "'y'" in w for w in splits.warnings)


def test_high_cardinality_and_empty_columns_are_dropped_with_warnings(tmp_path):
    rows = [[f"id{i}", "", ["a", "b"][i % 2], i % 2] for i in range(40)]
    splits = load_csv(write(tmp_path, table(["name", "blank", "ab", "y"], rows)), "y", max_categories=10)
    columns = {c["name"]: c for c in splits.schema["columns"]}
    assert columns["name"] == {"name": "name", "type": "dropped", "reason": "32 values > max_categories=10"}
    assert columns["blank"]["type"] == "ignored"
    assert set(splits.x_train) == {"ab"}
    assert any("'name'" in w and "max_categories=10" in w for w in splits.warnings)
    assert any("'blank'" in w for w in splits.warnings)
    assert "dropped: name (32 values > max_categories=10)" in describe(splits.schema)


# ----------------------------------------------------------------------------- split

def test_stratified_seeded_split(tmp_path):
    path = write(tmp_path, classes_table({"a": 30, "b": 20, "c": 10}))
    one, again, other = (load_csv(path, "label", seed=seed) for seed in (3, 3, 4))
    assert np.array_equal(held_out_ids(one), held_out_ids(again))
    assert np.array_equal(trained_ids(one), trained_ids(again))
    assert set(held_out_ids(one)) != set(held_out_ids(other))
    assert np.bincount(one.y_test).tolist() == [6, 4, 2]              # 20 % of each class
    assert np.bincount(one.y_train).tolist() == [24, 16, 8]
    assert set(trained_ids(one)).isdisjoint(held_out_ids(one))
    assert sorted([*trained_ids(one), *held_out_ids(one)]) == list(range(60))
    # the labels travel with their rows
    for ids, y in ((trained_ids(one), one.y_train), (held_out_ids(one), one.y_test)):
        assert np.array_equal(y, np.where(ids < 30, 0, np.where(ids < 50, 1, 2)))


def test_small_classes_keep_a_training_row(tmp_path):
    path = write(tmp_path, classes_table({"big": 20, "pair": 2, "solo": 1}))
    splits = load_csv(path, "label", test_size=0.5)
    assert np.bincount(splits.y_train, minlength=3)[1:].tolist() == [1, 1]
    assert len(splits.y_test) == 12
    assert any("single row" in w and "solo" in w for w in splits.warnings)


def test_limit_caps_both_splits(tmp_path):
    splits = load_csv(write(tmp_path, classes_table({"a": 50, "b": 50})), "label", limit=7)
    assert len(splits.y_train) == len(splits.x_train["x"]) == 7
    assert len(splits.y_test) == len(splits.x_test["rowid"]) == 7
    assert splits.schema["rows"]["train"] == 7


@pytest.mark.parametrize("delimiter, given", [(";", ";"), ("\t", "\t"), ("\t", "\\t")])
def test_other_delimiters(tmp_path, delimiter, given):
    rows = [[f"{i}.5", ["a b", "c"][i % 2], ["x", "y"][i % 2]] for i in range(10)]
    path = write(tmp_path, table(["n", "c", "label"], rows, delimiter))
    splits = load_csv(path, "label", delimiter=given)
    assert [c["type"] for c in splits.schema["columns"]] == ["numeric", "categorical"]
    assert splits.schema["delimiter"] == delimiter
    assert splits.schema["columns"][1]["categories"] == ["a b", "c"]


def test_bom_blank_lines_quotes_and_info(tmp_path):
    text = "\ufeffname,y\n\n" + "".join(f'"x, {i % 2}",{i % 2}\n\n' for i in range(10)) + "\n  \n"
    path = write(tmp_path, text)
    splits = load_csv(path, "y")
    assert splits.schema["columns"][0]["name"] == "name"
    assert splits.schema["columns"][0]["categories"] == ["x, 0", "x, 1"]
    assert splits.info == {"source": "real", "files": [{"path": str(path), "sha256": sha256_of(path)}]}
    json.dumps(splits.schema)                                   # JSON-serializable


def test_slash_in_column_name_becomes_an_input_name(tmp_path):
    splits = load_csv(write(tmp_path, table(["a/b", "y"], [[i, i % 2] for i in range(10)])), "y")
    column = splits.schema["columns"][0]
    assert column["name"] == "a/b" and column["input"] == "a_b"
    assert set(splits.x_train) == {"a_b"}


# ----------------------------------------------------------------------------- bad tables

def error_of(path, **kwargs) -> str:
    kwargs.setdefault("label", "y")
    with pytest.raises(DataError) as err:
        load_csv(path, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_label_column_suggests_the_closest(tmp_path):
    path = write(tmp_path, table(["sepal", "species"], [[1, "a"], [2, "b"]]))
    message = error_of(path, label="specie")
    assert str(path) in message and "sepal, species" in message and "Did you mean 'species'" in message


def test_wrong_delimiter_is_hinted(tmp_path):
    path = write(tmp_path, table(["a", "y"], [[1, 0], [2, 1]], ";"))
    assert "task.delimiter=';'" in error_of(path)


def test_one_class(tmp_path):
    message = error_of(write(tmp_path, table(["x", "y"], [[i, "same"] for i in range(5)])))
    assert "only one class" in message and "'same'" in message


def test_empty_file_and_header_only(tmp_path):
    assert "empty" in error_of(write(tmp_path, "", "e.csv"))
    assert "empty" in error_of(write(tmp_path, "\n\n", "e2.csv"))
    assert "no data rows" in error_of(write(tmp_path, "x,y\n", "h.csv"))


@pytest.mark.parametrize("bad_row, counts", [("1,2,3", "3 fields"), ("1", "1 fields")])
def test_ragged_row_names_line_and_counts(tmp_path, bad_row, counts):
    path = write(tmp_path, "x,y\n1,0\n\n2,1\n" + bad_row + "\n3,0\n")
    message = error_of(path)
    assert str(path) in message and "line 5" in message and counts in message and "2 columns" in message


def test_quoted_newline_keeps_line_numbers(tmp_path):
    path = write(tmp_path, 'x,y\n"two\nlines",0\n1,2,3\n')
    assert "line 4" in error_of(path)


def test_missing_path_folder_and_non_utf8(tmp_path):
    assert "does not exist" in error_of(tmp_path / "nope.csv")
    assert "folder" in error_of(tmp_path)
    path = tmp_path / "latin.csv"
    path.write_bytes("x,y\n1,a\ncaf\u00e9,b\n".encode("latin-1"))
    message = error_of(path)
    assert "UTF-8" in message and "line 3" in message and str(path) in message


def test_bad_header(tmp_path):
    assert "twice" in error_of(write(tmp_path, "x,y,x\n1,2,3\n"))
    assert "column 2" in error_of(write(tmp_path, "x,,y\n1,2,3\n", "b.csv"))


def test_bad_options(tmp_path):
    path = write(tmp_path, classes_table({"a": 5, "b": 5}))
    assert "task.problem" in error_of(path, label="label", problem="clustering")
    for size in (0, 1, 1.5, -0.1):
        assert "test_size" in error_of(path, label="label", test_size=size)
    assert "task.label" in error_of(path, label=None)
    with pytest.raises(DataError, match="task.path"):
        load_csv(None, "y")
    path = write(tmp_path, table(["x", "y"], [[1, 2.5]]), "one.csv")
    assert "at least one" in error_of(path, problem="regression")


def test_regression_with_a_word_in_the_label(tmp_path):
    path = write(tmp_path, table(["x", "y"], [[1, 2.5], [2, 3.5], [3, "n/a"], [4, 1.0]]))
    message = error_of(path, problem="regression")
    assert "line 4" in message and "'n/a'" in message


# ----------------------------------------------------------------------------- new rows and counting

@pytest.fixture
def trained(tmp_path):
    rows = [[f"{i}", ["red", "blue"][i % 2], ["a", "b"][i % 2]] for i in range(20)]
    return load_csv(write(tmp_path, table(["n", "colour", "label"], rows), "train.csv"), "label").schema


def test_read_rows_with_label_extra_columns_and_unseen_category(tmp_path, trained):
    path = write(tmp_path, "extra,colour,label,n\nq,green,a,1.5\nq,red,b,NA\n\nq,,a,3\n", "new.csv")
    names, x = read_rows(path, trained)
    assert names == [f"{path}:2", f"{path}:3", f"{path}:5"]
    assert set(x) == {"n", "colour"}
    assert x["n"].dtype == np.float32 and x["n"].shape == (3, 1)
    assert x["n"][0, 0] == 1.5 and np.isnan(x["n"][1, 0])
    assert x["colour"].dtype == object and x["colour"][:, 0].tolist() == ["green", "red", MISSING]


def test_read_rows_errors(tmp_path, trained):
    with pytest.raises(DataError, match="lacks the column.*colour"):
        read_rows(write(tmp_path, "n\n1\n", "a.csv"), trained)
    with pytest.raises(DataError, match=r"line 3, column 'n' holds 'abc'"):
        read_rows(write(tmp_path, "n,colour\n1,red\nabc,red\n", "b.csv"), trained)
    with pytest.raises(DataError, match="line 2 has 3 fields"):
        read_rows(write(tmp_path, "n,colour\n1,red,x\n", "c.csv"), trained)


def test_count_rows(tmp_path):
    path = write(tmp_path, "a,b\n" + "".join(f"{i},{i}\n" for i in range(5000)) + "\n\n")
    start = time.perf_counter()
    assert count_rows(path) == 5000
    assert time.perf_counter() - start < 0.5
    assert count_rows(write(tmp_path, "a;b\n1;2\n", "s.csv"), ";") == 1
    with pytest.raises(DataError, match="does not exist"):
        count_rows(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="empty"):
        count_rows(write(tmp_path, "", "e.csv"))


def test_describe(tmp_path):
    rows = [[i, "" if i % 5 == 0 else i, ["x", "y", "z"][i % 3], ["setosa", "virginica"][i % 2]] for i in range(20)]
    schema = load_csv(write(tmp_path, table(["a", "b", "island", "species"], rows)), "species").schema
    lines = describe(schema)
    assert lines[0] == "problem: classification (label 'species', 2 classes: setosa, virginica)"
    assert "numeric: a, b" in lines and "missing-value indicator: b" in lines
    assert "categorical (one-hot): island (3)" in lines
    assert lines[-1] == "features: 7"       # a, b, b's indicator, 3 categories + OOV


def test_import_is_light():
    code = "import sys, dlwp_tasks.datasets.table; print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
