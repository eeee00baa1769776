"""Runs end to end on the bundled digits data: run folder contents, metrics, modes, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated

FAST = ["output.console=false", "performance.jit_compile=false", "output.plots=true"]


def run(tmp_path, *overrides):
    cfg = compose_validated([*FAST, *overrides])
    return pipeline.run(cfg, tmp_path, choices={}), cfg


def test_default_run_writes_a_complete_run_folder(tmp_path):
    metrics, cfg = run(tmp_path, "epochs=3")
    names = {p.name for p in tmp_path.iterdir()}
    assert {"metrics.json", "config.yaml", "model.keras", "history.png", "tensorboard"} <= names
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["seed"] == 42 and saved["status"] == "completed"
    assert len(saved["history"]["loss"]) == 3
    assert saved["best_epoch"] == int(np.argmin(saved["history"]["loss"])) + 1
    assert 0.0 <= saved["test"]["accuracy"] <= 1.0 and saved["test"]["loss"] > 0
    assert saved["steps_per_epoch"] == -(-saved["train_examples"] // 32)
    assert len(saved["predictions"]["predicted"]) == 10
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_digits_learns(tmp_path):
    metrics, _ = run(tmp_path, "epochs=15")
    assert metrics["test"]["accuracy"] > 0.9
    assert metrics["history"]["loss"][-1] < metrics["history"]["loss"][0]


@pytest.mark.parametrize(("overrides", "samples"), [([], 10), (["trainer.limit_batches=2", "batch_size=4"], 8)],
                         ids=["whole_test_split", "two_batches_of_four"])
def test_saved_model_reloads_with_the_same_predictions(tmp_path, monkeypatch, overrides, samples):
    """metrics.json's sample predictions are the reloaded model's; under a batch cap (debug=smoke), only the
    rows the run scored."""
    import keras

    from dlwp_cli.data import load_data
    from dlwp_cli.training.features import prepare

    predict, calls = keras.Model.predict, []
    with monkeypatch.context() as counting:  # only the run's calls; the autouse environment stays patched
        counting.setattr(keras.Model, "predict", lambda self, *a, **k: calls.append(1) or predict(self, *a, **k))
        metrics, cfg = run(tmp_path, "epochs=1", *overrides)
    assert len(calls) == 1  # the test split once: the error analysis's outputs give the samples too
    model = keras.models.load_model(tmp_path / "model.keras")
    assert model.count_params() == metrics["parameters"] == 64 * 64 + 64 + 64 * 10 + 10
    assert len(metrics["predictions"]["predicted"]) == samples
    x_test = prepare(load_data(cfg), cfg.task, "vector").x_test[:samples]
    probabilities = model.predict(x_test, verbose=0)
    assert probabilities.argmax(axis=1).tolist() == metrics["predictions"]["predicted"]
    np.testing.assert_allclose(probabilities.max(axis=1), metrics["predictions"]["probability"], rtol=1e-5)


def test_training_rows_are_reshuffled_every_epoch_as_a_function_of_the_epoch():
    """Each epoch takes every row once, in a new order; the same seed gives the same orders; epoch k's order
    does not depend on the epochs iterated before it (what a resumed run needs)."""
    from dlwp_cli.training.inputs import EpochCounter, batch_indices

    def orders(seed, epochs=(0, 1, 2)):
        counter = EpochCounter()
        dataset = batch_indices(50, 8, counter, seed=seed, epochs=3)
        drawn = []
        for epoch in epochs:
            counter.on_epoch_begin(epoch)
            drawn.append(np.concatenate([batch.numpy() for batch in dataset]))
        return drawn

    first = orders(7)
    assert all(sorted(order.tolist()) == list(range(50)) for order in first)
    assert len({tuple(order.tolist()) for order in first}) == 3
    assert all(np.array_equal(a, b) for a, b in zip(first, orders(7)))
    assert not np.array_equal(first[0], orders(8)[0])
    assert np.array_equal(orders(7, epochs=(2,))[0], first[2])  # a fresh process starting at epoch 2
    unshuffled = batch_indices(50, 8, seed=7)
    assert [np.concatenate([b.numpy() for b in unshuffled]).tolist() for _ in range(2)] == [list(range(50))] * 2


def test_epochs_past_the_drawn_seeds_still_get_new_reproducible_orders(monkeypatch):
    from dlwp_cli.training import inputs

    monkeypatch.setattr(inputs, "DRAWN_EPOCHS", 2)

    def orders():
        counter = inputs.EpochCounter()
        dataset = inputs.batch_indices(30, 7, counter, seed=5, epochs=5)
        drawn = []
        for epoch in range(5):
            counter.on_epoch_begin(epoch)
            drawn.append(tuple(np.concatenate([batch.numpy() for batch in dataset]).tolist()))
        return drawn

    first = orders()
    assert len(set(first)) == 5 and all(sorted(order) == list(range(30)) for order in first)
    assert orders() == first


def test_a_fit_resumed_after_epoch_k_sees_the_data_in_the_uninterrupted_runs_order(tmp_path):
    """``fit`` draws each epoch's order from the counter it is given: starting at epoch 2 gives the same batches
    as epochs 2-3 of a run from epoch 0. A spy layer records the first row id of every batch."""
    import keras
    import tensorflow as tf

    from dlwp_cli.training.inputs import EpochCounter, batch_indices

    def first_rows(initial_epoch):
        seen = []
        spy = keras.layers.Lambda(lambda x: x + 0 * tf.numpy_function(lambda v: seen.append(int(v[0, 0])) or v,
                                                                         [x], tf.float32))
        model = keras.Sequential([keras.Input((1,)), spy, keras.layers.Dense(1)])
        model.compile("sgd", "mse", run_eagerly=True)
        counter = EpochCounter()
        rows = batch_indices(40, 10, counter, seed=3, epochs=4)
        data = rows.map(lambda idx: (tf.cast(idx[:, None], tf.float32), tf.zeros((tf.size(idx), 1))))
        data = data.apply(tf.data.experimental.assert_cardinality(4))
        model.fit(data, epochs=4, initial_epoch=initial_epoch, callbacks=[counter], verbose=0)
        return seen

    whole, resumed = first_rows(0), first_rows(2)
    assert len(whole) == 16 and resumed == whole[8:]
    assert whole[:4] != whole[4:8]


def test_same_seed_same_result(tmp_path):
    first, _ = run(tmp_path / "a", "epochs=2", "deterministic=true")
    second, _ = run(tmp_path / "b", "epochs=2", "deterministic=true")
    assert first["history"]["loss"] == pytest.approx(second["history"]["loss"], rel=1e-6)


def test_holdout_validation_first_rows(tmp_path):
    metrics, _ = run(tmp_path, "epochs=2", "trainer.validation_size=300")
    assert metrics["validation_examples"] == 300
    assert len(metrics["history"]["val_loss"]) == 2
    assert metrics["best_epoch"] == int(np.argmin(metrics["history"]["val_loss"])) + 1


def test_kfold_records_folds_and_means(tmp_path):
    metrics, _ = run(tmp_path, "trainer=kfold", "trainer.folds=3", "epochs=2", "trainer.validate_each_epoch=true")
    cv = metrics["cv"]
    assert len(cv["folds"]) == 3
    assert cv["mean"]["val_accuracy"] == pytest.approx(np.mean([f["val_accuracy"] for f in cv["folds"]]))
    assert len(cv["mean_history"]["val_loss"]) == 2
    assert "test" not in metrics
    assert (tmp_path / "cv_curve.png").is_file()


def test_random_baseline_is_chance_level(tmp_path):
    metrics, _ = run(tmp_path, "trainer=random_baseline")
    assert 0.05 < metrics["test"]["accuracy"] < 0.2
    assert not (tmp_path / "model.keras").exists()


def test_convnet_on_image_inputs(tmp_path):
    metrics, _ = run(tmp_path, "task=mnist", "model=convnet", "debug=smoke")
    assert metrics["data"]["input_kind"] == "image"
    assert metrics["parameters"] == 104_202  # the book's MNIST convnet (listing 8.1)
