"""Compare a run's metrics with the figures the book reports (``targets`` in experiment configs).

Metric paths are dotted keys into metrics.json (``test.accuracy``, ``cv.mean.val_mae``,
``history.accuracy.-1``) or ``max.KEY`` / ``min.KEY`` over a history curve.
"""

from __future__ import annotations


def lookup(metrics: dict, path: str) -> float | None:
    """The value at ``path`` in a metrics dict, or None when absent."""
    head, _, rest = path.partition(".")
    if head in ("max", "min") and rest:
        curve = metrics.get("history", {}).get(rest)
        return (max(curve) if head == "max" else min(curve)) if curve else None
    node = metrics
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None


SYNTHETIC = "n/a (synthetic)"
RANDOM_WEIGHTS = "n/a (random weights)"


def check(target: dict, metrics: dict, synthetic: bool = False, random_weights: bool = False) -> dict:
    """``target`` plus the measured value, the delta to the book, and whether it is inside the band. A run on
    synthetic data (``source=synthetic``, smoke runs) is never compared: its ``in_band`` is None and its
    ``comparison`` says so. Nor is a target marked ``pretrained`` (a score the book reached with pretrained
    weights) in a run whose model started from random weights (``model.weights=null``)."""
    measured = lookup(metrics, target["metric"])
    band = target.get("band")
    result = dict(target, measured=measured, delta=None, in_band=None)
    if synthetic:
        result["comparison"] = SYNTHETIC
        return result
    if random_weights and target.get("pretrained"):
        result["comparison"] = RANDOM_WEIGHTS
        return result
    if measured is not None:
        if target.get("book") is not None:
            result["delta"] = measured - float(target["book"])
        if band:
            result["in_band"] = bool(band[0] <= measured <= band[1])
    return result
