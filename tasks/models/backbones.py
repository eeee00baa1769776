"""Pretrained convolutional bases from ``keras.applications`` with the book's classifier on top (§8.3).

The model takes raw pixels (0..255): ``Input -> BackbonePreprocess (the backbone's own preprocess_input) ->
conv_base (include_top=False) -> Flatten (or global average pooling) -> Dense(256) -> Dropout(0.5) -> head``.
This module imports no Keras, so configs naming :class:`BackboneNet` are checked without TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Optional

from dlwp_tasks.errors import DataError
from dlwp_tasks.models.head import Head

# Backbone name -> (keras.applications module holding its preprocess_input, constructor in keras.applications).
BACKBONES: dict[str, tuple[str, str]] = {
    "vgg16": ("vgg16", "VGG16"),
    "vgg19": ("vgg19", "VGG19"),
    "xception": ("xception", "Xception"),
    "inception_v3": ("inception_v3", "InceptionV3"),
    "inception_resnet_v2": ("inception_resnet_v2", "InceptionResNetV2"),
    "resnet50": ("resnet", "ResNet50"),
    "resnet101": ("resnet", "ResNet101"),
    "resnet152": ("resnet", "ResNet152"),
    "resnet50_v2": ("resnet_v2", "ResNet50V2"),
    "resnet101_v2": ("resnet_v2", "ResNet101V2"),
    "resnet152_v2": ("resnet_v2", "ResNet152V2"),
    "mobilenet": ("mobilenet", "MobileNet"),
    "mobilenet_v2": ("mobilenet_v2", "MobileNetV2"),
    "mobilenet_v3_small": ("mobilenet_v3", "MobileNetV3Small"),
    "mobilenet_v3_large": ("mobilenet_v3", "MobileNetV3Large"),
    "densenet121": ("densenet", "DenseNet121"),
    "densenet169": ("densenet", "DenseNet169"),
    "densenet201": ("densenet", "DenseNet201"),
    "nasnet_mobile": ("nasnet", "NASNetMobile"),
    "nasnet_large": ("nasnet", "NASNetLarge"),
    **{f"efficientnet_b{i}": ("efficientnet", f"EfficientNetB{i}") for i in range(8)},
    **{f"efficientnet_v2_b{i}": ("efficientnet_v2", f"EfficientNetV2B{i}") for i in range(4)},
    **{f"efficientnet_v2_{s}": ("efficientnet_v2", f"EfficientNetV2{s.upper()}") for s in "sml"},
    "convnext_tiny": ("convnext", "ConvNeXtTiny"),
    "convnext_small": ("convnext", "ConvNeXtSmall"),
    "convnext_base": ("convnext", "ConvNeXtBase"),
    "convnext_large": ("convnext", "ConvNeXtLarge"),
    "convnext_xlarge": ("convnext", "ConvNeXtXLarge"),
}

BASE_NAME = "conv_base"      # the pretrained base inside the model, as the book names it
IMAGENET = "imagenet"


@dataclass
class BackboneNet:
    """A ``keras.applications`` base (``backbone``, without its top) and the book's classifier.

    ``weights``: ``imagenet`` (Keras's cache, downloaded when ``download`` allows), null (random) or a weights
    file. ``trainable: false`` freezes the base before compiling, so only the classifier trains.
    ``head_units`` are the Dense layers before the head (the book's ``Dense(256)`` is linear:
    ``head_activation: null``), each followed by ``Dropout(dropout)``; ``flatten: false`` pools globally instead.
    """

    input_kinds: ClassVar[tuple[str, ...]] = ("image",)
    takes_raw_pixels: ClassVar[bool] = True   # preprocess_input is the model's first layer

    backbone: str = "vgg16"
    weights: Optional[str] = IMAGENET
    trainable: bool = False
    head_units: list[int] = field(default_factory=lambda: [256])
    head_activation: Optional[str] = None
    dropout: float = 0.5
    flatten: bool = True
    download: bool = True

    def __post_init__(self):
        if self.backbone not in BACKBONES:
            import difflib

            close = difflib.get_close_matches(self.backbone, list(BACKBONES), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"backbone '{self.backbone}' is not a keras.applications model.{hint} "
                             f"Choose one of: {', '.join(BACKBONES)}")
        if self.weights not in (None, IMAGENET) and not Path(self.weights).expanduser().is_file():
            raise ValueError(f"weights must be imagenet, null (random weights) or a weights file; "
                             f"'{self.weights}' is no file")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if any(units < 1 for units in self.head_units):
            raise ValueError(f"head_units must be positive, got {self.head_units}")

    # -- the parts ---------------------------------------------------------------------------------------
    def base(self, input_shape: tuple[int, ...]):
        """The pretrained base (``include_top=False``) named ``conv_base``, frozen unless ``trainable``."""
        import keras

        if len(input_shape) != 3 or input_shape[-1] != 3:
            raise ValueError(f"{self.backbone} takes RGB images (height, width, 3), got {tuple(input_shape)}: "
                             "use task.color_mode=rgb")
        constructor = getattr(keras.applications, BACKBONES[self.backbone][1])
        weights = str(Path(self.weights).expanduser()) if self.weights not in (None, IMAGENET) else self.weights
        with imagenet_weights(self.backbone, self.download):
            base = constructor(include_top=False, weights=weights, input_shape=tuple(input_shape), name=BASE_NAME)
        base.trainable = self.trainable
        return base

    def classifier(self, feature_shape: tuple[int, ...], head: Head):
        """``Input(feature_shape) -> Flatten/pooling -> Dense(head_units)... with Dropout -> head``: the part
        trained on the base's features."""
        import keras

        inputs = keras.Input(shape=tuple(feature_shape), name="features")
        x = keras.layers.Flatten()(inputs) if self.flatten else keras.layers.GlobalAveragePooling2D()(inputs)
        for units in self.head_units:
            x = keras.layers.Dense(units, activation=self.head_activation)(x)
            if self.dropout:
                x = keras.layers.Dropout(self.dropout)(x)
        return keras.Model(inputs, head.layer()(x), name="classifier")

    def extractor(self, input_shape: tuple[int, ...], base):
        """Raw pixels -> the base's features: ``Input -> BackbonePreprocess -> base``."""
        import keras

        from dlwp_tasks.models.backbone_layers import BackbonePreprocess

        inputs = keras.Input(shape=tuple(input_shape), name="image")
        return keras.Model(inputs, base(BackbonePreprocess(self.backbone)(inputs)), name=f"{self.backbone}_features")

    def assemble(self, input_shape: tuple[int, ...], base, classifier):
        """One flat model on raw pixels: preprocess, ``base``, then the layers of ``classifier`` (their weights
        shared, so a classifier trained on cached features serves the full model as it is)."""
        import keras

        from dlwp_tasks.models.backbone_layers import BackbonePreprocess

        inputs = keras.Input(shape=tuple(input_shape), name="image")
        x = base(BackbonePreprocess(self.backbone)(inputs))
        for layer in classifier.layers:
            if not isinstance(layer, keras.layers.InputLayer):
                x = layer(x)
        return keras.Model(inputs, x, name=self.backbone)

    def build(self, input_shape: tuple[int, ...], head: Head):
        base = self.base(input_shape)
        return self.assemble(input_shape, base, self.classifier(tuple(base.output.shape[1:]), head))


# -- weights ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def imagenet_weights(backbone: str, download: bool) -> Iterator[None]:
    """While a ``keras.applications`` constructor runs: its weights file is taken from the Keras cache
    (``$KERAS_HOME/models/``, else ``~/.keras/models/``), downloaded only when ``download`` is true, and a missing
    file raises :class:`DataError` naming it (never random weights in its place)."""
    from keras.src.utils import file_utils  # the module every keras.applications constructor fetches through

    from dlwp_tasks.datasets.base import keras_home

    fetch = file_utils.get_file

    def cached_or_downloaded(fname=None, origin=None, cache_subdir="datasets", **kwargs):
        folder = keras_home() / cache_subdir
        if not download and not (folder / fname).is_file():
            raise missing_weights_error(backbone, fname, folder, origin, None)
        try:
            return fetch(fname, origin, cache_subdir=cache_subdir, cache_dir=str(keras_home()), **kwargs)
        except Exception as err:  # get_file raises bare Exceptions for network failures
            raise missing_weights_error(backbone, fname, folder, origin, str(err)) from None

    file_utils.get_file = cached_or_downloaded
    try:
        yield
    finally:
        file_utils.get_file = fetch


def missing_weights_error(backbone: str, fname: str, folder: Path, origin: str, failure: str | None) -> DataError:
    """One paragraph: the weights file, where it goes, and the settings that do without it."""
    if failure is None:
        why = (f"downloading is turned off (download=false). Put the file there (Keras downloads it from {origin}), "
               "or set download=true on a connected machine")
    else:
        why = f"downloading it from {origin} failed ({failure}). Check the network, or put the file there"
    return DataError(
        f"The ImageNet weights of {backbone} are not on this machine: Keras looks for {fname} in {folder} "
        f"($KERAS_HOME/models/, else ~/.keras/models/), and {why}; or give a weights file with "
        "model.weights=PATH, or train from random weights with model.weights=null."
    )


def weights_fingerprint(model) -> str:
    """sha256 over a model's weight values: what its outputs depend on, whatever file they came from."""
    import numpy as np

    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.asarray(weight)
        digest.update(f"{weight.path}:{value.dtype}:{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


# -- trainable weight tensors ----------------------------------------------------------------------------------

def trainable_tensors(model) -> int:
    """How many weight tensors ``model`` trains (the book's ``len(model.trainable_weights)``)."""
    return len(model.trainable_weights)


def find_base(model):
    """The ``conv_base`` layer inside ``model`` (at any depth), or None."""
    for layer in getattr(model, "layers", []):
        if layer.name == BASE_NAME:
            return layer
        found = find_base(layer)
        if found is not None:
            return found
    return None


def unfrozen_tensors(base) -> int:
    """How many weight tensors ``base`` trains when unfrozen (26 for VGG16); leaves it frozen."""
    base.trainable = True
    count = trainable_tensors(base)
    base.trainable = False
    return count


def unfreeze_last(base, count: int) -> list[str]:
    """Make the last ``count`` layers of ``base`` trainable and every other one frozen, BatchNormalization
    layers always frozen (listing 8.27); the names of the layers with weights that now train."""
    import keras

    base.trainable = True
    layers = [layer for layer in base.layers if not isinstance(layer, keras.layers.InputLayer)]
    cut = len(layers) - count if count > 0 else len(layers)
    for index, layer in enumerate(layers):
        if index < cut or isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return [layer.name for layer in layers if layer.trainable and layer.trainable_weights]
