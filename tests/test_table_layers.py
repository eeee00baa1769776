"""Keras layers for CSV tables: the numeric and target scaling math, the preprocessing model, save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dlwp_tasks.datasets.table import load_csv
from dlwp_tasks.layers import NumericColumn, TargetScale, table_preprocessing, to_model_inputs

SCHEMA = {"columns": [
    {"name": "size (cm)", "type": "numeric", "median": 3.0, "mean": 2.0, "std": 4.0, "missing_indicator": True},
    {"name": "colour", "type": "categorical", "categories": ["<missing>", "blue", "red"]},
    {"name": "id", "type": "dropped", "reason": "9 values > max_categories=5"},
    {"name": "a/b", "input": "a_b", "type": "numeric", "median": 0.0, "mean": 1.0, "std": 2.0,
     "missing_indicator": False},
    {"name": "note", "type": "ignored", "reason": "column_types"},
]}


def rows() -> dict[str, np.ndarray]:
    return {
        "size (cm)": np.array([[6.0], [np.nan], [-2.0]], dtype=np.float32),
        "colour": np.array([["red"], ["<missing>"], ["green"]], dtype=object),
        "a_b": np.array([[3.0], [1.0], [np.nan]], dtype=np.float32),
    }


def test_numeric_column_math():
    x = np.array([[6.0], [np.nan], [-2.0]], dtype=np.float32)
    with_flag = np.asarray(NumericColumn(3.0, 2.0, 4.0, True)(x))
    np.testing.assert_allclose(with_flag, [[1.0, 0.0], [0.25, 1.0], [-1.0, 0.0]])
    without = np.asarray(NumericColumn(3.0, 2.0, 4.0, False)(x))
    np.testing.assert_allclose(without, [[1.0], [0.25], [-1.0]])
    assert with_flag.dtype == np.float32
    layer = NumericColumn(1.5, 0.5, 0.0, True, name="n")                  # std 0 counts as 1
    assert np.asarray(layer(np.array([[np.nan]], np.float32))).tolist() == [[1.0, 1.0]]
    again = NumericColumn.from_config(layer.get_config())
    assert (again.median, again.mean, again.std, again.missing_indicator) == (1.5, 0.5, 1.0, True)


def test_target_scale_math():
    layer = TargetScale(mean=10.0, std=3.0)
    np.testing.assert_allclose(np.asarray(layer(np.array([[0.0], [1.0], [-2.0]], np.float32))), [[10], [13], [4]])
    again = TargetScale.from_config(layer.get_config())
    assert (again.mean, again.std) == (10.0, 3.0)


def test_preprocessing_width_and_values():
    model = table_preprocessing(SCHEMA)
    assert set(model.input) == {"size (cm)", "colour", "a_b"}
    assert model.output.shape == (None, 2 + 4 + 1)           # size + indicator, OOV + 3 colours, a_b
    out = np.asarray(model(rows()))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, :2], [[1.0, 0.0], [0.25, 1.0], [-1.0, 0.0]])
    # one-hot block: [OOV, <missing>, blue, red]
    assert out[:, 2:6].tolist() == [[0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]]     # green is unseen -> OOV
    np.testing.assert_allclose(out[:, 6], [1.0, 0.0, -0.5])                     # NaN -> median 0
    predicted = model.predict(to_model_inputs(rows()), verbose=0)
    np.testing.assert_allclose(predicted, out)


def test_single_column_preprocessing():
    model = table_preprocessing({"columns": [SCHEMA["columns"][1]]})
    out = np.asarray(model({"colour": np.array([["blue"], ["x"]], dtype=object)}))
    assert out.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]


def test_column_named_like_a_layer_does_not_clash():
    schema = {"columns": [{"name": "numeric_x", "type": "numeric", "median": 0, "mean": 0, "std": 1,
                           "missing_indicator": False},
                          {"name": "x", "type": "numeric", "median": 0, "mean": 0, "std": 1,
                           "missing_indicator": False},
                          {"name": "table_features", "type": "categorical", "categories": ["k"]}]}
    assert table_preprocessing(schema).output.shape == (None, 4)


def test_save_and_load_round_trip(tmp_path):
    prep = table_preprocessing(SCHEMA)
    outputs = keras.layers.Dense(1, kernel_initializer="glorot_uniform")(prep(prep.input))
    model = keras.Model(prep.input, outputs)
    before = model.predict(to_model_inputs(rows()), verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    after = loaded.predict(to_model_inputs(rows()), verbose=0)
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(np.asarray(loaded(rows())), before)
    assert np.all(np.isfinite(after))


def test_csv_regression_trains_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    lines = ["area,district,price"]
    for i in range(80):
        area = rng.uniform(30, 150)
        district = ["north", "south", "east"][i % 3]
        price = 2000 * area + {"north": 50000, "south": 0, "east": 20000}[district] + rng.normal(0, 5000)
        lines.append(f"{'' if i % 9 == 0 else f'{area:.1f}'},{district},{price:.0f}")
    path = tmp_path / "houses.csv"
    path.write_text("\n".join(lines) + "\n")
    splits = load_csv(path, "price")
    assert splits.problem == "regression"

    raw = splits.preprocessing.input
    hidden = keras.layers.Dense(8, activation="relu")(splits.preprocessing(raw))
    model = keras.Model(raw, splits.postprocessing(keras.layers.Dense(1)(hidden)))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=["mae"])
    start_mae = model.evaluate(to_model_inputs(splits.x_test), splits.y_test, verbose=0)[1]
    model.fit(to_model_inputs(splits.x_train), splits.y_train, epochs=10, batch_size=64, verbose=0)
    mae = model.evaluate(to_model_inputs(splits.x_test), splits.y_test, verbose=0)[1]
    assert start_mae > 10_000                    # outputs and MAE are in the price's own units
    assert mae < 0.7 * start_mae

    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    x = to_model_inputs(splits.x_test)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=0)


@pytest.mark.parametrize("value", [["b"], ["<missing>"]])
def test_to_model_inputs_turns_strings_into_tensors(value):
    x = to_model_inputs({"n": np.zeros((1, 1), np.float32), "c": np.array([value], dtype=object)})
    assert x["n"].dtype == np.float32
    assert x["c"].dtype.name == "string" and x["c"].shape == (1, 1)
