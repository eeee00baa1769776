"""Oxford-IIIT Pets for segmentation (§9.2): 200x200 RGB images and their trimaps, 3 classes per pixel.

The book's recipe: sort the ``images/*.jpg`` paths and the ``annotations/trimaps/*.png`` paths (names starting
with "." skipped), shuffle each list with its own ``random.Random(1337)`` (same length, same permutation, so the
pairs stay aligned), resize images bilinearly and trimaps by nearest neighbour (their values stay 1, 2, 3),
subtract 1 from the trimaps (0 = pet, 1 = background, 2 = border), and keep the last ``validation_size`` pairs
for validation. The book has no test split: the test arrays are empty.

Sources, in this order: ``path`` (a folder holding ``images/`` and ``annotations/trimaps/``, as the official
archives extract); the data directory's official ``oxford_pets/images.tar.gz`` and
``oxford_pets/annotations.tar.gz``, else its 60-image ``oxford_pets/oxford_pets_3breeds_60.tar.gz``; the same
official archives in the Keras cache; a download of them (``download=true``). Archives are extracted into the
dlwp cache, and the decoded arrays are cached there too.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, data_dir_of, keras_home
from .cache import (
    cache_root,
    cached_arrays,
    dataset_cache_dir,
    extract_tar_safely,
    file_record,
    non_canonical_warnings,
    sha256_of,
)

TITLE = "Oxford-IIIT Pets"
SUBSET = "oxford_pets/oxford_pets_3breeds_60.tar.gz"
SUBSET_SHA256 = "9e2a5cfae99cd81a4c7a7617c3adac86a76976fd8dbed1bf68ab870100bca013"
ORIGIN = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/"
OFFICIAL = ("images.tar.gz", "annotations.tar.gz")
CLASS_NAMES = ["pet", "background", "border"]   # trimap values 1, 2, 3 minus 1
SHUFFLE_SEED = 1337
DECODER_VERSION = 1


def pair_paths(images_dir: Path, trimaps_dir: Path) -> tuple[list[Path], list[Path]]:
    """The sorted ``.jpg`` images and ``.png`` trimaps (names starting with "." skipped), checked to pair up by
    file stem."""
    if not images_dir.is_dir() or not trimaps_dir.is_dir():
        raise DataError(f"{TITLE}: expected the folders {images_dir} and {trimaps_dir} (the layout of the official "
                        "images.tar.gz and annotations.tar.gz): give task.path=DIR holding images/ and "
                        "annotations/trimaps/.")
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() == ".jpg" and not p.name.startswith("."))
    trimaps = sorted(p for p in trimaps_dir.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))
    unpaired = sorted({p.stem for p in images} ^ {p.stem for p in trimaps})
    if unpaired:
        raise DataError(f"{TITLE}: {len(unpaired)} file(s) have no partner between {images_dir} and {trimaps_dir} "
                        f"(e.g. {', '.join(unpaired[:3])}): every image needs the trimap of the same name. Remove "
                        "the stray files, or restore the missing ones.")
    if not images:
        raise DataError(f"{TITLE}: {images_dir} holds no .jpg images.")
    return images, trimaps


def read_trimaps(paths: Sequence[Path], image_size: Sequence[int]) -> np.ndarray:
    """Trimaps as uint8 (N, H, W, 1), grayscale and resized by nearest neighbour (as Keras's ``load_img``), so
    their values stay those of the files."""
    from PIL import Image, UnidentifiedImageError

    height, width = (int(s) for s in image_size)
    out = np.empty((len(paths), height, width, 1), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image = image if image.mode in ("L", "I;16", "I") else image.convert("L")
                out[i, ..., 0] = np.asarray(image.resize((width, height), Image.NEAREST), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
            raise DataError(f"{TITLE}: '{path}' is not a readable trimap ({err}).") from None
    return out


def decode_pairs(images: Sequence[Path], trimaps: Sequence[Path], image_size: Sequence[int]) -> dict:
    """``{"x": uint8 (N, H, W, 3), "y": uint8 (N, H, W, 1) in 0..2}`` in the order given, cached under the dlwp
    cache by the files' names, sizes and modification times and the image size."""
    from .images import read_images

    digest = hashlib.sha256(f"{list(image_size)}".encode())
    for path in [*images, *trimaps]:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())

    def build() -> dict[str, np.ndarray]:
        masks = read_trimaps(trimaps, image_size)
        found = np.unique(masks)
        if not set(found.tolist()) <= {1, 2, 3}:
            raise DataError(f"{TITLE}: the trimaps hold values {found.tolist()}; Oxford-IIIT trimaps hold 1 (pet), "
                            "2 (background) and 3 (border) only. Check the annotations/trimaps folder.")
        return {"x": read_images(images, image_size, "rgb"), "y": masks - 1}

    return cached_arrays(cache_root() / "oxford_pets" / "decoded" / digest.hexdigest()[:24],
                         "pairs", build, DECODER_VERSION)


def _extracted(archive: Path, expected_sha256: str | None) -> tuple[Path, dict]:
    """The archive extracted into the dlwp cache (keyed by its sha256), and its file record (compared with
    ``expected_sha256`` when one is known)."""
    if expected_sha256 is None:
        record = {"path": str(archive), "sha256": sha256_of(archive)}
    else:
        record = file_record(archive, expected_sha256)
    return extract_tar_safely(archive, dataset_cache_dir("oxford_pets", record["sha256"])), record


def _official(archives: Sequence[Path], source: str) -> tuple[Path, Path, dict]:
    (images_root, images_record), (notes_root, notes_record) = (_extracted(a, None) for a in archives)
    info = {"source": source, "files": [images_record, notes_record]}
    return images_root / "images", notes_root / "annotations" / "trimaps", info


def _download(missing_where: str) -> list[Path]:
    try:
        import keras  # noqa: PLC0415 - only the download path pays for Keras

        return [Path(keras.utils.get_file(name, origin=ORIGIN + name, cache_dir=str(keras_home())))
                for name in OFFICIAL]
    except Exception as exc:  # get_file raises many kinds (URLError, OSError, ValueError...)
        raise DataError(f"{TITLE}: no local copy ({missing_where}), and downloading {ORIGIN}images.tar.gz and "
                        f"annotations.tar.gz failed: {exc}. Check the network, or place the files as above and set "
                        "download=false.") from exc


def locate_pairs(path, data_dir, download: bool) -> tuple[Path, Path, dict]:
    """(images folder, trimaps folder, provenance) from the first source that has the data."""
    if path not in (None, ""):
        root = Path(path).expanduser()
        return root / "images", root / "annotations" / "trimaps", {"source": "path", "path": str(root)}
    root = data_dir_of(data_dir)
    if root is not None:
        official = [root / "oxford_pets" / name for name in OFFICIAL]
        if all(p.is_file() for p in official):
            return _official(official, "data_dir")
        if (root / SUBSET).is_file():
            extracted, record = _extracted(root / SUBSET, SUBSET_SHA256)
            folder = extracted / "oxford_pets_subset"
            return folder / "images", folder / "annotations" / "trimaps", {"source": "data_dir", "files": [record]}
    cached = [keras_home() / "datasets" / name for name in OFFICIAL]
    if all(p.is_file() for p in cached):
        return _official(cached, "keras-cache")
    where = (f"oxford_pets/{OFFICIAL[0]} and oxford_pets/{OFFICIAL[1]}, or {SUBSET}, under "
             + (f"the data directory {root}" if root else "a data directory, but none is set")
             + f" (set data_dir=... or DLWP_DATA_DIR); nor {OFFICIAL[0]} and {OFFICIAL[1]} in {cached[0].parent}")
    if not download:
        raise DataError(f"{TITLE}: expected {where}; downloading is turned off (download=false). Give "
                        "task.path=DIR holding images/ and annotations/trimaps/, or set download=true to fetch "
                        f"{ORIGIN}images.tar.gz and annotations.tar.gz (about 800 MB).")
    return _official(_download(where), "download")


def book_order(n: int, seed: int = SHUFFLE_SEED) -> list[int]:
    """The permutation ``random.Random(seed).shuffle`` applies to any list of length ``n``."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def load_oxford_pets(path: str | os.PathLike | None = None, image_size: Sequence[int] = (200, 200),
                     validation_size: int = 1000, shuffle_seed: int = SHUFFLE_SEED,
                     data_dir: str | os.PathLike | None = None, download: bool = True) -> DataSplits:
    """The book's pairs: uint8 images (N, H, W, 3) and trimaps (N, H, W, 1) in {0, 1, 2}; the last
    ``validation_size`` pairs after the shuffle are the validation split; the test split is empty."""
    images_dir, trimaps_dir, info = locate_pairs(path, data_dir, download)
    images, trimaps = pair_paths(images_dir, trimaps_dir)
    n = len(images)
    if not 0 < int(validation_size) < n:
        raise DataError(f"{TITLE}: task.validation_size={validation_size} must be at least 1 and below the "
                        f"{n} image pairs found in {images_dir}, so that both splits have pairs (the book keeps "
                        f"1,000 of 7,390): e.g. task.validation_size={max(1, n // 5)}.")
    arrays = decode_pairs(images, trimaps, image_size)
    order = np.asarray(book_order(n, shuffle_seed))
    x, y = arrays["x"][order], arrays["y"][order]
    cut = n - int(validation_size)
    checked = [record for record in info.get("files", []) if "non_canonical" in record]
    info = {**info, "pairs": n, "shuffle_seed": shuffle_seed}
    return DataSplits(x[:cut], y[:cut], x[:0], y[:0], info=info, x_val=x[cut:], y_val=y[cut:],
                      class_names=list(CLASS_NAMES), problem="segmentation", schema=_schema(image_size),
                      warnings=non_canonical_warnings(TITLE, checked))


def _schema(image_size: Sequence[int]) -> dict:
    height, width = (int(s) for s in image_size)
    return {"kind": "image", "image_size": [height, width], "color_mode": "rgb",
            "targets": "segmentation masks (H, W, 1)", "class_names": list(CLASS_NAMES)}


def pets_like(n_train: int = 16, n_val: int = 8, image_size: Sequence[int] = (200, 200), seed: int = 0) -> DataSplits:
    """Random stand-in of the real shapes and dtypes: uint8 images (N, H, W, 3) and masks (N, H, W, 1) in
    {0, 1, 2} (each an ellipse of "pet" with a "border" ring on "background"), an empty test split."""
    rng = np.random.default_rng(seed)
    height, width = (int(s) for s in image_size)
    n = n_train + n_val
    rows, cols = np.mgrid[0:height, 0:width]
    masks = np.ones((n, height, width, 1), dtype=np.uint8)
    for i in range(n):
        cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
        ry, rx = rng.uniform(0.15, 0.3) * height, rng.uniform(0.15, 0.3) * width
        radius = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2
        masks[i, radius <= 1.3, 0] = 2
        masks[i, radius <= 1.0, 0] = 0
    images = rng.integers(0, 256, size=(n, height, width, 3), dtype=np.uint8)
    info = {"source": "synthetic", "kind": "oxford_pets", "seed": seed}
    return DataSplits(images[:n_train], masks[:n_train], images[:0], masks[:0], info=info, x_val=images[n_train:],
                      y_val=masks[n_train:], class_names=list(CLASS_NAMES), problem="segmentation",
                      schema=_schema(image_size))
