"""Small convnet: the book's MNIST convnet (ch. 8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head


@dataclass
class ConvNet:
    """``Conv2D(f, kernel_size)`` per entry of ``filters`` with max pooling between them,
    then ``Flatten`` and the task's head."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)

    filters: list[int] = field(default_factory=lambda: [32, 64, 128])
    kernel_size: int = 3
    pool_size: int = 2
    activation: str = "relu"

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        inputs = keras.Input(shape=input_shape)
        x = inputs
        for i, width in enumerate(self.filters):
            if i > 0:
                x = keras.layers.MaxPooling2D(pool_size=self.pool_size)(x)
            x = keras.layers.Conv2D(width, self.kernel_size, activation=self.activation)(x)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, head.layer()(x), name="convnet")
