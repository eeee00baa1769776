"""Dogs vs. cats, the book's small subset (§8.2.2): per class, file ids 0-999 train, 1000-1499 validation and
1500-2499 test, 2,000 / 1,000 / 2,000 images (cat = 0, dog = 1).

Sources, in this order: ``path`` (a ``cats_vs_dogs_small/`` tree with train/validation/test, or Kaggle's
``train/`` folder of ``cat.<id>.jpg`` / ``dog.<id>.jpg``, or the folder holding it); the data directory's
``cats_vs_dogs/dogs_vs_cats_first2500_200px.tar`` (extracted into the dlwp cache). Kaggle's archive needs an
account, so nothing is downloaded: the error says how to get it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from dlwp_tasks.errors import DataError

from .base import DataSplits, data_dir_of
from .cache import dataset_cache_dir, extract_tar_safely, file_record, non_canonical_warnings
from .class_folders import split_folders
from .images import labelled_splits, load_image_folder

ARCHIVE = "cats_vs_dogs/dogs_vs_cats_first2500_200px.tar"
ARCHIVE_SHA256 = "1a34ffccf3d74c34c6044ebdabbf6b2c0f1869aa12ee057156cfb3a92a2ebafd"
CLASSES = ("cat", "dog")
SPLIT_IDS = {"train": range(0, 1000), "validation": range(1000, 1500), "test": range(1500, 2500)}
_KAGGLE_NAME = re.compile(r"^(cat|dog)\.(\d+)\.jpe?g$", re.IGNORECASE)


def kaggle_folder(folder: Path) -> Path | None:
    """``folder`` or its ``train/`` when it holds Kaggle's ``cat.<id>.jpg`` files, else None."""
    for candidate in (folder, folder / "train"):
        if candidate.is_dir() and any(_KAGGLE_NAME.match(p.name) for p in candidate.iterdir()):
            return candidate
    return None


def subset_files(folder: Path) -> dict[str, dict[str, list[Path]]]:
    """{split: {class: files}} of the book's subset, chosen by file id from a Kaggle ``train/`` folder."""
    by_name = {p.name.lower(): p for p in folder.iterdir()}
    files: dict[str, dict[str, list[Path]]] = {}
    missing = []
    for split, ids in SPLIT_IDS.items():
        files[split] = {}
        for label in CLASSES:
            chosen = [by_name.get(f"{label}.{i}.jpg") for i in ids]
            missing += [f"{label}.{i}.jpg" for i, p in zip(ids, chosen) if p is None]
            files[split][label] = [p for p in chosen if p is not None]
    if missing:
        raise DataError(f"{folder} lacks {len(missing)} of the book's 5,000 files (e.g. {', '.join(missing[:3])}): "
                        "the subset takes ids 0-2499 of each class from Kaggle's dogs-vs-cats train/ folder.")
    return files


def _source_folder(path: str | os.PathLike | None, data_dir) -> tuple[Path, dict]:
    if path not in (None, ""):
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise DataError(f"task.path '{folder}' is not a folder: give a cats_vs_dogs_small/ tree or Kaggle's "
                            "dogs-vs-cats train/ folder.")
        return folder, {"source": "path", "path": str(folder)}
    root = data_dir_of(data_dir)
    archive = root / ARCHIVE if root is not None else None
    if archive is None or not archive.is_file():
        where = f"the data directory {root}" if root else "a data directory, but none is set"
        raise DataError(
            f"Dogs vs. cats: expected {ARCHIVE} under {where} (set data_dir=... or DLWP_DATA_DIR), or "
            "task.path=DIR pointing at Kaggle's dogs-vs-cats train/ folder (25,000 images; `kaggle competitions "
            "download -c dogs-vs-cats` after accepting the competition rules, then unzip train.zip) or at an "
            "existing cats_vs_dogs_small/ tree. It cannot be downloaded without a Kaggle account.")
    record = file_record(archive, ARCHIVE_SHA256)
    extracted = extract_tar_safely(archive, dataset_cache_dir("cats_vs_dogs", record["sha256"]))
    info = {"source": "data_dir", "files": [record]}
    return extracted / "dogs_vs_cats_200px", info


def load_cats_vs_dogs(path: str | os.PathLike | None = None, image_size: Sequence[int] = (180, 180),
                      crop_to_aspect_ratio: bool = False, data_dir: str | os.PathLike | None = None,
                      download: bool = True, limit: int | None = None) -> DataSplits:
    """The book's 2,000 / 1,000 / 2,000 split as uint8 RGB images (cat = 0, dog = 1)."""
    folder, info = _source_folder(path, data_dir)
    kaggle = kaggle_folder(folder)
    if kaggle is not None:
        files = subset_files(kaggle)
    elif set(split_folders(folder)) == set(SPLIT_IDS):
        return load_image_folder(folder, image_size, "rgb", "inferred", crop_to_aspect_ratio, limit=limit)
    else:
        raise DataError(f"'{folder}' is neither Kaggle's dogs-vs-cats train/ folder (cat.<id>.jpg, dog.<id>.jpg) "
                        "nor a cats_vs_dogs_small/ tree with train/, validation/ and test/ class folders.")
    splits = labelled_splits(files, image_size, "rgb", crop_to_aspect_ratio, 0, 0, 0, limit, info)
    splits.warnings += non_canonical_warnings("Dogs vs. cats", info.get("files", []))
    return splits

