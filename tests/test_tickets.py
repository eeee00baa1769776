"""The multi-input, multi-output ticket model of chapter 7, built by the runner and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_tasks.datasets.tickets import load_tickets
from dlwp_tasks.models.head import Head
from dlwp_tasks.models.tickets import TicketNet

HEADS = {"priority": Head(1, "sigmoid"), "department": Head(4, "softmax")}
SHAPES = {"title": (10000,), "text_body": (10000,), "tags": (100,)}


def test_functional_ticket_model_matches_the_listing():
    model = TicketNet().build(SHAPES, HEADS)
    assert model.count_params() == 1_286_789
    concat = next(layer for layer in model.layers if type(layer).__name__ == "Concatenate")
    assert tuple(concat.output.shape) == (None, 20100)


def test_feature_reuse_adds_a_third_head():
    import keras

    model = TicketNet().build(SHAPES, HEADS)
    features = next(layer for layer in model.layers if type(layer).__name__ == "Dense" and layer.units == 64).output
    difficulty = keras.layers.Dense(3, activation="softmax", name="difficulty")(features)
    new_model = keras.Model(inputs=model.inputs, outputs=[*model.outputs, difficulty])
    assert [tuple(o.shape) for o in new_model.outputs] == [(None, 1), (None, 4), (None, 3)]


@pytest.mark.parametrize("form", ["lists", "dicts"])
def test_fit_evaluate_predict_with_lists_and_dicts(form):
    data = load_tickets(num_samples=64)
    model = TicketNet().build(SHAPES, HEADS)
    if form == "lists":  # listing 7.10: in the model's input and output order
        x = [data.x_train[name] for name in ("title", "text_body", "tags")]
        y = [data.y_train["priority"], data.y_train["department"]]
        model.compile(optimizer="rmsprop", loss=["mean_squared_error", "categorical_crossentropy"],
                      metrics=[["mean_absolute_error"], ["accuracy"]])
    else:  # listing 7.11: keyed by input and output names
        x, y = data.x_train, data.y_train
        model.compile(optimizer="rmsprop", loss={"priority": "mean_squared_error",
                                                 "department": "categorical_crossentropy"},
                      metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]})
    model.fit(x, y, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    predictions = model.predict(x, verbose=0)
    if isinstance(predictions, dict):
        predictions = [predictions["priority"], predictions["department"]]
    assert predictions[0].shape == (64, 1) and predictions[1].shape == (64, 4)


@pytest.mark.parametrize("api", TicketNet.APIS)
def test_runner_trains_both_outputs(tmp_path, api):
    import keras

    cfg = compose_validated(["experiment=ch07/tickets_multi_io", f"model.api={api}", "output.console=false",
                             "task.dataset.num_samples=128", "performance.jit_compile=false"])
    metrics = pipeline.run(cfg, tmp_path, choices={})
    assert {"priority_loss", "department_loss", "priority_mean_absolute_error", "department_accuracy"} <= set(
        metrics["history"])
    assert {"priority_mean_absolute_error", "department_accuracy"} <= set(metrics["test"])
    assert np.array(metrics["predictions"]["priority"]).shape == (10, 1)
    assert np.array(metrics["predictions"]["department"]).shape == (10, 4)
    assert metrics["parameters"] == 1_286_789 and metrics["baselines"] == {}
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    assert reloaded.count_params() == 1_286_789


def test_loss_for_an_unknown_output_is_rejected():
    with pytest.raises(ConfigError, match="names outputs"):
        compose_validated(["experiment=ch07/tickets_multi_io", "+task.loss.urgency=mse"])
