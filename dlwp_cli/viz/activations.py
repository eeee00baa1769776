"""``dlwp viz activations``: every channel of a layer's output for one image, in a grid (listings 9.6-9.11)."""

from __future__ import annotations

import re

import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.viz.layers import Found, find_layer, image_layers, layer_kinds, probe
from dlwp_cli.viz.output import Rendered
from dlwp_cli.viz.pictures import book_normalised, colour_map, grid
from dlwp_cli.viz.subject import Picture, Subject

CHANNELS_PER_ROW = 16   # listing 9.11


def choose_layers(model, name: str | None) -> list[Found]:
    """``--layer NAME``, else every convolution and pooling layer (the book's activation model, listing 9.8)."""
    if name:
        return [find_layer(model, name)]
    chosen = [f for f in image_layers(model) if f.is_conv or f.is_pool]
    if not chosen:
        raise ConfigError(f"The model has no convolution or pooling layers (its layers: {layer_kinds(model)}): "
                          "pick a layer with an image-shaped output with --layer NAME.")
    return chosen


def channel_grid(activation: np.ndarray) -> np.ndarray:
    """(H, W, C) activations as a viridis grid of C channels, 16 a row, 1 pixel apart, each normalised as the
    book does (blank when all zero): uint8 (rows*(H+1)-1, 16*(W+1)-1, 3)."""
    tiles = [book_normalised(activation[:, :, c]) for c in range(activation.shape[-1])]
    return colour_map(grid(tiles, CHANNELS_PER_ROW, gap=1), "viridis")


def file_name(layer: Found, layers: list[Found]) -> str:
    """``<layer name>.png``; the nested path (``body__conv2d``) where two chosen layers share a name."""
    shared = sum(other.name == layer.name for other in layers) > 1
    return re.sub(r"[^A-Za-z0-9_.-]", "_", layer.path.replace("/", "__") if shared else layer.name) + ".png"


def render(subject: Subject, picture: Picture, layers: list[Found]) -> Rendered:
    with probe(layers) as outputs:
        subject.model(picture.batch, training=False)
    missing = [layer.path for layer in layers if layer.path not in outputs]
    if missing:
        raise ConfigError(f"Layer(s) {', '.join(missing)} are not on the model's path from input to output: pick "
                          "another with --layer NAME.")
    rendered = Rendered()
    for layer in layers:
        activation = np.asarray(outputs[layer.path])[0]
        rendered.pictures[file_name(layer, layers)] = channel_grid(activation)
        blank = sum(not activation[..., c].any() for c in range(activation.shape[-1]))
        rendered.lines.append(f"{layer.path}: {activation.shape[-1]} channels of {activation.shape[0]}x"
                              f"{activation.shape[1]}, {blank} blank")
    return rendered
