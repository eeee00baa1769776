"""Score a model's outputs with a run's own loss and metrics, whatever produced them (a Keras model, an
average of several, a SavedModel or a TFLite interpreter), so every number of an ensemble or an export is
computed the same way.

The loss is the task's loss alone: a run's own test loss also counts its weight penalties (L1/L2), which
outputs no longer carry.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig


class Scorer:
    """The task's loss and metrics of ``cfg`` (a run's config), on outputs and targets given as arrays."""

    def __init__(self, cfg: DictConfig, output_shape: tuple[int, ...]):
        import keras

        from dlwp_cli.training.modeling import compile_model

        inputs = keras.Input(shape=tuple(output_shape), name="outputs")
        self.model = keras.Model(inputs, keras.layers.Identity()(inputs), name="scorer")
        compile_model(self.model, cfg)   # the run's loss and metrics, as its own compile chose them
        self.model.jit_compile = False

    def __call__(self, outputs: np.ndarray, targets: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        scores = self.model.evaluate(np.asarray(outputs, dtype="float32"), targets, batch_size=batch_size, verbose=0,
                                     return_dict=True)
        return {name: float(value) for name, value in scores.items()}

    def loss(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        """The task's loss alone (no metrics), as evaluate computes it: fast enough to call in a search."""
        return float(self.model.compute_loss(x=None, y=targets, y_pred=np.asarray(outputs, dtype="float32")))


def samples(outputs: np.ndarray, targets: np.ndarray, head, count: int = 10) -> dict:
    """The first test examples' answers, as a run's metrics.json records them: true and predicted class with its
    probability (the positive class's for a sigmoid head), or true and predicted values."""
    from dlwp_cli.baselines import class_ids

    outputs, targets = np.asarray(outputs)[:count], np.asarray(targets)[:count]
    activation = (head or {}).get("activation")
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return {"true": class_ids(targets).tolist(), "predicted": outputs.argmax(axis=1).tolist(),
                "probability": outputs.max(axis=1).round(6).tolist()}
    values = outputs.reshape(len(outputs), -1)[:, 0]
    if activation == "sigmoid":
        return {"true": class_ids(targets).tolist(), "predicted": (values > 0.5).astype(int).tolist(),
                "probability": values.round(6).tolist()}
    return {"true": np.asarray(targets, dtype="float64").reshape(len(targets), -1)[:, 0].round(4).tolist(),
            "predicted": values.round(4).tolist()}
