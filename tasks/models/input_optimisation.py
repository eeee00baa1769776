"""Model bodies of the input-optimisation runs (§12.2-12.3): a pretrained convnet whose weights stay fixed while
the picture changes. Settings as dataclasses; the Keras networks built on demand (trainer=deepdream,
trainer=style_transfer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Optional

from dlwp_tasks.models.backbones import BACKBONES, IMAGENET, imagenet_weights

# How each backbone's preprocess_input maps pixels ("tf": to [-1, 1]; "caffe": BGR minus the ImageNet means), so
# the optimised picture can be turned back into pixels, and the smallest side its base accepts.
PIXEL_MODES = {"inception_v3": ("tf", 75), "inception_resnet_v2": ("tf", 75), "xception": ("tf", 71),
               "mobilenet": ("tf", 32), "mobilenet_v2": ("tf", 32), "vgg16": ("caffe", 32), "vgg19": ("caffe", 32),
               "resnet50": ("caffe", 32), "resnet101": ("caffe", 32), "resnet152": ("caffe", 32)}


@dataclass
class PretrainedBase:
    """A ``keras.applications`` base without its top, at any picture size; ``weights``: ``imagenet`` (Keras's
    cache, downloaded when ``download`` allows), null (random) or a weights file."""

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)

    backbone: str = "inception_v3"
    weights: Optional[str] = IMAGENET
    download: bool = True

    def __post_init__(self):
        if self.backbone not in PIXEL_MODES:
            raise ValueError(f"backbone '{self.backbone}' cannot be used here; choose one of: {', '.join(PIXEL_MODES)}")
        if self.weights not in (None, IMAGENET) and not Path(self.weights).expanduser().is_file():
            raise ValueError(f"weights must be imagenet, null (random weights) or a weights file; "
                             f"'{self.weights}' is no file")

    @property
    def pixel_mode(self) -> str:
        return PIXEL_MODES[self.backbone][0]

    @property
    def minimum_side(self) -> int:
        return PIXEL_MODES[self.backbone][1]

    def base(self):
        import keras

        constructor = getattr(keras.applications, BACKBONES[self.backbone][1])
        weights = str(Path(self.weights).expanduser()) if self.weights not in (None, IMAGENET) else self.weights
        with imagenet_weights(self.backbone, self.download):
            return constructor(include_top=False, weights=weights)

    def build(self, input_shape=None, head=None):
        """The fixed network the picture is optimised against (the head is unused)."""
        return self.base()

    def preprocess(self, pixels):
        """uint8/float RGB pixels (N, H, W, 3) as the base takes them."""
        import importlib

        import numpy as np

        module = importlib.import_module(f"keras.applications.{BACKBONES[self.backbone][0]}")
        return module.preprocess_input(np.array(pixels, dtype="float32"))

    def deprocess(self, image):
        """The base's pixels back to uint8 RGB (H, W, 3)."""
        from dlwp_tasks.generative.deepdream import deprocess_inception
        from dlwp_tasks.generative.style_transfer import deprocess_vgg

        return deprocess_inception(image) if self.pixel_mode == "tf" else deprocess_vgg(image)


@dataclass
class DreamNet(PretrainedBase):
    """DeepDream's network (§12.2.1): the base, and the layers whose activations the picture is made to excite,
    with their weights in the loss (the book's InceptionV3 mixed4-mixed7: 1, 1.5, 2, 2.5)."""

    layers: dict = field(default_factory=lambda: {"mixed4": 1.0, "mixed5": 1.5, "mixed6": 2.0, "mixed7": 2.5})

    def __post_init__(self):
        super().__post_init__()
        if not self.layers:
            raise ValueError("layers must name at least one layer of the base, with its weight in the loss")


@dataclass
class StyleNet(PretrainedBase):
    """Style transfer's network (§12.3.3): content read at ``content_layer``, style (Gram matrices) at
    ``style_layers``; the loss weights; ``style_channels``: the channel count in the style loss's denominator (the
    book's code hard-codes 3, not the layer's count)."""

    backbone: str = "vgg19"
    content_layer: str = "block5_conv2"
    style_layers: list[str] = field(default_factory=lambda: [f"block{i}_conv1" for i in range(1, 6)])
    content_weight: float = 2.5e-8
    style_weight: float = 1e-6
    total_variation_weight: float = 1e-6
    style_channels: int = 3

    def __post_init__(self):
        super().__post_init__()
        if not self.style_layers:
            raise ValueError("style_layers must name at least one layer")
