"""Every config composes and validates; the config tree lists itself; bad input gets clear errors."""

from __future__ import annotations

import pytest

from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError

EXPERIMENTS = catalog.options("experiment")
TASKS = catalog.options("task")


def test_catalog_lists_groups_in_root_order():
    assert catalog.groups()[:8] == ["model", "task", "optimizer", "callbacks", "strategy", "trainer", "tuner",
                                    "augmentation"]
    assert {"ch02/mnist_dense", "ch04/imdb_dense_final", "ch04/boston_kfold"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("group", ["task", "model", "optimizer", "callbacks", "strategy", "trainer", "tuner", "experiment",
                                   "debug"])
def test_every_option_has_a_description(group):
    for option in catalog.options(group):
        assert catalog.description(group, option), f"{group}/{option} has no description comment"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_validates(experiment):
    cfg = compose_validated([f"experiment={experiment}"])
    assert cfg.experiment == experiment
    assert cfg.name == experiment
    assert cfg.targets, "each experiment records the book's figure"


@pytest.mark.parametrize("option", catalog.options("optimizer"))
def test_optimizers_compose_and_name_a_keras_class(option):
    import keras

    from dlwp_cli.training.modeling import make_optimizer

    optimizer = make_optimizer(compose_validated([f"optimizer={option}"]).optimizer)
    assert isinstance(optimizer, keras.optimizers.Optimizer)
    assert type(optimizer).__name__.lower() == option


def test_any_keras_optimizer_argument_is_a_key():
    from dlwp_cli.training.modeling import make_optimizer

    optimizer = make_optimizer(compose_validated(["optimizer=adamw", "optimizer.weight_decay=1e-4"]).optimizer)
    assert optimizer.weight_decay == pytest.approx(1e-4)
    optimizer = make_optimizer(compose_validated(["optimizer=sgd", "+optimizer.nesterov=true",
                                                  "optimizer.momentum=0.9"]).optimizer)
    assert optimizer.nesterov and optimizer.momentum == pytest.approx(0.9)


@pytest.mark.parametrize("strategy", catalog.options("strategy"))
def test_strategies_compose(strategy):
    assert compose_validated([f"strategy={strategy}"]).strategy._target_.endswith(f"strategy.{strategy}")


@pytest.mark.parametrize(("task", "units"), [("mnist", [512]), ("imdb", [16, 16]), ("reuters", [64, 64]),
                                             ("boston", [64, 64])])
def test_dense_takes_the_books_widths_from_the_task(task, units):
    cfg = compose_validated([f"task={task}", "model=dense"])
    assert list(cfg.model.units) == units


def test_widths_overridable():
    assert list(compose_validated(["task=imdb", "model.units=[32,8]"]).model.units) == [32, 8]


def test_task_imdb_alone_is_the_books_final_setup():
    cfg = compose_validated(["task=imdb", "model=dense"])
    final = compose_validated(["experiment=ch04/imdb_dense_final"])
    for key in ("epochs", "batch_size"):
        assert cfg[key] == final[key]
    assert cfg.trainer.validation_size == final.trainer.validation_size == 0
    assert cfg.trainer.evaluate_test and list(cfg.model.units) == list(final.model.units)


def test_top_level_overrides_win_over_experiment():
    cfg = compose_validated(["experiment=ch02/mnist_dense", "epochs=2", "batch_size=64", "seed=7"])
    assert (cfg.epochs, cfg.batch_size, cfg.seed) == (2, 64, 7)


def test_derived_experiment_keeps_parent_settings():
    cfg = compose_validated(["experiment=ch04/reuters_bottleneck"])
    assert list(cfg.model.units) == [64, 4] and cfg.batch_size == 128
    assert cfg.trainer.validation_size == 1000 and cfg.epochs == 20


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["task=imdbb"], ["Unknown task 'imdbb'", "Did you mean 'imdb'", "mnist"]),
        (["model=dens"], ["Unknown model 'dens'", "Did you mean 'dense'"]),
        (["epoch=3"], ["Unknown key 'epoch'", "Did you mean 'epochs'"]),
        (["optimizer.learnin_rate=0.1"], ["Unknown key 'optimizer.learnin_rate'", "Did you mean 'learning_rate'"]),
        (["task=imdb", "model=convnet"], ["Model 'convnet' takes image inputs", "Models that fit task 'imdb': bow, dense"]),
        (["epochs=abc"], ["'epochs' must be an integer", "abc"]),
        (["epochs=-3"], ["'epochs' must be at least 1", "-3"]),
        (["batch_size=0"], ["'batch_size' must be at least 1"]),
        (["source=synth"], ["'source'", "Did you mean 'synthetic'"]),
        (["task=reuters", "task.labels=index"], ["needs task.labels=one_hot"]),
    ],
)
def test_bad_input_gives_clear_error(overrides, expected):
    with pytest.raises(ConfigError) as info:
        compose_validated(overrides)
    message = str(info.value)
    for part in expected:
        assert part in message
    assert "Traceback" not in message and "\n" not in message
