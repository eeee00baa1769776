"""Neural style transfer (§12.3, listings 12.16-12.23): a picture changed by gradient descent until VGG19 sees the
content of the picture in it at a deep layer, and the textures of a style reference at five layers."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

IMAGENET_MEANS_BGR = (103.939, 116.779, 123.68)


def feature_extractor(base: keras.Model) -> keras.Model:
    """Every layer's output of the base, by name (listing 12.17)."""
    return keras.Model(base.inputs, {layer.name: layer.output for layer in base.layers})


def content_loss(base_img, combination_img):
    return tf.reduce_sum(tf.square(combination_img - base_img))


def gram_matrix(x):
    """Channels-first (C, H·W) features times their transpose."""
    features = tf.reshape(tf.transpose(x, (2, 0, 1)), (tf.shape(x)[-1], -1))
    return tf.matmul(features, tf.transpose(features))


def style_loss(style_img, combination_img, size: int, channels: int = 3):
    """``sum((S - C)**2) / (4 * channels**2 * size**2)`` with the book's hard-coded ``channels = 3`` (not the
    layer's channel count) and ``size`` = the picture's height × width."""
    difference = gram_matrix(style_img) - gram_matrix(combination_img)
    return tf.reduce_sum(tf.square(difference)) / (4.0 * (channels ** 2) * (size ** 2))


def total_variation_loss(x, height: int, width: int):
    """``sum((a + b) ** 1.25)`` over the squared differences to the pixel below (a) and to the right (b)."""
    a = tf.square(x[:, : height - 1, : width - 1, :] - x[:, 1:, : width - 1, :])
    b = tf.square(x[:, : height - 1, : width - 1, :] - x[:, : height - 1, 1:, :])
    return tf.reduce_sum(tf.pow(a + b, 1.25))


def loss_function(extractor: keras.Model, content_layer: str, style_layers: list[str], content_weight: float,
                  style_weight: float, total_variation_weight: float, height: int, width: int,
                  style_channels: int = 3) -> Callable:
    """``loss(combination, base, style)`` of listing 12.20: one forward pass of the three pictures as a batch."""
    size = height * width

    def compute(combination, base, style):
        features = extractor(tf.concat([base, style, combination], axis=0))
        layer = features[content_layer]
        loss = content_weight * content_loss(layer[0], layer[2])
        for name in style_layers:
            layer = features[name]
            loss += (style_weight / len(style_layers)) * style_loss(layer[1], layer[2], size, style_channels)
        return loss + total_variation_weight * total_variation_loss(combination, height, width)
    return compute


def descent_step(compute: Callable, optimizer) -> Callable:
    """``step(combination, base, style) -> loss``: the gradient of the loss applied to the picture variable."""
    @tf.function
    def step(combination, base, style):
        with tf.GradientTape() as tape:
            loss = compute(combination, base, style)
        optimizer.apply_gradients([(tape.gradient(loss, combination), combination)])
        return loss
    return step


def book_schedule(initial: float = 100.0, decay_steps: int = 100, decay_rate: float = 0.96):
    """The book's ``ExponentialDecay(100, 100, 0.96)``: 100 at the start, about 19.5 at step 4,000."""
    return keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=initial, decay_steps=decay_steps,
                                                       decay_rate=decay_rate)


def deprocess_vgg(image: np.ndarray) -> np.ndarray:
    """VGG19's BGR, mean-subtracted pixels back to uint8 RGB (listing 12.16)."""
    pixels = np.array(np.asarray(image).reshape(np.shape(image)[-3:]), dtype="float64")
    for channel, mean in enumerate(IMAGENET_MEANS_BGR):
        pixels[:, :, channel] += mean
    return np.clip(pixels[:, :, ::-1], 0, 255).astype("uint8")
