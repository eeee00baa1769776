"""A dataset of one's own: ``task.dataset._target_: my_datasets.two_moons`` (see conf/task/moons.yaml).

A dataset is a callable: the YAML node's other keys are its arguments (``seed: ${seed}`` there hands it the
run's seed). It may also take ``data_dir``, ``download`` and ``limit`` (a smoke run's row cap), which dlwp
passes when the signature names them and the node does not set them; ``task.synthetic`` also gets ``seed``. It returns a ``DataSplits`` (or Keras's
``((x_train, y_train), (x_test, y_test))``). NumPy only.
"""

from __future__ import annotations

import numpy as np

from dlwp_tasks.datasets.base import DataSplits


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of two interleaved half circles, with Gaussian noise; labels 0 (upper) and 1 (lower)."""
    y = rng.permutation(np.arange(n) % 2)
    angle = rng.uniform(0.0, np.pi, n)
    x = np.where(y[:, None] == 0,
                 np.stack([np.cos(angle), np.sin(angle)], axis=1),
                 np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1))
    x = x + rng.normal(0.0, noise, x.shape)
    return x.astype("float32"), y.astype("int64")


def two_moons(n_train: int = 400, n_test: int = 200, noise: float = 0.2, seed: int = 0) -> DataSplits:
    """Two interleaved half moons in 2-D (the classic non-linear toy problem), seeded."""
    if n_train < 2 or n_test < 0 or noise < 0:
        raise ValueError(f"two_moons needs n_train >= 2, n_test >= 0 and noise >= 0, got n_train={n_train}, "
                         f"n_test={n_test}, noise={noise}")
    rng = np.random.default_rng(seed)
    x_train, y_train = _moons(n_train, noise, rng)
    x_test, y_test = _moons(n_test, noise, rng)
    return DataSplits(x_train, y_train, x_test, y_test, class_names=["upper", "lower"],
                      problem="classification",
                      info={"source": "generated", "generator": "my_datasets.two_moons", "seed": seed})
