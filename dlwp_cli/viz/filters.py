"""``dlwp viz filters``: the input pattern each filter of a layer responds to most, grown by gradient ascent
from noise (listings 9.12-9.19), the first 64 filters in one grid."""

from __future__ import annotations

import re
from contextlib import contextmanager

import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.viz.layers import Found, find_layer, leaf_layers, layer_kinds, probe
from dlwp_cli.viz.output import Rendered
from dlwp_cli.viz.pictures import book_normalised, grid, square_columns
from dlwp_cli.viz.subject import Subject

MAX_FILTERS = 64
ITERATIONS = 30        # listing 9.17
LEARNING_RATE = 10.0   # listing 9.17, for the book's Xception, whose inputs span BOOK_SPAN from black to white
BOOK_SPAN = 2.0        # inputs from -1 to 1; a model taking raw 0..255 pixels gets a step 255 / 2 times larger
MARGIN = 5             # listing 9.19
BORDER = 2             # activations this close to the edge are left out of the loss (listing 9.15)
CHUNK = 16             # filters grown together, one image each


def choose_layer(model, name: str | None) -> Found:
    """``--layer NAME``, else the last convolution layer."""
    if name:
        return find_layer(model, name)
    convs = [f for f in leaf_layers(model) if f.is_conv and f.output_rank == 4]
    if not convs:
        raise ConfigError(f"The model has no convolution layers, so it has no filters to show (its layers: "
                          f"{layer_kinds(model)}). dlwp viz filters needs a convnet (Conv2D or SeparableConv2D "
                          "layers), e.g. a run with model=convnet.")
    return convs[-1]


def _extractor(model, layer: Found):
    """inputs -> the layer's output: a sub-model when the layer is in the model's own graph, else the whole
    model run with the layer probed."""
    import keras

    if any(found is layer.layer for found in model.layers):
        return keras.Model(model.inputs, layer.layer.output)

    def extract(images):
        with probe([layer]) as outputs:
            model(images, training=False)
        return outputs[layer.path]

    return extract


def grow_patterns(extract, start: np.ndarray, filters: np.ndarray, iterations: int = ITERATIONS,
                  learning_rate: float = LEARNING_RATE) -> np.ndarray:
    """Gradient ascent on each image of ``start`` to raise the mean activation of its own filter (listing 9.16:
    l2-normalised gradients, ``learning_rate`` steps); the grown images."""
    import tensorflow as tf

    @tf.function
    def step(images, mask):
        with tf.GradientTape() as tape:
            tape.watch(images)
            activation = tf.cast(extract(images), "float32")  # a mixed-precision model gives bfloat16 or float16
            if activation.shape[1] > 2 * BORDER and activation.shape[2] > 2 * BORDER:
                activation = activation[:, BORDER:-BORDER, BORDER:-BORDER, :]
            loss = tf.reduce_sum(tf.reduce_mean(activation * mask, axis=(1, 2)))
        grads = tf.math.l2_normalize(tape.gradient(loss, images), axis=(1, 2, 3))
        return images + learning_rate * grads

    images = tf.constant(start, dtype="float32")
    channels = int(extract(images[:1]).shape[-1])
    mask = tf.constant(np.eye(channels, dtype="float32")[filters][:, None, None, :])
    for _ in range(iterations):
        images = step(images, mask)
    return images.numpy()


@contextmanager
def before_activation(layer):
    """While inside, ``layer`` (a Conv2D(..., activation="relu")) outputs its values before the activation: the
    book's Xception layers have none of their own, and ascent on a ReLU output stalls where a filter is silent
    (zero gradient)."""
    import keras

    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        yield
        return
    layer.activation = keras.activations.linear
    try:
        yield
    finally:
        layer.activation = activation


def step_size(subject: Subject) -> float:
    """The book's gradient-ascent step, scaled to the model's input range (listing 9.17's 10 is for inputs from
    -1 to 1: too small to move raw 0..255 pixels past their start noise)."""
    return LEARNING_RATE * subject.input_span() / BOOK_SPAN


def deprocess(image: np.ndarray) -> np.ndarray:
    """Listing 9.18: normalised to the book's grey scale, with an eighth of each side cropped (25 of 200 px)."""
    pixels = book_normalised(image)
    crop_h, crop_w = image.shape[0] // 8, image.shape[1] // 8
    return pixels[crop_h:image.shape[0] - crop_h, crop_w:image.shape[1] - crop_w]


def render(subject: Subject, layer: Found, seed: int = 0) -> Rendered:
    channels = int(layer.layer.output.shape[-1])
    count = min(MAX_FILTERS, channels)
    extract = _extractor(subject.model, layer)
    rng = np.random.default_rng(seed)
    tiles = []
    with before_activation(layer.layer):
        for first in range(0, count, CHUNK):
            filters = np.arange(first, min(first + CHUNK, count))
            grown = grow_patterns(extract, subject.start_image(rng, len(filters)), filters,
                                  learning_rate=step_size(subject))
            tiles += [deprocess(image) for image in grown]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", layer.name)
    picture = grid(tiles, square_columns(count), gap=MARGIN)
    return Rendered(pictures={f"filters_for_layer_{name}.png": picture},
                    lines=[f"{layer.path}: the first {count} of {channels} filters, {ITERATIONS} steps of gradient "
                           "ascent each"])
