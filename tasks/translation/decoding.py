"""Greedy decoding (listings 11.31 and 11.38), many sentences at a time.

The book's loop, for one sentence: start from ``[start]``; at step ``i`` (0 to ``max_length - 1``) run the model
on the source and the target so far, take the most probable token at position ``i``, append it, and stop at
``[end]``. It works on strings, re-vectorising the decoded sentence every step; here the same loop works on
ids, which is the same thing: every vocabulary token vectorises to its own id. A predicted padding token (id
0) adds nothing to the book's string, so it adds nothing here either, while the step still moves on.

:func:`greedy_decode` runs the encoder once per sentence when the model has the layers of
:mod:`dlwp_tasks.models.seq2seq` (``source_embedding``, ``encoder``, ``target_embedding``, ``decoder``,
``head``): the GRU decoder then advances one step at a time from its state, and the Transformer's decoder
reuses the encoded source, with the head applied at position ``i`` only. Any other model with a source and a
target input is decoded with the book's loop, the whole model at each step (:func:`book_greedy_decode`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dlwp_tasks.models import transformer_layers  # noqa: F401 - registers the layers a saved model holds

MAX_DECODED = 20   # the book's max_decoded_sentence_length
BATCH = 256        # sentences decoded together


def _input_names(model) -> tuple[str, str]:
    names = [tensor.name for tensor in model.inputs]
    if len(names) != 2:
        raise ValueError(f"a translation model takes two inputs (source, target so far), this one takes {names}")
    return names[0], names[1]


def _batches(source_ids: np.ndarray, batch: int):
    for start in range(0, len(source_ids), batch):
        yield source_ids[start : start + batch]


def book_greedy_decode(model, source_ids: np.ndarray, start_id: int, end_id: int, max_length: int = MAX_DECODED,
                       batch: int = BATCH) -> list[list[int]]:
    """The book's loop on ids: the whole model at every step, target ``max_length`` ids wide. Each result starts
    with ``start_id`` and ends with ``end_id`` unless ``max_length`` tokens came first."""
    source_name, target_name = _input_names(model)
    decoded = []
    for source in _batches(np.asarray(source_ids, dtype=np.int64), batch):
        state = _Greedy(len(source), max_length, start_id, end_id)
        for step in range(max_length):
            probabilities = model({source_name: source, target_name: state.target[:, :max_length]}, training=False)
            state.advance(np.asarray(probabilities)[:, step, :].argmax(axis=-1))
            if state.finished.all():
                break
        decoded += state.results()
    return decoded


class _Greedy:
    """The decoded ids of a batch of sentences, and which of them have ended."""

    def __init__(self, n: int, max_length: int, start_id: int, end_id: int):
        self.target = np.zeros((n, max_length + 1), dtype=np.int64)
        self.target[:, 0] = start_id
        self.filled = np.ones(n, dtype=np.int64)
        self.finished = np.zeros(n, dtype=bool)
        self.end_id = end_id

    def advance(self, tokens: np.ndarray) -> None:
        """Append each unfinished sentence's token (the padding id appends nothing); ``[end]`` finishes it."""
        rows = np.flatnonzero(~self.finished & (tokens != 0))
        self.target[rows, self.filled[rows]] = tokens[rows]
        self.filled[rows] += 1
        self.finished |= tokens == self.end_id

    def results(self) -> list[list[int]]:
        return [row[:count].tolist() for row, count in zip(self.target, self.filled)]


def _layers(model) -> dict | None:
    """The named layers of a :mod:`dlwp_tasks.models.seq2seq` model, or None for another model."""
    names = ("source_embedding", "encoder", "target_embedding", "decoder", "head")
    found = {layer.name: layer for layer in model.layers}
    return {name: found[name] for name in names} if all(name in found for name in names) else None


def greedy_decode(model, source_ids: np.ndarray, start_id: int, end_id: int, max_length: int = MAX_DECODED,
                  batch: int = BATCH) -> list[list[int]]:
    """Greedy decoding of every source (rows of ids), as :func:`book_greedy_decode` gives it, running the encoder
    once per sentence where the model's layers allow."""
    import keras

    from dlwp_tasks.models.transformer_layers import TransformerDecoder

    layers = _layers(model)
    if layers is None:
        return book_greedy_decode(model, source_ids, start_id, end_id, max_length, batch)
    if isinstance(layers["decoder"], keras.layers.GRU):
        step = _gru_decoder
    elif isinstance(layers["decoder"], TransformerDecoder):
        step = _transformer_decoder
    else:
        return book_greedy_decode(model, source_ids, start_id, end_id, max_length, batch)
    decoded = []
    for source in _batches(np.asarray(source_ids, dtype=np.int64), batch):
        decoded += step(layers, source, _Greedy(len(source), max_length, start_id, end_id), max_length)
    return decoded


def _gru_decoder(layers: dict, source: np.ndarray, state: _Greedy, max_length: int) -> list[list[int]]:
    """The encoder's vector is the decoder GRU's first state; each step feeds the last token to the GRU cell.
    A sentence whose prediction is the padding id keeps it: the GRU skips masked steps, so the book's loop
    predicts the same again, to the end."""
    import keras

    hidden = layers["encoder"](layers["source_embedding"](source), training=False)
    cell, embedding, head = layers["decoder"].cell, layers["target_embedding"], layers["head"]
    last = state.target[:, 0]
    for _ in range(max_length):
        embedded = keras.ops.cast(keras.ops.take(embedding.embeddings, last, axis=0), embedding.compute_dtype)
        output, new_hidden = cell(embedded, [hidden], training=False)  # the lookup without a mask: one step
        tokens = np.asarray(head(output)).argmax(axis=-1)
        state.advance(tokens)
        state.finished |= tokens == 0
        hidden = keras.ops.convert_to_tensor(new_hidden[0] if isinstance(new_hidden, (list, tuple)) else new_hidden)
        last = tokens
        if state.finished.all():
            break
    return state.results()


def _transformer_decoder(layers: dict, source: np.ndarray, state: _Greedy, max_length: int) -> list[list[int]]:
    """The encoded source is computed once; the decoder reads the target so far (``max_length`` ids wide, as in
    listing 11.38) at every step, and the head reads position ``i`` only."""
    import keras

    encoded = layers["encoder"](layers["source_embedding"](source), training=False)
    source_mask = keras.ops.not_equal(source, 0)   # the padding mask the source embedding gives its outputs
    with_mask = _with_mask_class()()
    for step in range(max_length):
        target = layers["target_embedding"](state.target[:, :max_length])
        # Attention layers take (and then drop) the Keras mask of the tensors they read: the encoded source
        # gets its padding mask again at every step, as the whole model would give it.
        hidden = layers["decoder"](target, with_mask(encoded, mask=source_mask), training=False)
        tokens = np.asarray(layers["head"](keras.ops.take(hidden, step, axis=1))).argmax(axis=-1)
        state.advance(tokens)
        if state.finished.all():
            break
    return state.results()


@lru_cache(maxsize=None)
def _with_mask_class():
    """``WithMask``: a layer giving a copy of its input that carries ``mask`` as its Keras mask (defined lazily:
    it needs Keras)."""
    import keras

    class WithMask(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            return keras.ops.copy(inputs)

    return WithMask
