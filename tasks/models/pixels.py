"""What image bodies share: an optional ``Rescaling`` first (the body then takes raw 0..255 pixels) and a
dropout rate before the head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class PixelInput:
    """``rescaling`` (e.g. 1/255) starts the body with ``Rescaling``; ``dropout`` is checked to lie in [0, 1)."""

    dropout: float = 0.0
    rescaling: Optional[float] = None

    def __post_init__(self):
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def takes_raw_pixels(self) -> bool:
        return self.rescaling is not None

    def pixel_input(self, input_shape: tuple[int, ...]):
        """(the ``keras.Input``, the tensor the body continues from)."""
        import keras

        inputs = keras.Input(shape=input_shape)
        return inputs, keras.layers.Rescaling(self.rescaling)(inputs) if self.rescaling is not None else inputs
