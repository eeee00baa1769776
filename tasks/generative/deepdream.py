"""DeepDream (§12.2, listings 12.9-12.15): gradient ascent on a picture to excite chosen layers of a pretrained
convnet, octave by octave, with the detail lost in each resize injected back."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

# Where a layer's activations are read: its border pixels are cut to avoid edge artefacts.
BORDER = 2


def feature_extractor(base: keras.Model, layer_settings: dict[str, float]) -> keras.Model:
    """The base's outputs at the layers of ``layer_settings``, by name (listing 12.11)."""
    missing = [name for name in layer_settings if name not in {layer.name for layer in base.layers}]
    if missing:
        raise ValueError(f"{base.name} has no layer {', '.join(missing)}")
    return keras.Model(base.inputs, {name: base.get_layer(name).output for name in layer_settings})


def dream_loss(features: dict, layer_settings: dict[str, float]):
    """Σ coefficient × mean of the squared activations, border pixels excluded (listing 12.12)."""
    loss = tf.zeros(shape=())
    for name, coefficient in layer_settings.items():
        activation = tf.cast(features[name], "float32")
        inner = activation[:, BORDER:-BORDER, BORDER:-BORDER, :]
        loss += coefficient * tf.reduce_mean(tf.square(inner))
    return loss


def ascent_step(extractor: keras.Model, layer_settings: dict[str, float]) -> Callable:
    """``step(image, learning_rate) -> (loss, image)``: one step along the L2-normalised gradient (listing 12.13)."""
    @tf.function(reduce_retracing=True)
    def step(image, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = dream_loss(extractor(image), layer_settings)
        grads = tf.math.l2_normalize(tape.gradient(loss, image))
        return loss, image + learning_rate * grads
    return step


def octave_shapes(shape: tuple[int, int], num_octave: int, octave_scale: float) -> list[tuple[int, int]]:
    """The octaves' (height, width), smallest first: ``shape / octave_scale**i`` for i = num_octave - 1 .. 0."""
    return [tuple(int(d / octave_scale ** i) for d in shape) for i in reversed(range(num_octave))]


def smallest_side(extractor: keras.Model, network_minimum: int, largest: int = 4096) -> int:
    """The smallest square input side (at least ``network_minimum``) at which every extracted layer keeps pixels
    inside its cropped border, found from the layers' output shapes (nothing is computed)."""
    def fits(side: int) -> bool:
        specs = extractor.compute_output_spec(keras.KerasTensor((1, side, side, 3)))
        return all(spec.shape[1] > 2 * BORDER and spec.shape[2] > 2 * BORDER for spec in specs.values())

    low, high = network_minimum, largest
    if not fits(high):
        return high
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def minimum_size(smallest: int, num_octave: int, octave_scale: float) -> int:
    """The smallest picture side whose smallest octave still has ``smallest`` pixels."""
    return math.ceil(smallest * octave_scale ** (num_octave - 1))


def dream(image: np.ndarray, extractor: keras.Model, layer_settings: dict[str, float], step: float = 20.0,
          num_octave: int = 3, octave_scale: float = 1.4, iterations: int = 30, max_loss: float | None = 15.0,
          on_step: Callable[[int, int, float, tf.Tensor], None] | None = None) -> tuple[np.ndarray, list[dict]]:
    """The octave loop (listing 12.15) on a preprocessed (1, H, W, 3) float image: per octave, resize, ascend
    ``iterations`` steps (stopping once the loss exceeds ``max_loss``), re-inject the lost detail. Returns the
    image and, per octave, its shape and the loss of every step. ``on_step(octave, iteration, loss, image)`` is
    called after each step."""
    original = tf.constant(image, dtype="float32")
    shapes = octave_shapes(tuple(image.shape[1:3]), num_octave, octave_scale)
    shrunk_original = tf.image.resize(original, shapes[0])
    img = tf.identity(original)
    ascend = ascent_step(extractor, layer_settings)
    octaves = []
    for index, shape in enumerate(shapes):
        img = tf.image.resize(img, shape)
        losses, stopped = [], False
        for iteration in range(iterations):
            loss, img = ascend(img, tf.constant(step, dtype="float32"))
            losses.append(float(loss))
            if on_step is not None:
                on_step(index, iteration, float(loss), img)
            if max_loss is not None and float(loss) > max_loss:
                stopped = True
                break
        upscaled_shrunk = tf.image.resize(shrunk_original, shape)
        same_size_original = tf.image.resize(original, shape)
        img += same_size_original - upscaled_shrunk   # the detail lost when shrinking
        shrunk_original = tf.image.resize(original, shape)
        octaves.append({"octave": index + 1, "shape": list(shape), "losses": losses, "stopped_at_max_loss": stopped})
    return img.numpy(), octaves


def deprocess_inception(image: np.ndarray) -> np.ndarray:
    """InceptionV3's [-1, 1] pixels back to uint8 RGB (listing 12.14)."""
    pixels = np.asarray(image).reshape(np.shape(image)[-3:])
    return np.clip((pixels / 2.0 + 0.5) * 255.0, 0, 255).astype("uint8")
