"""``dlwp run``: check every job's config up front, then hand over to Hydra (runs and sweeps)."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

from dlwp_cli.errors import ConfigError

MAX_PRECHECKED_JOBS = 200


def split_args(args: list[str]) -> tuple[list[str], bool]:
    """(overrides, multirun) from the words after ``dlwp run``."""
    multirun = any(a in ("-m", "--multirun") for a in args)
    overrides = [a for a in args if not a.startswith("-")]
    return overrides, multirun


def _parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        return OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"Cannot parse the overrides: {str(err).splitlines()[0]}") from None


def expand_globs(overrides: list[str]) -> list[str]:
    """Replace ``group=glob(...)`` by the matching options, listed (Hydra's glob skips nested
    options such as ``experiment=ch04/...``)."""
    from hydra.core.override_parser.types import Glob

    from dlwp_cli.config import catalog

    expanded = []
    for override, text in zip(_parse(overrides), overrides):
        key = override.get_key_element()
        if not isinstance(override.value(), Glob):
            expanded.append(text)
            continue
        matches = override.value().filter(catalog.options(key)) if key in catalog.groups() else []
        if not matches:
            raise ConfigError(f"'{text}' matches no option of group '{key}' (see 'dlwp list {key}').")
        expanded.append(f"{key}={','.join(matches)}")
    return expanded


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """Every job of a basic-sweeper multirun, as plain override lists."""
    axes = []
    for override in _parse(overrides):
        key = override.get_key_element()
        if override.is_sweep_override() and not override.is_hydra_override():
            axes.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            axes.append([override.input_line])
    return [list(combo) for combo in itertools.islice(itertools.product(*axes), MAX_PRECHECKED_JOBS)]


def precheck(overrides: list[str], multirun: bool) -> None:
    """Compose and validate each job, and make sure its output folder can be written."""
    from dlwp_cli.config.compose import compose
    from dlwp_cli.config.validate import validate
    from dlwp_cli.run_folder import ensure_writable

    for job in expand_sweep(overrides) if multirun else [overrides]:
        cfg = compose(job)
        validate(cfg)
    ensure_writable(Path(str(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir)))


def unfinished_runs(root: Path = Path("outputs")) -> list[Path]:
    """Run folders under ``root`` that started (Hydra recorded their overrides) but wrote no metrics.json,
    newest first."""
    started = [p.parent.parent for p in root.rglob(".hydra/overrides.yaml")] if root.is_dir() else []
    unfinished = [run for run in started if not (run / "metrics.json").exists()]
    return sorted(unfinished, key=lambda run: (run / ".hydra" / "overrides.yaml").stat().st_mtime, reverse=True)


def resume_args(args: list[str]) -> list[str]:
    """``resume=RUN_DIR`` (or ``resume=last``): that run's own overrides, into the same folder, so training
    continues from its last backed-up epoch; overrides given next to it are added after the run's own."""
    value = next(a.split("=", 1)[1] for a in args if a.startswith("resume="))
    others = [a for a in args if not a.startswith("resume=")]
    if any(a in ("-m", "--multirun") for a in others):
        raise ConfigError("resume= continues one run; it cannot be combined with -m/--multirun.")
    if value == "last":
        candidates = unfinished_runs()
        if not candidates:
            raise ConfigError("resume=last found no unfinished run under ./outputs (a run folder without "
                              "metrics.json). Give the folder: resume=outputs/<experiment>/<date_time>.")
        run_dir = candidates[0]
    else:
        run_dir = Path(value)
    recorded = run_dir / ".hydra" / "overrides.yaml"
    if not recorded.is_file():
        raise ConfigError(f"resume={value}: '{run_dir}' is not a dlwp run folder (no .hydra/overrides.yaml).")
    if (run_dir / "metrics.json").exists():
        raise ConfigError(f"resume={value}: the run in '{run_dir}' already finished (it has metrics.json).")
    original = [line[2:].strip() for line in recorded.read_text().splitlines() if line.startswith("- ")]
    original = [o for o in original if not o.startswith("hydra.run.dir=")]
    return [*original, *others, f"hydra.run.dir={run_dir.resolve()}"]


def run_command(args: list[str]) -> int:
    if any(a in ("-h", "--help") for a in args):
        print("usage: dlwp run [OVERRIDES...] [-m]\n\nHydra overrides, e.g. task=imdb model=dense epochs=3; "
              "see 'dlwp list' for the groups and 'dlwp show' for the composed config.")
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ start-up noise
    if any(a.startswith("resume=") for a in args):
        args = resume_args(args)
    overrides, multirun = split_args(args)
    if multirun:
        overrides = expand_globs(overrides)
        args = [a for a in args if a.startswith("-")] + overrides
    precheck(overrides, multirun)
    from dlwp_cli import app

    saved = sys.argv
    sys.argv = ["dlwp", *args]
    try:
        app.hydra_main()
    finally:
        sys.argv = saved
    return 1 if app.FAILED_JOBS else 0
