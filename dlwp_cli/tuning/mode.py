"""``trainer=keras_tuner``: the book's tuning workflow (§13.1.1) as a trainer mode.

A KerasTuner search over the config's ``search_space`` on a validation split (a hold-out of
``validation_size`` training examples, else the task's own validation split), scored on ``objective``; then
the ``top_n`` best sets each find their best epoch, train a fresh model on all the training data for
``int(best_epoch * retrain_factor)`` epochs, and are scored on the test split once. The search algorithm and
its settings are the ``tuner`` group (``tuner=random|bayesian|hyperband``).

Like :mod:`dlwp_cli.training.modes`, importing this module imports no TensorFlow, so configs are checked
without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlwp_cli.training.modes import HeldOut

BEST_EPOCH_SOURCES = ("refit", "search")


@dataclass
class KerasTuner(HeldOut):
    """Search, then retrain the top sets on all training data and test them.

    ``best_epoch``: ``refit`` (the book's ``get_best_epoch``: each top set trains again on the search split
    with ``EarlyStopping(val_loss, refit_patience)``, and its best epoch is the one of lowest ``val_loss``), or
    ``search`` (the epoch at which the set's trial scored best on the objective, averaged over its executions:
    no extra fit, but cut short by the search's smaller patience)."""

    patience: int
    best_epoch: str
    refit_patience: int
    retrain_factor: float

    # An interrupted search resumes from the tuner's own state in the run folder, not from epoch backups.
    backs_up_epochs: ClassVar[bool] = False

    def __post_init__(self):
        super().__post_init__()
        if self.patience < 0 or self.refit_patience < 1:
            raise ValueError(f"patience must be 0 or more and refit_patience at least 1, got {self.patience} "
                             f"and {self.refit_patience}")
        if self.best_epoch not in BEST_EPOCH_SOURCES:
            raise ValueError(f"best_epoch must be one of {', '.join(BEST_EPOCH_SOURCES)}, got '{self.best_epoch}'")
        if self.retrain_factor <= 0:
            raise ValueError(f"retrain_factor must be positive (the book's 1.2), got {self.retrain_factor}")

    def check_config(self, cfg) -> None:
        """The checks of the whole config that need no TensorFlow: the search space (its syntax, its keys, the
        group options it names) and the objective (a validation metric the run logs)."""
        from dlwp_cli.tuning.checks import check_config

        check_config(cfg)

    def run(self, ctx, data):
        from dlwp_cli.tuning.search import tune

        return tune(self, ctx, data)
