"""The trials of a search as a table (``trials.csv``) and as TensorBoard HParams sessions, one per trial."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from dlwp_cli import run_folder
from dlwp_cli.config.search_space import Dimension, format_value
from dlwp_cli.tuning.space import decode, hparam_value

TRIALS = "trials.csv"
FIXED_COLUMNS = ("trial", "status")


def trial_rows(oracle, dims: list[Dimension], metric: str) -> list[dict]:
    """One row per trial, in the order they started: its id, status, each searched value (as override text),
    the objective's value (the mean over its executions of each one's best epoch), the 1-based epoch it was
    reached at, and the error of a failed trial."""
    rows = []
    for trial_id in sorted(oracle.trials, key=_order):
        trial = oracle.trials[trial_id]
        values = decode(dims, trial.hyperparameters.values)
        completed = trial.status == "COMPLETED" and trial.score is not None
        rows.append({
            "trial": trial_id,
            "status": str(trial.status).lower(),
            **{dim.key: format_value(values[dim.key]) if dim.key in values else "" for dim in dims},
            metric: f"{float(trial.score):.6g}" if completed else "",
            "best_epoch": int(trial.best_step) + 1 if completed and trial.best_step is not None else "",
            "error": last_line(trial.message) if trial.status in ("FAILED", "INVALID") else "",
        })
    return rows


def _order(trial_id: str):
    return (0, int(trial_id)) if str(trial_id).isdigit() else (1, str(trial_id))


def last_line(message: str | None) -> str:
    """The last non-empty line of a trial's error (its exception), or ''."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def write_trials(run_dir: Path, rows: list[dict]) -> Path:
    """``RUN_DIR/trials.csv``, replaced atomically."""
    path = Path(run_dir) / TRIALS
    if not rows:
        return path
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    run_folder.write_atomic(path, buffer.getvalue())
    return path


def log_trial(log_dir: Path, trial_id: str, values: dict, metric: str, score: float | None) -> None:
    """One HParams session for the trial in ``log_dir`` (``tensorboard/trial_<id>``): its searched values and,
    once it completed, its objective score; its executions' epoch curves lie in the folders below."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams({key: hparam_value(value) for key, value in values.items()}, trial_id=f"trial_{trial_id}")
        if score is not None:
            tf.summary.scalar(metric, float(score), step=0)
