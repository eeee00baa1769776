"""A sweep before Hydra starts it: which sweeper, the overrides Hydra gets, and the jobs checked up front.

* **Basic sweeper** (Hydra's default): the jobs are the product of the listed values; every one is checked (up
  to :data:`MAX_PRECHECKED_JOBS`). It cannot enumerate ``interval(...)``, which stops the sweep up front. Hydra's
  basic sweeper has no failure limit; dlwp takes ``hydra.sweeper.max_failure_rate=R`` for it anyway (default 1:
  never stop), keeps it out of Hydra's hands, and enforces it itself (:mod:`dlwp_cli.sweeps.failures`).
* **Objective-driven sweepers** (``hydra/sweeper=optuna``, or any other that reads the jobs' return values): the
  config's ``search_space`` entries become sweep overrides (a key given on the command line wins), so the space
  is written once for ``dlwp tune`` and Optuna alike. The Optuna sweeper also gets, unless given:
  ``direction`` from ``objective.direction``, ``storage: sqlite:///SWEEP_DIR/optuna.db`` and ``study_name`` (so a
  killed search resumes from its study), and the sampler's ``seed`` from ``seed``. The jobs checked up front
  cover every listed value once, with one sampled value for each ``interval``; each one's objective is checked
  too (validation data, a metric the run logs).
* The sweep folder is pinned (``hydra.sweep.dir=``), so the folder checked, the storage and Hydra's agree.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import time
from pathlib import Path

from dlwp_cli.config import search_space as space
from dlwp_cli.errors import ConfigError

MAX_PRECHECKED_JOBS = 200
PLAN = "sweep_plan.json"  # in the sweep folder: the sweeper, the job count and the failure limit
BASIC = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
FAILURE_RATE = "hydra.sweeper.max_failure_rate"


@dataclasses.dataclass
class SweepPlan:
    """What ``dlwp run -m`` hands to Hydra, and what it checks first."""

    overrides: list[str]            # the overrides Hydra gets
    checks: list[list[str]]         # jobs composed and validated up front
    sweeper: str                    # the sweeper's _target_
    sweep_dir: str
    jobs: int | None = None         # basic sweeper: how many jobs it runs
    max_failure_rate: float = 1.0   # basic sweeper: dlwp's limit (objective-driven ones apply their own)

    @property
    def objective_driven(self) -> bool:
        return self.sweeper != BASIC

    @property
    def optuna(self) -> bool:
        return "optuna" in self.sweeper


def parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        return OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"Cannot parse the overrides: {str(err).splitlines()[0]}") from None


def _value_text(override) -> str:
    return override.input_line.split("=", 1)[1]


def _dimension(override) -> space.Dimension:
    """A command-line sweep as a search-space dimension (its checks and sampling)."""
    return space.parse({override.key_or_group: _value_text(override)}, where="the command line")[0]


def _single(override, rng: random.Random) -> str:
    """One value of a sweep override: the first listed, or one sampled from an interval."""
    if override.is_discrete_sweep():
        return f"{override.get_key_element()}={next(iter(override.sweep_string_iterator()))}"
    return _dimension(override).override(_dimension(override).sample(rng))


def first_job(overrides: list[str], seed: int = 0) -> list[str]:
    """The overrides with every sweep replaced by one of its values (what decides the sweeper and the space)."""
    rng = random.Random(seed)
    return [_single(o, rng) if o.is_sweep_override() and not o.is_hydra_override() else o.input_line
            for o in parse(overrides)]


def _axes(overrides: list[str], seed: int, sample_intervals: bool) -> list[list[str]]:
    rng = random.Random(seed)
    axes = []
    for override in parse(overrides):
        key = override.get_key_element()
        if not override.is_sweep_override() or override.is_hydra_override():
            axes.append([override.input_line])
        elif override.is_discrete_sweep():
            axes.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        elif sample_intervals:
            dim = _dimension(override)
            axes.append([dim.override(dim.sample(rng))])
        else:
            raise ConfigError(
                f"'{override.input_line}': Hydra's basic sweeper runs listed values and cannot enumerate an "
                f"interval. Sample it with an objective-driven sweeper (hydra/sweeper=optuna), or list values, "
                f"e.g. {key}=0.1,0.2,0.3.")
    return axes


def grid_jobs(overrides: list[str]) -> list[list[str]]:
    """Every job of a basic-sweeper multirun (the first :data:`MAX_PRECHECKED_JOBS`), as plain override lists."""
    return [list(job) for job in itertools.islice(itertools.product(*_axes(overrides, 0, False)),
                                                  MAX_PRECHECKED_JOBS)]


def grid_size(overrides: list[str]) -> int:
    size = 1
    for axis in _axes(overrides, 0, False):
        size *= len(axis)
    return size


def covering_jobs(overrides: list[str], seed: int) -> list[list[str]]:
    """Jobs that use every listed value at least once, with one sampled value per interval: the up-front check
    of a search that cannot be enumerated."""
    axes = _axes(overrides, seed, True)
    count = min(max(len(axis) for axis in axes) if axes else 1, MAX_PRECHECKED_JOBS)
    return [[axis[i % len(axis)] for axis in axes] for i in range(count)]


def _flatten(mapping, prefix: str = "") -> list[tuple[str, object]]:
    items = []
    for key, value in mapping.items():
        full = f"{prefix}{key}"
        items.extend(_flatten(value, f"{full}.") if isinstance(value, dict) else [(full, value)])
    return items


def search_overrides(search: dict, given: set[str]) -> list[str]:
    """The ``search_space`` mapping as sweep overrides, for the keys the command line does not sweep itself.
    A range keeps its Python meaning (stop excluded): Optuna's integer distributions include their upper end,
    so the range is handed over up to its last value."""
    dims = {dim.key: dim for dim in space.parse(search)}
    added = []
    for key, expression in _flatten(search):
        if key in given:
            continue
        dim = dims[key]
        if dim.kind == space.RANGE:
            expression = f"range({dim.low},{dim.grid()[-1]},{dim.step})"
        added.append(f"{key}={expression}")
    return added


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "\\'") + "'"


def _given(parsed, key: str) -> bool:
    return any(o.key_or_group == key for o in parsed)


def make(overrides: list[str]) -> SweepPlan:
    """Decide the sweeper from the config the first job composes, and plan the sweep (see the module doc)."""
    from omegaconf import OmegaConf

    from dlwp_cli.config.compose import compose

    overrides = _search_space_on_the_line(overrides)
    parsed = parse(overrides)
    rate = [o for o in parsed if o.key_or_group == FAILURE_RATE]
    sent = [o for o in overrides if not (rate and o == rate[-1].input_line)]
    base = compose(first_job(sent))
    sweeper = str(base.hydra.sweeper._target_)
    sweep_dir = str(base.hydra.sweep.dir)
    if not _given(parsed, "hydra.sweep.dir"):
        sent.append(f"hydra.sweep.dir={_quoted(sweep_dir)}")
    params = [f"{key}={value}" for key, value in (base.hydra.sweeper.get("params") or {}).items()]
    if sweeper == BASIC:
        limit = _rate(rate[-1].value()) if rate else 1.0
        every = [*params, *sent]  # the sweeper's own params come first, as it reads them
        return SweepPlan(sent, grid_jobs(every), sweeper, sweep_dir, jobs=grid_size(every), max_failure_rate=limit)
    if rate:  # an objective-driven sweeper has the setting itself
        sent.append(rate[-1].input_line)

    parsed = parse([*params, *sent])
    swept = {o.key_or_group for o in parsed if o.is_sweep_override() and not o.is_hydra_override()}
    search = OmegaConf.to_container(base.search_space, resolve=True) if base.get("search_space") else {}
    if search:
        sent += search_overrides(search, swept)
    elif not swept:
        space.parse({})  # nothing to search: the empty-space error, with an example
    seed = int(base.seed) if isinstance(base.get("seed"), int) else 0
    if "optuna" in sweeper:
        sent += _optuna_settings(base, parsed, sweep_dir, seed)
    return SweepPlan(sent, covering_jobs([*params, *sent], seed), sweeper, sweep_dir,
                     max_failure_rate=float(base.hydra.sweeper.get("max_failure_rate", 0.0) or 0.0))


def _optuna_settings(base, parsed, sweep_dir: str, seed: int) -> list[str]:
    """The Optuna sweeper's direction (from ``objective.direction``), storage in the sweep folder, study name and
    sampler seed, each unless the command line or the config gives its own."""
    from dlwp_cli.sweeps.objective import DIRECTIONS

    sweeper, settings = base.hydra.sweeper, []
    if not _given(parsed, "hydra.sweeper.direction"):
        settings.append(f"hydra.sweeper.direction={DIRECTIONS.get(str(base.objective.direction), 'minimize')}")
    if not _given(parsed, "hydra.sweeper.storage") and sweeper.get("storage") is None:
        settings.append(f"hydra.sweeper.storage={_quoted(storage_url(sweep_dir))}")
    if not _given(parsed, "hydra.sweeper.study_name") and sweeper.get("study_name") is None:
        settings.append(f"hydra.sweeper.study_name={_quoted(str(base.name))}")
    sampler = sweeper.get("sampler")
    if sampler is not None and "seed" in sampler and sampler.seed is None and \
            not _given(parsed, "hydra.sweeper.sampler.seed"):
        settings.append(f"hydra.sweeper.sampler.seed={seed}")
    return settings


def storage_url(sweep_dir: str) -> str:
    """The SQLite storage of an Optuna sweep, inside its folder."""
    return f"sqlite:///{Path(sweep_dir).resolve() / 'optuna.db'}"


def _search_space_on_the_line(overrides: list[str]) -> list[str]:
    """``search_space.KEY=EXPR`` typed on the command line sweeps KEY itself (Hydra would otherwise sweep the
    entry's text)."""
    prefix = "search_space."
    moved = []
    for override, text in zip(parse(overrides), overrides):
        key = override.key_or_group
        if key.startswith(prefix) and override.is_sweep_override():
            moved.append(f"{key[len(prefix):]}={_value_text(override)}")
        else:
            moved.append(text)
    return moved


def _rate(value) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{FAILURE_RATE}={value}: give the share of jobs that may fail before the sweep stops, "
                          "from 0 (stop at the first failure) to 1 (never stop, the default).")
    return rate


def write(plan: SweepPlan, started: float | None = None) -> Path:
    """``SWEEP_DIR/sweep_plan.json``: what the jobs of a sweep read to count failures, and a resume reads back."""
    from dlwp_cli.run_folder import write_json

    path = Path(plan.sweep_dir) / PLAN
    write_json(path, {"sweeper": plan.sweeper, "jobs": plan.jobs, "max_failure_rate": plan.max_failure_rate,
                      "started": time.time() if started is None else started})
    return path


def read(sweep_dir) -> dict:
    """The sweep's plan (see :func:`write`), or {} when it has none."""
    try:
        return json.loads((Path(sweep_dir) / PLAN).read_text())
    except (OSError, ValueError):
        return {}
