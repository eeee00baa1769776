"""The ``search_space`` as KerasTuner hyperparameters, and one trial's values as a run config.

Each :class:`~dlwp_cli.config.search_space.Dimension` becomes one ``hp.*`` call named by its config key:

- ``choice(a, b, ...)``: ``hp.Choice`` over the values, in order; values that are not all ints, all floats,
  all strings or all booleans (lists such as ``[16,16]``, mixed types) are offered as their override text
  (``"[16,16]"``) and mapped back. KerasTuner's Bayesian oracle encodes a choice by its index, so an ordered
  choice of widths searches like ``hp.Int``;
- an integer ``range(start, stop, step)``: ``hp.Int(start, last value, step)``; a log-scale one with step 1:
  ``hp.Int(..., sampling="log")``; other ranges (float or log with a step): ``hp.Choice`` over their values;
- ``interval(low, high)``: ``hp.Float(low, high)``; ``int(interval(...))``: ``hp.Int(low, high)``;
  ``tag(log, ...)`` samples either on a log scale.

A trial's config is the run's own config with the trial's values put in: a group key (``optimizer``,
``model``) takes the option's node from its YAML file (read once, when the search starts), any other key its
value; the result is validated as a run config. No TensorFlow is imported here.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlwp_cli.config.search_space import CHOICE, INTERVAL, RANGE, Dimension, format_value

SCALAR_TYPES = (bool, int, float, str)


def choice_labels(dim: Dimension) -> list:
    """What ``hp.Choice`` offers for a choice: the values themselves when all are of one scalar type, else their
    override text."""
    kinds = {type(value) for value in dim.values}
    if len(kinds) == 1 and kinds <= set(SCALAR_TYPES):
        return list(dim.values)
    return [format_value(value) for value in dim.values]


def range_values(dim: Dimension) -> list:
    """The values of a range (a float range's rounded, so 0.1 steps do not drift)."""
    return [value if dim.integer else round(float(value), 12) for value in dim.grid()]


def declare(hp, dim: Dimension) -> Any:
    """Register ``dim`` on KerasTuner's ``hp`` and return the trial's value for it (as the config takes it)."""
    sampling = "log" if dim.log else "linear"
    if dim.kind == CHOICE:
        labels = choice_labels(dim)
        return dim.values[labels.index(hp.Choice(dim.name, labels))]
    if dim.kind == RANGE:
        values = range_values(dim)
        if dim.integer and (not dim.log or dim.step == 1):
            step = None if dim.log else int(dim.step)
            return int(hp.Int(dim.name, int(values[0]), int(values[-1]), step=step, sampling=sampling))
        return hp.Choice(dim.name, values)
    if dim.kind == INTERVAL and dim.integer:
        return int(hp.Int(dim.name, int(dim.low), int(dim.high), sampling=sampling))
    return float(hp.Float(dim.name, float(dim.low), float(dim.high), sampling=sampling))


def decode(dims: list[Dimension], values: dict) -> dict[str, Any]:
    """The config values of a trial from KerasTuner's ``hp.values`` (its own entries, e.g. Hyperband's
    ``tuner/epochs``, left out)."""
    decoded = {}
    for dim in dims:
        if dim.name not in values:
            continue
        value = values[dim.name]
        if dim.kind == CHOICE:
            value = dim.values[choice_labels(dim).index(value)]
        decoded[dim.key] = value
    return decoded


def hparam_value(value: Any) -> bool | int | float | str:
    """A value as TensorBoard's HParams plugin takes it (lists and None as their override text)."""
    return value if isinstance(value, SCALAR_TYPES) else format_value(value)


def overrides_text(values: dict[str, Any]) -> str:
    """``key=value key=value`` as a Hydra command line would give them."""
    return " ".join(f"{key}={format_value(value)}" for key, value in values.items())


def trial_config(base: DictConfig, values: dict[str, Any], group_nodes: dict[str, dict[str, dict]]) -> DictConfig:
    """The validated run config of one trial: ``base`` with each group key's option node, then each other key's
    value (so ``optimizer=adam`` and ``optimizer.learning_rate=...`` combine)."""
    from dlwp_cli.config.validate import validate

    cfg = OmegaConf.create(OmegaConf.to_container(base, resolve=True))
    for key, value in values.items():
        if key in group_nodes:
            cfg[key] = OmegaConf.create(group_nodes[key][str(value)])
    for key, value in values.items():
        if key not in group_nodes:
            OmegaConf.update(cfg, key, value, merge=False)
    return validate(cfg)
