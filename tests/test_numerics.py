"""Numerics of dlwp's hand-written train steps: dynamic loss scaling under ``precision=mixed_float16`` (the
custom loop, fit's overridden ``train_step``). The batch mean of ``fit`` under ``MirroredStrategy`` is checked in
test_distributed.py."""

from __future__ import annotations


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
