"""Model bodies of the generative runs (chapter 12): settings as dataclasses, Keras models built on demand.

A generative body's ``build(input_shape, head)`` returns a Keras model with its own ``train_step`` (the head is
unused: these models learn without labels), ``parts()`` (the named networks), ``optimizer_roles`` (the
``compile`` arguments that take an optimizer), ``sample_grid()`` (one image of samples, written every epoch)
and ``generate_images(count, seed)`` (what ``dlwp generate --samples`` decodes). They train with
``trainer=generative``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from dlwp_tasks.models.head import Head


def _image_shape(input_shape) -> tuple[int, int, int]:
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise ValueError(f"a generative image model takes (height, width, channels) images, got shape {shape}")
    return shape


def _check_divisible(shape, steps: int, what: str) -> None:
    factor = 2 ** steps
    if shape[0] % factor or shape[1] % factor or shape[0] < factor or shape[1] < factor:
        raise ValueError(f"{what} halves the image {steps} times, so height and width must be multiples of "
                         f"{factor}; got {shape[0]}x{shape[1]} (set task.image_size)")


@dataclass
class VaeBody:
    """The book's MNIST VAE (§12.4.4): a ``latent_dim``-D latent space, strided convolutions of ``filters``,
    a ``dense_units`` bottleneck; ``grid_size`` x ``grid_size`` decoded points over
    ``[-grid_range, grid_range]`` in the latent-grid image."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)
    generates: ClassVar[str] = "images"   # what dlwp generate makes from a finished run

    latent_dim: int = 2
    filters: list[int] = field(default_factory=lambda: [32, 64])
    dense_units: int = 16
    grid_size: int = 30
    grid_range: float = 1.0

    def __post_init__(self):
        if self.latent_dim < 1 or self.dense_units < 1 or self.grid_size < 1 or not self.filters:
            raise ValueError("latent_dim, dense_units and grid_size must be at least 1, and filters not empty")

    def build(self, input_shape, head: Optional[Head] = None):
        from dlwp_tasks.models.vae_model import VAE, vae_decoder, vae_encoder

        shape = _image_shape(input_shape)
        _check_divisible(shape, len(self.filters), "The VAE")
        encoder = vae_encoder(shape, self.latent_dim, tuple(self.filters), self.dense_units)
        decoder = vae_decoder(shape, self.latent_dim, tuple(self.filters))
        return VAE(encoder, decoder, grid_size=self.grid_size, grid_range=self.grid_range, name="vae")


@dataclass
class DcganBody:
    """The book's DCGAN (§12.5): a discriminator of strided ``discriminator_filters`` convolutions and
    ``dropout``, a generator from ``latent_dim`` numbers through ``generator_filters`` transposed convolutions.
    ``samples`` images from fixed latent vectors make each epoch's grid. The two optimizers are
    ``d_optimizer`` and ``g_optimizer`` (optimizer nodes, like the optimizer group's)."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)
    generates: ClassVar[str] = "images"   # what dlwp generate makes from a finished run

    latent_dim: int = 128
    discriminator_filters: list[int] = field(default_factory=lambda: [64, 128, 128])
    generator_start_filters: int = 128
    generator_filters: list[int] = field(default_factory=lambda: [128, 256, 512])
    dropout: float = 0.2
    label_noise: float = 0.05
    samples: int = 16
    d_optimizer: dict = field(default_factory=lambda: {"_target_": "keras.optimizers.Adam", "learning_rate": 1e-4})
    g_optimizer: dict = field(default_factory=lambda: {"_target_": "keras.optimizers.Adam", "learning_rate": 1e-4})
    collapse: dict = field(default_factory=lambda: {"d_loss_below": 0.05, "g_loss_above": 5.0, "epochs": 3})

    def __post_init__(self):
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.latent_dim < 1 or self.samples < 1:
            raise ValueError("latent_dim and samples must be at least 1")
        for name in ("d_optimizer", "g_optimizer"):
            if "_target_" not in (getattr(self, name) or {}):
                raise ValueError(f"{name} must name an optimizer class with _target_, e.g. "
                                 "{_target_: keras.optimizers.Adam, learning_rate: 1e-4}")

    def build(self, input_shape, head: Optional[Head] = None):
        from dlwp_tasks.models.gan_model import GAN, dcgan_discriminator, dcgan_generator

        shape = _image_shape(input_shape)
        _check_divisible(shape, len(self.generator_filters), "The generator")
        discriminator = dcgan_discriminator(shape, tuple(self.discriminator_filters), self.dropout)
        generator = dcgan_generator(self.latent_dim, shape, self.generator_start_filters,
                                    tuple(self.generator_filters))
        return GAN(discriminator, generator, latent_dim=self.latent_dim, label_noise=self.label_noise,
                   samples=self.samples, name="gan")
