"""A segmentation run's predicted masks as pictures (book fig. 9.6): a task report (``task.reports``) that
writes, for a few validation images, the input, the true mask and the predicted mask as PNGs in
``RUN_DIR/masks/``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

FOLDER = "masks"


def mask_picture(classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Class ids (H, W) as uint8 gray levels spread over 0..255: ``id * (255 // (num_classes - 1))``, which is
    the book's ``* 127`` for three classes."""
    return (classes.astype(np.int64) * (255 // max(num_classes - 1, 1))).astype(np.uint8)


def predicted_classes(outputs: np.ndarray) -> tuple[np.ndarray, int]:
    """(class id per pixel (N, H, W), number of classes) from per-pixel softmax or one sigmoid channel."""
    if outputs.shape[-1] == 1:
        return (outputs[..., 0] > 0.5).astype(np.int64), 2
    return outputs.argmax(axis=-1), outputs.shape[-1]


def model_inputs(data, x: np.ndarray) -> np.ndarray:
    """Rows of a prepared split as the model takes them: uint8 pixels become float32, scaled as the run's input
    pipeline scales them (``data.feature_stats``)."""
    return scaled_pixels(getattr(data, "feature_stats", None) or {}, x)


def scaled_pixels(stats: dict, x: np.ndarray) -> np.ndarray:
    """Pixels as float32, divided by the run's pixel scale where its features.json ``stats`` set one."""
    x = np.asarray(x, dtype="float32")
    if stats.get("pixels") and stats.get("scale"):
        x = x / float(stats["scale"])
    return x


def _predictor(model, run_dir: Path, checkpoint: str | None) -> tuple[object, str]:
    """The model to predict with: the run's checkpoint file when given and present, else the final model."""
    if checkpoint and (run_dir / checkpoint).is_file():
        import keras

        return keras.models.load_model(run_dir / checkpoint, compile=False), f"checkpoint {checkpoint}"
    return model, "final"


def _save(picture: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(picture[..., 0] if picture.ndim == 3 and picture.shape[-1] == 1 else picture).save(path)


def save_masks(model, data, splits, cfg, run_dir, indices: Sequence[int] = (0, 1, 2, 4),
               checkpoint: str | None = None) -> dict:
    """For each validation image ``indices`` names (those beyond the split are left out): ``val_<i>_input.png``,
    ``val_<i>_true.png`` and ``val_<i>_predicted.png``, predicted with ``checkpoint`` (a file in the run folder,
    e.g. the best-val_loss checkpoint the book predicts with) or else the final model. Returns metrics.json's
    ``masks``: the files and each image's pixel accuracy; {} without a model or validation images."""
    if model is None or getattr(splits, "x_val", None) is None or data.y_val is None:
        return {}
    rows = [int(i) for i in indices if 0 <= int(i) < len(data.y_val)]
    if not rows:
        return {}
    run_dir = Path(run_dir)
    predictor, used = _predictor(model, run_dir, checkpoint)
    outputs = np.asarray(predictor.predict(model_inputs(data, data.x_val[rows]), verbose=0))
    predicted, num_classes = predicted_classes(outputs)
    truth = np.asarray(data.y_val[rows]).reshape(predicted.shape)
    folder = run_dir / FOLDER
    folder.mkdir(exist_ok=True)
    shown = []
    for k, row in enumerate(rows):
        names = {part: f"{FOLDER}/val_{row:04d}_{part}.png" for part in ("input", "true", "predicted")}
        _save(np.asarray(splits.x_val[row], dtype=np.uint8), run_dir / names["input"])
        _save(mask_picture(truth[k], num_classes), run_dir / names["true"])
        _save(mask_picture(predicted[k], num_classes), run_dir / names["predicted"])
        shown.append({"index": row, **names, "pixel_accuracy": float(np.mean(predicted[k] == truth[k]))})
    return {"masks": {"split": "validation", "model": used, "images": shown}}


PREDICTED_FOLDER = "predicted_masks"


def predict_masks(paths: Sequence[str], run_dir, model) -> tuple[list[str], list[list]]:
    """``dlwp predict``'s answer for segmentation runs: each image file read at the run's size, its predicted
    mask written to ``RUN_DIR/predicted_masks/<stem>.png`` (gray levels as in ``masks/``), and per image
    ``[mask path, share of pixels of each class]``."""
    import json

    from dlwp_tasks.datasets.images import image_shape_of, read_images

    run_dir = Path(run_dir)
    stats = json.loads((run_dir / "features.json").read_text())
    size, color_mode = image_shape_of(stats)
    x = scaled_pixels(stats, read_images(list(paths), size, color_mode))
    predicted, num_classes = predicted_classes(np.asarray(model.predict(x, verbose=0)))
    folder = run_dir / PREDICTED_FOLDER
    folder.mkdir(exist_ok=True)
    from PIL import Image

    rows = []
    for path, classes in zip(paths, predicted):
        target = folder / f"{Path(path).stem}.png"
        partial = target.with_suffix(".png.partial")
        Image.fromarray(mask_picture(classes, num_classes)).save(partial, format="PNG")
        partial.replace(target)  # a repeated call replaces its own earlier answer whole
        shares = np.bincount(classes.reshape(-1), minlength=num_classes) / classes.size
        rows.append([str(target), *(f"{share:.4f}" for share in shares)])
    return list(paths), rows
