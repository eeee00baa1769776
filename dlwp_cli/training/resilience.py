"""Runs that survive interruption: complete epoch backups in the run folder (with the per-epoch history),
and a stop with a clear message when the loss stops being a finite number."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import keras
import numpy as np

from dlwp_cli import run_folder
from dlwp_cli.errors import DlwpError

BACKUP = run_folder.BACKUP
log = logging.getLogger(__name__)


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


class EpochBackup(keras.callbacks.Callback):
    """Back up the whole training state at every epoch's end, so that a killed run continues where it stopped
    and ends as the uninterrupted run would have.

    Each backup is a folder ``epoch-NNNNN`` with the weights and the optimizer's state, the layers' random
    states (dropout), the per-epoch history, and the state of the run's other callbacks (early stopping's
    patience and best weights). It is written under a temporary name and renamed when complete, so a kill at
    any instant leaves whole backups only; the previous epoch's is kept too, as Keras's ``double_checkpoint``
    does, and used when the newest cannot be read. ``on_train_begin`` restores the newest and sets the epoch
    ``fit`` starts from.
    """

    async_safe = True  # no per-batch work, so Keras need not wait for each step's logs
    CALLBACK_STATE = ("wait", "best", "best_epoch", "stopped_epoch", "cooldown_counter", "best_weights")

    def __init__(self, backup_dir: Path, peers: list | None = None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.peers = list(peers or [])  # callbacks whose state is backed up with the model's
        self.epochs: dict[int, dict] = {}
        self.restored_epoch = 0
        self._peer_state: tuple[list, dict] | None = None

    # -- restoring ---------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        for folder in run_folder.epoch_backups(self.backup_dir):
            try:
                self._restore(folder)
                return
            except (OSError, ValueError, KeyError) as err:
                log.warning("epoch backup %s cannot be read (%s); trying the one before it", folder, err)

    def _restore(self, folder: Path) -> None:
        state = json.loads((folder / run_folder.BACKUP_STATE).read_text())
        with np.load(folder / ARRAYS) as stored:
            arrays = dict(stored)
        for optimizer, variables in _optimizers(self.model):  # built, so their saved state loads too
            if not optimizer.built:
                optimizer.build(variables)
        self.model.load_weights(folder / WEIGHTS)
        for i, variable in enumerate(_random_states(self.model)):
            variable.assign(arrays[f"random_state.{i}"])
        self.epochs = {int(k): v for k, v in state["history"].items()}
        self.restored_epoch = int(state["epoch"])
        self.model._initial_epoch = self.restored_epoch  # where Keras's fit starts, as BackupAndRestore sets it
        self._peer_state = (state["callbacks"], arrays)

    def on_epoch_begin(self, epoch, logs=None):
        # After every callback's on_train_begin, which resets early stopping's counters.
        if self._peer_state is not None:
            scalars, arrays = self._peer_state
            for i, (peer, saved) in enumerate(zip(self.peers, scalars)):
                if saved.get("class") != type(peer).__name__:
                    continue
                for name, value in saved.items():
                    if name != "class":
                        setattr(peer, name, value)
                weights = sorted((k for k in arrays if k.startswith(f"callback.{i}.best_weights.")),
                                 key=lambda k: int(k.rsplit(".", 1)[1]))
                if weights:
                    peer.best_weights = [arrays[k] for k in weights]
            self._peer_state = None

    # -- saving ------------------------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self.epochs[epoch] = {k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        self._save(epoch + 1)

    def _save(self, done: int) -> None:
        final = self.backup_dir / f"epoch-{done:05d}"
        staging = self.backup_dir / f".partial-{final.name}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self.model.save_weights(staging / WEIGHTS)
        arrays = {f"random_state.{i}": np.asarray(v.numpy()) for i, v in enumerate(_random_states(self.model))}
        scalars = []
        for i, peer in enumerate(self.peers):
            saved = {"class": type(peer).__name__}
            for name in self.CALLBACK_STATE:
                value = getattr(peer, name, None)
                if name == "best_weights" and value is not None:
                    arrays.update({f"callback.{i}.best_weights.{j}": np.asarray(w) for j, w in enumerate(value)})
                elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                    saved[name] = value.item() if isinstance(value, np.number) else value
            scalars.append(saved)
        np.savez(staging / ARRAYS, **arrays)
        (staging / run_folder.BACKUP_STATE).write_text(
            json.dumps({"epoch": done, "history": self.epochs, "callbacks": scalars}))
        shutil.rmtree(final, ignore_errors=True)  # left by a run killed after this epoch's rename
        staging.rename(final)
        for old in run_folder.epoch_backups(self.backup_dir)[2:]:  # keep this epoch's and the one before
            shutil.rmtree(old, ignore_errors=True)

    def history(self) -> dict[str, list[float]]:
        """Per-metric lists over all epochs seen, resumed ones included."""
        return history_lists(self.epochs)


def history_lists(epochs: dict[int, dict]) -> dict[str, list[float]]:
    """Logs by epoch number -> a list per metric, in epoch order (the metrics of the first epoch)."""
    ordered = [epochs[e] for e in sorted(epochs)]
    return {key: [logs[key] for logs in ordered] for key in (ordered[0] if ordered else {})}


WEIGHTS = "model.weights.h5"   # the model's and the optimizer's variables
ARRAYS = "arrays.npz"          # the layers' random states and the callbacks' arrays


def _optimizers(model) -> list[tuple]:
    """(optimizer, the variables it updates) for each optimizer the model trains with: its own pairs when it has
    several (a GAN's ``optimizer_variables()``), else the compiled optimizer and the trainable variables."""
    if hasattr(model, "optimizer_variables"):
        return list(model.optimizer_variables())
    return [(model.optimizer, model.trainable_variables)] if model.optimizer is not None else []


def _random_states(model) -> list:
    """The seed-generator states of the model's layers (dropout and other random layers), in model order."""
    return [v for v in model.variables if v.name == "seed_generator_state"]


def resilience_callbacks(backup_dir: Path | None) -> list:
    """The guard, then (when ``backup_dir`` is given) the epoch backup. The guard comes first, so an epoch
    whose loss is not finite is never backed up."""
    if backup_dir is None:
        return [FiniteLossGuard()]
    return [FiniteLossGuard(backup_dir), EpochBackup(backup_dir)]


def remove_backups(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / BACKUP, ignore_errors=True)
