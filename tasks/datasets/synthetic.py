"""Random stand-ins with the shapes and dtypes of each real loader (``source=synthetic``).

Each function is a dataset callable (``task.synthetic._target_``): ``n_train`` and ``n_test`` examples
drawn with ``seed``.
"""

from __future__ import annotations

import numpy as np

from .base import DataSplits, Sequences


def _splits(x, y, n_train: int, kind: str, seed: int, **shape_args) -> DataSplits:
    if isinstance(x, Sequences):
        x_train, x_test = x.take(np.arange(n_train)), x.take(np.arange(n_train, len(x)))
    else:
        x_train, x_test = x[:n_train], x[n_train:]
    info = {"source": "synthetic", "kind": kind, "seed": seed, **shape_args}
    return DataSplits(x_train, y[:n_train], x_test, y[n_train:], info=info)


def mnist_like(n_train: int = 60000, n_test: int = 10000, seed: int = 0) -> DataSplits:
    """uint8 (N, 28, 28) images and uint8 labels 0-9."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    splits = _splits(images, rng.integers(0, 10, size=n, dtype=np.uint8), n_train, "mnist", seed)
    splits.class_names = [str(digit) for digit in range(10)]
    return splits


def boston_like(n_train: int = 404, n_test: int = 102, seed: int = 0) -> DataSplits:
    """float64 (N, 13) features and prices in [5, 50)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    return _splits(rng.uniform(0.0, 100.0, size=(n, 13)), rng.uniform(5.0, 50.0, size=n), n_train, "boston", seed)


def digits_like(n_train: int = 1347, n_test: int = 450, seed: int = 0) -> DataSplits:
    """float32 (N, 8, 8) images in [0, 1) and int64 labels 0-9."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    images = rng.random(size=(n, 8, 8), dtype=np.float32)
    return _splits(images, rng.integers(0, 10, size=n, dtype=np.int64), n_train, "digits", seed)


def word_ids_like(n_train: int, n_test: int, seed: int = 0, num_classes: int = 2, num_words: int = 10000,
                  min_len: int = 20, max_len: int = 200) -> DataSplits:
    """Word-id sequences (start id 1, then ids in [2, num_words)) and int64 labels, as IMDB and Reuters."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    lengths = rng.integers(min_len, max_len + 1, size=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = rng.integers(2, num_words, size=int(offsets[-1]), dtype=np.int32)
    values[offsets[:-1]] = 1  # start_char, as load_data puts it
    labels = rng.integers(0, num_classes, size=n, dtype=np.int64)
    return _splits(Sequences(values, offsets), labels, n_train, "word_ids", seed, num_classes=num_classes,
                   num_words=num_words)


def images_like(n_train: int = 64, n_val: int = 32, n_test: int = 64, image_size: tuple = (180, 180),
                channels: int = 3, class_names: tuple = ("cat", "dog"), seed: int = 0) -> DataSplits:
    """uint8 (N, H, W, C) images and int32 class ids, with a validation split, as the image-folder loaders."""
    rng = np.random.default_rng(seed)
    height, width = (int(s) for s in image_size)
    names = [str(c) for c in class_names]

    def split(n: int):
        return (rng.integers(0, 256, size=(n, height, width, channels), dtype=np.uint8),
                rng.integers(0, len(names), size=n).astype(np.int32))

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(n_train), split(n_val), split(n_test)
    info = {"source": "synthetic", "kind": "images", "seed": seed}
    schema = {"kind": "image", "image_size": [height, width], "color_mode": "grayscale" if channels == 1 else "rgb",
              "crop_to_aspect_ratio": False, "class_names": names}
    return DataSplits(x_train, y_train, x_test, y_test, info=info, x_val=x_val, y_val=y_val, class_names=names,
                      problem="classification", schema=schema)
