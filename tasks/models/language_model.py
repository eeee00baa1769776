"""The word-level Transformer language model of §12.1.4 (listing 12.6), as a Keras model that knows its words,
and the generation loop of listing 12.7 with the book's two bugs fixed (the temperature is applied; the next
word is read at the prompt's last token)."""

from __future__ import annotations

import re

import keras
import numpy as np

from dlwp_tasks.generative.sampling import check_temperature, sample_next
from dlwp_tasks.models.transformer_layers import PositionalEmbedding, TransformerDecoder

# TextVectorization's default standardisation: lower case, and these characters removed.
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
PADDING, UNKNOWN = 0, 1   # the ids TextVectorization gives "" and "[UNK]"
TOKENS = "tokens"         # the network's input name


def words_of(text: str) -> list[str]:
    """``text`` split into words as ``TextVectorization``'s default standardisation does."""
    return _PUNCTUATION.sub("", text.lower()).split()


def decoder_network(vocab_size: int, sequence_length: int, embed_dim: int, dense_dim: int, num_heads: int,
                    head) -> keras.Model:
    """Token ids -> PositionalEmbedding -> TransformerDecoder called as (x, x) (decoder-only: the causal mask is
    in the layer) -> the head at every position (9,825,176 parameters with the book's sizes)."""
    inputs = keras.Input(shape=(None,), dtype="int64", name=TOKENS)
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(inputs)
    x = TransformerDecoder(embed_dim, dense_dim, num_heads)(x, x)
    return keras.Model(inputs, head.layer()(x), name="transformer_lm")


@keras.saving.register_keras_serializable(package="dlwp")
class LanguageModel(keras.Model):
    """A next-token network with its vocabulary (word of each id) and context length, so that a saved model
    generates text by itself: :meth:`generate_text`."""

    def __init__(self, network: keras.Model, vocabulary: list[str], sequence_length: int,
                 mask_special: bool = False, **kwargs):
        super().__init__(name=kwargs.pop("name", network.name), **kwargs)
        self.network = network
        self.vocabulary = [str(word) for word in vocabulary]
        self.sequence_length = int(sequence_length)
        self.mask_special = bool(mask_special)
        self.ids = {word: i for i, word in enumerate(self.vocabulary)}
        self.built = network.built
        self._next_token = None

    def call(self, inputs, training=False):
        if isinstance(inputs, dict):  # {"tokens": ids}, as the task names its input
            inputs = inputs[TOKENS]
        return self.network(inputs, training=training)

    def encode(self, text: str) -> list[int]:
        """Word ids of ``text`` (``[UNK]``'s id for a word outside the vocabulary)."""
        return [self.ids.get(word, UNKNOWN) for word in words_of(text)]

    def _distributions(self, windows: np.ndarray, position: int) -> np.ndarray:
        """Next-token distributions at ``position`` of token windows: the decoder on every position (the causal
        mask keeps any padding after ``position`` out), the head at ``position`` only."""
        if self._next_token is None:
            import tensorflow as tf

            head = self.network.get_layer("head")
            trunk = keras.Model(self.network.inputs, head.input)

            def next_token(tokens, at):
                return head(tf.gather(trunk(tokens, training=False), at, axis=1))

            self._next_token = tf.function(next_token, reduce_retracing=True)
        return np.asarray(self._next_token(windows, np.int64(position)), dtype="float64")

    def generate_texts(self, prompt: str, temperatures: list[float], length: int = 50, seed: int | None = None,
                       rng: np.random.Generator | None = None) -> tuple[list[str], list[str]]:
        """One text per temperature, generated together: ``prompt`` exactly as given, then ``length`` sampled words
        (each read at the position of the last token so far); and warnings (a prompt longer than the context
        keeps its last words)."""
        for temperature in temperatures:
            check_temperature(temperature)
        rng = rng if rng is not None else np.random.default_rng(seed)
        start = self.encode(prompt)
        if not start:
            raise ValueError(f"the prompt {prompt!r} has no words to start from (punctuation is dropped, as in "
                             "training): give at least one word")
        said = []
        if len(start) > self.sequence_length:
            said.append(f"The prompt has {len(start)} words and the model reads {self.sequence_length}: only its "
                        f"last {self.sequence_length} words lead the generation.")
        exclude = (PADDING, UNKNOWN) if self.mask_special else ()
        rows = [list(start) for _ in temperatures]
        words: list[list[str]] = [[] for _ in temperatures]
        for _ in range(int(length)):
            # Only the last ``context`` tokens: under the causal mask, the padding the book adds up to the context
            # length changes nothing at the last token, and costs up to sequence_length / context more work.
            context = min(len(rows[0]), self.sequence_length)
            windows = np.array([tokens[-context:] for tokens in rows], dtype="int64")
            distributions = self._distributions(windows, context - 1)
            for i, temperature in enumerate(temperatures):
                token = sample_next(distributions[i], temperature, rng, exclude)
                rows[i].append(token)
                words[i].append(self.vocabulary[token] if token < len(self.vocabulary) else "[UNK]")
        return [" ".join([prompt, *generated]) if generated else prompt for generated in words], said

    def generate_text(self, prompt: str, temperature: float = 1.0, length: int = 50, seed: int | None = None,
                      rng: np.random.Generator | None = None) -> tuple[str, list[str]]:
        """One text at ``temperature`` (see :meth:`generate_texts`) and the warnings."""
        texts, said = self.generate_texts(prompt, [temperature], length, seed, rng)
        return texts[0], said

    def get_config(self):
        return {"name": self.name, "sequence_length": self.sequence_length, "mask_special": self.mask_special,
                "vocabulary": self.vocabulary, "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("network")), **config)

