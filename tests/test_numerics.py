"""Numerics of dlwp's hand-written train steps: dynamic loss scaling under ``precision=mixed_float16`` (the
custom loop, fit's overridden ``train_step``), and the batch mean of ``fit`` under ``MirroredStrategy``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated

FAST = ["output.console=false", "performance.jit_compile=false", "output.plots=false", "output.tensorboard=false"]
EPOCHS = ["epochs=6"]  # float32 reaches ~0.93 test accuracy on digits with either step


def run(tmp_path, *overrides):
    return pipeline.run(compose_validated([*FAST, *EPOCHS, *overrides]), tmp_path, choices={})


def dense_layers(model) -> list:
    """Every Dense layer of ``model``, nested models (a CustomTrainStep's inner model) included."""
    import keras

    found = []
    for layer in getattr(model, "layers", []):
        found += [layer] if isinstance(layer, keras.layers.Dense) else dense_layers(layer)
    if hasattr(model, "inner"):
        found += dense_layers(model.inner)
    return found


# --- loss scaling -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [["trainer=custom_loop"], ["trainer.custom_train_step=true"]],
                         ids=["custom_loop", "custom_train_step"])
def test_mixed_float16_trains_like_float32_with_a_dynamic_loss_scale(tmp_path, step):
    from dlwp_cli.loading import load_model

    full = run(tmp_path / "float32", *step)
    half = run(tmp_path / "mixed", *step, "precision=mixed_float16")
    # Without loss scaling the LossScaleOptimizer that compile adds divided unscaled gradients by 2**15:
    # the weights barely moved and test accuracy stayed at chance (~0.13).
    assert full["test"]["accuracy"] > 0.9
    assert half["test"]["accuracy"] == pytest.approx(full["test"]["accuracy"], abs=0.02)
    assert full["performance"]["precision"] == "float32" and "loss_scale" not in full["performance"]
    assert half["performance"]["precision"] == "mixed_float16"
    scale = half["performance"]["loss_scale"]
    assert isinstance(scale, float) and scale > 0  # measured: 32768.0 (no overflow, < 2,000 steps to grow)
    dense = dense_layers(load_model(tmp_path / "mixed"))
    assert dense[0].compute_dtype == "float16" and dense[0].variable_dtype == "float32"
    assert dense[-1].compute_dtype == "float32"  # the head


def test_scaled_gradients_are_unscaled_and_a_non_finite_step_is_skipped():
    import keras
    import tensorflow as tf

    from dlwp_cli.training.loops import apply_scaled_gradients
    from dlwp_cli.training.runtime import loss_scale, precision_policy

    def tiny():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1, dtype="float32")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=LARGE_RATE), loss="mse")
        return model

    x = tf.constant(np.random.default_rng(0).normal(size=(16, 4)), tf.float32)
    tiny_loss = 1e-8  # small enough that float16 gradients of the plain loss flush to zero
    LARGE_RATE = 1e7  # so that the update (rate * ~1e-10) shows in float32 weights

    reference = tiny()
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(reference(x)) * tiny_loss
    expected = tape.gradient(loss, reference.trainable_weights)

    with precision_policy("mixed_float16"):
        model = tiny()
    model.set_weights(reference.get_weights())
    before = model.get_weights()
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.layers[0].compute_dtype == "float16"

    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_mean(model(x)) * tiny_loss
    plain = tape.gradient(loss, model.trainable_weights)
    assert not np.any(plain[0].numpy())  # the hidden kernel's gradient underflowed in float16
    got = apply_scaled_gradients(tape, loss, model.trainable_weights, model.optimizer)
    # Equal to float32's within float16's precision (relative to the largest: the scaled values ~1e-5 are
    # partly float16 subnormals).
    for g, want in zip(got, expected):
        np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=0, atol=2e-2 * np.abs(want.numpy()).max())
    # The optimizer divided the scaled gradients by the same scale: w -= rate * g
    for w, w0, want in zip(model.get_weights(), before, expected):
        np.testing.assert_allclose(w0 - w, LARGE_RATE * want.numpy(), rtol=0,
                                   atol=2e-2 * LARGE_RATE * np.abs(want.numpy()).max())
    assert loss_scale(model) == 2.0**15

    settled = model.get_weights()
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model(x)) * float("inf")
    got = apply_scaled_gradients(tape, loss, model.trainable_weights, model.optimizer)
    assert not all(np.all(np.isfinite(g.numpy())) for g in got)
    for w, w0 in zip(model.get_weights(), settled):
        np.testing.assert_array_equal(w, w0)  # the step was skipped
    assert loss_scale(model) == 2.0**14  # and the scale halved


def test_without_a_loss_scale_optimizer_the_gradients_are_plain():
    import keras
    import tensorflow as tf

    from dlwp_cli.training.loops import apply_scaled_gradients
    from dlwp_cli.training.runtime import loss_scale

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(tf.constant([[1.0, 2.0]])))
    (gradient,) = apply_scaled_gradients(tape, loss, model.trainable_weights, model.optimizer)
    np.testing.assert_array_equal(gradient.numpy(), [[1.0], [2.0]])
    np.testing.assert_array_equal(model.get_weights()[0], [[0.0], [-1.0]])
    assert loss_scale(model) is None and loss_scale(None) is None


# --- MirroredStrategy's batch mean ------------------------------------------------------------------------

# Same data order and op determinism, so the runs differ only in how each batch is split and reduced
# (tests/test_distributed.py checks that with 42 full batches they agree to float rounding).
SAME_MATH = ["task=digits", "epochs=2", "output.console=false", "deterministic=true", "trainer.shuffle=false",
             "output.plots=false", "output.tensorboard=false"]


def test_mirrored_fit_weighs_an_uneven_last_batch_by_replica_not_by_row(tmp_path):
    """digits' 1,347 training rows in batches of 32 end with 3 rows, split 2+1 over two replicas. fit (and
    the custom train_step, which does what Keras's does) averages each replica's own mean loss, so that
    update weighs the two rows 1/4 each and the single row 1/2, where one device weighs each 1/3. The
    reported loss is a per-row mean either way, so epoch 1's logs agree; epoch 2 starts from weights that
    differ by that one update, and its loss and the test scores move by about 1e-3 relative.
    Measured: epoch-2 loss 1.51062 vs 1.50965 (6.4e-4), test loss 1.30001 vs 1.29858 (1.1e-3)."""
    runs = {"one": ["strategy=one_device"],
            "mirrored": ["strategy=mirrored", "strategy.logical_cpus=2"],  # needs a fresh process
            "mirrored_step": ["strategy=mirrored", "strategy.logical_cpus=2", "trainer.custom_train_step=true"]}
    procs = {name: subprocess.Popen([sys.executable, "-m", "dlwp_cli.main", "run", *SAME_MATH, *overrides,
                                     f"hydra.run.dir={tmp_path / name}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for name, overrides in runs.items()}
    metrics = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        metrics[name] = json.loads(Path(tmp_path / name / "metrics.json").read_text())
    one, mirrored = metrics["one"], metrics["mirrored"]
    assert mirrored["environment"]["replicas"] == 2

    def rel(a, b):
        return abs(a - b) / abs(b)

    # Epoch 1's logs come before the uneven update has any effect: equal to float rounding.
    assert rel(mirrored["history"]["loss"][0], one["history"]["loss"][0]) < 1e-5
    assert mirrored["history"]["accuracy"][0] == pytest.approx(one["history"]["accuracy"][0], abs=1e-6)
    # After it: a real difference (rounding alone stays below 1e-5), and a small one.
    epoch2 = rel(mirrored["history"]["loss"][1], one["history"]["loss"][1])
    test_loss = rel(mirrored["test"]["loss"], one["test"]["loss"])
    assert 1e-4 < epoch2 < 3e-3, epoch2
    assert test_loss < 5e-3, test_loss
    assert abs(mirrored["test"]["accuracy"] - one["test"]["accuracy"]) <= 0.02
    # The custom train_step reproduces fit's update and fit's loss log under two replicas too.
    for key, values in mirrored["history"].items():
        assert metrics["mirrored_step"]["history"][key] == pytest.approx(values, rel=1e-5), key
