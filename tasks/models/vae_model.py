"""The variational autoencoder of §12.4 (listings 12.24-12.27): encoder, sampler, decoder, and a ``train_step``
that logs the reconstruction and KL losses apart."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from dlwp_cli.training.runtime import apply_scaled_gradients
from dlwp_tasks.generative.images import tile
from dlwp_tasks.models.networks import NamedNetworks


def vae_encoder(input_shape=(28, 28, 1), latent_dim: int = 2, filters=(32, 64), dense_units: int = 16) -> keras.Model:
    """Strided convolutions, then ``z_mean`` and ``z_log_var`` (listing 12.24: 69,076 parameters for MNIST)."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for width in filters:
        x = layers.Conv2D(width, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense_units, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean", dtype="float32")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var", dtype="float32")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def vae_decoder(output_shape=(28, 28, 1), latent_dim: int = 2, filters=(32, 64)) -> keras.Model:
    """A Dense layer to the encoder's last feature map, transposed convolutions back up, a sigmoid image
    (listing 12.26: 65,089 parameters for MNIST)."""
    steps = len(filters)
    height, width = output_shape[0] // 2 ** steps, output_shape[1] // 2 ** steps
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(height * width * filters[-1], activation="relu")(inputs)
    x = layers.Reshape((height, width, filters[-1]))(x)
    for width_ in reversed(filters):
        x = layers.Conv2DTranspose(width_, 3, activation="relu", strides=2, padding="same")(x)
    outputs = layers.Conv2D(output_shape[-1], 3, activation="sigmoid", padding="same", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="decoder")


@keras.saving.register_keras_serializable(package="dlwp")
class Sampler(layers.Layer):
    """``z = z_mean + exp(0.5 * z_log_var) * epsilon`` with ``epsilon ~ N(0, I)`` (listing 12.25)."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, z_mean, z_log_var):
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def first_input(data):
    """The images of a batch that may come as ``(images, labels)``: the labels are unused."""
    return data[0] if isinstance(data, (tuple, list)) else data


@keras.saving.register_keras_serializable(package="dlwp")
class VAE(NamedNetworks, keras.Model):
    """Listing 12.27: the loss is the summed per-pixel binary cross-entropy (mean over the batch) plus the KL
    term averaged over the batch and the latent dimensions, as in the book. The step uses ``self.decoder``
    (the book's listing calls a global ``decoder``). Calling the model reconstructs its inputs."""

    network_names = ("encoder", "decoder")
    setting_names = ("grid_size", "grid_range")
    final_image = "latent_grid.png"   # the last epoch's grid, copied to the run folder under this name
    optimizer_roles = ("optimizer",)

    def __init__(self, encoder: keras.Model, decoder: keras.Model, grid_size: int = 30, grid_range: float = 1.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.sampler = Sampler(name="sampler")
        self.grid_size = int(grid_size)
        self.grid_range = float(grid_range)
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = encoder.built and decoder.built

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[0].shape[-1])

    def call(self, inputs, training=False):
        z_mean, z_log_var = self.encoder(inputs, training=training)
        return self.decoder(self.sampler(z_mean, z_log_var), training=training)

    def losses_of(self, images, training: bool):
        """(total, reconstruction, KL) losses of a batch."""
        images = ops.cast(images, "float32")
        z_mean, z_log_var = self.encoder(images, training=training)
        reconstruction = self.decoder(self.sampler(z_mean, z_log_var), training=training)
        reconstruction_loss = ops.mean(ops.sum(
            keras.losses.binary_crossentropy(images, ops.cast(reconstruction, "float32")), axis=(1, 2)))
        kl_loss = ops.mean(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)))
        return reconstruction_loss + kl_loss, reconstruction_loss, kl_loss

    def _update(self, total, reconstruction, kl) -> dict:
        for tracker, value in zip(self.metrics, (total, reconstruction, kl)):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.metrics}

    def train_step(self, data):
        with tf.GradientTape() as tape:
            total, reconstruction, kl = self.losses_of(first_input(data), training=True)
        apply_scaled_gradients(tape, total, self.trainable_weights, self.optimizer)
        return self._update(total, reconstruction, kl)

    def test_step(self, data):
        return self._update(*self.losses_of(first_input(data), training=False))

    def generate_images(self, count: int, seed: int | None = None) -> np.ndarray:
        """``count`` decoded points ``z ~ N(0, I)``: float images in [0, 1], (count, H, W, C)."""
        z = np.random.default_rng(seed).standard_normal((count, self.latent_dim)).astype("float32")
        return np.asarray(self.decoder.predict(z, verbose=0, batch_size=256), dtype="float32")

    def sample_grid(self) -> np.ndarray:
        """The book's latent-space grid (listing 12.29, fig. 12.18): ``grid_size`` x ``grid_size`` decoded points
        over ``linspace(-grid_range, grid_range)`` in the first two latent dimensions (the y axis reversed),
        tiled into one image of ``grid_size * H`` x ``grid_size * W``."""
        n = self.grid_size
        axis = np.linspace(-self.grid_range, self.grid_range, n)
        z = np.zeros((n * n, self.latent_dim), dtype="float32")
        for i, y in enumerate(axis[::-1]):
            for j, x in enumerate(axis):
                z[i * n + j, :2] = (x, y)[: min(2, self.latent_dim)]
        images = np.asarray(self.decoder.predict(z, verbose=0, batch_size=256), dtype="float32")
        return tile(images, columns=n)
