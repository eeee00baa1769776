"""The book's dense network written from scratch (§2.5.1): ``NaiveDense`` layers in a ``NaiveSequential``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head


class NaiveDense:
    """``activation(inputs @ W + b)``: W of shape (input_size, output_size) uniform in [0, init_max), b zeros,
    both plain TensorFlow variables."""

    def __init__(self, input_size: int, output_size: int, activation: Callable, init_max: float = 0.1):
        import tensorflow as tf

        self.activation = activation
        self.W = tf.Variable(tf.random.uniform((input_size, output_size), minval=0, maxval=init_max))
        self.b = tf.Variable(tf.zeros((output_size,)))

    def __call__(self, inputs):
        return self.activation(inputs @ self.W + self.b)

    @property
    def weights(self) -> list:
        return [self.W, self.b]


class NaiveSequential:
    """Calls its layers in order; ``weights`` concatenates theirs."""

    def __init__(self, layers: list[NaiveDense]):
        self.layers = layers

    def __call__(self, inputs):
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def weights(self) -> list:
        return [w for layer in self.layers for w in layer.weights]


@dataclass
class NaiveDenseNet:
    """``NaiveDense(units[i], activation)`` layers, then the task's head (``units=[]``: the chapter-3 linear
    classifier). ``build_naive`` makes the from-scratch model that ``trainer=scratch`` trains; ``build`` makes
    the same network from Keras ``Dense`` layers with the same initialisation, for the Keras trainers."""

    input_kinds: ClassVar[tuple[str, ...]] = ("vector",)

    units: list[int] = field(default_factory=lambda: [512])
    activation: str = "relu"
    init_max: float = 0.1           # W is uniform in [0, init_max); chapter 3 draws it from [0, 1)

    def __post_init__(self):
        if self.init_max <= 0:
            raise ValueError(f"init_max must be positive, got {self.init_max}")

    def _layers(self, input_shape: tuple[int, ...], head: Head) -> list[tuple[int, int, str | None]]:
        """(input size, output size, activation) of every layer, head last."""
        if len(input_shape) != 1:
            raise ValueError(f"NaiveDense takes flat vectors, got inputs of shape {input_shape}")
        sizes = [input_shape[0], *self.units, head.units]
        activations = [self.activation] * len(self.units) + [head.activation]
        return list(zip(sizes[:-1], sizes[1:], activations))

    def build_naive(self, input_shape: tuple[int, ...], head: Head) -> NaiveSequential:
        import keras

        return NaiveSequential([NaiveDense(n_in, n_out, keras.activations.get(activation), self.init_max)
                                for n_in, n_out, activation in self._layers(input_shape, head)])

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        layers = [keras.Input(shape=input_shape)]
        for i, (_, n_out, activation) in enumerate(self._layers(input_shape, head)):
            is_head = i == len(self.units)
            layers.append(keras.layers.Dense(
                n_out, activation=activation, kernel_initializer=keras.initializers.RandomUniform(0.0, self.init_max),
                dtype="float32" if is_head else None, name="head" if is_head else None,
            ))
        return keras.Sequential(layers, name="naive_dense")
