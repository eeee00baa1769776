"""The book's convnets (ch. 8): the MNIST convnet, its no-pooling variant, and the cats-vs-dogs convnet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head
from dlwp_tasks.models.pixels import PixelInput


@dataclass
class ConvNet(PixelInput):
    """``Conv2D(f, kernel_size)`` per entry of ``filters``, with max pooling between them (``pooling``), then
    ``Flatten``, optional ``Dropout`` and the task's head. ``rescaling`` (e.g. 1/255) starts the body with
    ``Rescaling``, as the cats-vs-dogs listings do: the model then takes raw pixels in 0..255."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)

    filters: list[int] = field(default_factory=lambda: [32, 64, 128])
    kernel_size: int = 3
    pool_size: int = 2
    pooling: bool = True
    activation: str = "relu"

    def __post_init__(self):
        super().__post_init__()
        if not self.filters:
            raise ValueError("filters must list at least one convolution width")

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        inputs, x = self.pixel_input(input_shape)
        for i, width in enumerate(self.filters):
            if i > 0 and self.pooling:
                x = keras.layers.MaxPooling2D(pool_size=self.pool_size)(x)
            x = keras.layers.Conv2D(width, self.kernel_size, activation=self.activation)(x)
        x = keras.layers.Flatten()(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name="convnet")
