"""Runs that survive interruption: epoch backups in the run folder, a persisted per-epoch history,
and a stop with a clear message when the loss stops being a finite number."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import keras

from dlwp_cli.errors import DlwpError

BACKUP = "backup"


class NonFiniteLoss(DlwpError):
    """Training produced a NaN or infinite loss."""

    title = "training stopped"


class FiniteLossGuard(keras.callbacks.Callback):
    """Raise :class:`NonFiniteLoss` at the end of an epoch whose loss is NaN or infinite.

    It must come before the backup callback, so the broken epoch is never backed up and the last
    good one stays on disk. It checks once per epoch: a per-batch hook would make Keras wait for
    every step.
    """

    def __init__(self, backup_dir: Path | None = None):
        super().__init__()
        self.backup_dir = backup_dir

    def on_epoch_end(self, epoch, logs=None):
        bad = {k: v for k, v in (logs or {}).items() if not math.isfinite(float(v))}
        if bad:
            kept = (f" The last good epoch ({epoch}) is kept in {self.backup_dir}; 'dlwp run resume=<run folder>' "
                    "continues from it." if self.backup_dir and epoch > 0 else "")
            raise NonFiniteLoss(
                f"{', '.join(sorted(bad))} became {'/'.join(sorted({str(float(v)) for v in bad.values()}))} in epoch "
                f"{epoch + 1}. Lower optimizer.learning_rate, check the data for NaN values, or use "
                f"precision=float32.{kept}"
            )


class EpochBackup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore, saving at epoch ends only and keeping the backup after training
    (the pipeline removes it once the run folder is complete). ``double_checkpoint`` keeps the previous
    epoch's backup until the new one is written, so a kill during a save falls back to it."""

    async_safe = True  # no per-batch work, so Keras need not wait for each step's logs

    def __init__(self, backup_dir: Path):
        super().__init__(backup_dir=str(backup_dir), save_freq="epoch", double_checkpoint=True,
                         delete_checkpoint=False)


class EpochHistoryLog(keras.callbacks.Callback):
    """Every epoch's logs in ``history.json`` next to the backup, so a resumed run's history is complete."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.epochs: dict[int, dict] = {}

    def on_train_begin(self, logs=None):
        if self.path.is_file():
            self.epochs = {int(k): v for k, v in json.loads(self.path.read_text()).items()}

    def on_epoch_end(self, epoch, logs=None):
        self.epochs[epoch] = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.epochs))
        tmp.replace(self.path)

    def history(self) -> dict[str, list[float]]:
        """Per-metric lists over all epochs seen, resumed ones included."""
        ordered = [self.epochs[e] for e in sorted(self.epochs)]
        return {key: [epoch[key] for epoch in ordered] for key in (ordered[0] if ordered else {})}


def resilience_callbacks(backup_dir: Path | None) -> list:
    """The guard, then (when ``backup_dir`` is given) the history log and the backup. The log is written before
    the backup, so a kill between the two leaves the log one epoch ahead: the resumed run retrains that epoch
    and rewrites its entry, and the history stays complete."""
    if backup_dir is None:
        return [FiniteLossGuard()]
    return [FiniteLossGuard(backup_dir), EpochHistoryLog(Path(backup_dir) / "history.json"), EpochBackup(backup_dir)]


def remove_backups(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / BACKUP, ignore_errors=True)
