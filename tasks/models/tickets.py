"""The book's ticket-triage model (§7.2.2-7.2.3): three named inputs, shared features, one head per output."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from dlwp_tasks.models.head import Head


@dataclass
class TicketNet:
    """Concatenate the named inputs, ``Dense(units, activation)``, then the task's heads.

    ``api=functional`` is listing 7.9; ``api=subclassed`` is listing 7.14's ``CustomerTicketModel``.
    """

    input_kinds: ClassVar[tuple[str, ...]] = ("named_vectors",)
    APIS: ClassVar[tuple[str, ...]] = ("functional", "subclassed")

    units: int = 64
    activation: str = "relu"
    api: str = "functional"

    def __post_init__(self):
        if self.api not in self.APIS:
            raise ValueError(f"api must be one of {', '.join(self.APIS)}, got '{self.api}'")

    def build(self, input_shape: dict[str, tuple[int, ...]], head: dict[str, Head]):
        import keras

        if self.api == "subclassed":
            model = _ticket_model_class()(self, head)
            model({name: keras.ops.zeros((1, *shape)) for name, shape in input_shape.items()})
            return model
        # Lists in the task's order, as listing 7.9: data may then come as lists or as dicts keyed by name.
        inputs = [keras.Input(shape=shape, name=name) for name, shape in input_shape.items()]
        features = keras.layers.Concatenate()(inputs)
        features = keras.layers.Dense(self.units, activation=self.activation)(features)
        outputs = [spec.layer(name=name)(features) for name, spec in head.items()]
        return keras.Model(inputs=inputs, outputs=outputs, name="tickets")


@lru_cache(maxsize=None)
def _ticket_model_class():
    """``CustomerTicketModel`` (defined lazily: it needs Keras)."""
    import keras

    @keras.saving.register_keras_serializable(package="dlwp")
    class CustomerTicketModel(keras.Model):
        """Layers made in ``__init__`` (the Concatenate layer instance, as the book insists), used in ``call``."""

        def __init__(self, body: TicketNet | dict, heads: dict, **kwargs):
            super().__init__(name=kwargs.pop("name", "tickets"), **kwargs)
            self.body = body if isinstance(body, TicketNet) else TicketNet(**body)
            self.heads = {name: h if isinstance(h, Head) else Head(**h) for name, h in heads.items()}
            self.concat_layer = keras.layers.Concatenate()
            self.mixing_layer = keras.layers.Dense(self.body.units, activation=self.body.activation)
            self.output_layers = {name: spec.layer(name=name) for name, spec in self.heads.items()}

        def call(self, inputs):
            features = self.mixing_layer(self.concat_layer([inputs[name] for name in sorted(inputs)]))
            return {name: layer(features) for name, layer in self.output_layers.items()}

        def get_config(self):
            from dataclasses import asdict

            return {"body": asdict(self.body), "heads": {n: asdict(h) for n, h in self.heads.items()},
                    "name": self.name}

    return CustomerTicketModel


def __getattr__(name):
    if name == "CustomerTicketModel":
        return _ticket_model_class()
    raise AttributeError(name)
