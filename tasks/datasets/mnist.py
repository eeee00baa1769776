"""MNIST: the four raw idx files, or Keras's ``mnist.npz``."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, KerasFile, fetch_keras_file, locate
from .cache import file_record, non_canonical_warnings

FILES = {
    "x_train": "mnist/train-images-idx3-ubyte.gz",
    "y_train": "mnist/train-labels-idx1-ubyte.gz",
    "x_test": "mnist/t10k-images-idx3-ubyte.gz",
    "y_test": "mnist/t10k-labels-idx1-ubyte.gz",
}
SHA256 = {  # the canonical idx files' public sha256
    FILES["x_train"]: "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    FILES["y_train"]: "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    FILES["x_test"]: "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    FILES["y_test"]: "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}
KERAS_FILE = KerasFile(
    "mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", "mnist"
)
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
CLASS_NAMES = [str(digit) for digit in range(10)]


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> DataSplits:
    """60,000 train and 10,000 test images, uint8 (N, 28, 28), with uint8 labels 0-9."""
    root = locate(list(FILES.values()), data_dir)
    if root is not None:
        paths = {key: root / rel for key, rel in FILES.items()}
        arrays = {
            key: read_idx(path, _IMAGES_MAGIC if key.startswith("x") else _LABELS_MAGIC)
            for key, path in paths.items()
        }
        for split in ("train", "test"):
            if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
                raise DataError(
                    f"MNIST: {paths[f'x_{split}']} and {paths[f'y_{split}']} hold different "
                    "numbers of records; replace them with the canonical files, or point "
                    "data_dir (or DLWP_DATA_DIR) at a good copy."
                )
        records = [file_record(root / rel, SHA256[rel]) for rel in FILES.values()]
        return DataSplits(**arrays, info={"source": "data_dir", "files": records}, class_names=CLASS_NAMES,
                          warnings=non_canonical_warnings("MNIST", records))
    path, source = fetch_keras_file("MNIST", KERAS_FILE, list(FILES.values()), data_dir, download)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in FILES}
    records = [file_record(path, KERAS_FILE.sha256)]
    return DataSplits(**arrays, info={"source": source, "files": records}, class_names=CLASS_NAMES,
                      warnings=non_canonical_warnings("MNIST", records))


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read a gzipped idx file of unsigned bytes: images (N, 28, 28) or labels (N,)."""
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt(path, f"cannot decompress it ({exc})") from exc
    ndim = 3 if magic == _IMAGES_MAGIC else 1
    header = 4 + 4 * ndim
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise _corrupt(path, f"its header is not the idx magic number {magic}")
    dims = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header, 4))
    if ndim == 3 and dims[1:] != (28, 28):
        raise _corrupt(path, f"its images are {dims[1]}x{dims[2]}, not 28x28")
    if len(data) - header != int(np.prod(dims)):
        raise _corrupt(path, f"its payload has {len(data) - header} bytes, not {int(np.prod(dims))}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _corrupt(path: str | os.PathLike, why: str) -> DataError:
    return DataError(
        f"MNIST: {Path(path)} is not a valid idx file: {why}. Replace it with the canonical "
        "file, or point data_dir (or DLWP_DATA_DIR) at a good copy."
    )
