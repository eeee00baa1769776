"""Training that is not plain fit: the custom loop, fit with an overridden train_step, and the
chapter-2/3 from-scratch trainer with its 2-D data."""

from __future__ import annotations

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError

FAST = ["output.console=false", "performance.jit_compile=false"]


def run(tmp_path, *overrides):
    cfg = compose_validated([*FAST, *overrides])
    return pipeline.run(cfg, tmp_path, choices={})


# --- custom_loop and custom_train_step --------------------------------------------------------------------


def test_custom_loop_reaches_fits_accuracy_with_fits_history_keys(tmp_path):
    common = ["epochs=10", "trainer.validation_size=300"]
    fitted = run(tmp_path / "fit", *common)
    looped = run(tmp_path / "loop", "trainer=custom_loop", *common)
    assert set(looped["history"]) == set(fitted["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 10 for values in looped["history"].values())
    assert looped["test"]["accuracy"] > 0.9
    assert looped["test"]["accuracy"] == pytest.approx(fitted["test"]["accuracy"], abs=0.03)
    assert looped["validation_examples"] == 300 and looped["steps_per_epoch"] == fitted["steps_per_epoch"]
    assert looped["loop"]["compiled"] is True and len(looped["loop"]["train_s_per_epoch"]) == 10
    assert (tmp_path / "loop" / "model.keras").is_file()
    for result in (fitted, looped):  # each epoch's training part, without its validation pass
        training, whole = result["timings"]["epoch_train_s"], result["timings"]["epoch_s"]
        assert len(training) == len(whole) == 10 and all(0 < t <= w for t, w in zip(training, whole))
    assert sum(fitted["timings"]["epoch_train_s"]) < sum(fitted["timings"]["epoch_s"])


def test_eager_and_compiled_loops_give_the_same_history(tmp_path):
    common = ["trainer=custom_loop", "epochs=2", "deterministic=true"]
    compiled = run(tmp_path / "graph", *common, "trainer.compiled=true")
    eager = run(tmp_path / "eager", *common, "trainer.compiled=false")
    assert eager["loop"]["compiled"] is False
    for key, values in compiled["history"].items():
        assert eager["history"][key] == pytest.approx(values, abs=1e-4)


def test_custom_loop_calls_callbacks_like_fit_and_stops_when_asked():
    import keras

    from dlwp_cli.training.loops import train_epochs

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_begin(self, logs=None):
            self.calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            self.calls.append(f"epoch_begin {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append(f"batch {batch}")

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(f"epoch_end {epoch} {sorted(logs)}")
            self.model.stop_training = epoch == 1

        def on_train_end(self, logs=None):
            self.calls.append("train_end")

    def train(on_batch):
        on_batch(0, {"loss": 1.0})
        return {"loss": 1.0}

    recorder, model = Recorder(), keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    history, seconds = train_epochs([recorder], model, 5, 1, train, validate=lambda: {"val_loss": 2.0})
    assert history == {"loss": [1.0, 1.0], "val_loss": [2.0, 2.0]} and len(seconds) == 2
    assert recorder.calls == ["train_begin", "epoch_begin 0", "batch 0", "epoch_end 0 ['loss', 'val_loss']",
                              "epoch_begin 1", "batch 0", "epoch_end 1 ['loss', 'val_loss']", "train_end"]


def test_custom_train_step_trains_with_fit_and_saves(tmp_path):
    import keras

    from dlwp_cli.training.custom_step import CustomTrainStep

    metrics = run(tmp_path, "trainer.custom_train_step=true", "epochs=10", "trainer.validation_size=300")
    assert set(metrics["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert metrics["history"]["loss"][-1] < metrics["history"]["loss"][0]
    assert metrics["test"]["accuracy"] > 0.9
    model = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(model, CustomTrainStep)
    assert model.count_params() == metrics["parameters"] == 64 * 64 + 64 + 64 * 10 + 10


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["trainer=scratch", "model=dense"], ["trainer=scratch", "model 'dense' is a Keras model", "naive_dense"]),
        (["trainer=scratch", "model=naive_dense", "trainer.shuffle=true"], ["trainer.shuffle=false"]),
    ],
)
def test_misuse_gets_a_clear_error(tmp_path, overrides, expected):
    with pytest.raises(ConfigError) as info:
        run(tmp_path, "epochs=1", *overrides)
    for part in expected:
        assert part in str(info.value)


# --- scratch: chapter 2 ---------------------------------------------------------------------------------------


def test_batch_generator_takes_in_order_batches_with_a_partial_last_one():
    from dlwp_cli.training.scratch import BatchGenerator

    images, labels = np.arange(60000 * 2).reshape(60000, 2), np.arange(60000)
    generator = BatchGenerator(images, labels, batch_size=128)
    assert generator.num_batches == 469
    batches = [generator.next() for _ in range(generator.num_batches)]
    assert [len(b[1]) for b in batches[:2]] == [128, 128] and len(batches[-1][1]) == 96
    assert np.array_equal(np.concatenate([b[1] for b in batches]), labels)


def test_naive_dense_model_is_the_books():
    import tensorflow as tf

    from dlwp_tasks.models.head import Head
    from dlwp_tasks.models.naive import NaiveDenseNet

    model = NaiveDenseNet(units=[512]).build_naive((784,), Head(10, "softmax"))
    assert len(model.weights) == 4
    W, b = model.layers[0].weights
    assert tuple(W.shape) == (784, 512) and 0.0 <= float(tf.reduce_min(W)) and float(tf.reduce_max(W)) < 0.1
    assert float(tf.reduce_max(tf.abs(b))) == 0.0
    probabilities = model(tf.ones((3, 784)))
    assert tuple(probabilities.shape) == (3, 10)
    assert np.allclose(tf.reduce_sum(probabilities, axis=1), 1.0, atol=1e-5)


def test_manual_sgd_equals_keras_sgd_on_one_step():
    import keras
    import tensorflow as tf

    from dlwp_cli.training.scratch import manual_sgd, one_training_step
    from dlwp_tasks.models.head import Head
    from dlwp_tasks.models.naive import NaiveDenseNet

    keras.utils.set_random_seed(0)
    images = tf.random.uniform((32, 20))
    labels = tf.constant(np.arange(32) % 10)
    body = NaiveDenseNet(units=[16])
    models = []
    for update in (lambda g, w: manual_sgd(g, w, 1e-2),
                   lambda g, w: keras.optimizers.SGD(1e-2).apply_gradients(zip(g, w))):
        keras.utils.set_random_seed(1)
        model = body.build_naive((20,), Head(10, "softmax"))
        one_training_step(model, images, labels, keras.losses.sparse_categorical_crossentropy, update)
        models.append(model)
    for manual, optimizer in zip(*(m.weights for m in models)):
        np.testing.assert_allclose(manual.numpy(), optimizer.numpy(), rtol=1e-6, atol=1e-7)


def test_scratch_update_rules_and_step_modes_agree(tmp_path):
    common = ["trainer=scratch", "model=naive_dense", "optimizer=sgd", "optimizer.learning_rate=0.01", "epochs=2"]
    manual = run(tmp_path / "manual", *common, "trainer.update=manual_sgd", "trainer.compiled=true")
    keras_sgd = run(tmp_path / "sgd", *common, "trainer.update=optimizer", "trainer.compiled=false")
    assert manual["loop"]["update"] == "manual_sgd" and keras_sgd["loop"]["update"] == "optimizer"
    assert manual["history"]["loss"] == pytest.approx(keras_sgd["history"]["loss"], rel=1e-5)
    assert manual["history"]["loss"][1] < manual["history"]["loss"][0]
    assert manual["test"]["accuracy"] == pytest.approx(keras_sgd["test"]["accuracy"], abs=1e-3)


def test_scratch_mnist_smoke_records_the_loop(tmp_path):
    metrics = run(tmp_path, "experiment=ch02/mnist_naive_dense_from_scratch", "debug=smoke")
    assert metrics["steps_per_epoch"] == 2 and metrics["parameters"] == 407_050
    assert metrics["loop"]["update"] == "manual_sgd" and metrics["loop"]["compiled"] is False
    assert [len(epoch) for epoch in metrics["loop"]["loss_every_100_batches"]] == [1]  # batch 0 of epoch 1
    assert set(metrics["test"]) == {"loss", "accuracy"} and set(metrics["train"]) == {"loss", "accuracy"}
    assert not (tmp_path / "model.keras").exists() and metrics["predictions"] == {}


# --- chapter 3: the 2-D data and the linear classifier ------------------------------------------------------------


def test_two_gaussians_generator():
    from dlwp_tasks.datasets.synthetic2d import load_two_gaussians

    splits = load_two_gaussians()
    assert splits.x_train.shape == (2000, 2) and splits.x_train.dtype == np.float32
    assert splits.y_train.shape == (2000, 1) and splits.y_train.dtype == np.float32
    assert splits.y_train[:1000].sum() == 0 and splits.y_train[1000:].min() == 1
    assert np.allclose(splits.x_train[:1000].mean(axis=0), [0, 3], atol=0.1)
    assert np.allclose(splits.x_train[1000:].mean(axis=0), [3, 0], atol=0.1)
    assert np.allclose(np.cov(splits.x_train[:1000].T), [[1, 0.5], [0.5, 1]], atol=0.1)
    assert len(splits.x_test) == len(splits.y_test) == 0
    assert np.array_equal(load_two_gaussians(seed=0).x_train, splits.x_train)


def test_linear_classifier_from_scratch_learns_and_draws_its_boundary(tmp_path):
    metrics = run(tmp_path, "experiment=ch03/synthetic2d_linear_classifier_from_scratch", "output.plots=true")
    assert len(metrics["history"]["loss"]) == 40 and metrics["steps_per_epoch"] == 1
    assert metrics["history"]["loss"][-1] < 0.05
    assert metrics["train"]["binary_accuracy"] > 0.95
    assert "test" not in metrics and metrics["data"]["test_examples"] == 0
    assert (tmp_path / "decision_boundary.png").stat().st_size > 0
    assert all(t["in_band"] for t in metrics["targets"])
