"""Sequence-to-sequence translation models of §11.5: a GRU encoder-decoder and a Transformer encoder-decoder.

Both take a dict of two int token-id sequences, the source sentence and the target sentence so far (named by
``source_name`` and ``target_name``, the task's input names), and give the next-token probabilities at every
target position (the head: ``Dense(vocab_size, softmax)``). Their layers carry fixed names
(``source_embedding``, ``encoder``, ``target_embedding``, ``decoder``, ``head``), which the greedy decoder of
:mod:`dlwp_tasks.translation` uses to run the encoder once per sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlwp_tasks.models.head import Head

SENTENCE_PAIRS = "sentence_pairs"   # the input kind: {source ids, target ids so far} -> next target ids


def _inputs(input_shape, source_name: str, target_name: str):
    """The two int64 ``Input`` layers, named as the task's inputs (checked against the data's)."""
    import keras

    names = set(input_shape) if isinstance(input_shape, dict) else set()
    if names != {source_name, target_name}:
        raise ValueError(f"a translation model takes the inputs '{source_name}' and '{target_name}' "
                         f"(model.source_name, model.target_name), the data gives {sorted(names) or input_shape}")
    return (keras.Input(shape=(None,), dtype="int64", name=source_name),
            keras.Input(shape=(None,), dtype="int64", name=target_name))


def _check_head(head: Head, vocab_size: int) -> None:
    if head.units != vocab_size:
        raise ValueError(f"the head has {head.units} units, but the target vocabulary has {vocab_size} tokens "
                         "(task.head.units must equal task.vocab_size)")


@dataclass
class GruSeq2Seq:
    """Listings 11.28-11.30: ``Embedding(mask_zero) -> Bidirectional(GRU(latent_dim), merge_mode="sum")``
    encodes the source into one vector, the decoder ``GRU(latent_dim, return_sequences=True)`` starts from it
    and reads the target so far, then ``Dropout`` and the head."""

    input_kinds: ClassVar[tuple[str, ...]] = (SENTENCE_PAIRS,)

    vocab_size: int = 15000
    embed_dim: int = 256
    latent_dim: int = 1024
    dropout: float = 0.5
    source_name: str = "source"
    target_name: str = "target"

    def build(self, input_shape, head: Head):
        import keras

        _check_head(head, self.vocab_size)
        source, past_target = _inputs(input_shape, self.source_name, self.target_name)
        x = keras.layers.Embedding(self.vocab_size, self.embed_dim, mask_zero=True, name="source_embedding")(source)
        encoded_source = keras.layers.Bidirectional(keras.layers.GRU(self.latent_dim), merge_mode="sum",
                                                    name="encoder")(x)
        x = keras.layers.Embedding(self.vocab_size, self.embed_dim, mask_zero=True,
                                   name="target_embedding")(past_target)
        x = keras.layers.GRU(self.latent_dim, return_sequences=True, name="decoder")(x, initial_state=encoded_source)
        x = keras.layers.Dropout(self.dropout, name="dropout")(x)
        outputs = head.layer()(x)
        return keras.Model({self.source_name: source, self.target_name: past_target}, outputs, name="gru_seq2seq")


@dataclass
class TransformerSeq2Seq:
    """Listings 11.33-11.36: ``PositionalEmbedding -> TransformerEncoder`` over the source, then
    ``PositionalEmbedding -> TransformerDecoder`` (causal self-attention, attention over the encoder's
    outputs), ``Dropout`` and the head. ``sequence_length`` is the number of positions embedded."""

    input_kinds: ClassVar[tuple[str, ...]] = (SENTENCE_PAIRS,)

    vocab_size: int = 15000
    sequence_length: int = 20
    embed_dim: int = 256
    dense_dim: int = 2048
    num_heads: int = 8
    dropout: float = 0.5
    source_name: str = "source"
    target_name: str = "target"

    def build(self, input_shape, head: Head):
        import keras

        from dlwp_tasks.models.transformer_layers import PositionalEmbedding, TransformerDecoder, TransformerEncoder

        _check_head(head, self.vocab_size)
        source, past_target = _inputs(input_shape, self.source_name, self.target_name)
        x = PositionalEmbedding(self.sequence_length, self.vocab_size, self.embed_dim, name="source_embedding")(source)
        encoder_outputs = TransformerEncoder(self.embed_dim, self.dense_dim, self.num_heads, name="encoder")(x)
        x = PositionalEmbedding(self.sequence_length, self.vocab_size, self.embed_dim,
                                name="target_embedding")(past_target)
        x = TransformerDecoder(self.embed_dim, self.dense_dim, self.num_heads, name="decoder")(x, encoder_outputs)
        x = keras.layers.Dropout(self.dropout, name="dropout")(x)
        outputs = head.layer()(x)
        return keras.Model({self.source_name: source, self.target_name: past_target}, outputs,
                           name="transformer_seq2seq")
