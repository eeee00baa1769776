"""The book's image-segmentation network (§9.2): strided convolutions down, transposed convolutions up, and a
per-pixel softmax."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head


@dataclass
class SegmentationNet:
    """``Rescaling(1/255)``, then per entry of ``filters`` a stride-2 ``Conv2D`` and a ``Conv2D`` (the encoder),
    then the same widths in reverse as a ``Conv2DTranspose`` and a stride-2 ``Conv2DTranspose`` (the decoder),
    and a ``Conv2D`` head with the task's classes and activation at every pixel. No skip connections; every
    layer pads "same", so the output has the input's height and width (multiples of 2**len(filters))."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image_segmentation",)
    # The body starts with its own Rescaling: the pipeline feeds pixels in 0..255.
    takes_raw_pixels: ClassVar[bool] = True

    filters: list[int] = field(default_factory=lambda: [64, 128, 256])
    kernel_size: int = 3
    activation: str = "relu"

    def __post_init__(self):
        if not self.filters or any(width < 1 for width in self.filters):
            raise ValueError(f"filters must be a non-empty list of positive widths, got {self.filters}")

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        stride = 2 ** len(self.filters)
        if len(input_shape) != 3 or input_shape[0] % stride or input_shape[1] % stride:
            raise ValueError(f"the segmentation network takes (height, width, channels) images whose height and "
                             f"width are multiples of {stride} (2 to the number of filters), so that the decoder "
                             f"restores the input's size; got {tuple(input_shape)}")
        conv = dict(kernel_size=self.kernel_size, activation=self.activation, padding="same")
        inputs = keras.Input(shape=input_shape)
        x = keras.layers.Rescaling(1.0 / 255)(inputs)
        for width in self.filters:
            x = keras.layers.Conv2D(width, strides=2, **conv)(x)
            x = keras.layers.Conv2D(width, **conv)(x)
        for width in reversed(self.filters):
            x = keras.layers.Conv2DTranspose(width, **conv)(x)
            x = keras.layers.Conv2DTranspose(width, strides=2, **conv)(x)
        outputs = keras.layers.Conv2D(head.units, self.kernel_size, activation=head.activation, padding="same",
                                      dtype="float32", name="head")(x)
        return keras.Model(inputs, outputs, name="segmentation")
