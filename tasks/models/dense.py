"""Fully connected network: the book's model for MNIST, IMDB, Reuters and Boston (ch. 2, 4, 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

from dlwp_tasks.models.head import Head


@dataclass
class DenseNet:
    """A stack of ``Dense(units[i], activation)`` layers, then the task's head.

    ``units=[]`` gives a linear (logistic-regression) model. ``dropout`` adds a Dropout layer after
    each hidden layer; ``l1``/``l2`` put a weight penalty on each hidden kernel (ch. 5). ``api`` builds
    the same network the three ways of chapter 7: ``sequential``, ``functional`` or ``subclassed``.
    """

    APIS: ClassVar[tuple[str, ...]] = ("sequential", "functional", "subclassed")

    input_kinds: ClassVar[tuple[str, ...]] = ("vector",)

    units: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "relu"
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    api: str = "sequential"

    def __post_init__(self):
        if self.api not in self.APIS:
            raise ValueError(f"api must be one of {', '.join(self.APIS)}, got '{self.api}'")
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

    def hidden_layers(self) -> list:
        import keras

        layers = []
        for width in self.units:
            layers.append(keras.layers.Dense(width, activation=self.activation, kernel_regularizer=self.regularizer()))
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout))
        return layers

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        if self.api == "subclassed":
            model = _dense_stack_class()(self, head)
            model(keras.ops.zeros((1, *input_shape)))  # creates the weights
            return model
        layers = [*self.hidden_layers(), head.layer()]
        if self.api == "sequential":
            return keras.Sequential([keras.Input(shape=input_shape), *layers], name="dense")
        inputs = keras.Input(shape=input_shape, name="features")
        x = inputs
        for layer in layers:
            x = layer(x)
        return keras.Model(inputs, x, name="dense")


@lru_cache(maxsize=None)
def _dense_stack_class():
    """``DenseStack``: the subclassed-model form of DenseNet (defined lazily: it needs Keras)."""
    import keras

    @keras.saving.register_keras_serializable(package="dlwp")
    class DenseStack(keras.Model):
        """Layers created in ``__init__``, applied in ``call``: the book's subclassing API (§7.2.3)."""

        def __init__(self, body: DenseNet | dict, head: Head | dict, **kwargs):
            super().__init__(name=kwargs.pop("name", "dense"), **kwargs)
            self.body = body if isinstance(body, DenseNet) else DenseNet(**body)
            self.head_spec = head if isinstance(head, Head) else Head(**head)
            self.hidden = self.body.hidden_layers()
            self.output_layer = self.head_spec.layer()

        def call(self, inputs, training=False):
            x = inputs
            for layer in self.hidden:
                x = layer(x, training=training)
            return self.output_layer(x)

        def get_config(self):
            from dataclasses import asdict

            return {"body": asdict(self.body), "head": asdict(self.head_spec), "name": self.name}

    return DenseStack


def __getattr__(name):
    if name == "DenseStack":
        return _dense_stack_class()
    raise AttributeError(name)
