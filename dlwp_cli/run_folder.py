"""The run folder: atomic writes of metrics.json, the resolved config and the trained model."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlwp_cli.errors import OutputError

METRICS = "metrics.json"
CONFIG = "config.yaml"
MODEL = "model.keras"
TENSORBOARD = "tensorboard"
HISTORY_PLOT = "history.png"
CV_PLOT = "cv_curve.png"
CONFUSION_PLOT = "confusion_matrix.png"  # the test split's confusion matrix (classification runs)
SCHEMA = "schema.json"          # the inputs a dataset described (a table's columns), for predict
FEATURES = "features.json"      # scale and standardization applied to raw arrays, for predict
ERRORS = "errors.json"          # a classifier's most confident mistakes, for report --errors
ERROR_IMAGES = "errors"         # the mistaken images errors.json points to


def ensure_writable(folder: Path) -> Path:
    """Create ``folder`` and prove a file can be written there, or raise OutputError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as err:
        raise OutputError(
            f"Cannot write the run folder '{folder}': {err.strerror or err}. "
            "Choose a writable place with hydra.run.dir=PATH (or hydra.sweep.dir=PATH for -m), "
            "or run dlwp from a writable directory."
        ) from None
    return folder


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def write_config(run_dir: Path, cfg: DictConfig) -> None:
    write_atomic(Path(run_dir) / CONFIG, OmegaConf.to_yaml(cfg, resolve=True))


def save_model(run_dir: Path, model) -> Path:
    """Save ``model.keras`` atomically: into a temporary file of its own (Keras insists on the .keras suffix),
    then renamed; a failed save leaves the previous model.keras and no temporary file."""
    final = Path(run_dir) / MODEL
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".partial-", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def read_metrics(run_dir: Path) -> dict | None:
    path = Path(run_dir) / METRICS
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --- who is writing a run folder, and how far it got ---------------------------------------------------

LOCK = ".lock"
BACKUP = "backup"               # epoch backups of unfinished fits: backup/<fit>/epoch-NNNNN/
BACKUP_STATE = "state.json"     # in each epoch backup: the epochs done, the history, the callbacks' state
RUNNING, INTERRUPTED, FAILED, COMPLETED = "running", "interrupted", "failed", "completed"
_HELD: dict[Path, int] = {}  # run folders this process holds: folder -> open file descriptor


def lock(run_dir: Path) -> None:
    """Hold ``RUN_DIR/.lock`` for the rest of this process (``fcntl.flock``: the system releases it when the
    process dies, so a killed run can be resumed at once). Another process's run in the folder raises
    OutputError naming its PID, and the folder is left as it was."""
    import fcntl

    folder = Path(run_dir).resolve()
    if folder in _HELD:
        return
    ensure_writable(folder)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise OutputError(f"The run folder '{folder}' is in use by another process (PID {holder}). Wait for it "
                          "to finish, or choose another folder with hydra.run.dir=PATH.") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _HELD[folder] = fd


def release(run_dir: Path) -> None:
    """Let go of a folder :func:`lock` holds, before the process ends (a sweep worker that runs many jobs would
    otherwise keep one open file per job, and a resume would think them running)."""
    fd = _HELD.pop(Path(run_dir).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases its flock


def is_locked(run_dir: Path) -> bool:
    """Whether a live process holds the run folder."""
    import fcntl

    folder = Path(run_dir).resolve()
    if folder in _HELD:
        return True
    try:
        fd = os.open(folder / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def status(run_dir: Path) -> str | None:
    """The run's status: ``completed``, ``failed``, ``interrupted``, or ``running`` while a process holds the
    folder; a ``running`` run whose process is gone (killed) counts as ``interrupted``. None: no run here."""
    metrics = read_metrics(run_dir)
    recorded = metrics.get("status") if isinstance(metrics, dict) else None
    if recorded == RUNNING and not is_locked(run_dir):
        return INTERRUPTED
    return recorded


def mark(run_dir: Path, state: str, **details) -> None:
    """Record a run that has not completed: its status and details (the completed run's metrics.json is
    written by the pipeline, and never replaced here)."""
    current = read_metrics(run_dir)
    if isinstance(current, dict) and current.get("status") == COMPLETED:
        return
    write_json(Path(run_dir) / METRICS, {"status": state, **details})


def epoch_backups(backup_dir: Path) -> list[Path]:
    """The complete epoch backups in ``backup_dir``, newest first. A backup is written under a temporary name
    and renamed when complete, so every ``epoch-NNNNN`` folder is whole."""
    folders = Path(backup_dir).glob("epoch-[0-9][0-9][0-9][0-9][0-9]")
    return sorted((f for f in folders if f.is_dir()), key=lambda f: f.name, reverse=True)


def epochs_done(run_dir: Path) -> int:
    """Epochs of a plain fit backed up so far, as its newest readable backup records them (0 without one)."""
    for folder in epoch_backups(Path(run_dir) / BACKUP / "fit"):
        try:
            return int(json.loads((folder / BACKUP_STATE).read_text())["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return 0
