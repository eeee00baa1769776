"""A trainer mode of one's own: Keras's fit with the learning rate ramped up over the first epochs.

A mode is a dataclass: its fields are its settings. Every mode runs dlwp's one training skeleton
(hold-out, input pipelines, callbacks, the model built in the strategy's scope, training, test scores) and
only says, in ``build(ctx, data)``, what trains: it returns a *trainee* with ``model``,
``fit(train, validation, epochs, steps, callbacks) -> history`` and ``evaluate(dataset) -> scores``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlwp_cli.training.modes import Fit


@dataclass
class WarmupFit(Fit):
    """``trainer=fit``, with the learning rate rising linearly to its set value over ``warmup_epochs``."""

    warmup_epochs: int

    def __post_init__(self):
        super().__post_init__()
        if self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be 0 or more, got {self.warmup_epochs}")

    def build(self, ctx, data):
        return Warmup(super().build(ctx, data), self.warmup_epochs, float(ctx.cfg.optimizer.learning_rate))


class Warmup:
    """Wraps a trainee: its fit gets one more callback, a LearningRateScheduler for the ramp."""

    def __init__(self, trainee, warmup_epochs: int, learning_rate: float):
        self.trainee = trainee
        self.model = trainee.model
        self.warmup_epochs = warmup_epochs
        self.learning_rate = learning_rate

    def rate(self, epoch: int, _current: float = 0.0) -> float:
        return self.learning_rate * min(1.0, (epoch + 1) / (self.warmup_epochs + 1))

    def fit(self, train, validation, epochs: int, steps: int, callbacks: list) -> dict:
        import keras

        ramp = keras.callbacks.LearningRateScheduler(self.rate)
        return self.trainee.fit(train, validation, epochs, steps, [*callbacks, ramp])

    def evaluate(self, dataset) -> dict:
        return self.trainee.evaluate(dataset)

    def report(self) -> dict:
        return {"warmup": {"epochs": self.warmup_epochs, "learning_rate": self.learning_rate}}
