"""The book's Transformer layers (listings 11.21, 11.24, 11.33): encoder, decoder, positional embedding.

Each layer's ``get_config`` returns its constructor arguments, and each is registered under the ``dlwp``
package, so a saved ``model.keras`` holding them reloads with ``keras.models.load_model`` once this module is
imported. The attention heads are ``embed_dim`` wide each (``key_dim=embed_dim``), as in the book, so the
parameter counts equal the book's.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dlwp")
class TransformerEncoder(keras.layers.Layer):
    """Self-attention, then a two-layer projection, each with a residual and LayerNorm (post-norm, no dropout)."""

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.dense_dim = int(dense_dim)
        self.num_heads = int(num_heads)
        self.attention = keras.layers.MultiHeadAttention(num_heads=self.num_heads, key_dim=self.embed_dim)
        self.dense_proj = keras.Sequential([keras.layers.Dense(self.dense_dim, activation="relu"),
                                            keras.layers.Dense(self.embed_dim)])
        self.layernorm_1 = keras.layers.LayerNormalization()
        self.layernorm_2 = keras.layers.LayerNormalization()
        self.supports_masking = True

    def build(self, input_shape):
        self.attention.build(query_shape=input_shape, value_shape=input_shape)
        self.layernorm_1.build(input_shape)
        self.dense_proj.build(input_shape)
        self.layernorm_2.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        attention_mask = None if mask is None else ops.expand_dims(mask, axis=1)
        attention_output = self.attention(inputs, inputs, attention_mask=attention_mask)
        proj_input = self.layernorm_1(inputs + attention_output)
        return self.layernorm_2(proj_input + self.dense_proj(proj_input))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package="dlwp")
class PositionalEmbedding(keras.layers.Layer):
    """Token embedding plus a learned embedding of each position (at most ``sequence_length``); masks id 0."""

    def __init__(self, sequence_length: int, input_dim: int, output_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sequence_length = int(sequence_length)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.token_embeddings = keras.layers.Embedding(self.input_dim, self.output_dim)
        self.position_embeddings = keras.layers.Embedding(self.sequence_length, self.output_dim)

    def build(self, input_shape):
        self.token_embeddings.build(input_shape)
        self.position_embeddings.build((None,))
        self.built = True

    def call(self, inputs):
        length = ops.shape(inputs)[-1]
        positions = ops.arange(0, length, 1)
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "sequence_length": self.sequence_length, "input_dim": self.input_dim,
                "output_dim": self.output_dim}


def causal_attention_mask(inputs):
    """(batch, L, L) int32: position i may attend to positions j <= i."""
    batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
    rows = ops.arange(length)[:, None]
    cols = ops.arange(length)
    mask = ops.cast(rows >= cols, "int32")
    return ops.broadcast_to(ops.expand_dims(mask, 0), (batch, length, length))


@keras.saving.register_keras_serializable(package="dlwp")
class TransformerDecoder(keras.layers.Layer):
    """Causal self-attention, cross-attention over the encoder's outputs, then a projection (listing 11.33).

    As in the book, the cross-attention mask comes from the decoder's own padding mask (combined with the
    causal mask); with ``source_mask=True`` it uses the encoder outputs' mask instead, the corrected variant.
    Without any mask the cross-attention is unmasked (the book's listing would fail there).
    """

    def __init__(self, embed_dim: int, dense_dim: int, num_heads: int, source_mask: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)
        self.dense_dim = int(dense_dim)
        self.num_heads = int(num_heads)
        self.source_mask = bool(source_mask)
        self.attention_1 = keras.layers.MultiHeadAttention(num_heads=self.num_heads, key_dim=self.embed_dim)
        self.attention_2 = keras.layers.MultiHeadAttention(num_heads=self.num_heads, key_dim=self.embed_dim)
        self.dense_proj = keras.Sequential([keras.layers.Dense(self.dense_dim, activation="relu"),
                                            keras.layers.Dense(self.embed_dim)])
        self.layernorm_1 = keras.layers.LayerNormalization()
        self.layernorm_2 = keras.layers.LayerNormalization()
        self.layernorm_3 = keras.layers.LayerNormalization()
        self.supports_masking = True

    def build(self, inputs_shape, encoder_outputs_shape=None):
        encoder_outputs_shape = encoder_outputs_shape or inputs_shape
        self.attention_1.build(query_shape=inputs_shape, value_shape=inputs_shape)
        self.layernorm_1.build(inputs_shape)
        self.attention_2.build(query_shape=inputs_shape, value_shape=encoder_outputs_shape)
        self.layernorm_2.build(inputs_shape)
        self.dense_proj.build(inputs_shape)
        self.layernorm_3.build(inputs_shape)
        self.built = True

    def call(self, inputs, encoder_outputs, inputs_mask=None, encoder_outputs_mask=None):
        # Keras fills ``<argument>_mask`` from each tensor argument's mask (a layer with two tensor
        # arguments gets no plain ``mask``): ``inputs_mask`` is the book's ``mask``.
        causal_mask = causal_attention_mask(inputs)
        if self.source_mask:
            cross_mask = (None if encoder_outputs_mask is None
                          else ops.expand_dims(ops.cast(encoder_outputs_mask, "int32"), 1))
        else:
            cross_mask = None if inputs_mask is None else ops.minimum(
                ops.expand_dims(ops.cast(inputs_mask, "int32"), 1), causal_mask)
        attended = self.attention_1(query=inputs, value=inputs, key=inputs, attention_mask=causal_mask)
        attended = self.layernorm_1(inputs + attended)
        crossed = self.attention_2(query=attended, value=encoder_outputs, key=encoder_outputs,
                                   attention_mask=cross_mask)
        crossed = self.layernorm_2(attended + crossed)
        return self.layernorm_3(crossed + self.dense_proj(crossed))

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                "num_heads": self.num_heads, "source_mask": self.source_mask}
