"""The layout image and text folders share: one subfolder per class, optionally inside train/, validation/ (or
val/) and test/; and the checks that stop a folder which cannot train a classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

SPLIT_FOLDERS = {"train": ("train",), "validation": ("validation", "val"), "test": ("test",)}


def split_folders(root: Path) -> dict[str, Path]:
    """{split: its folder} for the split folders ``root`` holds (validation/ before val/)."""
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if (root / name).is_dir():
                found[split] = root / name
                break
    return found


def check_classes(found: dict[str, list[Path]], where: Path, files: str, example: str, one_class_hint: str) -> None:
    """DataError unless ``found`` ({class: its files}) has at least two classes, none empty. ``files`` names what
    a class folder holds ("images", ".txt files"), ``example`` shows the layout, ``one_class_hint`` ends the
    message about a single class."""
    if not found:
        raise DataError(f"'{where}' has no class folders: put each class's {files} in a subfolder named after it "
                        f"({example}), optionally inside train/, validation/ and test/.")
    empty = [name for name, paths in found.items() if not paths]
    if empty:
        raise DataError(f"Class folder(s) {', '.join(repr(str(where / e)) for e in empty)} hold no {files}: add "
                        f"{files} or remove the folder.")
    if len(found) < 2:
        raise DataError(f"'{where}' has one class folder ('{next(iter(found))}'); classification needs at least "
                        f"two. {one_class_hint}")


def stratified_carve(y: np.ndarray, size: float, rng: np.random.Generator, what: str,
                     items: str = "files") -> tuple[np.ndarray, np.ndarray]:
    """(kept, carved) row indices: ``size`` (a fraction, or a count) of the rows, drawn per class; ``what`` names
    the split carved (test, validation) and ``items`` the rows in the message when nothing would be left."""
    n = len(y)
    count = int(size) if size >= 1 else int(round(n * size))
    if not 0 < count < n:
        raise DataError(f"a {what} split of {size} leaves no {items} on one side out of {n} training {items}: "
                        f"change task.{what}_size, or add {items}.")
    carved = []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        carved.append(rows[: max(1, int(round(count * len(rows) / n)))])
    carved = np.sort(np.concatenate(carved))
    return np.setdiff1d(np.arange(n), carved), carved
