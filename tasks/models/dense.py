"""Fully connected network: the book's model for MNIST, IMDB, Reuters and Boston (ch. 2, 4, 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head


@dataclass
class DenseNet:
    """A stack of ``Dense(units[i], activation)`` layers, then the task's head.

    ``units=[]`` gives a linear (logistic-regression) model.
    """

    input_kinds: ClassVar[tuple[str, ...]] = ("vector",)

    units: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "relu"

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        layers = [keras.Input(shape=input_shape)]
        layers += [keras.layers.Dense(width, activation=self.activation) for width in self.units]
        layers.append(head.layer())
        return keras.Sequential(layers, name="dense")
