"""The Keras layer that applies a pretrained backbone's own ``preprocess_input`` inside the model.

Registered under the ``dlwp`` package, so a saved ``model.keras`` holding it loads back with
``keras.models.load_model`` once this module is imported.
"""

from __future__ import annotations

from typing import Any

import keras

from dlwp_tasks.models.backbones import BACKBONES


@keras.saving.register_keras_serializable(package="dlwp")
class BackbonePreprocess(keras.layers.Layer):
    """Raw pixels (0..255, RGB) -> what ``backbone`` was trained on: ``keras.applications.<module>.preprocess_input``
    (VGG16: RGB to BGR and the ImageNet channel means subtracted; MobileNetV2: scaled to [-1, 1]; EfficientNet:
    unchanged, its model rescales itself)."""

    def __init__(self, backbone: str, **kwargs: Any) -> None:
        kwargs.setdefault("name", f"{backbone}_preprocess")
        super().__init__(**kwargs)
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone '{backbone}'")
        self.backbone = backbone
        self._preprocess = getattr(keras.applications, BACKBONES[backbone][0]).preprocess_input

    def call(self, inputs):
        return self._preprocess(keras.ops.cast(inputs, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "backbone": self.backbone}
