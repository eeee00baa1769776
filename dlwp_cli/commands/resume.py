"""``dlwp run resume=RUN_DIR|last [KEY=VALUE...]``: continue an interrupted run from its own saved config.
``dlwp run -m resume=SWEEP_DIR`` finishes a sweep instead (:mod:`dlwp_cli.sweeps.resume`).

The run's ``config.yaml`` (the composed, resolved config it ran with) is loaded as it is, so today's defaults
and config files do not change it; values given next to ``resume=`` replace the saved ones. The run goes on in
its own folder, from its last backed-up epoch, in this process (no new Hydra job).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlwp_cli import run_folder
from dlwp_cli.config import catalog
from dlwp_cli.config.plugins import suggest
from dlwp_cli.errors import ConfigError


def interrupted_runs(root: Path | None = None) -> list[Path]:
    """Run folders under ``root`` (default: ``outputs/`` of the current directory) that can be resumed: status
    ``interrupted`` (or ``running`` with no live process), newest first."""
    root = Path.cwd() / "outputs" if root is None else Path(root)
    found = [p.parent for p in root.rglob(run_folder.CONFIG)] if root.is_dir() else []
    resumable = [run for run in found if run_folder.status(run) == run_folder.INTERRUPTED]
    return sorted(resumable, key=lambda run: (run / run_folder.CONFIG).stat().st_mtime, reverse=True)


def find_run(value: str) -> Path:
    """The folder ``resume=`` names (``last``: the newest interrupted run), checked to be resumable."""
    if value == "last":
        candidates = interrupted_runs()
        if not candidates:
            raise ConfigError("resume=last found no interrupted run under ./outputs (status interrupted, or running "
                              "with no live process). Give the folder: resume=outputs/<experiment>/<date_time>.")
        return candidates[0]
    run_dir = Path(value)
    if not (run_dir / run_folder.CONFIG).is_file():
        raise ConfigError(f"resume={value}: '{run_dir}' is not a dlwp run folder (no {run_folder.CONFIG}).")
    state = run_folder.status(run_dir)
    if state == run_folder.COMPLETED:
        raise ConfigError(f"resume={value}: the run in '{run_dir}' already completed.")
    if state == run_folder.RUNNING:
        run_folder.lock(run_dir)  # refused: it names the process that still holds the folder
    return run_dir


def apply_overrides(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The saved config with ``KEY=VALUE`` overrides (values only: a run keeps its config groups)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"Cannot parse the overrides: {str(err).splitlines()[0]}") from None
    for override in parsed:
        key = override.get_key_element()
        if key in catalog.groups() or override.is_sweep_override() or override.is_delete() or override.is_add():
            raise ConfigError(f"resume= continues a run with its own config groups and keys: '{override.input_line}' "
                              "cannot be changed. Give plain values, e.g. epochs=20.")
        if OmegaConf.select(cfg, key, default="__missing__") == "__missing__":
            parent, _, leaf = key.rpartition(".")
            node = OmegaConf.select(cfg, parent) if parent else cfg
            known = list(node.keys()) if isinstance(node, DictConfig) else []
            raise ConfigError(f"Unknown key '{key}' in the run's config.{suggest(leaf, known)}")
        OmegaConf.update(cfg, key, override.value(), merge=False)
    return cfg


def recorded_choices(run_dir: Path) -> dict:
    """The config-group choices Hydra recorded for the run (``.hydra/hydra.yaml``), or {}."""
    path = run_dir / ".hydra" / "hydra.yaml"
    if not path.is_file():
        return {}
    choices = OmegaConf.select(OmegaConf.load(path), "hydra.runtime.choices", default=None)
    return OmegaConf.to_container(choices) if choices is not None else {}


def _log_to(path: Path) -> None:
    """Append the resumed run's log lines to its dlwp.log, in Hydra's format."""
    import logging

    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    logging.getLogger().addHandler(handler)


def resume_command(parsed) -> int:
    """Resume the run ``resume=`` names; the exit status (0, 1 when it fails again)."""
    value = next(o.split("=", 1)[1] for o in parsed.overrides if o.startswith("resume="))
    others = [o for o in parsed.overrides if not o.startswith("resume=")]
    from dlwp_cli.sweeps.resume import is_sweep, resume_sweep

    if value != "last" and is_sweep(value):
        return resume_sweep(parsed, Path(value))
    if parsed.multirun:
        raise ConfigError(f"resume={value} with -m continues a sweep, but '{value}' is not a sweep folder (no "
                          "multirun.yaml): give one (-m resume=outputs/multirun/<date_time>), or drop -m to "
                          "continue one run.")
    run_dir = find_run(value).resolve()
    cfg = apply_overrides(OmegaConf.load(run_dir / run_folder.CONFIG), others)
    from dlwp_cli.config.validate import validate

    validate(cfg)  # before the folder is touched
    run_folder.lock(run_dir)
    from dlwp_cli import app, console

    _log_to(run_dir / "dlwp.log")
    done = run_folder.epochs_done(run_dir)
    console.console.print(f"resuming {run_dir} after epoch {done}" if done else f"restarting {run_dir} (no epoch "
                          "was backed up)", markup=False, highlight=False, soft_wrap=True)
    with console.native_log_filtered():
        console.load_tensorflow()
    return 0 if app.execute(cfg, run_dir, recorded_choices(run_dir), f"resume={value} {' '.join(others)}") else 1
