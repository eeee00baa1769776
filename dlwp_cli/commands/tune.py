"""``dlwp tune [OVERRIDES...] [--config-dir DIR]``: ``dlwp run`` with ``trainer=keras_tuner``.

The config's ``search_space`` is searched with KerasTuner (``tuner=random|bayesian|hyperband``, random when the
config chooses none), then the top sets are retrained on all training data and tested, into a run folder of
its own. The search space, the objective and the tuner's settings are checked before the run folder is made;
``resume=RUN_DIR`` continues a killed search without repeating its finished trials.
"""

from __future__ import annotations

from dlwp_cli.errors import ConfigError

TUNE_HELP = """\
usage: dlwp tune [OVERRIDES...] [--config-dir DIR]

A KerasTuner search over the config's search_space (book §13.1.1): trials on a validation split, scored on
objective.metric; then the tuner.top_n best sets each find their best epoch, train a fresh model on all the
training data for int(best_epoch * 1.2) epochs, and are tested once. Same as
'dlwp run trainer=keras_tuner OVERRIDES'; takes the same overrides and options (--config-dir DIR, --cfg job).

  search_space.KEY='EXPR'    a config key and Hydra's sweep syntax: choice(a,b), range(16,65,16),
                             interval(1e-4,1e-2), int(interval(1,4)), tag(log, interval(...)); add new keys
                             with '+search_space.model.dropout=...' (quote the expression)
  objective.metric=val_loss  what the search optimises: a validation metric the run logs
  objective.direction=min    min | max
  tuner=random               random | bayesian | hyperband; tuner.max_trials, tuner.executions_per_trial,
                             tuner.top_n (the sets retrained and tested), tuner.seed
  trainer.validation_size=N  hold-out examples (or a fraction) for a task without a validation split;
                             trainer.validation_from=last|first|random
  trainer.patience=5         the search's EarlyStopping(val_loss) patience
  trainer.best_epoch=refit   refit: each top set refits with validation (patience trainer.refit_patience=10)
                             to find its best epoch, as the book does; search: its trial's best epoch
  resume=RUN_DIR             continue a killed search in its folder (finished trials are kept)
  debug=smoke                2 trials of tiny synthetic data, in seconds

The run folder gets trials.csv (every trial: values, objective, best epoch, status), metrics.json
(objective, tuning.top: each retrained set's epochs and test scores; test: the best set's), model.keras
(the best set's retrained model), tuner/ (KerasTuner's state), retrain/ and tensorboard/ (one HParams
session per trial: tensorboard --logdir RUN_DIR/tensorboard).

examples:
  dlwp tune experiment=ch13/tuning_keras_tuner_mnist tuner.max_trials=12
  dlwp tune task=digits trainer.validation_size=0.2 "+search_space.model.units='choice([32],[64],[128])'"
  dlwp tune experiment=ch13/tuning_keras_tuner_mnist debug=smoke
  dlwp tune resume=outputs/ch13/tuning_keras_tuner_mnist/2024-05-01_12-00-00 tuner.max_trials=20\
"""

TRAINER = "keras_tuner"
DEFAULT_TUNER = "random"


def tune_command(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(TUNE_HELP)
        return 0
    from dlwp_cli.commands.run import parse_args, run_command

    parsed = parse_args(argv)
    if parsed.multirun:
        raise ConfigError("dlwp tune runs one search; a sweep of searches is 'dlwp run -m trainer=keras_tuner ...'.")
    resume = next((o.split("=", 1)[1] for o in parsed.overrides if o.startswith("resume=")), None)
    if resume is not None:
        check_resumable(resume)
        from dlwp_cli.config import catalog

        catalog.configure(parsed.config_dir, parsed.overrides)  # the user's configs, for the run's own checks
        return run_command(argv)
    added = planned_choices(parsed)
    if not parsed.prints_only:
        import os

        from dlwp_cli import console

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with console.native_log_filtered():  # the checks import TensorFlow: without its C++ start-up lines
            check_up_front([*parsed.overrides, *added])
            console.load_tensorflow()
    return run_command([*argv, *added])


def planned_choices(parsed) -> list[str]:
    """The overrides ``dlwp tune`` adds: ``trainer=keras_tuner`` unless the config's trainer is a search already,
    and ``tuner=random`` unless it chose a tuner (read from the group choices alone, so that ``tuner.max_trials=12``
    or ``trainer.patience=3`` may be given without them)."""
    from dlwp_cli.config import catalog
    from dlwp_cli.config.compose import compose

    parsed.overrides = catalog.configure(parsed.config_dir, parsed.overrides)
    groups = catalog.groups()
    choices = [o for o in parsed.overrides
               if catalog.is_searchpath(o) or o.split("=", 1)[0].lstrip("+~").split("@")[0] in groups]
    cfg = compose(choices)
    added = [] if _is_search(cfg.trainer.get("_target_")) else [f"trainer={TRAINER}"]
    if cfg.get("tuner") is None:
        added.append(f"tuner={DEFAULT_TUNER}")
    return added


def check_up_front(overrides: list[str]) -> None:
    """Everything a search checks before it trains, before a run folder exists: the config, the search space,
    the objective, and the tuner's class and settings."""
    from dlwp_cli.config.compose import compose_validated
    from dlwp_cli.tuning import checks

    cfg = compose_validated(overrides)
    checks.check_config(cfg)
    checks.check_direction(cfg)
    checks.tuner_settings(cfg)


def check_resumable(value: str) -> None:
    """``resume=`` names an interrupted search (``dlwp run resume=`` checks the rest)."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from dlwp_cli.commands.resume import find_run
    from dlwp_cli.run_folder import CONFIG

    run_dir = find_run(value)
    target = OmegaConf.select(OmegaConf.load(Path(run_dir) / CONFIG), "trainer._target_", default=None)
    if not _is_search(target):
        raise ConfigError(f"resume={value}: the run in '{run_dir}' is no search (trainer {target}); continue it with "
                          f"'dlwp run resume={value}'.")


def _is_search(target) -> bool:
    from dlwp_cli.config.plugins import import_target
    from dlwp_cli.tuning.mode import KerasTuner

    if not target:
        return False
    found = import_target(str(target), "trainer")
    return isinstance(found, type) and issubclass(found, KerasTuner)
