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
SCHEMA = "schema.json"          # the inputs a dataset described (a table's columns), for predict
FEATURES = "features.json"      # scale and standardization applied to raw arrays, for predict


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
        with os.fdopen(fd, "w") as handle:
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
