"""Arrays into pictures: the book's display normalisation, grids of tiles, colour maps and pixel conversion."""

from __future__ import annotations

import math

import numpy as np


def book_normalised(x: np.ndarray) -> np.ndarray:
    """``(x - mean) / std * 64 + 128`` clipped to uint8 (listings 9.11 and 9.18); an all-zero array stays 0
    (a blank channel), a constant one is mid-grey."""
    x = np.asarray(x, dtype="float64")
    if not x.any():
        return np.zeros(x.shape, dtype=np.uint8)
    std = x.std()
    if std == 0:
        return np.full(x.shape, 128, dtype=np.uint8)
    return np.clip((x - x.mean()) / std * 64 + 128, 0, 255).astype(np.uint8)


def grid(tiles: list[np.ndarray], columns: int, gap: int, fill: int = 0) -> np.ndarray:
    """Equal-sized tiles (H, W[, C]) in rows of ``columns``, ``gap`` pixels apart, on a ``fill`` canvas."""
    height, width = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    canvas = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, *tiles[0].shape[2:]), fill,
                     dtype=np.uint8)
    for i, tile in enumerate(tiles):
        row, column = divmod(i, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top:top + height, left:left + width] = tile
    return canvas


def square_columns(count: int) -> int:
    """Columns of the squarest grid of ``count`` tiles (8 for 64)."""
    return math.ceil(math.sqrt(count))


def colour_map(values: np.ndarray, name: str) -> np.ndarray:
    """uint8 values (H, W) coloured with a matplotlib colour map: uint8 (H, W, 3)."""
    from matplotlib import colormaps

    table = (colormaps[name](np.arange(256))[:, :3] * 255).round().astype(np.uint8)
    return table[np.asarray(values, dtype=np.uint8)]


def to_uint8(image: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Pixels to show: uint8 kept; values of a scale (``scale``: their maximum) mapped onto 0..255; anything else
    stretched from its minimum to its maximum. (H, W) gets a channel axis."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.dtype == np.uint8:
        return image
    image = image.astype("float64")
    if scale:
        return np.clip(image / scale * 255, 0, 255).round().astype(np.uint8)
    low, high = image.min(), image.max()
    span = high - low if high > low else 1.0
    return ((image - low) / span * 255).round().astype(np.uint8)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) from (H, W, 1) or (H, W, 3)."""
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]


def resized(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """A uint8 (H, W, C) picture bilinear-resized with Pillow."""
    from PIL import Image

    squeezed = image[..., 0] if image.shape[-1] == 1 else image
    out = np.asarray(Image.fromarray(squeezed).resize((width, height), Image.BILINEAR))
    return out[..., np.newaxis] if out.ndim == 2 else out


def save_png(path, image: np.ndarray) -> None:
    """uint8 (H, W), (H, W, 1) or (H, W, 3) as a PNG (one channel: grayscale)."""
    from PIL import Image

    image = np.asarray(image, dtype=np.uint8)
    Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image).save(path, format="PNG")
