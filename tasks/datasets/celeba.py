"""CelebA aligned faces (§12.5.3), unlabelled: every image of ``img_align_celeba/``, centre-cropped and resized.

Sources, in this order: ``path`` (a folder of images, e.g. the unzipped ``img_align_celeba/``); the data
directory's ``celeba/img_align_celeba.zip`` (the full 202,599 images) or ``celeba/img_align_celeba_first32.tar``
(the first 32), extracted into the dlwp cache; then, with ``download``, the book's ``data.zip`` from Google
Drive into the Keras cache.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, data_dir_of, keras_home
from .cache import dataset_cache_dir, extract_tar_safely, file_record, sha256_of
from .images import load_image_folder

ARCHIVES = {  # data-directory file -> its sha256 (None: any copy)
    "celeba/img_align_celeba.zip": None,
    "celeba/img_align_celeba_first32.tar": "1cad397873e1795f07d4fec1fd89c043ceb4c81e4f6cbef663699ad35c97f3ee",
}
DRIVE_ID = "1O7m1010EJjLE5QxLZiM9Fpjs7Oj6e684"  # the book's celeba_gan/data.zip
DRIVE_URL = f"https://drive.google.com/uc?export=download&confirm=t&id={DRIVE_ID}"


def _extract_zip(archive: Path, dest: Path) -> Path:
    """Unzip ``archive`` into ``dest`` once (a marker file records completion); members may not leave ``dest``."""
    done = dest / ".extracted"
    if done.is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            target = (dest / member).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise DataError(f"{archive} holds a file outside its folder ('{member}'): refusing to extract it.")
        zipped.extractall(dest)
    done.touch()
    return dest


def _from_archive(archive: Path, expected_sha256: str | None) -> tuple[Path, dict]:
    if archive.suffix == ".tar":
        record = file_record(archive, expected_sha256)
        return extract_tar_safely(archive, dataset_cache_dir("celeba", record["sha256"])), {"files": [record]}
    digest = sha256_of(archive)
    record = {"path": str(archive), "sha256": digest}
    return _extract_zip(archive, dataset_cache_dir("celeba", digest)), {"files": [record]}


def _download(title: str) -> Path:
    import keras  # noqa: PLC0415 - only the download path pays for Keras

    try:
        return Path(keras.utils.get_file("celeba_gan_data.zip", origin=DRIVE_URL, cache_dir=str(keras_home())))
    except Exception as exc:  # noqa: BLE001 - get_file raises many kinds
        raise DataError(f"{title}: the download from Google Drive failed ({exc}). Drive often refuses large files: "
                        "download img_align_celeba.zip yourself (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) "
                        "and set task.path to the unzipped folder, or put the zip at "
                        "<data_dir>/celeba/img_align_celeba.zip.") from exc


def celeba_folder(path, data_dir, download: bool) -> tuple[Path, dict]:
    """The folder of face images, and where it came from."""
    title = "CelebA"
    if path not in (None, ""):
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise DataError(f"task.path '{folder}' is not a folder of images (e.g. the unzipped img_align_celeba/).")
        return folder, {"source": "path", "path": str(folder)}
    root = data_dir_of(data_dir)
    for relative, sha256 in ARCHIVES.items():
        if root is not None and (root / relative).is_file():
            folder, info = _from_archive(root / relative, sha256)
            return folder, {"source": "data_dir", **info}
    cached = keras_home() / "datasets" / "celeba_gan_data.zip"
    if cached.is_file() or download:
        archive = cached if cached.is_file() else _download(title)
        folder, info = _from_archive(archive, None)
        return folder, {"source": "download", **info}
    where = f"the data directory {root}" if root else "a data directory, but none is set"
    raise DataError(f"{title}: expected {' or '.join(ARCHIVES)} under {where} (set data_dir=... or DLWP_DATA_DIR), "
                    "or task.path=DIR with the unzipped img_align_celeba/ images; downloading is turned off "
                    "(download=false).")


def load_celeba(path: str | os.PathLike | None = None, image_size: Sequence[int] = (64, 64),
                crop_to_aspect_ratio: bool = True, data_dir: str | os.PathLike | None = None, download: bool = True,
                limit: int | None = None) -> DataSplits:
    """Every face as uint8 RGB (N, H, W, 3), without labels: the GAN's training images."""
    folder, info = celeba_folder(path, data_dir, download)
    splits = load_image_folder(folder, image_size, "rgb", "none", crop_to_aspect_ratio, limit=limit)
    splits.info = {**splits.info, **info}
    return splits


def faces_like(n_train: int = 32, image_size: Sequence[int] = (64, 64), seed: int = 0) -> DataSplits:
    """Random uint8 RGB images of the real shape, unlabelled (smoke runs)."""
    height, width = (int(s) for s in image_size)
    images = np.random.default_rng(seed).integers(0, 256, size=(n_train, height, width, 3), dtype=np.uint8)
    schema = {"kind": "image", "image_size": [height, width], "color_mode": "rgb", "crop_to_aspect_ratio": True}
    return DataSplits(images, None, info={"source": "synthetic", "kind": "images", "seed": seed}, schema=schema)
