"""One picture to optimise (DeepDream, §12.2) and optionally a style reference (neural style transfer, §12.3).

The splits hold the pictures as uint8 RGB, ``x_train[0]`` the picture and ``x_train[1]`` the style reference
resized to the picture's size (as the book's ``load_img(target_size=...)``); there are no labels.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits
from .cache import sha256_of


def _open(path: str | os.PathLike, setting: str):
    from PIL import Image, UnidentifiedImageError

    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{setting} '{file}' does not exist: give an image file (JPEG, PNG, ...).")
    try:
        return Image.open(file).convert("RGB"), file
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{setting} '{file}' is not a readable image ({err}).") from None


def _resized(image, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    height, width = size
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def target_size(width: int, height: int, image_height: int | None) -> tuple[int, int]:
    """(height, width): the original, or ``image_height`` with the width that keeps the aspect ratio (the book's
    ``round(width * image_height / height)``)."""
    if image_height is None:
        return height, width
    return int(image_height), max(1, round(width * int(image_height) / height))


def load_picture(image: str | os.PathLike | None = None, style_image: str | os.PathLike | None = None,
                 image_height: int | None = None, needs_style: bool = False, limit: int | None = None) -> DataSplits:
    """The picture (``task.image``) at its size or ``image_height``, and the style reference (``task.style_image``)
    at the same size; a run that needs a file without one stops, naming the setting."""
    if image in (None, ""):
        raise DataError("This run optimises a picture: give it with task.image=PATH (the book uses a photo of the "
                        "Northern California coast for DeepDream and one of San Francisco for style transfer).")
    if needs_style and style_image in (None, ""):
        raise DataError("Style transfer needs a style reference: give it with task.style_image=PATH (the book uses "
                        "Van Gogh's Starry Night).")
    picture, picture_file = _open(image, "task.image")
    size = target_size(*picture.size, image_height)
    pictures = [_resized(picture, size)]
    files = [{"path": str(picture_file), "sha256": sha256_of(picture_file), "role": "image",
              "original_size": [picture.size[1], picture.size[0]]}]
    if style_image not in (None, ""):
        style, style_file = _open(style_image, "task.style_image")
        pictures.append(_resized(style, size))
        files.append({"path": str(style_file), "sha256": sha256_of(style_file), "role": "style_image",
                      "original_size": [style.size[1], style.size[0]]})
    info = {"source": "real", "files": files, "image_size": list(size)}
    schema = {"kind": "image", "image_size": list(size), "color_mode": "rgb"}
    return DataSplits(np.stack(pictures), None, info=info, schema=schema)


def generated_picture(height: int = 224, width: int = 288, style: bool = False, seed: int = 0) -> DataSplits:
    """A smooth made-up picture (colour gradients, a few discs, some noise) of the given size, and a second one as
    the style reference when ``style``: what smoke runs optimise instead of the user's files."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype("float64")

    def one() -> np.ndarray:
        channels = []
        for _ in range(3):
            a, b, c = rng.uniform(-1, 1, 3)
            channels.append(a * rows / height + b * cols / width + c)
        picture = np.stack(channels, axis=-1)
        for _ in range(3):
            r0, c0, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.1, 0.3) * min(height, width)
            picture[(rows - r0) ** 2 + (cols - c0) ** 2 < radius ** 2] += rng.uniform(-1, 1, 3)
        picture += rng.normal(0, 0.05, picture.shape)
        picture = (picture - picture.min()) / max(float(np.ptp(picture)), 1e-9)
        return (picture * 255).astype(np.uint8)

    pictures = np.stack([one() for _ in range(2 if style else 1)])
    info = {"source": "synthetic", "kind": "generated picture", "seed": seed, "image_size": [height, width]}
    return DataSplits(pictures, None, info=info, schema={"kind": "image", "image_size": [height, width],
                                                         "color_mode": "rgb"})


def check_pictures(pictures: Sequence[np.ndarray] | np.ndarray, minimum: tuple[int, int], network: str,
                   why: str = "") -> None:
    """Refuse a picture smaller than ``minimum`` (height, width) for ``network``, naming both sizes."""
    height, width = np.shape(pictures)[1:3]
    if height < minimum[0] or width < minimum[1]:
        raise DataError(f"The picture is {height}x{width} pixels, too small for {network}: it needs at least "
                        f"{minimum[0]}x{minimum[1]}{why}. Give a larger image (or a larger task.image_height).")
