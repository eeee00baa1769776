"""An ensemble's run folder: its members' predictions combined and scored, ``config.yaml`` and ``metrics.json``,
and the console table of the ensemble next to each member."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from rich.table import Table

from dlwp_cli import console, run_folder
from dlwp_cli.deploy.ensemble import (
    Member,
    average,
    check_shared_test,
    equal_weights,
    fit_weights,
    load_members,
    shared_validation,
)
from dlwp_cli.deploy.finished_run import FinishedRun
from dlwp_cli.deploy.scoring import Scorer, samples
from dlwp_cli.errors import ConfigError


@dataclass
class Ensemble:
    """The combined members and their scores."""

    members: list[Member]
    weighting: str               # equal | optimized
    weights: np.ndarray
    test: dict                   # the ensemble's test scores
    member_test: list[dict]      # each member's, computed alike
    predictions: dict            # the first test examples' answers
    validation: dict | None      # scores on the validation split the members share, if they share one
    weight_fit: dict | None      # how optimized weights were found


def _scores_on(split: str, members: list[Member], weights: np.ndarray, scorer: Scorer) -> tuple[dict, list[dict]]:
    targets = members[0].predictions[split].targets
    outputs = [m.predictions[split].outputs for m in members]
    return scorer(average(outputs, weights), targets), [scorer(o, targets) for o in outputs]


def build(runs: list[FinishedRun], weighting: str) -> Ensemble:
    """Load every member's predictions, check the splits they share, weigh and score them."""
    members = load_members(runs, ("test", "validation"))
    check_shared_test(members)
    no_validation = shared_validation(members)
    if weighting == "optimized" and no_validation:
        raise ConfigError(f"--weights optimized fits the weights on a validation split the members share, but "
                          f"{no_validation}. Train the members with the same hold-out (e.g. trainer.validation_size="
                          "0.2 and the same validation_from), or use --weights equal.")
    first = members[0]
    test = first.predictions["test"]
    scorer = Scorer(first.data.cfg, test.outputs.shape[1:])
    weights, weight_fit = equal_weights(len(members)), None
    if weighting == "optimized":
        targets = first.predictions["validation"].targets
        weights, weight_fit = fit_weights([m.predictions["validation"].outputs for m in members],
                                          lambda outputs: scorer.loss(outputs, targets))
    validation = None
    if no_validation is None:
        ensemble_val, members_val = _scores_on("validation", members, weights, scorer)
        validation = {"source": first.data.validation_source,
                      "examples": int(len(first.predictions["validation"].targets)),
                      "ensemble": ensemble_val, "members": members_val}
        if weighting == "optimized":
            validation["equal_weights"] = _scores_on("validation", members, equal_weights(len(members)), scorer)[0]
    ensemble_test, member_test = _scores_on("test", members, weights, scorer)
    combined = average([m.predictions["test"].outputs for m in members], weights)
    return Ensemble(members, weighting, weights, ensemble_test, member_test,
                    samples(combined, test.targets, first.data.cfg.task.get("head")), validation, weight_fit)


def _name(ensemble: Ensemble) -> str:
    return f"ensemble of {len(ensemble.members)} {ensemble.members[0].run.task} runs"


def write_folder(folder: Path, ensemble: Ensemble, overrides: list[str], seconds: float) -> Path:
    """``config.yaml`` (members, weights) and ``metrics.json`` in ``folder`` (made here; written atomically)."""
    folder = run_folder.ensure_writable(Path(folder))
    run_folder.lock(folder)
    first = ensemble.members[0]
    members = [str(m.run.path.resolve()) for m in ensemble.members]
    weights = [float(w) for w in ensemble.weights]
    config = {"experiment": "ensemble", "name": _name(ensemble), "source": str(first.run.cfg.get("source", "real")),
              "task": {"name": first.run.task}, "ensemble": {"members": members, "weights": ensemble.weighting,
                                                              "weight_values": weights},
              "overrides": list(overrides)}
    run_folder.write_atomic(folder / run_folder.CONFIG, OmegaConf.to_yaml(OmegaConf.create(config)))
    test = first.predictions["test"]
    metrics = {
        "experiment": "ensemble", "name": _name(ensemble), "status": run_folder.COMPLETED,
        "task": first.run.task, "weighting": ensemble.weighting, "weights": weights,
        "test": ensemble.test,
        "members": [{"run_dir": path, "experiment": m.run.label, "weight": w, "test": scores,
                     "recorded_test": m.run.metrics.get("test", {})}
                    for path, m, w, scores in zip(members, ensemble.members, weights, ensemble.member_test)],
        "data": {"source": config["source"], "test_examples": int(len(test.targets)),
                 "test_labels_sha256": test.fingerprint},
        "predictions": ensemble.predictions,
        "targets": [],
        "timings": {"total_s": seconds},
    }
    if ensemble.validation is not None:
        metrics["validation"] = ensemble.validation
    if ensemble.weight_fit is not None:
        metrics["weight_fit"] = ensemble.weight_fit
    if first.run.metrics.get("class_names"):
        metrics["class_names"] = first.run.metrics["class_names"]
    run_folder.write_json(folder / run_folder.METRICS, metrics)
    return folder


def print_table(ensemble: Ensemble, folder: Path) -> None:
    """The ensemble and each member on test (and on validation where they share it), one row each."""
    names = list(ensemble.test)
    validation = ensemble.validation
    table = Table(title=f"{_name(ensemble)}, {ensemble.weighting} weights (test split)", show_edge=False)
    table.add_column("model", no_wrap=True)
    table.add_column("weight", justify="right")
    for name in names:
        table.add_column(f"test\n{name}", justify="right")
    val_names = list(validation["ensemble"]) if validation else []
    for name in val_names:
        table.add_column(f"val\n{name}", justify="right")
    rows = [("ensemble", None, ensemble.test, validation["ensemble"] if validation else {})]
    rows += [(f"{i + 1}: {m.run.label}", w, scores, validation["members"][i] if validation else {})
             for i, (m, w, scores) in enumerate(zip(ensemble.members, ensemble.weights, ensemble.member_test))]
    for label, weight, scores, val_scores in rows:
        table.add_row(label, "" if weight is None else f"{weight:.3f}", *(f"{scores[n]:.4f}" for n in names),
                      *(f"{val_scores[n]:.4f}" for n in val_names))
    out = console.console
    out.print(table)
    for i, member in enumerate(ensemble.members):
        out.print(f"  {i + 1}: {member.run.path}", markup=False, highlight=False, soft_wrap=True)
    if validation:
        out.print(f"validation: {validation['source']}, {validation['examples']} examples", markup=False,
                  highlight=False, soft_wrap=True)
    out.print(f"run folder: {folder}", markup=False, highlight=False, soft_wrap=True)
