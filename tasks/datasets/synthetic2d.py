"""The book's generated 2-D data (§3.5.4): two Gaussian classes of points in the plane."""

from __future__ import annotations

import numpy as np

from .base import DataSplits

MEANS = ((0.0, 3.0), (3.0, 0.0))
COVARIANCE = ((1.0, 0.5), (0.5, 1.0))


def two_gaussians(rng: np.random.Generator, n_per_class: int, means=MEANS, cov=COVARIANCE):
    """``n_per_class`` points from each of ``N(means[0], cov)`` (label 0) and ``N(means[1], cov)`` (label 1):
    float32 inputs (2n, 2) and targets (2n, 1), class 0 first."""
    inputs = np.vstack([rng.multivariate_normal(mean=mean, cov=cov, size=n_per_class) for mean in means])
    targets = np.vstack([np.full((n_per_class, 1), label) for label in range(len(means))])
    return inputs.astype("float32"), targets.astype("float32")


def load_two_gaussians(n_per_class: int = 1000, seed: int = 0, means=MEANS, cov=COVARIANCE,
                       test_per_class: int = 0) -> DataSplits:
    """The book's 2,000 training points; no test split unless ``test_per_class`` asks for one (the book has none)."""
    rng = np.random.default_rng(seed)
    x_train, y_train = two_gaussians(rng, n_per_class, means, cov)
    x_test, y_test = two_gaussians(rng, test_per_class, means, cov)
    info = {"source": "generated", "seed": seed, "means": [list(m) for m in means], "cov": [list(r) for r in cov]}
    return DataSplits(x_train, y_train, x_test, y_test, info=info)
