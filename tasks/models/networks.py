"""A Keras model made of named networks (a VAE's encoder and decoder, a GAN's discriminator and generator)."""

from __future__ import annotations

import keras


class NamedNetworks:
    """Mixin for a ``keras.Model`` whose constructor takes its networks first (named in ``network_names``) and
    then plain settings (``setting_names``): ``parts()``, and a config that saves and reloads them. It is compiled
    by its trainer, so its compile settings are not saved."""

    network_names: tuple[str, ...] = ()
    setting_names: tuple[str, ...] = ()

    def parts(self) -> dict[str, keras.Model]:
        """The named networks (``parameters_by_model``)."""
        return {name: getattr(self, name) for name in self.network_names}

    def get_config(self):
        config = {"name": self.name, **{name: getattr(self, name) for name in self.setting_names}}
        config.update({name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.network_names})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        networks = [keras.saving.deserialize_keras_object(config.pop(name)) for name in cls.network_names]
        return cls(*networks, **config)

    def get_compile_config(self):
        return None
