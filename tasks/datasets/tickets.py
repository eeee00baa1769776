"""The book's synthetic customer-ticket data (§7.2.2): three multi-hot inputs, two targets."""

from __future__ import annotations

import numpy as np

from .base import DataSplits


def load_tickets(num_samples: int = 1280, vocabulary_size: int = 10000, num_tags: int = 100,
                 num_departments: int = 4, seed: int = 0) -> DataSplits:
    """Random 0/1 ``title``/``text_body``/``tags``; ``priority`` uniform in [0, 1); ``department`` random
    0/1 over the departments (not one-hot, as in the book). The book evaluates and predicts on the
    training data, so the test split is the same arrays."""
    rng = np.random.default_rng(seed)

    def binary(width: int) -> np.ndarray:
        return rng.integers(0, 2, size=(num_samples, width)).astype("float32")

    x = {"title": binary(vocabulary_size), "text_body": binary(vocabulary_size), "tags": binary(num_tags)}
    y = {"priority": rng.random((num_samples, 1)).astype("float32"), "department": binary(num_departments)}
    info = {"source": "generated", "seed": seed, "num_samples": num_samples}
    return DataSplits(x, y, x, y, info=info)
