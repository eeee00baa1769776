"""Trivial baselines of a classification task (book §5.2.2): what chance alone scores. For per-pixel targets
(segmentation masks) every pixel is a label."""

from __future__ import annotations

import numpy as np

CHUNK_LABELS = 1 << 22  # labels converted at a time when counting (large mask arrays stay uint8 in memory)


def class_ids(y: np.ndarray) -> np.ndarray:
    """Integer class ids, flat: from index, one-hot or 0/1 value labels (one per example), or from per-pixel
    masks (N, H, W) or (N, H, W, 1) of ids, or (N, H, W, C) one-hot (one per pixel)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim > 2 and y.shape[-1] > 1 and y.dtype.kind == "f":
        return y.argmax(axis=-1).reshape(-1)
    return np.rint(y.reshape(-1)).astype("int64") if y.dtype.kind == "f" else y.reshape(-1).astype("int64")


def class_counts(y: np.ndarray) -> np.ndarray:
    """How many labels of each class ``y`` holds (counted a block of examples at a time)."""
    y = np.asarray(y)
    per_example = max(1, int(np.prod(y.shape[1:])) if y.ndim > 1 else 1)
    step = max(1, CHUNK_LABELS // per_example)
    counts = np.zeros(0, dtype="int64")
    for start in range(0, len(y), step):
        found = np.bincount(class_ids(y[start : start + step]))
        if len(found) > len(counts):
            counts = np.pad(counts, (0, len(found) - len(counts)))
        counts[: len(found)] += found
    return counts


def trivial_baselines(y: np.ndarray) -> dict:
    """``random``: expected accuracy of guessing with the label frequencies (= a shuffled copy of the
    labels, the book's baseline, Σ p²); ``majority``: always predicting the most frequent class."""
    counts = class_counts(y)
    if counts.sum() == 0:
        return {}
    frequencies = counts / counts.sum()
    return {"random": float(np.sum(frequencies**2)), "majority": float(frequencies.max())}


def is_classification(task) -> bool:
    """Single-output classification (multi-output tasks have no single chance level)."""
    if task.head is None:
        return False
    return task.labels in ("index", "one_hot") or task.head.activation == "sigmoid"
