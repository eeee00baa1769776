"""The DCGAN of §12.5 (listings 12.34-12.36): discriminator, generator, and a model with two optimizers whose
``train_step`` trains each network on its own loss."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from dlwp_cli.training.runtime import apply_scaled_gradients
from dlwp_tasks.generative.images import tile
from dlwp_tasks.models.networks import NamedNetworks
from dlwp_tasks.models.vae_model import first_input


def dcgan_discriminator(input_shape=(64, 64, 3), filters=(64, 128, 128), dropout: float = 0.2) -> keras.Model:
    """Strided 4x4 convolutions with LeakyReLU(0.2), dropout, a sigmoid unit (listing 12.34: 404,801
    parameters at 64x64x3). Its output is the probability that the image is *fake* (the book's labels)."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for width in filters:
        x = layers.Conv2D(width, kernel_size=4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="discriminator")


def dcgan_generator(latent_dim: int = 128, output_shape=(64, 64, 3), start_filters: int = 128,
                    filters=(128, 256, 512)) -> keras.Model:
    """A Dense layer to an 8x8 map, strided 4x4 transposed convolutions with LeakyReLU(0.2) up to the image
    size, a 5x5 sigmoid convolution (listing 12.35: 3,979,651 parameters for 64x64x3 from 128 numbers)."""
    steps = len(filters)
    height, width = output_shape[0] // 2 ** steps, output_shape[1] // 2 ** steps
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(height * width * start_filters)(inputs)
    x = layers.Reshape((height, width, start_filters))(x)
    for width_ in filters:
        x = layers.Conv2DTranspose(width_, kernel_size=4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    outputs = layers.Conv2D(output_shape[-1], kernel_size=5, padding="same", activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="generator")


@keras.saving.register_keras_serializable(package="dlwp")
class GAN(NamedNetworks, keras.Model):
    """Listing 12.36. Each step: the discriminator learns fakes (label 1) from reals (label 0), with
    ``label_noise * uniform(0, 1)`` added to the labels; then the generator learns to make the discriminator
    say "real" (0) about fresh fakes, with gradients applied to the generator's weights only. Calling the
    model generates images from latent vectors."""

    network_names = ("discriminator", "generator")
    setting_names = ("latent_dim", "label_noise", "samples", "sample_seed")
    final_image = "samples.png"   # the last epoch's grid, copied to the run folder under this name
    optimizer_roles = ("d_optimizer", "g_optimizer")

    def __init__(self, discriminator: keras.Model, generator: keras.Model, latent_dim: int = 128,
                 label_noise: float = 0.05, samples: int = 16, sample_seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = int(latent_dim)
        self.label_noise = float(label_noise)
        self.samples = int(samples)
        self.sample_seed = int(sample_seed)
        self.noise = keras.random.SeedGenerator(sample_seed)
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")
        self.built = discriminator.built and generator.built

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(1e-4)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(1e-4)
        self.loss_fn = loss_fn or keras.losses.BinaryCrossentropy()

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def optimizer_variables(self) -> list[tuple]:
        """Each optimizer with the weights it updates (what an epoch backup builds before restoring them)."""
        return [(self.d_optimizer, self.discriminator.trainable_variables),
                (self.g_optimizer, self.generator.trainable_variables)]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, data):
        real_images = ops.cast(first_input(data), "float32")
        batch = ops.shape(real_images)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.noise)
        combined = ops.concatenate([ops.cast(self.generator(z), "float32"), real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        labels += self.label_noise * keras.random.uniform(ops.shape(labels), seed=self.noise)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined, training=True))
        apply_scaled_gradients(tape, d_loss, self.discriminator.trainable_weights, self.d_optimizer)

        z = keras.random.normal((batch, self.latent_dim), seed=self.noise)
        misleading = ops.zeros((batch, 1))
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z, training=True), training=True))
        apply_scaled_gradients(tape, g_loss, self.generator.trainable_weights, self.g_optimizer)

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}

    def test_step(self, data):
        """Both losses on a batch of real images and as many fakes, without updates or label noise."""
        real_images = ops.cast(first_input(data), "float32")
        batch = ops.shape(real_images)[0]
        fakes = ops.cast(self.generator(keras.random.normal((batch, self.latent_dim), seed=self.noise)), "float32")
        verdicts = self.discriminator(ops.concatenate([fakes, real_images], axis=0))
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        self.d_loss_metric.update_state(self.loss_fn(labels, verdicts))
        self.g_loss_metric.update_state(self.loss_fn(ops.zeros((batch, 1)), verdicts[:batch]))
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}

    def latent_points(self, count: int, seed: int | None) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal((count, self.latent_dim)).astype("float32")

    def generate_images(self, count: int, seed: int | None = None) -> np.ndarray:
        """``count`` images from ``z ~ N(0, I)``: floats in [0, 1], (count, H, W, C)."""
        return np.asarray(self.generator.predict(self.latent_points(count, seed), verbose=0, batch_size=64),
                          dtype="float32")

    def sample_grid(self) -> np.ndarray:
        """``samples`` images from the same latent vectors every epoch (drawn from ``sample_seed``), as a grid."""
        return tile(self.generate_images(self.samples, self.sample_seed))
