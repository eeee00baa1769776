"""Model body of the text-generation run (§12.1.4): settings as a dataclass, the Keras model built on demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from dlwp_tasks.models.head import Head


@dataclass
class TransformerLM:
    """The book's decoder-only language model: ``PositionalEmbedding(sequence_length, vocab_size, embed_dim)``,
    one ``TransformerDecoder(embed_dim, dense_dim, num_heads)`` called as ``(x, x)``, the task's softmax head at
    every position. It keeps the task's vocabulary, so a finished run generates text (``dlwp generate``);
    ``mask_special`` never samples the padding id or ``[UNK]`` (the book samples both)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("lm_tokens",)
    generates: ClassVar[str] = "text"   # what dlwp generate makes from a finished run

    vocab_size: int = 15000
    sequence_length: int = 100
    embed_dim: int = 256
    dense_dim: int = 2048
    num_heads: int = 2
    mask_special: bool = False

    def __post_init__(self):
        for name in ("vocab_size", "sequence_length", "embed_dim", "dense_dim", "num_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def build(self, input_shape, head: Head, vocabulary: Optional[list[str]] = None):
        from dlwp_tasks.models.language_model import LanguageModel, decoder_network

        if head.units != self.vocab_size:
            raise ValueError(f"the head predicts {head.units} tokens but vocab_size is {self.vocab_size}: they "
                             "must be the task's vocabulary size")
        if not vocabulary:
            raise ValueError("a language model needs the task's vocabulary (task=text_corpus or imdb_lm give it)")
        network = decoder_network(self.vocab_size, self.sequence_length, self.embed_dim, self.dense_dim,
                                  self.num_heads, head)
        return LanguageModel(network, vocabulary, self.sequence_length, self.mask_special)
