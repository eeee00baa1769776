"""The ``search_space:`` mapping: one hyperparameter search syntax, Hydra's sweep grammar, for every searcher.

Each entry maps a config key to a sweep expression, as on a ``dlwp run -m`` line::

    search_space:
      model.units: 'choice([16,16],[64,64])'
      optimizer.learning_rate: 'tag(log, interval(1e-4,1e-2))'
      model.dropout: 'interval(0.0, 0.5)'
      model.filters: 'range(16, 65, 16)'      # 16, 32, 48, 64: stop is exclusive, as in Python
      model.depth: 'int(interval(1, 4))'      # an integer interval, both ends included

:func:`parse` checks the mapping and turns it into :class:`Dimension` objects that KerasTuner (``dlwp tune``)
and the Optuna sweeper (``hydra/sweeper=optuna``) both read. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

from dlwp_cli.errors import ConfigError

CHOICE, RANGE, INTERVAL = "choice", "range", "interval"
SYNTAX = ("'choice(a,b,...)', 'range(start,stop[,step])', 'interval(low,high)', 'int(interval(low,high))', "
          "each optionally inside 'tag(log, ...)' for a log scale")


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched config key: a choice of values, an integer range, or a real (or integer) interval."""

    key: str
    kind: str                       # choice | range | interval
    values: tuple = ()              # choice: the candidate values, in order
    low: float | int | None = None  # range and interval: the bounds (range: stop excluded)
    high: float | int | None = None
    step: float | int | None = None  # range only
    log: bool = False               # sample on a log scale (range and interval)
    integer: bool = False           # range, and int(interval(...))

    @property
    def name(self) -> str:
        """The key as a searcher's parameter name (KerasTuner and Optuna accept dots)."""
        return self.key

    def grid(self) -> list:
        """Every value of an enumerable dimension (a choice or a range); a ConfigError for an interval."""
        if self.kind == CHOICE:
            return list(self.values)
        if self.kind == RANGE:
            values, value = [], self.low
            while value < self.high:
                values.append(value)
                value += self.step
            return values
        raise ConfigError(f"search_space.{self.key}: an interval has no finite list of values.")

    def sample(self, rng: random.Random) -> Any:
        """One value drawn from the dimension (uniform, or log-uniform when tagged log)."""
        if self.kind != INTERVAL:
            return rng.choice(self.grid())
        low, high = float(self.low), float(self.high)
        value = math.exp(rng.uniform(math.log(low), math.log(high))) if self.log else rng.uniform(low, high)
        return int(round(value)) if self.integer else value

    def default(self) -> Any:
        """A representative value: the first choice, the range's start, or the interval's (geometric) middle."""
        if self.kind != INTERVAL:
            return self.grid()[0]
        low, high = float(self.low), float(self.high)
        value = math.sqrt(low * high) if self.log else (low + high) / 2
        return int(round(value)) if self.integer else value

    def override(self, value: Any) -> str:
        """``key=value`` as a Hydra override (lists and strings quoted the way Hydra's grammar reads them)."""
        return f"{self.key}={format_value(value)}"


def format_value(value: Any) -> str:
    """A Python value as Hydra override text: lists as ``[a,b]``, strings quoted when needed."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, str):
        return value if value.replace("_", "").replace("-", "").replace(".", "").isalnum() else repr(value)
    if value is None:
        return "null"
    return repr(value) if isinstance(value, float) else str(value)


def parse(space: Any, where: str = "search_space") -> list[Dimension]:
    """The dimensions of a ``search_space`` mapping; a ConfigError naming the entry for anything wrong:
    an empty or missing space, an expression that is not a sweep, a range or interval with low > high."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(space, DictConfig):
        space = OmegaConf.to_container(space, resolve=True)
    if not space:
        raise ConfigError(f"{where} is empty: a search needs at least one key to vary. Give it in the experiment "
                          f"({where}: {{optimizer.learning_rate: 'tag(log, interval(1e-4,1e-2))'}}) or on the "
                          f"command line, quoted so that Hydra keeps the expression whole: "
                          f"\"+{where}.optimizer.learning_rate='tag(log, interval(1e-4,1e-2))'\".")
    if not isinstance(space, dict):
        raise ConfigError(f"{where} must be a mapping of config keys to sweep expressions ({SYNTAX}); "
                          f"got {type(space).__name__}.")
    return [_dimension(key, expression, where) for key, expression in _flatten(space)]


def _flatten(space: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """``{model: {units: 'choice(...)'}}`` and ``{model.units: 'choice(...)'}`` both give ``model.units``."""
    items = []
    for key, value in space.items():
        full = f"{prefix}{key}"
        items.extend(_flatten(value, f"{full}.") if isinstance(value, dict) else [(full, value)])
    return items


def _dimension(key: str, expression: Any, where: str) -> Dimension:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from hydra.errors import HydraException

    label = f"{where}.{key}"
    if not isinstance(expression, str):
        raise ConfigError(f"{label}: expected a sweep expression in quotes ({SYNTAX}); got {expression!r}.")
    try:
        sweep = OverridesParser.create().parse_overrides([f"{key}={expression}"])[0].value()
    except HydraException as err:
        raise ConfigError(f"{label}: cannot read '{expression}': {str(err).splitlines()[0]}. Use {SYNTAX}.") from None
    log = "log" in (getattr(sweep, "tags", None) or set())
    if isinstance(sweep, ChoiceSweep):
        if not sweep.list:
            raise ConfigError(f"{label}: choice() needs at least one value.")
        return Dimension(key, CHOICE, values=tuple(sweep.list))
    if isinstance(sweep, RangeSweep):
        step = sweep.step if sweep.step is not None else 1
        if step <= 0:
            raise ConfigError(f"{label}: range() needs a positive step, got {step}.")
        if sweep.start >= sweep.stop:
            raise ConfigError(f"{label}: range({sweep.start}, {sweep.stop}) is empty: its start must be below its "
                              "stop (the stop is excluded, as in Python).")
        if log and sweep.start <= 0:
            raise ConfigError(f"{label}: a log-scale range needs a start above 0, got {sweep.start}.")
        integer = all(isinstance(v, int) for v in (sweep.start, sweep.stop, step))
        return Dimension(key, RANGE, low=sweep.start, high=sweep.stop, step=step, log=log, integer=integer)
    if isinstance(sweep, IntervalSweep):
        if sweep.start > sweep.end:
            raise ConfigError(f"{label}: interval({sweep.start}, {sweep.end}) has low > high; write "
                              f"interval({sweep.end}, {sweep.start}).")
        if log and sweep.start <= 0:
            raise ConfigError(f"{label}: a log-scale interval needs a low bound above 0, got {sweep.start}.")
        integer = isinstance(sweep.start, int) and isinstance(sweep.end, int)
        return Dimension(key, INTERVAL, low=sweep.start, high=sweep.end, log=log, integer=integer)
    raise ConfigError(f"{label}: '{expression}' is a single value, not a search. Use {SYNTAX}.")


def sample_overrides(dimensions: list[Dimension], seed: int = 0) -> list[str]:
    """One job's overrides, a value drawn for every dimension: the up-front check of a search that cannot be
    enumerated."""
    rng = random.Random(seed)
    return [dim.override(dim.sample(rng)) for dim in dimensions]
