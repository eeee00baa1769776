"""Generated images as files: [0, 1] floats to 8-bit pixels, grids of samples, atomic PNG writes."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] (clipped) or 8-bit ones, as uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images.astype("float64") * 255.0), 0, 255).astype(np.uint8)


def tile(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """(N, H, W, C) images as one (rows * H, columns * W, C) uint8 grid, row by row; empty cells stay black.
    ``columns`` defaults to the smallest square that holds them all."""
    images = to_uint8(images)
    if images.ndim == 3:  # (N, H, W): one channel
        images = images[..., None]
    count, height, width, channels = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    grid = np.zeros((rows * height, columns * width, channels), dtype=np.uint8)
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    return grid


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write one (H, W, C) or (H, W) image as a PNG, atomically (a reader never sees half a file)."""
    from PIL import Image

    pixels = to_uint8(image)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".png")
    os.close(handle)
    try:
        Image.fromarray(pixels).save(temporary, format="PNG")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
