"""Text helpers shared by IMDB and Reuters: the tokenizer, frequency ranks and
the conventions of ``keras.datasets.{imdb,reuters}.load_data``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from dlwp_tasks.errors import DataError

from .base import Sequences

# Keras's old Tokenizer filters: ASCII punctuation except the apostrophe, plus tab and newline.
_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TABLE = str.maketrans(_FILTERS, " " * len(_FILTERS))


def tokenize(text: str) -> list[str]:
    """Lowercase, turn the filtered characters into spaces, split on spaces, drop empties."""
    return [token for token in text.lower().translate(_TABLE).split(" ") if token]


def rank_by_frequency(token_lists: Iterable[list[str]]) -> dict[str, int]:
    """Word -> rank from 1, by descending count; ties keep first-occurrence order."""
    counts: Counter[str] = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    ordered = sorted(counts, key=counts.__getitem__, reverse=True)  # stable: ties stay in order
    return {word: rank for rank, word in enumerate(ordered, start=1)}


def apply_keras_conventions(
    parts: list[tuple[Sequences, np.ndarray]],
    *,
    seed: int = 113,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    start_char: int = 1,
    oov_char: int = 2,
    index_from: int = 3,
) -> list[tuple[Sequences, np.ndarray]]:
    """Turn raw rank sequences into what ``load_data`` returns, one part at a time.

    One ``RandomState(seed)`` shuffles every part in turn; then ``start_char`` is
    prepended and ``index_from`` added, sequences with ``len >= maxlen`` dropped,
    and ids outside ``[skip_top, num_words)`` replaced by ``oov_char``. Without
    ``num_words`` the largest id is used, so (as in Keras) that id becomes OOV.
    """
    rng = np.random.RandomState(seed)
    shifted = []
    for x, y in parts:
        order = np.arange(len(x))
        rng.shuffle(order)
        x, y = _prepend(x.take(order), start_char, index_from), np.asarray(y)[order]
        if maxlen:
            keep = np.flatnonzero(x.lengths() < maxlen)
            if len(keep) == 0:
                raise DataError(
                    f"no sequence is shorter than maxlen={maxlen}; increase the maxlen setting."
                )
            x, y = x.take(keep), y[keep]
        shifted.append((x, y.astype(np.int64)))
    if not num_words:
        num_words = max(int(x.values.max(initial=0)) for x, _ in shifted)
    out = []
    for x, y in shifted:
        ok = (x.values >= skip_top) & (x.values < num_words)
        out.append((Sequences(np.where(ok, x.values, oov_char), x.offsets), y))
    return out


def _prepend(x: Sequences, start_char: int, index_from: int) -> Sequences:
    """Put ``start_char`` first in every sequence and add ``index_from`` to every id."""
    n = len(x)
    offsets = x.offsets + np.arange(n + 1, dtype=np.int64)
    values = np.empty(len(x.values) + n, dtype=np.int32)
    values[offsets[:-1]] = start_char
    positions = np.arange(len(x.values), dtype=np.int64) + np.repeat(
        np.arange(1, n + 1, dtype=np.int64), x.lengths()
    )
    values[positions] = x.values + index_from
    return Sequences(values, offsets)
