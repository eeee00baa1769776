"""Ensembles of finished runs (book §13.1.2): each member's predictions on the splits they share, and their
weighted average.

Members are checked to share the task and the test split (a hash of its labels), and, for fitted weights, a
validation split. Each member reads the split as its own run did (its own encoding of the inputs, its own
preprocessing inside its model), so different models of the same data combine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from omegaconf import OmegaConf

from dlwp_cli.deploy.finished_run import FinishedRun
from dlwp_cli.deploy.run_data import RunData, collect, keras_predictor, labels_fingerprint, load_run_data
from dlwp_cli.errors import ConfigError

@dataclass
class Predictions:
    """A member's outputs on one split, with the targets and their fingerprint."""

    outputs: np.ndarray
    targets: np.ndarray
    fingerprint: str


@dataclass
class Member:
    """A finished run taking part in an ensemble, with its predictions by split name."""

    run: FinishedRun
    data: RunData
    predictions: dict[str, Predictions] = field(default_factory=dict)


def check_same_task(runs: list[FinishedRun]) -> None:
    """Members must all be single-output runs of one task (read from their configs, before any data loads)."""
    first = runs[0]
    for run in runs:
        if run.cfg.task.get("outputs"):
            raise ConfigError(f"'{run.path}' has several outputs ({', '.join(run.cfg.task.outputs)}); dlwp ensemble "
                              "averages single-output runs.")
        if run.task != first.task:
            raise ConfigError(f"Ensemble members must be runs of the same task: '{first.path}' is a run of task "
                              f"'{first.task}', '{run.path}' of task '{run.task}'. Give runs that predict the same "
                              "data.")


def _data_key(run: FinishedRun) -> str:
    """What decides a run's prepared data: runs with the same key read identical splits."""
    cfg = run.cfg
    keys = ("task", "model", "source", "seed", "data_dir", "download", "transforms", "trainer", "smoke")
    return OmegaConf.to_yaml(OmegaConf.create({key: cfg.get(key) for key in keys}))


def load_members(runs: list[FinishedRun], splits: tuple[str, ...]) -> list[Member]:
    """Each run's model predictions on the named splits ("test", "validation"); runs whose data are
    configured alike share one load of the data."""
    from dlwp_cli.loading import load_model

    loaded: dict[str, RunData] = {}
    members = []
    for run in runs:
        key = _data_key(run)
        if key not in loaded:
            loaded[key] = load_run_data(run.cfg)
        data = loaded[key]
        predict = keras_predictor(load_model(run.path, compile=False))
        member = Member(run, data)
        for name in splits:
            split = data.test if name == "test" else data.validation
            if split is None:
                continue
            outputs, targets = collect(predict, data.data, split)
            member.predictions[name] = Predictions(outputs, targets, labels_fingerprint(targets, data.cfg.task))
        members.append(member)
    return members


def check_shared_test(members: list[Member]) -> None:
    """Every member must have the same test split (same labels, same output shape), or a ConfigError."""
    for member in members:
        if "test" not in member.predictions:
            raise ConfigError(f"The run in '{member.run.path}' has no test split (task '{member.run.task}'), and an "
                              "ensemble is scored on the test split its members share.")
    first = members[0].predictions["test"]
    for member in members[1:]:
        mine = member.predictions["test"]
        if mine.outputs.shape[1:] != first.outputs.shape[1:]:
            raise ConfigError(f"'{members[0].run.path}' outputs {first.outputs.shape[1:]} per example and "
                              f"'{member.run.path}' {mine.outputs.shape[1:]}: ensemble members need the same head.")
        if mine.fingerprint != first.fingerprint:
            raise ConfigError(f"Ensemble members must share the test split: '{members[0].run.path}' and "
                              f"'{member.run.path}' have different test labels ({len(first.targets)} and "
                              f"{len(mine.targets)} examples, label hashes {first.fingerprint[:12]} and "
                              f"{mine.fingerprint[:12]}). Give runs of the same dataset and split (same data, "
                              "data seed and source).")


def shared_validation(members: list[Member]) -> str | None:
    """Why the members share no validation split (in words), or None when they share one (same labels)."""
    missing = [f"'{m.run.path}'" for m in members if "validation" not in m.predictions]
    if missing:
        return (f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no validation split (none of the "
                "dataset's own, and trainer.validation_size=0)")
    first = members[0].predictions["validation"]
    for member in members[1:]:
        if member.predictions["validation"].fingerprint != first.fingerprint:
            return (f"'{members[0].run.path}' and '{member.run.path}' validated on different rows (their validation "
                    "labels differ: another hold-out size, position or seed)")
    return None


def average(outputs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted mean of the members' outputs (probabilities, or values for regression)."""
    return np.tensordot(np.asarray(weights, dtype="float64"), np.stack(outputs), axes=1)


def equal_weights(count: int) -> np.ndarray:
    return np.full(count, 1.0 / count)


def fit_weights(outputs: list[np.ndarray], loss) -> tuple[np.ndarray, dict]:
    """Non-negative weights summing to 1 that minimise ``loss(averaged outputs)`` on a validation split:
    Nelder-Mead over the softmax of free parameters, started from equal weights; equal weights and each single
    member are candidates too, so the result is never worse than any of them. Returns the weights and a record of
    the search."""
    from scipy.optimize import minimize

    count = len(outputs)

    def weights_of(z):
        e = np.exp(z - np.max(z))
        return e / e.sum()

    def objective(z):
        return loss(average(outputs, weights_of(z)))

    found = minimize(objective, np.zeros(count), method="Nelder-Mead",
                     options={"xatol": 1e-4, "fatol": 1e-7, "maxiter": 400 * count})
    candidates = {"optimized": weights_of(found.x), "equal": equal_weights(count),
                  **{f"member_{i + 1}": np.eye(count)[i] for i in range(count)}}
    losses = {name: float(loss(average(outputs, w))) for name, w in candidates.items()}
    best = min(losses, key=losses.get)
    return candidates[best], {"method": "Nelder-Mead on the softmax of the weights, minimising the task's loss",
                              "iterations": int(found.nit), "chosen": best, "validation_loss": losses}
