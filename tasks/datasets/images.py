"""Folders of images: one subfolder per class, optionally inside ``train/``, ``validation/`` (or ``val/``) and
``test/`` (the layout of Keras's ``image_dataset_from_directory``).

Every image is decoded once, before training, into uint8 arrays (N, H, W, C): RGBA, palette and grayscale
files are converted, sizes are bilinear-resized (as Keras does). A folder whose decoded arrays are large is
cached on disk under the dlwp cache, keyed by each file's name, size and modification time and by the decode
settings, so later runs skip decoding; nothing is ever written into the user's folder. A file that cannot be
decoded is skipped with a warning naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits
from .class_folders import check_classes, split_folders, stratified_carve
from .cache import cache_root, cached_arrays

COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}
LABEL_MODES = ("inferred", "none")
DISK_CACHE_BYTES = 64 * 2**20   # decoded folders larger than this are cached on disk
DECODER_VERSION = 1


def _check_settings(image_size: Sequence[int], color_mode: str) -> tuple[int, int]:
    if color_mode not in COLOR_MODES:
        raise DataError(f"task.color_mode must be one of {', '.join(COLOR_MODES)}, got '{color_mode}'.")
    size = tuple(int(s) for s in image_size) if isinstance(image_size, (list, tuple)) else (int(image_size),) * 2
    if len(size) != 2 or min(size) < 1:
        raise DataError(f"task.image_size must be [height, width] of positive integers, got {list(image_size)}.")
    return size


def _crop_box(width: int, height: int, target: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred box of the target's aspect ratio (Keras's ``crop_to_aspect_ratio``)."""
    target_h, target_w = target
    crop_w = min(width, round(height * target_w / target_h))
    crop_h = min(height, round(width * target_h / target_w))
    left, top = (width - crop_w) // 2, (height - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def decode_image(path: str | os.PathLike, image_size: Sequence[int], color_mode: str = "rgb",
                 crop_to_aspect_ratio: bool = False) -> np.ndarray:
    """One image file as uint8 (H, W, C), decoded by content; raises DataError naming the file."""
    from PIL import Image, UnidentifiedImageError

    size = _check_settings(image_size, color_mode)
    mode, _ = COLOR_MODES[color_mode]
    try:
        with Image.open(path) as image:
            image = image.convert("RGBA").convert(mode) if image.mode in ("P", "LA", "PA") else image.convert(mode)
            if crop_to_aspect_ratio:
                image = image.crop(_crop_box(*image.size, size))
            pixels = np.asarray(image, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"Image '{path}' does not exist.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DataError(f"'{path}' is not a readable image ({err}).") from None
    if pixels.ndim == 2:
        pixels = pixels[..., np.newaxis]
    if pixels.shape[:2] != size:
        pixels = _resize(pixels, size)
    return pixels


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize without antialiasing, as ``image_dataset_from_directory`` (``tf.image.resize``)."""
    import tensorflow as tf

    resized = tf.image.resize(pixels, size, method="bilinear", antialias=False)
    return np.asarray(tf.clip_by_value(tf.round(resized), 0, 255), dtype=np.uint8)


def read_images(paths: Sequence[str | os.PathLike], image_size: Sequence[int], color_mode: str = "rgb",
                crop_to_aspect_ratio: bool = False) -> np.ndarray:
    """Image files as one uint8 array (N, H, W, C); the first missing or undecodable file raises DataError."""
    size = _check_settings(image_size, color_mode)
    channels = COLOR_MODES[color_mode][1]
    out = np.empty((len(paths), *size, channels), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = decode_image(path, size, color_mode, crop_to_aspect_ratio)
    return out


def _decode_all(paths: Sequence[Path], size: tuple[int, int], color_mode: str,
                crop: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images of the decodable files, a keep mask over ``paths``, a warning per skipped file)."""
    channels = COLOR_MODES[color_mode][1]
    images = np.empty((len(paths), *size, channels), dtype=np.uint8)
    keep = np.ones(len(paths), dtype=bool)
    skipped = []
    for i, path in enumerate(paths):
        try:
            images[i] = decode_image(path, size, color_mode, crop)
        except DataError as err:
            keep[i] = False
            skipped.append(f"skipped {path}: {err}")
    return images[keep], keep, skipped


def _fingerprint(paths: Sequence[Path], settings: dict) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def decode_files(paths: Sequence[Path], image_size: Sequence[int], color_mode: str = "rgb",
                 crop_to_aspect_ratio: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode every file once: (uint8 images, keep mask over ``paths``, warnings for skipped files).

    Folders whose arrays exceed ``DISK_CACHE_BYTES`` are cached under ``<cache>/images/<key>/``.
    """
    size = _check_settings(image_size, color_mode)
    channels = COLOR_MODES[color_mode][1]
    if len(paths) * size[0] * size[1] * channels <= DISK_CACHE_BYTES:
        return _decode_all(paths, size, color_mode, crop_to_aspect_ratio)
    settings = {"size": size, "color_mode": color_mode, "crop": bool(crop_to_aspect_ratio)}
    key = _fingerprint(paths, settings)
    found: dict = {}

    def build() -> dict[str, np.ndarray]:
        images, keep, skipped = _decode_all(paths, size, color_mode, crop_to_aspect_ratio)
        found["skipped"] = skipped
        return {"images": images, "keep": keep, "skipped": np.asarray(skipped, dtype=str)}

    arrays = cached_arrays(cache_root() / "images" / key[:24], "decoded", build, DECODER_VERSION)
    return arrays["images"], arrays["keep"].astype(bool), [str(s) for s in arrays["skipped"]]


def _is_image_candidate(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".")


def class_files(folder: Path) -> dict[str, list[Path]]:
    """{class name: its files, sorted}, from the sorted subfolders of ``folder``."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {c.name: sorted(f for f in c.rglob("*") if _is_image_candidate(f)) for c in classes}


def labelled_splits(files: dict[str, dict[str, list[Path]]], image_size, color_mode: str, crop: bool,
                    validation_size: float, test_size: float, seed: int, limit: int | None,
                    info: dict) -> DataSplits:
    """DataSplits from {split: {class: files}}; a missing validation or test split is carved out of train."""
    class_names = sorted(files["train"])
    for split, classes in files.items():
        unknown = sorted(set(classes) - set(class_names))
        if unknown:
            raise DataError(f"The {split} split has class folder(s) {unknown} that train/ lacks: every class needs "
                            "training images.")
    arrays, warnings, counts = {}, [], {}
    for split, classes in files.items():
        paths = [p for c in class_names for p in classes.get(c, [])[:limit]]
        labels = np.asarray([i for i, c in enumerate(class_names) for _ in classes.get(c, [])[:limit]], np.int32)
        images, keep, skipped = decode_files(paths, image_size, color_mode, crop)
        warnings += skipped
        arrays[split] = (images, labels[keep])
        counts[split] = int(keep.sum())
    rng = np.random.default_rng(seed)
    x_train, y_train = arrays.pop("train")
    for split, size in (("test", test_size), ("validation", validation_size)):
        if split not in arrays and size:
            kept, carved = stratified_carve(y_train, size, rng, split, "images")
            arrays[split] = (x_train[carved], y_train[carved])
            x_train, y_train = x_train[kept], y_train[kept]
    x_val, y_val = arrays.get("validation", (None, None))
    x_test, y_test = arrays.get("test", (None, None))
    if not len(x_train):
        raise DataError(f"No training image could be decoded ({len(warnings)} skipped): {warnings[:3]}")
    height, width = _check_settings(image_size, color_mode)
    schema = {"kind": "image", "image_size": [height, width], "color_mode": color_mode,
              "crop_to_aspect_ratio": bool(crop), "class_names": class_names}
    info = {**info, "decoded": counts, "skipped_files": len(warnings)}
    return DataSplits(x_train, y_train, x_test, y_test, info=info, x_val=x_val, y_val=y_val,
                      class_names=class_names, problem="classification", schema=schema, warnings=warnings)


def load_image_folder(path: str | os.PathLike | None, image_size: Sequence[int] = (180, 180),
                      color_mode: str = "rgb", labels: str = "inferred", crop_to_aspect_ratio: bool = False,
                      validation_size: float = 0.2, test_size: float = 0.2, seed: int = 0,
                      limit: int | None = None) -> DataSplits:
    """A folder of images: classes from the sorted subfolder names (``labels="inferred"``), or every image
    under it without labels (``labels="none"``, all as training images)."""
    if path in (None, ""):
        raise DataError("task=image_folder needs task.path=DIR, a folder with one subfolder of images per class.")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"task.path '{root}' is not a folder of images (it does not exist, or is a file).")
    if labels not in LABEL_MODES:
        raise DataError(f"task.labels must be one of {', '.join(LABEL_MODES)} for image folders, got '{labels}'.")
    info = {"source": "real", "path": str(root)}
    if labels == "none":
        paths = sorted(f for f in root.rglob("*") if _is_image_candidate(f))[:limit]
        if not paths:
            raise DataError(f"'{root}' holds no files.")
        images, _, skipped = decode_files(paths, image_size, color_mode, crop_to_aspect_ratio)
        height, width = _check_settings(image_size, color_mode)
        return DataSplits(images, None, info={**info, "decoded": {"train": len(images)}}, warnings=skipped,
                          schema={"kind": "image", "image_size": [height, width], "color_mode": color_mode,
                                  "crop_to_aspect_ratio": bool(crop_to_aspect_ratio)})
    files = labelled_files(root)
    return labelled_splits(files, image_size, color_mode, crop_to_aspect_ratio, validation_size, test_size, seed,
                           limit, info)


def labelled_files(root: Path) -> dict[str, dict[str, list[Path]]]:
    """{split: {class: files}} of a labelled folder; raises DataError for a layout that cannot train."""
    split_dirs = split_folders(root)
    if split_dirs and "train" not in split_dirs:
        raise DataError(f"'{root}' has {', '.join(p.name + '/' for p in split_dirs.values())} but no train/ "
                        "folder: add train/, or put the class folders directly under task.path.")
    files = {split: class_files(folder) for split, folder in (split_dirs or {"train": root}).items()}
    check_classes(files["train"], split_dirs.get("train", root), "images", "DIR/cat/*.jpg, DIR/dog/*.jpg",
                  "Add a folder per class, or set task.labels=none for unlabelled images.")
    return files


def describe_image_folder(path=None, labels: str = "inferred", **_) -> list[str]:
    """What ``dlwp show`` says of the folder (its classes and file counts per split); ``dlwp run`` calls it
    before making a run folder, so a folder that cannot train (no classes, an empty class, one class) stops
    there."""
    if path in (None, "") or not Path(path).expanduser().is_dir():
        return [f"  {path}: not a folder"]
    root = Path(path).expanduser()
    if labels == "none":
        return [f"  {root}: {sum(1 for f in root.rglob('*') if _is_image_candidate(f))} files, unlabelled"]
    return [f"  {split}: " + ", ".join(f"{name} {len(found)}" for name, found in classes.items())
            for split, classes in labelled_files(root).items()]


load_image_folder.describe = describe_image_folder


def image_shape_of(stats: dict) -> tuple[tuple[int, int], str]:
    """(image size, colour mode) a run's images had, from its features.json statistics."""
    height, width, channels = stats["image_shape"]
    return (height, width), "grayscale" if channels == 1 else "rgb"
