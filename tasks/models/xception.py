"""The mini-Xception of book §9.3.5: residual blocks of batch-normalised separable convolutions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from dlwp_tasks.models.head import Head
from dlwp_tasks.models.pixels import PixelInput


@dataclass
class MiniXception(PixelInput):
    """``Conv2D(stem_filters, stem_kernel, use_bias=False)``, then per entry of ``filters`` a residual block
    (BN -> relu -> SeparableConv2D, twice; MaxPooling2D(3, strides=2); a strided 1x1 projection of the block's
    input added back), then GlobalAveragePooling2D -> Dropout -> the task's head."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)

    filters: list[int] = field(default_factory=lambda: [32, 64, 128, 256, 512])
    stem_filters: int = 32
    stem_kernel: int = 5
    kernel_size: int = 3
    dropout: float = 0.5
    rescaling: Optional[float] = 1.0 / 255

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras
        from keras import layers

        inputs, x = self.pixel_input(input_shape)
        x = layers.Conv2D(self.stem_filters, self.stem_kernel, use_bias=False)(x)
        for size in self.filters:
            residual = x
            for _ in range(2):
                x = layers.BatchNormalization()(x)
                x = layers.Activation("relu")(x)
                x = layers.SeparableConv2D(size, self.kernel_size, padding="same", use_bias=False)(x)
            x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
            residual = layers.Conv2D(size, 1, strides=2, padding="same", use_bias=False)(residual)
            x = layers.add([x, residual])
        x = layers.GlobalAveragePooling2D()(x)
        if self.dropout:
            x = layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name="mini_xception")
