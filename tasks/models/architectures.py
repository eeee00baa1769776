"""The architecture patterns of §9.3 as model bodies: residual connections, batch normalization, and depthwise
separable convolutions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head


def residual_block(x, filters: int, pooling: bool):
    """Two ``Conv2D(filters, 3, "relu", padding="same")`` and the block's input added back (listings 9.2-9.3):
    with ``pooling``, a ``MaxPooling2D(2, padding="same")`` and the residual projected by a stride-2 1x1
    convolution; without, a 1x1 projection only when the channel count changes."""
    import keras

    residual = x
    x = keras.layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = keras.layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    if pooling:
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
        residual = keras.layers.Conv2D(filters, 1, strides=2)(residual)
    elif residual.shape[-1] != filters:
        residual = keras.layers.Conv2D(filters, 1)(residual)
    return keras.layers.add([x, residual])


@dataclass
class ResidualToy:
    """The book's toy residual network (§9.3.2): ``Rescaling(1/255)``, one residual block per entry of
    ``filters`` (max pooling in those ``pooling`` marks), ``GlobalAveragePooling2D`` and the task's head."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)
    takes_raw_pixels: ClassVar[bool] = True

    filters: list[int] = field(default_factory=lambda: [32, 64, 128])
    pooling: list[bool] = field(default_factory=lambda: [True, True, False])

    def __post_init__(self):
        if len(self.filters) != len(self.pooling):
            raise ValueError(f"filters and pooling need one entry per block, got {len(self.filters)} filters and "
                             f"{len(self.pooling)} pooling flags")

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        inputs = keras.Input(shape=input_shape)
        x = keras.layers.Rescaling(1.0 / 255)(inputs)
        for width, pooling in zip(self.filters, self.pooling):
            x = residual_block(x, width, pooling)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, head.layer()(x), name="residual_toy")


@dataclass
class BatchNormConvNet:
    """Convolution blocks with batch normalization (§9.3.3), then ``GlobalAveragePooling2D`` and the task's head.

    ``order``: ``bn_then_relu`` is listing 9.5, ``Conv2D(use_bias=False)`` -> ``BatchNormalization`` ->
    ``Activation("relu")`` (the bias is redundant before a normalization); ``relu_then_bn`` is listing 9.4,
    ``Conv2D(activation="relu")`` -> ``BatchNormalization``. ``MaxPooling2D(2)`` follows every block but the last.
    """

    ORDERS: ClassVar[tuple[str, ...]] = ("bn_then_relu", "relu_then_bn")
    input_kinds: ClassVar[tuple[str, ...]] = ("image",)
    takes_raw_pixels: ClassVar[bool] = True

    filters: list[int] = field(default_factory=lambda: [32, 64, 128])
    order: str = "bn_then_relu"

    def __post_init__(self):
        if self.order not in self.ORDERS:
            raise ValueError(f"order must be one of {', '.join(self.ORDERS)}, got '{self.order}'")

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        inputs = keras.Input(shape=input_shape)
        x = keras.layers.Rescaling(1.0 / 255)(inputs)
        for i, width in enumerate(self.filters):
            if i > 0:
                x = keras.layers.MaxPooling2D(2)(x)
            if self.order == "bn_then_relu":
                x = keras.layers.Conv2D(width, 3, use_bias=False)(x)
                x = keras.layers.BatchNormalization()(x)
                x = keras.layers.Activation("relu")(x)
            else:
                x = keras.layers.Conv2D(width, 3, activation="relu")(x)
                x = keras.layers.BatchNormalization()(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, head.layer()(x), name="batchnorm_convnet")


@dataclass
class SeparableComparison:
    """A regular ``Conv2D`` and a ``SeparableConv2D`` (§9.3.4, a depthwise then a pointwise 1x1 convolution) of
    the same kernel size and width on the task's input, as two models whose parameters ``trainer=summary``
    records side by side. There is nothing to train: ``build`` refuses."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)

    filters: int = 64
    kernel_size: int = 3
    use_bias: bool = False

    def build_models(self, input_shape: tuple[int, ...], head: Head | None = None) -> dict:
        """``{"conv2d": model, "separable_conv2d": model}``, each the input and one layer."""
        import keras

        layers = {
            "conv2d": keras.layers.Conv2D(self.filters, self.kernel_size, padding="same", use_bias=self.use_bias),
            "separable_conv2d": keras.layers.SeparableConv2D(self.filters, self.kernel_size, padding="same",
                                                             use_bias=self.use_bias),
        }
        models = {}
        for name, layer in layers.items():
            inputs = keras.Input(shape=input_shape)
            models[name] = keras.Model(inputs, layer(inputs), name=name)
        return models

    def build(self, input_shape: tuple[int, ...], head: Head):
        raise ValueError("model=separable_comparison compares two layers' parameter counts and has no head to "
                         "train; run it with trainer=summary")
