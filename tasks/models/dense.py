"""Fully connected network: the book's model for MNIST, IMDB, Reuters and Boston (ch. 2, 4, 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head


@dataclass
class DenseNet:
    """A stack of ``Dense(units[i], activation)`` layers, then the task's head.

    ``units=[]`` gives a linear (logistic-regression) model. ``dropout`` adds a Dropout layer after
    each hidden layer; ``l1``/``l2`` put a weight penalty on each hidden kernel (ch. 5).
    """

    input_kinds: ClassVar[tuple[str, ...]] = ("vector",)

    units: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "relu"
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError(f"l1 and l2 must be 0 or more, got l1={self.l1}, l2={self.l2}")

    def regularizer(self):
        import keras

        if self.l1 and self.l2:
            return keras.regularizers.L1L2(l1=self.l1, l2=self.l2)
        if self.l1:
            return keras.regularizers.L1(self.l1)
        if self.l2:
            return keras.regularizers.L2(self.l2)
        return None

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        layers = [keras.Input(shape=input_shape)]
        for width in self.units:
            layers.append(keras.layers.Dense(width, activation=self.activation, kernel_regularizer=self.regularizer()))
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout))
        layers.append(head.layer())
        return keras.Sequential(layers, name="dense")
