"""``trainer=keras_tuner`` at work: the KerasTuner search on the run's data, then the top sets retrained on all
the training data and tested (book §13.1.1, listing 13.3).

The run folder holds the search's state, so a killed search continues where it stopped (``dlwp tune
resume=RUN_DIR``) and never repeats a finished trial:

- ``tuner/``: KerasTuner's own project (``oracle.json``, ``trial_<id>/trial.json`` and checkpoints), reloaded
  with ``overwrite=False``; a trial cut short by the kill runs again from its start. ``group_options.json``
  beside it keeps the searched groups' option nodes as the first start read them;
- ``trials.csv``: every trial so far (id, status, the searched values, the objective, its best epoch, the error
  of a failed one), rewritten after each trial; ``metrics.json`` counts ``trials_done`` while it runs;
- ``retrain/rank_<N>.json``: each retrained top set's epochs and test scores. The best set (rank 1) is
  retrained last, so its model is the one in memory at the end (saved as ``model.keras``);
- ``tensorboard/trial_<id>/``: one HParams session per trial, with its executions' curves below it.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import time
import zlib
from dataclasses import replace
from pathlib import Path

import keras
import keras_tuner
import numpy as np

from dlwp_cli import console, run_folder
from dlwp_cli.errors import ConfigError, DlwpError
from dlwp_cli.training import callbacks as run_callbacks
from dlwp_cli.training.common import (Context, TrainResult, best_epoch, epoch_datasets, holdout_split, score_test,
                                      test_dataset, training_summary)
from dlwp_cli.training.modeling import body_parameters, build_model
from dlwp_cli.training.resilience import FiniteLossGuard
from dlwp_cli.tuning import checks, space, trials

PROJECT = "tuner"       # RUN_DIR/tuner: KerasTuner's project folder
RETRAIN = "retrain"     # RUN_DIR/retrain/rank_<N>.json
GROUP_OPTIONS = "group_options.json"  # RUN_DIR/tuner/: the searched groups' option nodes, as the search read them
CHOOSING = ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau")  # callbacks that watch val_loss by default


class SearchFailed(DlwpError):
    """No trial of the search completed, or too many failed in a row."""

    title = "search failed"


class ObjectiveMissing(keras_tuner.errors.FatalError):
    """The fit does not log the objective's metric (stops the whole search, not just the trial)."""


class ObjectiveCheck(keras.callbacks.Callback):
    """After the first epoch: the objective's metric is among the logged ones."""

    def __init__(self, metric: str):
        super().__init__()
        self.metric = metric

    def on_epoch_end(self, epoch, logs=None):
        if self.metric not in (logs or {}):
            logged = ", ".join(sorted(k for k in logs or {} if k.startswith("val_"))) or "none"
            raise ObjectiveMissing(f"objective.metric={self.metric}: the run does not log it; on the validation "
                                   f"split it logs {logged}. Choose one of them, or add the metric to task.metrics.")


def tune(mode, ctx: Context, data) -> TrainResult:
    """The whole workflow; the result's model is the best set's retrained model."""
    cfg = ctx.cfg
    dims = checks.check_config(cfg, saved_group_nodes(Path(ctx.run_dir)))
    checks.check_direction(cfg)
    settings = checks.tuner_settings(cfg)
    search = Search(mode, ctx, data, dims, settings)
    started = time.perf_counter()
    search.run()
    search_s = time.perf_counter() - started
    top = search.best_trials()
    results, model, final = search.retrain(top)
    retrain_s = time.perf_counter() - started - search_s
    summary = training_summary(final["history"], final["steps"], search.final_idx, None)
    metrics = {
        **summary,
        "objective": {"metric": str(cfg.objective.metric), "direction": str(cfg.objective.direction),
                      "value": float(top[0].score), "trial": top[0].trial_id},
        "tuning": search.report(results),
        "test_evaluations": sum(result.get("test_evaluations", 0) for result in results),
    }
    if results[0].get("test"):
        metrics["test"] = dict(results[0]["test"])
    if search.resumed:
        metrics["resumed"] = True
    return TrainResult(metrics, model, {"search_s": search_s, "retrain_s": retrain_s})


class Search:
    """One search: its data splits, trial configs, tuner, trials table and retrained top sets."""

    def __init__(self, mode, ctx: Context, data, dims, settings: checks.TunerSettings):
        self.mode, self.ctx, self.data, self.dims, self.settings = mode, ctx, data, dims, settings
        self.cfg = ctx.cfg
        self.run_dir = Path(ctx.run_dir)
        self.nodes = checks.group_nodes(dims, saved_group_nodes(self.run_dir))
        (self.run_dir / PROJECT).mkdir(exist_ok=True)
        run_folder.write_json(self.run_dir / PROJECT / GROUP_OPTIONS, self.nodes)
        self.metric = str(self.cfg.objective.metric)
        self.precision = str(self.cfg.precision)
        self._configs: dict[str, object] = {}
        self.trial_id, self.execution = "", 0
        self.resumed = False
        self.oracle = None
        self._split()

    # -- data ------------------------------------------------------------------------------------------------
    def _split(self) -> None:
        """The search's training rows and validation (a hold-out, else the task's validation split), and the
        final fits' data: every training example, the validation split joined in where it can be."""
        data, cfg = self.data, self.cfg
        self.train_idx, self.val_idx = holdout_split(cfg, data.n_train)
        if self.val_idx is None and not data.n_val:
            raise ConfigError(f"A search needs validation data, and task '{cfg.task.name}' has no validation split: "
                              f"hold some training examples out with trainer.validation_size (a count, or a "
                              f"fraction in (0, 1), e.g. trainer.validation_size=0.2).")
        n_val = len(self.val_idx) if self.val_idx is not None else data.n_val
        self.search_examples = (len(self.train_idx), n_val)
        if self.val_idx is not None:
            self.final_data = replace(data, x_val=None, y_val=None)
            self.retrained_on = "train+validation"
        else:
            joined = _joined(data.x_train, data.x_val), _joined(data.y_train, data.y_val)
            if joined[0] is not None and joined[1] is not None:
                self.final_data = replace(data, x_train=joined[0], y_train=joined[1], x_val=None, y_val=None)
                self.retrained_on = "train+validation"
            else:  # streamed or word-id data: the validation split cannot be joined to the training rows
                self.final_data = replace(data, x_val=None, y_val=None)
                self.retrained_on = "train"
        self.final_idx = np.arange(self.final_data.n_train)

    # -- trials ----------------------------------------------------------------------------------------------
    def config_for(self, values: dict):
        """The validated config of a trial's values (made once per set of values)."""
        key = space.overrides_text(values)
        if key not in self._configs:
            self._configs[key] = space.trial_config(self.cfg, values, self.nodes)
        return self._configs[key]

    def next_seed(self) -> int:
        """The seed of the trial's next execution: the run's seed and the trial and execution, so each model
        starts the same whether the search ran straight or was resumed."""
        self.execution += 1
        return (int(self.cfg.seed) + zlib.crc32(f"{self.trial_id}/{self.execution}".encode())) % 2**31

    def begin_trial(self, trial) -> None:
        self.trial_id, self.execution = trial.trial_id, 0
        shutil.rmtree(self.run_dir / run_folder.TENSORBOARD / f"trial_{trial.trial_id}", ignore_errors=True)
        values = space.decode(self.dims, trial.hyperparameters.values)
        self._say(f"trial {trial.trial_id} ({self._done() + 1} of {self._planned()}): "
                  f"{space.overrides_text(values)}")

    def end_trial(self, trial) -> None:
        """Record the trial: its HParams session, the trials table, and the count in metrics.json."""
        trial = self.oracle.get_trial(trial.trial_id)
        values = space.decode(self.dims, trial.hyperparameters.values)
        score = trial.score if trial.status == "COMPLETED" else None
        if self.cfg.output.tensorboard:
            trials.log_trial(self.run_dir / run_folder.TENSORBOARD / f"trial_{trial.trial_id}", trial.trial_id,
                             values, self.metric, score)
        self.write_table()
        current = run_folder.read_metrics(self.run_dir) or {}
        if current.get("status") == run_folder.RUNNING:
            run_folder.write_json(self.run_dir / run_folder.METRICS,
                                  {**current, "trials_done": self._done(), "max_trials": self.settings.max_trials})
        shown = f"{self.metric} {score:.4f}" if score is not None else f"{str(trial.status).lower()}: " \
            f"{trials.last_line(trial.message)}"
        self._say(f"trial {trial.trial_id}: {shown}")

    def write_table(self) -> None:
        trials.write_trials(self.run_dir, trials.trial_rows(self.oracle, self.dims, self.metric))

    def _done(self) -> int:
        return sum(t.status in ("COMPLETED", "FAILED") for t in self.oracle.trials.values()) if self.oracle else 0

    def _planned(self) -> str:
        return str(self.settings.max_trials) if self.settings.max_trials else "?"

    def run(self) -> None:
        """Create (or reload) the tuner in the run folder and search until its trials are done."""
        hypermodel = SearchModel(self)
        self.resumed = (self.run_dir / PROJECT / "oracle.json").is_file()
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner prints "Reloading Tuner from ..."
            tuner = _tuner_class(self.settings.cls, self)(
                hypermodel=hypermodel, directory=str(self.run_dir), project_name=PROJECT, overwrite=False,
                objective=keras_tuner.Objective(self.metric, str(self.cfg.objective.direction)),
                **self.settings.arguments)
        hypermodel.declaring = False
        self.oracle = tuner.oracle
        self._say(f"search: {self.settings.cls.__name__}, {self._planned()} trials of "
                  f"{self.settings.arguments.get('executions_per_trial', 1)} execution(s) on "
                  f"{self.search_examples[0]:,} examples, {self.metric} ({self.cfg.objective.direction}) on "
                  f"{self.search_examples[1]:,}" + (f"; resumed with {self._done()} trials done" if self.resumed
                                                     else ""))
        try:
            tuner.search(epochs=int(self.cfg.epochs), verbose=0)
        except ObjectiveMissing as err:
            raise ConfigError(str(err)) from None
        except RuntimeError as err:
            if "consecutive failures" not in str(err):
                raise
            self.write_table()
            raise SearchFailed(f"{self.settings.arguments.get('max_consecutive_failed_trials', 3)} trials in a row "
                               f"failed; the last one with: {trials.last_line(str(err))}. Every trial's error is in "
                               f"{self.run_dir / trials.TRIALS}.") from None
        except KeyboardInterrupt:
            self._say(f"search interrupted with {self._done()} of {self._planned()} trials done; continue with "
                      f"`dlwp tune resume={self.run_dir}`")
            raise
        self.write_table()

    def best_trials(self) -> list:
        """The best trial of each of the ``top_n`` best distinct sets of values, best first. (A small space is
        tried more than once: KerasTuner's Bayesian oracle proposes sets it already tried, and each such trial
        is ranked on its own; a set is retrained once, for its best trial.)"""
        completed = [t for t in self.oracle.get_best_trials(len(self.oracle.trials))
                     if t.status == "COMPLETED" and t.score is not None]
        if not completed:
            raise SearchFailed(f"No trial completed, so there is nothing to retrain; each trial's error is in "
                               f"{self.run_dir / trials.TRIALS}.")
        distinct: dict[str, object] = {}
        for trial in completed:
            distinct.setdefault(space.overrides_text(space.decode(self.dims, trial.hyperparameters.values)), trial)
        return list(distinct.values())[: self.settings.top_n]

    # -- fits ------------------------------------------------------------------------------------------------
    def build(self, cfg):
        with self.ctx.strategy.scope():
            return build_model(cfg, self.data, self.ctx.strategy.num_replicas_in_sync)

    def fit(self, model, cfg, label: str, epochs: int, validate: bool, patience: int = 0, initial_epoch: int = 0,
            extra: list | None = None):
        """``model.fit`` on the search split (``validate``) or on all training data; the History and the steps
        per epoch."""
        tctx = Context(cfg, self.ctx.strategy, run_dir=self.run_dir)
        if validate:
            train_ds, val_ds, steps, order = epoch_datasets(tctx, self.data, self.train_idx, self.val_idx)
        else:
            train_ds, val_ds, steps, order = epoch_datasets(tctx, self.final_data, self.final_idx, None)
        specs = {**cfg.task.callbacks, **cfg.callbacks}
        if not validate:  # nothing to watch without validation data
            specs = {name: spec for name, spec in specs.items() if not _watches_validation(spec)}
        callbacks = [FiniteLossGuard(), *run_callbacks.from_config(specs, self.run_dir / label)]
        if patience:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience))
        if cfg.output.tensorboard:
            callbacks.append(run_callbacks.EpochTensorBoard(self.run_dir / run_folder.TENSORBOARD / label))
        if cfg.output.console:
            prefix = label.replace("_", " ").replace("/", ", ") + " "
            callbacks.append(run_callbacks.RichProgress(console.console, epochs, steps, prefix))
        callbacks += ([order] if order is not None else []) + list(extra or [])
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=initial_epoch,
                            callbacks=callbacks, verbose=0, shuffle=False)
        return history, steps

    def retrain(self, top: list) -> tuple[list[dict], object, dict]:
        """Each top set: its best epoch, a fresh model trained on all training data for
        ``int(best_epoch * retrain_factor)`` epochs, and its test scores. Ranks 2.. first, the best set last (its
        model is returned); a finished rank's results are read back on a resumed run."""
        folder = self.run_dir / RETRAIN
        folder.mkdir(exist_ok=True)
        results, model, final = {}, None, {}
        for rank in [*range(2, len(top) + 1), 1]:
            path = folder / f"rank_{rank}.json"
            earlier = _read(path)
            if rank > 1 and earlier is not None:
                results[rank] = earlier
                continue
            results[rank], model, final = self._retrain_one(rank, top[rank - 1])
            if earlier is not None:  # the best set's earlier attempt was tested, then the run was killed
                results[rank]["test_evaluations"] += earlier.get("test_evaluations", 0)
            run_folder.write_json(path, results[rank])
        return [results[rank] for rank in sorted(results)], model, final

    def _retrain_one(self, rank: int, trial) -> tuple[dict, object, dict]:
        values = space.decode(self.dims, trial.hyperparameters.values)
        cfg = self.config_for(values)
        self._say(f"rank {rank} (trial {trial.trial_id}, {self.metric} {trial.score:.4f}): "
                  f"{space.overrides_text(values)}")
        started = time.perf_counter()
        if self.mode.best_epoch == "refit":
            model = self._fresh(cfg, rank, 0)
            history, _ = self.fit(model, cfg, f"retrain/rank_{rank}/refit", int(cfg.epochs), validate=True,
                                  patience=int(self.mode.refit_patience))
            chosen = best_epoch(history.history)  # the book's argmin(val_loss) + 1
        else:
            chosen = int(trial.best_step) + 1
        epochs = max(1, int(chosen * float(self.mode.retrain_factor)))
        model = self._fresh(cfg, rank, 1)
        history, steps = self.fit(model, cfg, f"retrain/rank_{rank}", epochs, validate=False)
        curves = {k: [float(v) for v in values] for k, values in history.history.items() if k != "learning_rate"}
        result = {"rank": rank, "trial": trial.trial_id, "values": values, "overrides": space.overrides_text(values),
                  "objective": float(trial.score), "best_epoch": chosen, "best_epoch_from": self.mode.best_epoch,
                  "epochs": epochs, "parameters": body_parameters(model, self.data), "test_evaluations": 0}
        timings = {}
        tctx = Context(cfg, self.ctx.strategy, run_dir=self.run_dir)
        score_test(tctx, self.data, lambda: _evaluate(model, test_dataset(tctx, self.data)), result, timings)
        result["seconds"] = round(time.perf_counter() - started, 2)
        if result.get("test"):
            shown = ", ".join(f"{k} {v:.4f}" for k, v in result["test"].items())
            self._say(f"rank {rank}: {epochs} epochs on all {len(self.final_idx):,} training examples; test {shown}")
        return result, model, {"history": curves, "steps": steps}

    def _fresh(self, cfg, rank: int, stage: int):
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy(self.precision)
        keras.utils.set_random_seed((int(self.cfg.seed) + 1000 * rank + stage) % 2**31)
        return self.build(cfg)

    def report(self, results: list[dict]) -> dict:
        """``metrics.json``'s ``tuning``: the search's settings and counts, and the retrained top sets."""
        statuses = [str(t.status) for t in self.oracle.trials.values()]
        return {
            "tuner": self.settings.name,
            "arguments": {k: v for k, v in self.settings.arguments.items() if isinstance(v, (int, float, str, bool))},
            "search_space": {dim.key: dim.kind for dim in self.dims},
            "trials": len(statuses),
            "completed": statuses.count("COMPLETED"),
            "failed": statuses.count("FAILED") + statuses.count("INVALID"),
            "search_examples": self.search_examples[0],
            "validation_examples": self.search_examples[1],
            "top_n": self.settings.top_n,
            "best_epoch_from": self.mode.best_epoch,
            "retrain_factor": float(self.mode.retrain_factor),
            "retrained_on": self.retrained_on,
            "retrain_examples": len(self.final_idx),
            "top": results,
        }

    def _say(self, text: str) -> None:
        """On the console (which copies it to dlwp.log), or only in dlwp.log when the console is off."""
        if self.cfg.output.console:
            console.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            console.log.info("%s", text)


class SearchModel(keras_tuner.HyperModel):
    """The run's model with a trial's values: ``build(hp)`` declares the search space on ``hp`` and builds the
    model exactly as ``dlwp run`` would with those values as overrides; ``fit`` trains it on the search split
    with early stopping on ``val_loss``."""

    def __init__(self, search: Search):
        super().__init__(name="dlwp")
        self.search = search
        self.declaring = True  # while the tuner is created: declare the space, build nothing

    def build(self, hp):
        values = {dim.key: space.declare(hp, dim) for dim in self.search.dims}
        if self.declaring:
            return None
        cfg = self.search.config_for(values)
        keras.mixed_precision.set_global_policy(self.search.precision)  # the tuner cleared Keras's session
        keras.utils.set_random_seed(self.search.next_seed())
        return self.search.build(cfg)

    def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
        search = self.search
        cfg = search.config_for(space.decode(search.dims, hp.values))
        label = f"trial_{search.trial_id}/execution_{search.execution}"
        history, _ = search.fit(model, cfg, label, int(epochs or cfg.epochs), validate=True,
                                patience=int(search.mode.patience), initial_epoch=int(initial_epoch or 0),
                                extra=[ObjectiveCheck(search.metric), *(callbacks or [])])
        return history


def _tuner_class(base: type, search: Search) -> type:
    """``base`` (a KerasTuner tuner) telling ``search`` when each trial begins and ends."""

    class RunFolderTuner(base):
        def run_trial(self, trial, *args, **kwargs):
            search.begin_trial(trial)
            return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            search.end_trial(trial)

    RunFolderTuner.__name__ = base.__name__
    return RunFolderTuner


def saved_group_nodes(run_dir: Path) -> dict | None:
    """The searched groups' option nodes an earlier start of this search read (so a resumed search needs neither
    the config dirs it was started with nor unchanged option files), or None."""
    return _read(run_dir / PROJECT / GROUP_OPTIONS)


def _evaluate(model, dataset) -> dict:
    return {k: float(v) for k, v in model.evaluate(dataset, verbose=0, return_dict=True).items()}


def _watches_validation(spec) -> bool:
    monitor = spec.get("monitor") if spec else None
    if monitor is None:
        monitor = "val_loss" if str((spec or {}).get("_target_", "")).endswith(CHOOSING) else ""
    return str(monitor).startswith("val_")


def _joined(a, b):
    """``a`` then ``b`` (arrays, or dicts of them by input name), or None when they cannot be joined."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        parts = {key: _joined(a[key], b[key]) for key in a}
        return None if any(part is None for part in parts.values()) else parts
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape[1:] == b.shape[1:]:
        return np.concatenate([a, b])
    return None


def _read(path: Path) -> dict | None:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
