"""The task's output layer, shared by every model body."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Head:
    """Final Dense layer: ``units`` outputs with ``activation`` (None = linear)."""

    units: int
    activation: str | None = None

    def layer(self, name: str = "head"):
        import keras

        # The output layer computes in float32 even under a mixed-precision policy.
        return keras.layers.Dense(self.units, activation=self.activation, dtype="float32", name=name)
