"""The architecture patterns of §9.3 (residual blocks, batch normalization, separable convolutions) and
``trainer=summary``, which builds a model and records its summary and parameter counts without training."""

from __future__ import annotations

import json

import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_tasks.models.architectures import BatchNormConvNet, ResidualToy, SeparableComparison
from dlwp_tasks.models.head import Head


def test_the_residual_toy_has_the_books_parameter_count():
    model = ResidualToy().build((32, 32, 3), Head(1, "sigmoid"))
    assert model.count_params() == 297_697
    assert sum(type(layer).__name__ == "Add" for layer in model.layers) == 3


def test_separable_and_regular_convolution_weights():
    models = SeparableComparison().build_models((16, 16, 64))
    assert {name: model.count_params() for name, model in models.items()} == {"conv2d": 36_864,
                                                                               "separable_conv2d": 4_672}


def test_batchnorm_blocks_follow_the_chosen_order():
    model = BatchNormConvNet(filters=[32]).build((32, 32, 3), Head(1, "sigmoid"))
    kinds = [type(layer).__name__ for layer in model.layers[2:5]]
    assert kinds == ["Conv2D", "BatchNormalization", "Activation"] and not model.layers[2].use_bias
    listing_9_4 = BatchNormConvNet(filters=[32], order="relu_then_bn").build((32, 32, 3), Head(1, "sigmoid"))
    assert [type(layer).__name__ for layer in listing_9_4.layers[2:4]] == ["Conv2D", "BatchNormalization"]
    with pytest.raises(ValueError, match="order must be one of"):
        BatchNormConvNet(order="bn_first")


def summary_run(tmp_path, *overrides):
    cfg = compose_validated([*overrides, "output.console=false"])
    pipeline.run(cfg, tmp_path, choices={})
    return json.loads((tmp_path / "metrics.json").read_text())


def test_summary_of_the_residual_toy_checks_the_books_count(tmp_path):
    saved = summary_run(tmp_path, "experiment=ch09/arch_residual_toy")
    assert saved["status"] == "completed" and saved["parameters"] == 297_697
    assert saved["trainable_parameters"] == 297_697 and saved["non_trainable_parameters"] == 0
    assert [t["in_band"] for t in saved["targets"]] == [True]
    assert saved["history"] == {} and "test" not in saved and saved["baselines"] == {}
    assert "Total params: 297,697" in (tmp_path / "summary.txt").read_text()
    assert not (tmp_path / "model.keras").exists()


def test_summary_records_each_compared_model(tmp_path):
    saved = summary_run(tmp_path, "experiment=ch09/arch_separable_param_count")
    assert saved["parameters_by_model"] == {"conv2d": 36_864, "separable_conv2d": 4_672}
    assert saved["parameters"] == 36_864 + 4_672 and all(t["in_band"] for t in saved["targets"])
    text = (tmp_path / "summary.txt").read_text()
    assert "# conv2d" in text and "# separable_conv2d" in text and "Total params: 4,672" in text


def test_summary_counts_batchnorm_statistics_as_non_trainable(tmp_path):
    saved = summary_run(tmp_path, "experiment=ch09/arch_batchnorm_block", "debug=smoke")
    assert saved["non_trainable_parameters"] == 2 * (32 + 64 + 128)
    assert saved["trainable_parameters"] + saved["non_trainable_parameters"] == saved["parameters"] == 94_049


def test_summary_of_any_task_and_model(tmp_path):
    saved = summary_run(tmp_path, "task=mnist", "model=convnet", "trainer=summary", "debug=smoke")
    assert saved["parameters"] == 104_202   # the book's MNIST convnet, listing 8.1
    assert "Total params: 104,202" in (tmp_path / "summary.txt").read_text()


def test_a_comparison_has_nothing_to_train(tmp_path):
    with pytest.raises(ConfigError, match="trainer=summary"):
        summary_run(tmp_path, "experiment=ch09/arch_separable_param_count", "trainer=fit", "debug=smoke")
