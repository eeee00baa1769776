"""The GAN failure mode the book describes (§12.5.6): the discriminator wins, its loss near 0 while the
generator's climbs. Detected on the per-epoch loss history."""

from __future__ import annotations

from collections.abc import Sequence


def collapse_epoch(d_loss: Sequence[float], g_loss: Sequence[float], d_loss_below: float = 0.05,
                   g_loss_above: float = 5.0, epochs: int = 3) -> int | None:
    """The 1-based epoch that completes the first run of ``epochs`` consecutive epochs with ``d_loss`` below
    ``d_loss_below`` and ``g_loss`` above ``g_loss_above``; None when there is no such run."""
    if epochs < 1:
        raise ValueError(f"collapse.epochs must be at least 1, got {epochs}")
    streak = 0
    for epoch, (d, g) in enumerate(zip(d_loss, g_loss), start=1):
        streak = streak + 1 if d < d_loss_below and g > g_loss_above else 0
        if streak >= epochs:
            return epoch
    return None


def collapse_verdict(d_loss: Sequence[float], g_loss: Sequence[float], d_loss_below: float = 0.05,
                     g_loss_above: float = 5.0, epochs: int = 3) -> dict:
    """The ``collapse`` entry of a GAN run's metrics.json: the rule, whether it fired, and where."""
    found = collapse_epoch(d_loss, g_loss, d_loss_below, g_loss_above, epochs)
    return {"rule": {"d_loss_below": d_loss_below, "g_loss_above": g_loss_above, "epochs": epochs},
            "detected": found is not None, "epoch": found}


def collapse_message(verdict: dict) -> str:
    rule = verdict["rule"]
    return (f"The discriminator is winning: from epoch {verdict['epoch'] - rule['epochs'] + 1} to "
            f"{verdict['epoch']}, d_loss stayed below {rule['d_loss_below']} while g_loss stayed above "
            f"{rule['g_loss_above']} (the book's failure mode, §12.5.6). Lower the discriminator's learning rate "
            "(model.d_optimizer.learning_rate) or raise its dropout (model.dropout).")
