"""An optimizer of one's own: ``optimizer._target_: my_optimizers.ClippedSGD`` (see
conf/optimizer/clipped_sgd.yaml).

Any class that takes ``learning_rate`` plugs in; the YAML node's other keys are its arguments, checked
against its signature (and its parents') before training. The saved model.keras records the optimizer, so
the class is registered with Keras and ``get_config`` gives back ``clip``: the model loads again wherever
this module is imported first.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="my_optimizers")
class ClippedSGD(keras.optimizers.SGD):
    """SGD whose gradients are rescaled to a norm of at most ``clip`` (Keras's ``clipnorm``)."""

    def __init__(self, learning_rate=0.01, clip=1.0, **kwargs):
        super().__init__(learning_rate=learning_rate, clipnorm=clip, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["clip"] = config.pop("clipnorm")
        return config
