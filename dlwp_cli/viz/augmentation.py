"""``dlwp viz augmentation``: one image through the run's own augmentation 9 times, in a 3x3 grid (listing 8.15)."""

from __future__ import annotations

import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.viz.output import Rendered
from dlwp_cli.viz.pictures import grid
from dlwp_cli.viz.subject import Picture, Subject

COPIES = 9
GAP = 2
FILE = "augmented_3x3.png"


def augmentation_layers(spec: dict | None) -> list:
    """The Keras layers of the run's ``augmentation`` config ([] for none)."""
    from dlwp_tasks.models.augmentation import augmentation_layers as layers_of

    try:
        return layers_of(spec)
    except ValueError as err:
        raise ConfigError(f"The run's augmentation config is not valid: {err}.") from None


def check_augmentation(subject: Subject) -> list:
    """The run's augmentation layers; ConfigError when it trained without any."""
    layers = augmentation_layers(subject.augmentation)
    if not layers:
        raise ConfigError(f"'{subject.name}' was trained without augmentation (augmentation=none: no flips, "
                          "rotations or zooms), so there is nothing to show. Give the folder of a run "
                          "trained with augmentation=book (random flips, rotations and zooms), or your own "
                          "augmentation.flip/rotation/zoom settings.")
    return layers


def render(layers: list, picture: Picture, seed: int | None = None) -> Rendered:
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    augment = keras.Sequential(layers)
    image = picture.pixels[np.newaxis].astype("float32")   # in 0..255, as the contrast layer expects
    copies = [np.clip(np.asarray(augment(image, training=True))[0], 0, 255).round().astype(np.uint8)
              for _ in range(COPIES)]
    names = ", ".join(type(layer).__name__ for layer in layers)
    return Rendered(pictures={FILE: grid(copies, 3, gap=GAP, fill=255)},
                    lines=[f"{picture.source} through {names}, {COPIES} times"])
