"""Trainer modes as config schemas: ``trainer._target_`` names one of these dataclasses (or a user's own).

A mode's fields are its settings (the YAML file gives every value); ``run(ctx, data)`` trains and returns a
``TrainResult``. This module imports no TensorFlow, so configs are checked without it: each ``run``
imports its implementation when called.

A mode of one's own: a dataclass (subclass :class:`TrainerMode`) with a ``run(ctx, data)`` method, and
``conf/trainer/<name>.yaml`` (or a user config dir's ``trainer/<name>.yaml``) with ``_target_`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

HOLDOUT_POSITIONS = ("first", "last", "random")


def _check_holdout(size: float, position: str) -> None:
    if size < 0:
        raise ValueError(f"validation_size must be 0 or more, got {size}")
    if position not in HOLDOUT_POSITIONS:
        raise ValueError(f"validation_from must be one of {', '.join(HOLDOUT_POSITIONS)}, got '{position}'")


@dataclass
class TrainerMode:
    """What every mode has: whether to score the test split, and a batch limit for debugging."""

    evaluate_test: bool
    limit_batches: Optional[int]

    # Whether fits back up every epoch into the run folder (so an interrupted run resumes).
    backs_up_epochs: ClassVar[bool] = False
    # Whether the mode trains the model group's body at all (False: a baseline without a model).
    trains_model: ClassVar[bool] = True

    def __post_init__(self):
        if self.limit_batches is not None and self.limit_batches < 1:
            raise ValueError(f"limit_batches must be at least 1 or null, got {self.limit_batches}")

    def run(self, ctx, data):
        raise NotImplementedError(f"{type(self).__name__} does not define run(ctx, data)")


@dataclass
class Fit(TrainerMode):
    """``model.fit`` on the training rows (optional hold-out), then ``evaluate`` on the test rows."""

    validation_size: float
    validation_from: str
    shuffle: bool
    custom_train_step: bool

    backs_up_epochs: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        _check_holdout(self.validation_size, self.validation_from)

    def run(self, ctx, data):
        from dlwp_cli.training.trainers import fit_trainer

        return fit_trainer(ctx, data)


@dataclass
class KFold(TrainerMode):
    """K-fold cross-validation on the training rows: per-fold and mean scores, averaged curves."""

    folds: int
    shuffle_folds: bool
    validate_each_epoch: bool
    shuffle: bool

    def __post_init__(self):
        super().__post_init__()
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2 for K-fold validation, got {self.folds}")

    def run(self, ctx, data):
        from dlwp_cli.training.trainers import kfold_trainer

        return kfold_trainer(ctx, data)


@dataclass
class RandomBaseline(TrainerMode):
    """No model: accuracy of the test labels against a shuffled copy of themselves."""

    trains_model: ClassVar[bool] = False

    def run(self, ctx, data):
        from dlwp_cli.training.trainers import random_baseline_trainer

        return random_baseline_trainer(ctx, data)


@dataclass
class CustomLoop(TrainerMode):
    """The book's GradientTape loop (listings 7.21-7.25), compiled with tf.function or eager."""

    compiled: bool
    validation_size: float
    validation_from: str
    shuffle: bool

    def __post_init__(self):
        super().__post_init__()
        _check_holdout(self.validation_size, self.validation_from)

    def run(self, ctx, data):
        from dlwp_cli.training.loops import custom_loop_trainer

        return custom_loop_trainer(ctx, data)


@dataclass
class Scratch(TrainerMode):
    """Chapters 2-3 from scratch: the NaiveDense model, in-order batches, a hand-written update."""

    UPDATES: ClassVar[tuple[str, ...]] = ("manual_sgd", "optimizer")

    update: str
    compiled: bool
    validation_size: float
    validation_from: str
    shuffle: bool

    def __post_init__(self):
        super().__post_init__()
        _check_holdout(self.validation_size, self.validation_from)
        if self.update not in self.UPDATES:
            raise ValueError(f"update must be one of {', '.join(self.UPDATES)}, got '{self.update}'")

    def run(self, ctx, data):
        from dlwp_cli.training.scratch import scratch_trainer

        return scratch_trainer(ctx, data)
