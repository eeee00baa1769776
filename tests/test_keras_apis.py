"""Chapter 7: three ways to build the same model, a custom metric, and callbacks from config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.data import load_data
from dlwp_tasks.models.dense import DenseNet
from dlwp_tasks.models.head import Head

FAST = ["output.console=false", "performance.jit_compile=false"]


def run(tmp_path, *overrides):
    return pipeline.run(compose_validated([*FAST, *overrides]), tmp_path, choices={})


def test_three_apis_build_the_same_network():
    """Given the same weights, the sequential, functional and subclassed forms compute the same function."""
    models = {api: DenseNet([512], dropout=0.5, api=api).build((784,), Head(10, "softmax")) for api in DenseNet.APIS}
    assert {m.count_params() for m in models.values()} == {407_050}
    weights = models["sequential"].get_weights()
    x = np.random.default_rng(0).random((16, 784), dtype="float32")
    reference = models["sequential"].predict(x, verbose=0)
    for api in ("functional", "subclassed"):
        models[api].set_weights(weights)
        np.testing.assert_allclose(models[api].predict(x, verbose=0), reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("api", DenseNet.APIS)
def test_each_api_trains_and_reloads_with_the_same_predictions(api, tmp_path):
    from dlwp_cli.loading import load_model

    metrics = run(tmp_path, f"model.api={api}", "epochs=2", "output.predict_samples=10")
    assert metrics["test"]["accuracy"] > 0.5
    reloaded = load_model(tmp_path)
    cfg = compose_validated(FAST)
    from dlwp_cli.training.features import prepare

    data = prepare(load_data(cfg), cfg.task, "vector")
    probabilities = reloaded.predict(data.x_test[:10], verbose=0)
    assert probabilities.argmax(axis=1).tolist() == metrics["predictions"]["predicted"]
    np.testing.assert_allclose(probabilities.max(axis=1), metrics["predictions"]["probability"], rtol=1e-4)


def test_custom_rmse_metric_is_logged(tmp_path):
    metrics = run(tmp_path, "task.metrics=[accuracy,{_target_:dlwp_tasks.metrics.RootMeanSquaredError}]",
                  "trainer.validation_size=300", "epochs=2")
    assert {"rmse", "val_rmse"} <= set(metrics["history"])
    assert 0 < metrics["history"]["val_rmse"][-1] < 1 and "rmse" in metrics["test"]


def test_rmse_metric_values():
    from dlwp_tasks.metrics import RootMeanSquaredError

    metric = RootMeanSquaredError()
    metric.update_state(np.array([0, 1]), np.array([[1.0, 0.0], [0.5, 0.5]]))
    assert float(metric.result()) == pytest.approx(np.sqrt(0.5 / 2))
    metric.reset_state()
    metric.update_state(np.array([1]), np.array([[0.0, 1.0]]))
    assert float(metric.result()) == 0.0


def test_early_stopping_and_best_checkpoint(tmp_path):
    import keras

    metrics = run(tmp_path, "callbacks=[early_stopping,model_checkpoint]", "callbacks.early_stopping.patience=1",
                  "callbacks.early_stopping.monitor=val_loss", "trainer.validation_size=300", "epochs=40",
                  "optimizer.learning_rate=0.01")
    val_loss = metrics["history"]["val_loss"]
    assert len(val_loss) < 40  # stopped early
    best = int(np.argmin(val_loss))
    assert len(val_loss) == best + 2  # patience 1: one epoch without improvement, then stop
    checkpoint = keras.models.load_model(tmp_path / "checkpoint.keras")
    from dlwp_cli.training.features import holdout_indices, prepare
    from dlwp_cli.training.inputs import make_dataset

    cfg = compose_validated(FAST)
    data = prepare(load_data(cfg), cfg.task, "vector")
    _, val_idx = holdout_indices(len(data.y_train), 300, "first")
    scores = checkpoint.evaluate(make_dataset(data.x_train, data.y_train, data, 32, indices=val_idx), verbose=0,
                                 return_dict=True)
    assert scores["loss"] == pytest.approx(min(val_loss), rel=1e-4)


def test_loss_history_plots_every_epoch(tmp_path):
    run(tmp_path, "callbacks=loss_history", "epochs=3", "performance.steps_per_execution=1")
    plots = sorted(p.name for p in (tmp_path / "loss_history").glob("*.png"))
    assert plots == ["plot_at_epoch_0.png", "plot_at_epoch_1.png", "plot_at_epoch_2.png"]


def test_keras_tensorboard_callback_from_config(tmp_path):
    run(tmp_path, "callbacks=tensorboard", "trainer.validation_size=300", "epochs=2")
    for split in ("train", "validation"):
        assert list((tmp_path / "tensorboard_keras" / split).glob("events.out.tfevents.*"))


def test_models_reload_in_a_fresh_process(tmp_path):
    """Subclassed bodies and the custom train_step wrapper load where nothing defined them yet."""
    import subprocess
    import sys

    variants = {"subclassed": ["model.api=subclassed"], "train_step": ["trainer.custom_train_step=true"]}
    metrics = {name: run(tmp_path / name, "epochs=1", *overrides) for name, overrides in variants.items()}
    code = ("import json, sys, numpy as np; from dlwp_cli.loading import load_model; "
            "from dlwp_cli.config.compose import compose_validated; from dlwp_cli.data import load_data; "
            "from dlwp_cli.training.features import prepare; cfg = compose_validated(['output.console=false']); "
            "x = prepare(load_data(cfg), cfg.task, 'vector').x_test[:10]; models = [load_model(d) for d in sys.argv[1:]]; "
            "print(json.dumps([[m.count_params(), m.predict(x, verbose=0).argmax(axis=1).tolist()] for m in models]))")
    out = subprocess.run([sys.executable, "-c", code, *(str(tmp_path / name) for name in variants)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1500:]
    for name, (count, predicted) in zip(variants, json.loads(out.stdout.strip().splitlines()[-1])):
        assert count == metrics[name]["parameters"] and predicted == metrics[name]["predictions"]["predicted"], name
