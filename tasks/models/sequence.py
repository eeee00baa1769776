"""Model bodies for time-series windows (ch. 10): a dense network on the flattened window, a 1D convnet, and
recurrent networks (LSTM, GRU, stacked, with dropout, bidirectional)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dlwp_tasks.models.head import Head

RECURRENT_CELLS = ("lstm", "gru", "simple_rnn")


def _window_input(input_shape: tuple[int, ...]):
    import keras

    if len(input_shape) != 2:
        raise ValueError(f"expects windows of (timesteps, features), got inputs of shape {input_shape}")
    return keras.Input(shape=input_shape, name="window")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


@dataclass
class WindowDense:
    """``Flatten``, a ``Dense(units[i], activation)`` per entry of ``units`` (optional ``Dropout`` after each),
    then the head: the book's densely connected baseline (listing 10.10, Dense 16)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("timeseries",)

    units: list[int] = field(default_factory=lambda: [16])
    activation: str = "relu"
    dropout: float = 0.0

    def __post_init__(self):
        _check_rate("dropout", self.dropout)

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        inputs = _window_input(input_shape)
        x = keras.layers.Flatten()(inputs)
        for width in self.units:
            x = keras.layers.Dense(width, activation=self.activation)(x)
            if self.dropout:
                x = keras.layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name="window_dense")


@dataclass
class Conv1DNet:
    """A ``Conv1D(filters[i], kernel_sizes[i], activation)`` per entry, ``MaxPooling1D(pool_size)`` between them,
    global average pooling, then the head: the book's 1D convnet (§10.2.4: 8 filters of 24, 12 and 6 steps)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("timeseries",)

    filters: list[int] = field(default_factory=lambda: [8, 8, 8])
    kernel_sizes: list[int] = field(default_factory=lambda: [24, 12, 6])
    pool_size: int = 2
    activation: str = "relu"

    def __post_init__(self):
        if not self.filters or len(self.filters) != len(self.kernel_sizes):
            raise ValueError(f"filters and kernel_sizes must list one convolution each, got {self.filters} and "
                             f"{self.kernel_sizes}")

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        inputs = _window_input(input_shape)
        x = inputs
        for i, (width, size) in enumerate(zip(self.filters, self.kernel_sizes)):
            if i > 0:
                x = keras.layers.MaxPooling1D(self.pool_size)(x)
            x = keras.layers.Conv1D(width, size, activation=self.activation)(x)
        x = keras.layers.GlobalAveragePooling1D()(x)
        return keras.Model(inputs, head.layer()(x), name="conv1d")


@dataclass
class RecurrentNet:
    """One recurrent layer per entry of ``units`` (``cell``: lstm, gru or simple_rnn), each but the last returning
    its whole sequence to the next; ``recurrent_dropout`` inside each, ``bidirectional`` wrapping each, a
    ``Dropout(dropout)`` before the head. ``unroll`` unrolls the loops (faster on short windows, more memory).
    The book's models of §10.2.5-10.4.3: LSTM(16); LSTM(32) with recurrent dropout 0.25 and dropout 0.5;
    GRU(32)-GRU(32) with recurrent dropout 0.5 and dropout 0.5; Bidirectional(LSTM(16))."""

    input_kinds: ClassVar[tuple[str, ...]] = ("timeseries",)

    cell: str = "lstm"
    units: list[int] = field(default_factory=lambda: [16])
    recurrent_dropout: float = 0.0
    dropout: float = 0.0
    bidirectional: bool = False
    unroll: bool = False

    def __post_init__(self):
        if self.cell not in RECURRENT_CELLS:
            raise ValueError(f"cell must be one of {', '.join(RECURRENT_CELLS)}, got '{self.cell}'")
        if not self.units:
            raise ValueError("units must list at least one recurrent layer width")
        _check_rate("recurrent_dropout", self.recurrent_dropout)
        _check_rate("dropout", self.dropout)

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
                       "simple_rnn": keras.layers.SimpleRNN}[self.cell]
        inputs = _window_input(input_shape)
        x = inputs
        for i, width in enumerate(self.units):
            layer = layer_class(width, recurrent_dropout=self.recurrent_dropout, unroll=self.unroll,
                                return_sequences=i < len(self.units) - 1)
            x = (keras.layers.Bidirectional(layer) if self.bidirectional else layer)(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name=self.cell)
