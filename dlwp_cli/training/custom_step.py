"""Option ``trainer.custom_train_step``: ``fit`` runs the book's own ``train_step`` (listing 7.26, variant B).

Keras 3 has no ``compiled_loss``/``compiled_metrics``: the step calls ``compute_loss`` and updates
``self.metrics`` instead. Under ``precision=mixed_float16`` the gradients are those of the loss times the
optimizer's dynamic loss scale (``apply_scaled_gradients``), as in Keras's own ``train_step``.

Under several replicas (``MirroredStrategy``) the step does what Keras's ``train_step`` does: ``compute_loss``
gives each replica the mean loss of its own share of the batch divided by the replica count, and the
optimizer sums the replicas' gradients. The update is thus the mean of the replicas' means, which equals
the global-batch mean only when the replicas' shares are equal: for a last batch of 3 rows split 2+1 the
two rows weigh 1/4 each and the single row 1/2, where one device weighs each 1/3 (digits' 1,347 training
rows in batches of 32 end that way; ``tests/test_numerics.py`` measures the effect). The logged ``loss`` is,
as in ``fit``, the per-example mean over the replicas' rows.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dlwp_cli.training.runtime import apply_scaled_gradients


@keras.saving.register_keras_serializable(package="dlwp")
class CustomTrainStep(keras.Model):
    """Any Keras model, wrapped so that ``fit`` calls this ``train_step``; callbacks, validation
    (Keras's ``test_step``) and distribution work as with the plain model."""

    def __init__(self, model: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.inner = model
        # All weights live in the (built) inner model, so the wrapper is complete as it stands;
        # callbacks such as the epoch backup require a built model.
        self.built = model.built

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            predictions = self(inputs, training=True)
            loss = self.compute_loss(x=inputs, y=targets, y_pred=predictions)
        apply_scaled_gradients(tape, loss, self.trainable_weights, self.optimizer)
        logs = {}
        for metric in self.metrics:
            if metric.name == "loss":
                # The replica's own mean loss (compute_loss divided it by the replica count), weighted by
                # its rows, as Keras's train_step tracks it: the epoch's loss is the per-example mean.
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                rows = tf.shape(tf.nest.flatten(inputs)[0])[0]
                metric.update_state(loss * tf.cast(replicas, loss.dtype), sample_weight=rows)
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
