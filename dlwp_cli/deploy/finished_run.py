"""A finished run folder, checked before anything loads: its saved config, its metrics and its model file.
Imports no TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlwp_cli import run_folder
from dlwp_cli.config.plugins import suggest
from dlwp_cli.errors import ConfigError


@dataclass
class FinishedRun:
    """A completed run: its folder, its ``config.yaml`` (with any values given on the command line) and its
    ``metrics.json``."""

    path: Path
    cfg: DictConfig
    metrics: dict

    @property
    def task(self) -> str:
        return str(self.cfg.task.name)

    @property
    def label(self) -> str:
        """The experiment id, else the run's name (task-model)."""
        return str(self.cfg.get("experiment") or self.cfg.get("name") or self.path.name)

    @property
    def model_file(self) -> Path:
        return self.path / run_folder.MODEL


def finished_run(path: str | Path, verb: str) -> FinishedRun:
    """The run in ``path``, or a ConfigError saying why ``dlwp VERB`` cannot use it: not a run folder, not
    finished, or without a saved model."""
    run = Path(path)
    if not (run / run_folder.CONFIG).is_file():
        raise ConfigError(f"'{run}' is not a dlwp run folder (no {run_folder.CONFIG}). dlwp {verb} takes the folder "
                          "of a finished run, e.g. outputs/<experiment>/<date_time>.")
    state = run_folder.status(run)
    if state != run_folder.COMPLETED:
        hint = (f" Continue it with `dlwp run resume={run}` first." if state == run_folder.INTERRUPTED else
                " See its error.log." if state == run_folder.FAILED else "")
        raise ConfigError(f"The run in '{run}' has not finished (status: {state or 'unknown'}), so dlwp {verb} "
                          f"cannot use it.{hint}")
    cfg = OmegaConf.load(run / run_folder.CONFIG)
    if not (run / run_folder.MODEL).is_file():
        why = ("it ran with output.save_model=false" if not cfg.get("output", {}).get("save_model", True)
               else f"{run_folder.MODEL} is missing")
        raise ConfigError(f"The run in '{run}' has no saved model ({why}), so dlwp {verb} has nothing to load. "
                          "Run it again with output.save_model=true.")
    return FinishedRun(run, cfg, run_folder.read_metrics(run) or {})


def with_values(cfg: DictConfig, overrides: list[str], verb: str) -> DictConfig:
    """The saved config with ``KEY=VALUE`` overrides applied (values of existing keys only, e.g.
    ``data_dir=PATH``): a finished run keeps its config groups."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"Cannot parse the overrides: {str(err).splitlines()[0]}") from None
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    for override in parsed:
        key = override.get_key_element()
        if override.is_sweep_override() or override.is_delete() or override.is_add():
            raise ConfigError(f"dlwp {verb} takes plain values such as data_dir=PATH, not '{override.input_line}'.")
        if OmegaConf.select(cfg, key, default="__missing__") == "__missing__" or \
                isinstance(OmegaConf.select(cfg, key), DictConfig):
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            known = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
            raise ConfigError(f"dlwp {verb}: '{key}' is not a value of the runs' saved configs.{suggest(leaf, known)} "
                              "Give values the runs read again, such as data_dir=PATH or download=false; "
                              "config groups (task=, model=, ...) stay as the runs had them.")
        OmegaConf.update(cfg, key, override.value(), merge=False)
    return cfg
