"""A model body of one's own: ``model._target_: my_models.ResidualMLP`` (see conf/model/resmlp.yaml).

A model body is a dataclass: its fields are its settings (``model.width=128`` on the command line; a wrong
type or an unknown key is rejected before training), ``input_kinds`` says what it takes (``vector``: one
row of numbers, as tables and flat arrays give), and ``build(input_shape, head)`` returns a Keras model
that ends in ``head.layer()``, the task's output layer. Keras is imported inside ``build`` so that
``dlwp list`` and ``dlwp show`` stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass
class ResidualMLP:
    """``Dense(width)``, then ``blocks`` residual blocks ``x + Dense(Dropout(Dense(LayerNorm(x))))``, then
    the head."""

    input_kinds: ClassVar[tuple[str, ...]] = ("vector",)

    width: int = 64
    blocks: int = 2
    dropout: float = 0.1
    activation: str = "relu"

    def __post_init__(self):
        if self.width < 1 or self.blocks < 0:
            raise ValueError(f"width must be at least 1 and blocks 0 or more, got width={self.width}, "
                             f"blocks={self.blocks}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def build(self, input_shape, head):
        import keras

        inputs = keras.Input(shape=input_shape, name="features")
        x = keras.layers.Dense(self.width, activation=self.activation, name="stem")(inputs)
        for i in range(self.blocks):
            y = keras.layers.LayerNormalization(name=f"block{i}_norm")(x)
            y = keras.layers.Dense(self.width, activation=self.activation, name=f"block{i}_dense1")(y)
            y = keras.layers.Dropout(self.dropout, name=f"block{i}_dropout")(y)
            y = keras.layers.Dense(self.width, name=f"block{i}_dense2")(y)
            x = keras.layers.Add(name=f"block{i}_add")([x, y])
        return keras.Model(inputs, head.layer()(x), name="resmlp")
