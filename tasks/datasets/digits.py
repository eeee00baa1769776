"""scikit-learn's bundled 8x8 handwritten digits (offline, 1,797 images)."""

from __future__ import annotations

import numpy as np

from .base import DataSplits


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> DataSplits:
    """Float32 (N, 8, 8) images in [0, 1] and int64 labels, split stratified by class."""
    from sklearn.datasets import load_digits as sklearn_digits  # noqa: PLC0415 - slow import
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    info = {"source": "sklearn", "notes": "sklearn.datasets.load_digits (UCI optdigits test set)"}
    return DataSplits(x_train, y_train, x_test, y_test, info=info)
