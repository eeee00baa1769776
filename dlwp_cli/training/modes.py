"""Trainer modes as config schemas: ``trainer._target_`` names one of these dataclasses (or a user's own).

A mode's fields are its settings (the YAML file gives every value). Every mode runs the same skeleton
(``dlwp_cli.training.skeleton``: hold-out, input pipelines, callbacks, the model built in the strategy's
scope, training, summary, test scores) and differs only in ``build(ctx, data)``: the *trainee* it returns
says how to fit and evaluate. This module imports no TensorFlow, so configs are checked without it.

A mode of one's own: a dataclass subclassing :class:`TrainerMode` with a ``build(ctx, data)`` method, and
a ``trainer/<name>.yaml`` (in a user config dir) whose ``_target_`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

HOLDOUT_POSITIONS = ("first", "last", "random")


@dataclass
class TrainerMode:
    """What every mode has: whether to score the test split, and a batch limit for debugging."""

    evaluate_test: bool
    limit_batches: Optional[int]

    # Whether fits back up every epoch into the run folder (so an interrupted run resumes).
    backs_up_epochs: ClassVar[bool] = False
    # Whether the mode trains the model group's body at all (False: a baseline without a model).
    trains_model: ClassVar[bool] = True
    # What updates the weights (or the picture) when it is not the optimizer group: shown in the run's header.
    own_update: ClassVar[Optional[str]] = None

    def __post_init__(self):
        if self.limit_batches is not None and self.limit_batches < 1:
            raise ValueError(f"limit_batches must be at least 1 or null, got {self.limit_batches}")

    def run(self, ctx, data):
        """Train and score with the shared skeleton; a ``TrainResult``."""
        from dlwp_cli.training.skeleton import train_and_score

        return train_and_score(self, ctx, data)[0]

    def build(self, ctx, data):
        """The trainee (called inside the strategy's scope): by default the task's model, trained with
        ``model.fit`` and scored with ``model.evaluate``."""
        from dlwp_cli.training.modeling import build_model
        from dlwp_cli.training.skeleton import KerasFit

        return KerasFit(build_model(ctx.cfg, data, ctx.strategy.num_replicas_in_sync))


@dataclass
class HeldOut(TrainerMode):
    """A mode that trains on the training rows less a hold-out, reshuffled every epoch when ``shuffle``."""

    validation_size: float   # hold-out examples: a count, or a fraction in (0, 1); 0 = none
    validation_from: str     # first | last | random
    shuffle: bool

    def __post_init__(self):
        super().__post_init__()
        if self.validation_size < 0:
            raise ValueError(f"validation_size must be 0 or more, got {self.validation_size}")
        if self.validation_from not in HOLDOUT_POSITIONS:
            raise ValueError(f"validation_from must be one of {', '.join(HOLDOUT_POSITIONS)}, "
                             f"got '{self.validation_from}'")


@dataclass
class Fit(HeldOut):
    """``model.fit`` on the training rows (optional hold-out), then ``evaluate`` on the test rows."""

    custom_train_step: bool

    backs_up_epochs: ClassVar[bool] = True

    def build(self, ctx, data):
        """Keras's fit; under MultiWorkerMirroredStrategy, where Keras 3's fit fails, a ``strategy.run`` loop."""
        from dlwp_cli.training.distributed import DistributedFit, is_multi_worker

        return DistributedFit(ctx, data) if is_multi_worker(ctx.strategy) else super().build(ctx, data)


@dataclass
class KFold(TrainerMode):
    """K-fold cross-validation on the training rows: per-fold and mean scores, averaged curves; with
    ``repeats`` > 1, iterated K-fold with shuffling (``repeats`` rounds of ``folds`` folds, reshuffled each round)."""

    folds: int
    shuffle_folds: bool
    validate_each_epoch: bool
    shuffle: bool
    repeats: int = 1

    def __post_init__(self):
        super().__post_init__()
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2 for K-fold validation, got {self.folds}")
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1 (1: plain K-fold; R: R shuffled rounds of "
                             f"{self.folds} folds), got {self.repeats}")

    def run(self, ctx, data):
        """One skeleton fit per fold, each fold's validation scores, then the last fold's model on the test rows."""
        from dlwp_cli.training.trainers import kfold_trainer

        return kfold_trainer(self, ctx, data)


@dataclass
class RandomBaseline(TrainerMode):
    """No model: accuracy of the test labels against a shuffled copy of themselves."""

    trains_model: ClassVar[bool] = False
    own_update: ClassVar[Optional[str]] = "none"

    def run(self, ctx, data):
        from dlwp_cli.training.trainers import random_baseline_trainer

        return random_baseline_trainer(ctx, data)


@dataclass
class CustomLoop(HeldOut):
    """The book's GradientTape loop (listings 7.21-7.25), compiled with tf.function or eager."""

    compiled: bool

    def build(self, ctx, data):
        from dlwp_cli.training.loops import custom_loop_trainee

        return custom_loop_trainee(ctx, data)


@dataclass
class Scratch(HeldOut):
    """Chapters 2-3 from scratch: the NaiveDense model, in-order batches, a hand-written update."""

    UPDATES: ClassVar[tuple[str, ...]] = ("manual_sgd", "optimizer")

    update: str
    compiled: bool

    def __post_init__(self):
        super().__post_init__()
        if self.update not in self.UPDATES:
            raise ValueError(f"update must be one of {', '.join(self.UPDATES)}, got '{self.update}'")

    def run(self, ctx, data):
        """The book's from-scratch loop over NumPy slices (no Keras model, so not the skeleton's fit)."""
        from dlwp_cli.training.scratch import scratch_trainer

        return scratch_trainer(ctx, data)


@dataclass
class Generative(TrainerMode):
    """Models that learn without labels through their own ``train_step`` (a VAE, a GAN), with a grid of samples
    written every ``samples_every`` epochs; ``include_test`` trains on the test images too (the book's VAE
    uses all 70,000 MNIST digits). Labels, if the task has any, are unused."""

    samples_every: int
    include_test: bool
    run_eagerly: bool

    uses_labels: ClassVar[bool] = False
    backs_up_epochs: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        if self.samples_every < 1:
            raise ValueError(f"samples_every must be at least 1 (epochs between sample grids), "
                             f"got {self.samples_every}")

    def run(self, ctx, data):
        from dlwp_cli.training.generative import images_only
        from dlwp_cli.training.skeleton import train_and_score

        return train_and_score(self, ctx, images_only(data, self.include_test))[0]

    def build(self, ctx, data):
        from dlwp_cli.training.generative import GenerativeFit

        return GenerativeFit(ctx, data)


@dataclass
class LearningRateDecay:
    """An exponentially decaying learning rate: ``initial * decay_rate ** (step / decay_steps)``."""

    initial: float
    decay_steps: int
    decay_rate: float


@dataclass
class InputOptimisation(TrainerMode):
    """A picture (``task.image``) optimised against a fixed pretrained network; ``save_every`` steps the picture
    is written to ``RUN_DIR/steps/``. ``limit_batches`` (debug) caps the steps."""

    save_every: int

    uses_labels: ClassVar[bool] = False

    def __post_init__(self):
        super().__post_init__()
        if self.save_every < 1:
            raise ValueError(f"save_every must be at least 1 (steps between saved pictures), got {self.save_every}")


@dataclass
class DeepDream(InputOptimisation):
    """DeepDream (§12.2): gradient ascent of ``step`` per iteration over ``num_octave`` octaves of ``octave_scale``,
    ``iterations`` per octave, stopping an octave once the loss exceeds ``max_loss`` (null: never)."""

    step: float
    num_octave: int
    octave_scale: float
    iterations: int
    max_loss: Optional[float]

    own_update: ClassVar[Optional[str]] = "gradient ascent (trainer.step)"

    def __post_init__(self):
        super().__post_init__()
        if self.num_octave < 1 or self.iterations < 1 or self.octave_scale <= 1.0 or self.step <= 0:
            raise ValueError("num_octave and iterations must be at least 1, octave_scale above 1 and step above 0; "
                             f"got {self.num_octave}, {self.iterations}, {self.octave_scale} and {self.step}")

    def run(self, ctx, data):
        from dlwp_cli.training.input_optimisation import deepdream_trainer

        return deepdream_trainer(self, ctx, data)


@dataclass
class StyleTransfer(InputOptimisation):
    """Neural style transfer (§12.3): ``iterations`` SGD steps on the picture, at a learning rate decaying as
    ``learning_rate`` says (the book's 100, x0.96 every 100 steps)."""

    iterations: int
    learning_rate: LearningRateDecay

    own_update: ClassVar[Optional[str]] = "SGD (trainer.learning_rate)"

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.learning_rate, dict):  # as the run's config gives it
            self.learning_rate = LearningRateDecay(**self.learning_rate)
        if self.iterations < 1:
            raise ValueError(f"iterations must be at least 1, got {self.iterations}")

    def run(self, ctx, data):
        from dlwp_cli.training.input_optimisation import style_transfer_trainer

        return style_transfer_trainer(self, ctx, data)
