"""Random stand-ins with the shapes and dtypes of each real loader (``source=synthetic``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, Sequences

Arrays = tuple[np.ndarray | Sequences, np.ndarray]


def _mnist(rng: np.random.Generator, n: int) -> Arrays:
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, size=n, dtype=np.uint8)


def _boston(rng: np.random.Generator, n: int) -> Arrays:
    return rng.uniform(0.0, 100.0, size=(n, 13)), rng.uniform(5.0, 50.0, size=n)


def _sequences(
    rng: np.random.Generator, n: int, num_classes: int, num_words: int, min_len: int, max_len: int
) -> Arrays:
    lengths = rng.integers(min_len, max_len + 1, size=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = rng.integers(2, num_words, size=int(offsets[-1]), dtype=np.int32)
    values[offsets[:-1]] = 1  # start_char, as load_data puts it
    return Sequences(values, offsets), rng.integers(0, num_classes, size=n, dtype=np.int64)


def _imdb(
    rng: np.random.Generator, n: int, num_words: int = 10000, min_len: int = 20, max_len: int = 200
) -> Arrays:
    return _sequences(rng, n, 2, num_words, min_len, max_len)


def _reuters(
    rng: np.random.Generator, n: int, num_words: int = 10000, min_len: int = 20, max_len: int = 200
) -> Arrays:
    return _sequences(rng, n, 46, num_words, min_len, max_len)


def _digits(rng: np.random.Generator, n: int) -> Arrays:
    images = rng.random(size=(n, 8, 8), dtype=np.float32)
    return images, rng.integers(0, 10, size=n, dtype=np.int64)


MAKERS: dict[str, Callable[..., Arrays]] = {
    "mnist": _mnist,
    "boston": _boston,
    "imdb": _imdb,
    "reuters": _reuters,
    "digits": _digits,
}


def synthetic_like(
    kind: str, n_train: int = 512, n_test: int = 128, seed: int = 0, **shape_args: int
) -> DataSplits:
    """Random data shaped like ``kind``'s real loader; ``shape_args`` e.g. ``num_words``."""
    if kind not in MAKERS:
        raise DataError(f"no synthetic data for {kind!r}; known kinds: {', '.join(MAKERS)}.")
    x, y = MAKERS[kind](np.random.default_rng(seed), n_train + n_test, **shape_args)
    if isinstance(x, Sequences):
        x_train, x_test = x.take(np.arange(n_train)), x.take(np.arange(n_train, len(x)))
    else:
        x_train, x_test = x[:n_train], x[n_train:]
    info = {"source": "synthetic", "kind": kind, "seed": seed, **shape_args}
    return DataSplits(x_train, y[:n_train], x_test, y[n_train:], info=info)
