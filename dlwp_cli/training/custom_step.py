"""Option ``trainer.custom_train_step``: ``fit`` runs the book's own ``train_step`` (listing 7.26, variant B).

Keras 3 has no ``compiled_loss``/``compiled_metrics``: the step calls ``compute_loss`` and updates
``self.metrics`` instead.
"""

from __future__ import annotations

import keras
import tensorflow as tf



@keras.saving.register_keras_serializable(package="dlwp")
class CustomTrainStep(keras.Model):
    """Any Keras model, wrapped so that ``fit`` calls this ``train_step``; callbacks, validation
    (Keras's ``test_step``) and distribution work as with the plain model."""

    def __init__(self, model: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.inner = model
        # All weights live in the (built) inner model, so the wrapper is complete as it stands;
        # callbacks such as BackupAndRestore require a built model.
        self.built = model.built

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            predictions = self(inputs, training=True)
            loss = self.compute_loss(x=inputs, y=targets, y_pred=predictions)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        logs = {}
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(targets, predictions)
            result = metric.result()
            # Keras 3 groups the compiled metrics in one metric whose result is a dict of them.
            logs.update(result if isinstance(result, dict) else {metric.name: result})
        return logs

    def get_config(self):
        return {"name": self.name, "model": keras.saving.serialize_keras_object(self.inner)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("model")), **config)


def with_custom_train_step(model: keras.Model) -> CustomTrainStep:
    """``model`` wrapped in :class:`CustomTrainStep` (``trainer=fit`` with ``trainer.custom_train_step=true``)."""
    return CustomTrainStep(model, name=model.name)
