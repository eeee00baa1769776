"""Small image folders written for the tests."""

from __future__ import annotations

import numpy as np
from PIL import Image


def save(path, pixels, mode=None, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode).save(path, fmt)


def two_class_folder(root, per_class=12, size=(20, 24), seed=0):
    """Dark squares and bright squares, as RGB, RGBA and grayscale files of other sizes than the target."""
    rng = np.random.default_rng(seed)
    for name, level in (("bright", 210), ("dark", 40)):
        for i in range(per_class):
            pixels = np.clip(rng.normal(level, 20, (*size, 3)), 0, 255).astype("uint8")
            if i % 3 == 1:
                save(root / name / f"{i}.png", np.dstack([pixels, np.full(size, 255, "uint8")]), "RGBA")
            elif i % 3 == 2:
                save(root / name / f"{i}.png", pixels[..., 0], "L")
            else:
                save(root / name / f"{i}.jpg", pixels)
    return root
