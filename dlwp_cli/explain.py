"""A classifier's errors in numbers (book §6.3.1): the confusion matrix, the rates at each decision
threshold, and the most confident mistakes. Pure NumPy, so ``dlwp report`` can use it without TensorFlow."""

from __future__ import annotations

import numpy as np

THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))  # 0.1 ... 0.9


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, labels: list) -> dict:
    """``counts[i][j]``: examples of class ``labels[i]`` predicted as ``labels[j]``."""
    k = len(labels)
    counts = np.bincount(np.asarray(truth) * k + np.asarray(predicted), minlength=k * k).reshape(k, k)
    return {"labels": list(labels), "counts": counts.tolist()}


def _ratio(numerator: int, denominator: int) -> float | None:
    return float(numerator / denominator) if denominator else None


def threshold_table(truth: np.ndarray, probability: np.ndarray, thresholds=THRESHOLDS) -> list[dict]:
    """Precision, recall, false-positive and false-negative rates and accuracy of "positive when the
    probability is above the threshold" (as Keras's binary accuracy decides), for each threshold (None where a
    rate has no denominator)."""
    truth = np.asarray(truth).astype(bool)
    probability = np.asarray(probability, dtype="float64")
    positives, negatives = int(truth.sum()), int((~truth).sum())
    table = []
    for threshold in thresholds:
        said = probability > threshold
        tp, fp = int(np.sum(said & truth)), int(np.sum(said & ~truth))
        fn, tn = positives - tp, negatives - fp
        table.append({"threshold": float(threshold), "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, positives),
                      "fpr": _ratio(fp, negatives), "fnr": _ratio(fn, positives),
                      "accuracy": _ratio(tp + tn, len(truth))})
    return table


def f1(row: dict) -> float:
    precision, recall = row["precision"] or 0.0, row["recall"] or 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def best_f1_threshold(table: list[dict]) -> float:
    """The threshold of the table with the highest F1 (the lowest such threshold on a tie)."""
    return max(table, key=lambda row: (f1(row), -row["threshold"]))["threshold"]


def confident_mistakes(truth: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, limit: int = 10) -> list[int]:
    """Indices of the wrong predictions, most confident first."""
    wrong = np.flatnonzero(np.asarray(truth) != np.asarray(predicted))
    order = np.argsort(-np.asarray(confidence)[wrong], kind="stable")
    return wrong[order][:limit].tolist()
