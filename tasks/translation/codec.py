"""Sentences to token ids and back, as the book's two ``TextVectorization`` layers do (listing 11.27).

The source side uses Keras's default standardisation (lowercase, strip ASCII punctuation). The target side is
wrapped in ``[start] ... [end]`` and standardised by :func:`target_standardization`: lowercase, strip
``string.punctuation`` and ``¿`` but keep ``[`` and ``]``, so the two markers survive. A codec is built from
the vocabularies adapted on the training pairs and saved in the run's ``schema.json``, so ``dlwp predict``
reads new sentences exactly as training did.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

START, END = "[start]", "[end]"
STRIP_CHARS = string.punctuation.replace("[", "").replace("]", "") + "¿"
PADDING, OOV = "", "[UNK]"


def target_standardization(text):
    """The book's ``custom_standardization``: lowercase, then remove every character of :data:`STRIP_CHARS`."""
    import tensorflow as tf

    return tf.strings.regex_replace(tf.strings.lower(text), f"[{re.escape(STRIP_CHARS)}]", "")


def wrap_target(sentence: str) -> str:
    """``"[start] " + sentence + " [end]"``, the decoder's input and output text."""
    return f"{START} {sentence} {END}"


def vectorizer(vocabulary: Sequence[str] | None, max_tokens: int, length: int, target: bool):
    """A ``TextVectorization`` of int ids, ``length`` long: the source's (default standardisation) or the
    target's (:func:`target_standardization`), with a given vocabulary or ready to adapt."""
    import keras

    return keras.layers.TextVectorization(
        max_tokens=max_tokens if vocabulary is None else None, output_mode="int", output_sequence_length=length,
        standardize=target_standardization if target else "lower_and_strip_punctuation",
        vocabulary=list(vocabulary) if vocabulary is not None else None)


def adapted_vocabulary(texts: Sequence[str], max_tokens: int, target: bool) -> list[str]:
    """The vocabulary (padding, ``[UNK]``, then tokens by frequency, at most ``max_tokens``) of ``texts``."""
    import tensorflow as tf

    layer = vectorizer(None, max_tokens, 1, target)
    layer.adapt(tf.data.Dataset.from_tensor_slices(list(texts)).batch(1024))
    return [str(token) for token in layer.get_vocabulary()]


@dataclass
class PairCodec:
    """Both vocabularies and the sequence length: source texts to ids (``sequence_length`` long), target texts
    to ids (one longer, for the one-step shift), and target ids back to tokens."""

    source_vocabulary: list[str]
    target_vocabulary: list[str]
    sequence_length: int
    vocab_size: int = field(default=0)

    def __post_init__(self):
        self.vocab_size = self.vocab_size or max(len(self.source_vocabulary), len(self.target_vocabulary))
        for side, vocabulary in (("source", self.source_vocabulary), ("target", self.target_vocabulary)):
            if list(vocabulary[:2]) != [PADDING, OOV]:
                raise ValueError(f"the {side} vocabulary must start with the padding token '' and '[UNK]'")
        missing = [t for t in (START, END) if t not in self.target_vocabulary]
        if missing:
            raise ValueError(f"the target vocabulary lacks {', '.join(missing)}")

    @cached_property
    def _source_layer(self):
        return vectorizer(self.source_vocabulary[2:], self.vocab_size, self.sequence_length, target=False)

    @cached_property
    def _target_layer(self):
        return vectorizer(self.target_vocabulary[2:], self.vocab_size, self.sequence_length + 1, target=True)

    @property
    def start_id(self) -> int:
        return self.target_vocabulary.index(START)

    @property
    def end_id(self) -> int:
        return self.target_vocabulary.index(END)

    def source_ids(self, texts: Sequence[str]) -> np.ndarray:
        """(N, sequence_length) int64 ids of source sentences (longer ones cut, shorter ones padded with 0)."""
        return self._vectorize(self._source_layer, texts, self.sequence_length)

    def target_ids(self, texts: Sequence[str]) -> np.ndarray:
        """(N, sequence_length + 1) int64 ids of wrapped target sentences (see :func:`wrap_target`)."""
        return self._vectorize(self._target_layer, texts, self.sequence_length + 1)

    @staticmethod
    def _vectorize(layer, texts: Sequence[str], length: int, batch: int = 8192) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, length), dtype=np.int64)
        return np.concatenate([np.asarray(layer(texts[i : i + batch]), dtype=np.int64)
                               for i in range(0, len(texts), batch)])

    def target_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Each target sentence standardised and split on whitespace, as the target vectoriser sees it
        (without the markers): the references BLEU compares with."""
        import tensorflow as tf

        texts = list(texts)
        if not texts:
            return []
        standardized = target_standardization(tf.constant(texts)).numpy()
        return [[t for t in s.decode("utf-8").split() if t not in (START, END)] for s in standardized]

    def words(self, ids: Sequence[int]) -> list[str]:
        """Target tokens of ids (the padding id gives nothing, as it does in the book's decoded string)."""
        vocabulary = self.target_vocabulary
        return [vocabulary[i] for i in ids if i != 0]

    def to_schema(self) -> dict:
        return {"sequence_length": self.sequence_length, "vocab_size": self.vocab_size,
                "source_vocabulary": list(self.source_vocabulary), "target_vocabulary": list(self.target_vocabulary)}

    @classmethod
    def from_schema(cls, schema: dict) -> PairCodec:
        return cls(list(schema["source_vocabulary"]), list(schema["target_vocabulary"]),
                   int(schema["sequence_length"]), int(schema.get("vocab_size") or 0))
