"""Groups of finished runs for ``dlwp report``: runs that differ only by seed, runs that share a value of a
config key, and the numbers a group's mean ± std is taken over.

A run's settings come from its ``config.yaml`` (the composed config), its metrics.json ``choices`` (the config
group options) and its ``.hydra/overrides.yaml``. Keys that never change a run's results (:data:`IGNORED`) do
not separate runs.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import statistics
from pathlib import Path

from dlwp_cli import targets
from dlwp_cli.errors import ConfigError
from dlwp_cli.run_folder import CONFIG

# Top-level config keys that never change a run's results: the seed, where the data is read from, what the
# run writes, and the speed settings (performance.*, documented as not changing the math). Hydra's own keys
# are never in config.yaml, but may be in the overrides.
IGNORED = ("seed", "data_dir", "download", "output", "performance", "hydra", "resume")
# History names whose best epoch is their lowest value (after any ``val_`` prefix).
LOWER_IS_BETTER = ("mae", "mse", "rmse", "mape", "msle", "perplexity")


def ignored_key(key: str, keep: tuple[str, ...] = ()) -> bool:
    head = key.lstrip("+~").split(".", 1)[0].split("/", 1)[0]
    return head in IGNORED and head not in keep


def load_config(run_dir: Path) -> dict | None:
    """The run's composed config (config.yaml), or None when it is missing or unreadable. Read once per
    version of the file."""
    path = Path(run_dir) / CONFIG
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _parsed_config(str(path), stamp)


@functools.lru_cache(maxsize=4096)
def _parsed_config(path: str, stamp: int) -> dict | None:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        config = yaml.load(Path(path).read_text(), Loader=loader)
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) else None


def _split(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _typed(text: str):
    """An override's value as YAML reads it, with numbers such as ``1e-3`` (a string to YAML 1.1) as floats."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


# -- runs that differ only by seed ------------------------------------------------------------------------


def identity(run, config: dict | None) -> str:
    """What a run's results depend on: its config.yaml without the :data:`IGNORED` keys; for a run folder
    without config.yaml, its experiment and overrides without them."""
    if config is not None:
        kept = {k: v for k, v in config.items() if not ignored_key(k)}
    else:
        kept = {"experiment": run.experiment,
                "overrides": sorted(o for o in run.overrides if not ignored_key(_split(o)[0]))}
    return json.dumps(kept, sort_keys=True, default=str)


def seed_groups(runs) -> list[list]:
    """The runs in groups that differ only by seed (or not at all), in the order the groups first appear."""
    groups: dict[str, list] = {}
    for run in runs:
        groups.setdefault(identity(run, load_config(run.path)), []).append(run)
    return list(groups.values())


def seed_of(run) -> int | None:
    config = load_config(run.path) or {}
    seed = config.get("seed", run.metrics.get("seed"))
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


# -- config keys ----------------------------------------------------------------------------------------

MISSING = object()


def _select(config: dict, key: str):
    node = config
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def key_value(run, key: str, config: dict | None):
    """The value of ``key`` in a run: a config.yaml value; for a config group (``optimizer``), the option
    chosen; else the override's value. :data:`MISSING` when the run has no such key."""
    value = _select(config, key) if config is not None else MISSING
    if value is not MISSING and not isinstance(value, dict):
        return value
    choices = run.metrics.get("choices")
    if isinstance(choices, dict) and key in choices:
        return choices[key]
    given = dict(_split(o) for o in run.overrides)
    if key in given:
        return _typed(given[key])
    return value if value is not MISSING else MISSING


def shown(value) -> str:
    """A key's value as the report prints it: YAML's way (``[16, 16]``, ``null``, ``true``), numbers as given."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def value_order(value):
    """A sort key putting numbers first (ascending), then lists of numbers (``[4]`` before ``[16, 16]``),
    then everything else by its text."""
    if is_number(value):
        return (0, (value,), "")
    if isinstance(value, (list, tuple)) and value and all(map(is_number, value)):
        return (1, tuple(value), "")
    return (2, (), shown(value))


def _leaves(node, prefix: str = "") -> dict:
    if isinstance(node, dict) and node:
        out = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: json.dumps(node, sort_keys=True, default=str)}


def varying_keys(runs, configs: dict) -> list[str]:
    """The keys whose values differ between the runs: config group options, then config.yaml values (those
    under a group whose option differs are named by the group), then overrides; :data:`IGNORED` keys but the
    seed left out."""
    def differ(values: list) -> bool:
        return len(set(values)) > 1

    found: dict[str, None] = {}
    choices = [r.metrics.get("choices") if isinstance(r.metrics.get("choices"), dict) else {} for r in runs]
    groups = sorted({g for c in choices for g in c if not g.startswith("hydra")})
    changed_groups = [g for g in groups if differ([str(c.get(g)) for c in choices])]
    found.update(dict.fromkeys(changed_groups))
    leaves = [_leaves(configs[r.path]) if configs.get(r.path) is not None else None for r in runs]
    known = [leaf for leaf in leaves if leaf is not None]
    for key in sorted({k for leaf in known for k in leaf}):
        if ignored_key(key, keep=("seed",)) or any(key.startswith(g + ".") for g in changed_groups):
            continue
        if len(known) > 1 and differ([leaf.get(key) for leaf in known]):
            found[key] = None
    overrides = [dict(_split(o) for o in r.overrides) for r in runs]
    for key in dict.fromkeys(k for given in overrides for k in given):
        if not ignored_key(key, keep=("seed",)) and differ([given.get(key) for given in overrides]):
            found.setdefault(key, None)
    return list(found)


def _known_keys(runs, configs: dict) -> list[str]:
    keys: dict[str, None] = {}
    for run in runs:
        if configs.get(run.path) is not None:
            keys.update(dict.fromkeys(_leaves(configs[run.path])))
        keys.update(dict.fromkeys(_split(o)[0] for o in run.overrides))
        keys.update(dict.fromkeys(run.metrics.get("choices") or {}))
    return list(keys)


def _listed(keys: list[str], most: int = 12) -> str:
    more = f" and {len(keys) - most} more" if len(keys) > most else ""
    return ", ".join(keys[:most]) + more


def values_of(runs, key: str, option: str) -> list:
    """Each run's value of ``key`` (:data:`MISSING` where it has none). ``option`` (``--group-by``) names the
    flag in the error raised when no run has the key, which lists the keys that do vary."""
    configs = {run.path: load_config(run.path) for run in runs}
    values = [key_value(run, key, configs[run.path]) for run in runs]
    if any(value is not MISSING for value in values):
        return values
    varying = varying_keys(runs, configs)
    close = difflib.get_close_matches(key, _known_keys(runs, configs), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    vary = f"Keys that vary between them: {_listed(varying)}." if varying else "No key varies between them."
    raise ConfigError(f"{option} {key}: none of the {len(runs)} runs has the config key or override '{key}'.{hint} "
                      f"{vary} Give a dotted config key (optimizer.learning_rate, model.units), a config group "
                      f"(optimizer) or an override key.")


def not_varying(runs, key: str, values: list, option: str) -> ConfigError:
    configs = {run.path: load_config(run.path) for run in runs}
    varying = [k for k in varying_keys(runs, configs) if k != key]
    seen = {shown(v) for v in values if v is not MISSING}
    vary = f"Keys that vary: {_listed(varying)}." if varying else "No key varies between them."
    return ConfigError(f"{option} {key}: '{key}' does not vary between these runs (it is {', '.join(sorted(seen))} "
                       f"in each), so there is nothing to plot against. {vary}")


# -- the numbers of a run ---------------------------------------------------------------------------------


def lower_is_better(metric: str, metrics: dict | None = None) -> bool:
    """Whether a history metric's best epoch is its lowest value: the run's ``objective.direction`` for its
    objective, else losses, errors and the :data:`LOWER_IS_BETTER` names."""
    objective = (metrics or {}).get("objective")
    if isinstance(objective, dict) and objective.get("metric") == metric:
        if objective.get("direction") in ("min", "max"):
            return objective["direction"] == "min"
    name = metric.removeprefix("val_")
    return name.endswith(("loss", "error", "crossentropy")) or name in LOWER_IS_BETTER


def final_value(metrics: dict, metric: str) -> float | None:
    """A run's final value of ``metric``: ``test.M`` and ``cv.M`` (the folds' mean) as recorded; a history name
    (``val_loss``, ``val_accuracy``) its best epoch's value, the lowest for losses and errors, else the highest;
    a run's objective (``objective.value``) where it has no such curve; any target path (``min.val_loss``,
    ``history.loss.-1`` for the last epoch, ``parameters``) as targets read it."""
    history = metrics.get("history")
    curve = history.get(metric) if isinstance(history, dict) and "." not in metric else None
    if isinstance(curve, list) and any(is_number(x) for x in curve):
        numbers = [x for x in curve if is_number(x)]
        return float(min(numbers) if lower_is_better(metric, metrics) else max(numbers))
    objective = metrics.get("objective")
    if isinstance(objective, dict) and objective.get("metric") == metric and is_number(objective.get("value")):
        return float(objective["value"])
    value = targets.lookup(metrics, metric)
    if value is None and metric.startswith("cv."):
        value = targets.lookup(metrics, "cv.mean." + metric[3:])
    return value if value is not None and math.isfinite(value) else None


def metric_names(metrics: dict) -> list[str]:
    """The numbers a group's mean ± std is taken over: ``test.*``, ``cv.*`` (the folds' mean) and the sweep's
    objective metric; ``best_epoch`` when there is nothing else. (Book metrics have rows of their own.)"""
    names = [f"test.{k}" for k, v in (metrics.get("test") or {}).items() if is_number(v)]
    cv_mean = (metrics.get("cv") or {}).get("mean") or {}
    names += [f"cv.{k}" for k, v in cv_mean.items() if is_number(v)]
    objective = metrics.get("objective")
    if isinstance(objective, dict) and isinstance(objective.get("metric"), str):
        names.append(objective["metric"])
    if not names and is_number(metrics.get("best_epoch")):
        names.append("best_epoch")
    return list(dict.fromkeys(names))


def available_metrics(runs) -> list[str]:
    """What ``--plot METRIC --against KEY`` can plot for these runs."""
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(metric_names(run.metrics)))
        names.update(dict.fromkeys(t["metric"] for t in run.metrics.get("targets") or []
                                   if isinstance(t, dict) and isinstance(t.get("metric"), str)))
        names.update(dict.fromkeys(k for k, v in (run.metrics.get("history") or {}).items() if isinstance(v, list)))
    return list(names)


def mean_std(values: list[float]) -> tuple[float, float | None]:
    """The mean and the sample standard deviation (n - 1; None for one value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def mean_std_text(values: list[float], runs: int | None = None) -> str:
    """``mean ± std`` (4 and 2 significant digits), ``mean`` alone for one value; ``(n=K)`` when fewer than
    ``runs`` runs have the number."""
    if not values:
        return ""
    mean, std = mean_std(values)
    text = f"{mean:.4g}" if std is None else f"{mean:.4g} ± {std:.2g}"
    return text + (f" (n={len(values)})" if runs is not None and len(values) < runs else "")


def completed(run) -> bool:
    return run.metrics.get("status", "completed") == "completed"
