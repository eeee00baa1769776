"""Trivial baselines of a classification task (book §5.2.2): what chance alone scores."""

from __future__ import annotations

import numpy as np


def class_ids(y: np.ndarray) -> np.ndarray:
    """Integer class ids from index, one-hot or 0/1 value labels."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return np.rint(y.reshape(len(y))).astype("int64")


def trivial_baselines(y: np.ndarray) -> dict:
    """``random``: expected accuracy of guessing with the label frequencies (= a shuffled copy of the
    labels, the book's baseline, Σ p²); ``majority``: always predicting the most frequent class."""
    ids = class_ids(y)
    if len(ids) == 0:
        return {}
    frequencies = np.bincount(ids) / len(ids)
    return {"random": float(np.sum(frequencies**2)), "majority": float(frequencies.max())}


def is_classification(task) -> bool:
    """Single-output classification (multi-output tasks have no single chance level)."""
    if task.head is None:
        return False
    return task.labels in ("index", "one_hot") or task.head.activation == "sigmoid"
