"""What a trained classifier gets wrong (book §6.3.1): the confusion matrix and, for a binary classifier, the
rates at each decision threshold, for metrics.json; and the most confident mistakes with their inputs, for
errors.json (shown by ``dlwp report RUN_DIR --errors``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from dlwp_cli import explain, run_folder
from dlwp_cli.baselines import class_ids, is_classification
from dlwp_cli.training.common import holdout_split
from dlwp_cli.training.features import Prepared, select
from dlwp_cli.training.inputs import make_dataset
from dlwp_tasks.datasets.base import Sequences

MISTAKES = 12


def _predict(model, data: Prepared, split: str, x, y, cfg: DictConfig, known: dict) -> tuple[np.ndarray, np.ndarray]:
    """(the model's outputs, the true class ids) for the split's rows, at most ``trainer.limit_batches`` batches
    of them (as the run's own evaluation). Outputs in ``known[split]`` are used instead of predicting; new ones
    are put there."""
    limit = cfg.trainer.get("limit_batches")
    if known.get(split) is None:
        dataset = make_dataset(x, y, data, int(cfg.batch_size), limit_batches=limit)
        known[split] = np.asarray(model.predict(dataset, verbose=0))
    rows = len(known[split]) if limit is None else min(len(known[split]), int(limit) * int(cfg.batch_size))
    outputs = np.asarray(known[split][:rows], dtype="float64")
    return outputs, class_ids(y)[: len(outputs)]


def _decisions(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class ids, confidence in them) from softmax rows or one sigmoid column."""
    if outputs.shape[-1] == 1:
        positive = outputs[:, 0]
        return (positive > 0.5).astype("int64"), np.maximum(positive, 1 - positive)
    return outputs.argmax(axis=1), outputs.max(axis=1)


def _threshold_split(cfg: DictConfig, data: Prepared, test_allowed: bool):
    """(name, x, y) of the split the threshold table is computed on: the validation split, else the test split."""
    if data.n_val:
        return "validation", data.x_val, data.y_val
    _, val_idx = holdout_split(cfg, data.n_train)
    if val_idx is not None:
        return "validation", select(data.x_train, val_idx), select(data.y_train, val_idx)
    if test_allowed:
        return "test", data.x_test, data.y_test
    return None


def is_per_pixel(data: Prepared) -> bool:
    """Whether the targets are masks, a class per pixel (N, H, W) or (N, H, W, 1), rather than one per example."""
    return np.ndim(data.y_train) > 2


def pixel_classes(outputs: np.ndarray) -> np.ndarray:
    """Predicted class per pixel from per-pixel softmax outputs (N, H, W, C) or one sigmoid channel."""
    return (outputs[..., 0] > 0.5).astype("int64") if outputs.shape[-1] == 1 else outputs.argmax(axis=-1)


def pixel_samples(outputs: np.ndarray, truth: np.ndarray) -> dict:
    """metrics.json's ``predictions`` for per-pixel outputs: each sample's pixel accuracy, and the share of its
    pixels predicted as each class and truly of each class."""
    predicted = pixel_classes(outputs)
    truth = np.asarray(truth).reshape(predicted.shape)
    classes = max(int(outputs.shape[-1]), 2)

    def shares(ids: np.ndarray) -> list[list[float]]:
        return [np.round(np.bincount(row.ravel(), minlength=classes) / row.size, 4).tolist() for row in ids]

    pixels = tuple(range(1, predicted.ndim))
    return {"pixel_accuracy": np.round(np.mean(predicted == truth, axis=pixels), 4).tolist(),
            "predicted_shares": shares(predicted), "true_shares": shares(truth.astype("int64"))}


def _pixel_confusion(model, data: Prepared, x, y, cfg: DictConfig, labels: list) -> dict:
    """The confusion matrix of every pixel of the split (batch by batch, so no split-sized output is held)."""
    k = len(labels)
    counts = np.zeros((k, k), dtype="int64")
    dataset = make_dataset(x, y, data, int(cfg.batch_size), limit_batches=cfg.trainer.get("limit_batches"))
    for inputs, targets in dataset:
        predicted = pixel_classes(np.asarray(model.predict_on_batch(inputs)))
        truth = np.asarray(targets).reshape(predicted.shape)
        counts += np.asarray(explain.confusion_matrix(truth.ravel(), predicted.ravel(), labels)["counts"])
    return {"labels": labels, "counts": counts.tolist(), "unit": "pixels"}


def analyse(model, data: Prepared, splits, cfg: DictConfig, run_dir: Path, split_outputs: dict | None = None) -> dict:
    """metrics.json's ``confusion_matrix`` (test split) and ``thresholds`` (binary classifiers), and
    errors.json, for a single-output classifier trained on in-memory data; {} for anything else. For per-pixel
    targets (segmentation), only the confusion matrix of the test split's pixels. ``split_outputs`` holds the
    model's outputs on splits already predicted (by split name: the trainer's, whole splits); the outputs
    predicted here are added to it, for later steps to reuse."""
    known = split_outputs if split_outputs is not None else {}
    if model is None or data.streamed or not is_classification(cfg.task) or isinstance(data.y_train, dict):
        return {}
    test_allowed = bool(cfg.trainer.get("evaluate_test", True)) and data.n_test > 0
    if is_per_pixel(data):
        if not test_allowed:
            return {}
        units = int(cfg.task.head.units)
        labels = list(splits.class_names) if splits.class_names else list(range(max(units, 2)))
        return {"confusion_matrix": _pixel_confusion(model, data, data.x_test, data.y_test, cfg, labels)}
    found: dict = {}
    shown = tested = None
    if test_allowed:
        outputs, truth = tested = _predict(model, data, "test", data.x_test, data.y_test, cfg, known)
        predicted, confidence = _decisions(outputs)
        labels = list(splits.class_names) if splits.class_names else list(range(max(outputs.shape[-1], 2)))
        found["confusion_matrix"] = explain.confusion_matrix(truth, predicted, labels)
        shown = ("test", splits.x_test, truth, predicted, confidence, labels, splits.vocabulary)
    if cfg.task.head.activation == "sigmoid" and cfg.task.head.units == 1:
        split = _threshold_split(cfg, data, test_allowed)
        if split is not None:
            name, x, y = split
            outputs, truth = tested if name == "test" else _predict(model, data, name, x, y, cfg, known)
            table = explain.threshold_table(truth, outputs[:, 0])
            found["thresholds"] = {"split": name, "table": table, "best_f1_threshold": explain.best_f1_threshold(table)}
    if shown is not None:
        write_mistakes(run_dir, *shown)
    return found


def write_mistakes(run_dir: Path, split: str, raw_x, truth, predicted, confidence, labels: list,
                   vocabulary: list[str] | None = None) -> None:
    """errors.json: the most confident mistakes, each with its input as a table row, text (a word-id sequence
    read with the dataset's vocabulary, or the ids), a few values, or an image written into ``errors/``."""
    mistakes = []
    for rank, index in enumerate(explain.confident_mistakes(truth, predicted, confidence, MISTAKES)):
        mistakes.append({"index": int(index), "true": str(labels[truth[index]]),
                         "predicted": str(labels[predicted[index]]), "confidence": float(confidence[index]),
                         "input": _shown_input(run_dir, raw_x, index, rank, vocabulary)})
    run_folder.write_json(Path(run_dir) / run_folder.ERRORS, {"split": split, "mistakes": mistakes})


def _shown_input(run_dir: Path, raw_x, index: int, rank: int, vocabulary: list[str] | None) -> dict:
    if isinstance(raw_x, dict):
        return {"row": {name: _plain(column[index]) for name, column in raw_x.items()}}
    if isinstance(raw_x, Sequences):
        ids = raw_x[index]
        if vocabulary:
            return {"text": " ".join(vocabulary[i] if i < len(vocabulary) else "<oov>" for i in ids[:60])
                    + (" ..." if len(ids) > 60 else "")}
        return {"word_ids": ids[:16].tolist(), "length": int(len(ids))}
    if isinstance(raw_x[index], (str, bytes)):
        text = raw_x[index].decode("utf-8", "replace") if isinstance(raw_x[index], bytes) else raw_x[index]
        return {"text": text[:1000] + (" ..." if len(text) > 1000 else "")}
    example = np.asarray(raw_x[index])
    if example.ndim == 2 or (example.ndim == 3 and example.shape[-1] in (1, 3, 4)):
        return {"image": _save_image(run_dir, example, rank)}
    flat = example.reshape(-1)
    return {"values": [_plain(v) for v in flat[:12]], "size": int(flat.size)}


def _plain(value):
    """A JSON value; floats (often float32) to 6 significant digits, as they were written."""
    value = value.item() if hasattr(value, "item") else value
    return float(f"{value:.6g}") if isinstance(value, float) else value


def _save_image(run_dir: Path, example: np.ndarray, rank: int) -> str:
    from PIL import Image

    folder = Path(run_dir) / run_folder.ERROR_IMAGES
    folder.mkdir(exist_ok=True)
    path = folder / f"mistake_{rank + 1:02d}.png"
    image = example[..., 0] if example.ndim == 3 and example.shape[-1] == 1 else example
    image = image.astype("float64")
    span = float(image.max() - image.min()) or 1.0
    Image.fromarray(np.uint8(np.round(255 * (image - image.min()) / span))).save(path)
    return str(path.relative_to(run_dir))
