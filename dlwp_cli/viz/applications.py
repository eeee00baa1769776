"""A ``keras.applications`` model in place of a run folder (``dlwp viz gradcam xception --output DIR``): built
with its ImageNet weights, a weights file or none, fed through its own ``preprocess_input``."""

from __future__ import annotations

import contextlib
import importlib
import re
from pathlib import Path

import numpy as np

from dlwp_cli.errors import ConfigError, DataError
from dlwp_cli.viz.subject import Subject

# Input sizes the applications were trained at, where not 224 (keyed by the lower-case constructor name).
TRAINED_SIZES = {
    "xception": 299, "inceptionv3": 299, "inceptionresnetv2": 299, "nasnetlarge": 331, "nasnetmobile": 224,
    "efficientnetb1": 240, "efficientnetb2": 260, "efficientnetb3": 300, "efficientnetb4": 380,
    "efficientnetb5": 456, "efficientnetb6": 528, "efficientnetb7": 600, "efficientnetv2b1": 240,
    "efficientnetv2b2": 260, "efficientnetv2b3": 300, "efficientnetv2s": 384, "efficientnetv2m": 480,
    "efficientnetv2l": 480,
}
FILTER_SIZE = 200   # listing 9.17: filter patterns are grown on 200x200 images


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def constructors() -> dict[str, object]:
    """{lower-case name without separators: constructor} of every ``keras.applications`` model."""
    import keras

    return {_key(name): getattr(keras.applications, name) for name in dir(keras.applications) if name[0].isupper()}


def find_application(name: str):
    """The constructor that ``name`` names (``xception``, ``vgg16``, ``mobilenet_v3_small``), or None."""
    return constructors().get(_key(name))


def _weights_argument(weights: str):
    if weights == "imagenet":
        return "imagenet"
    if weights.lower() == "none":
        return None
    if not Path(weights).is_file():
        raise DataError(f"Weights file '{weights}' does not exist. Give --weights imagenet, none, or the path of a "
                        "weights file (.h5 or .weights.h5) saved for this application.")
    return weights


def _build(constructor, name: str, weights, include_top: bool, size: int):
    """The application; ImageNet weights come from Keras's cache or a download, and a missing file is a DataError
    naming it and where it goes (the pretrained-backbone models' rule)."""
    from dlwp_tasks.models.backbones import imagenet_weights

    try:
        with imagenet_weights(name, download=True) if weights == "imagenet" else contextlib.nullcontext():
            return constructor(weights=weights, include_top=include_top, input_shape=(size, size, 3))
    except DataError as err:
        raise DataError(f"{err} (dlwp viz takes a weights file as --weights PATH, random weights as "
                        "--weights none.)") from None
    except ValueError as err:
        raise ConfigError(f"keras.applications.{constructor.__name__} cannot be built here: "
                          f"{str(err).splitlines()[0]}") from None
    except OSError as err:
        raise DataError(f"Cannot load the weights '{weights}' into {constructor.__name__}: {err}") from None


def _imagenet_names(module, classes: int) -> list[str] | None:
    """The 1,000 ImageNet class names (Keras's class index file, when it is cached or can be fetched)."""
    if classes != 1000 or not hasattr(module, "decode_predictions"):
        return None
    try:
        decoded = module.decode_predictions(np.eye(1000, dtype="float32"), top=1)
    except Exception:  # noqa: BLE001 - offline without the index file: classes go by number
        return None
    return [entries[0][1] for entries in decoded]


def application_subject(name: str, kind: str, weights: str, output: str) -> Subject:
    """The application ``name`` ready for ``kind``: with its classifier for gradcam, convolutional base only
    otherwise; images at its trained size (200x200 for filter patterns, as the book)."""
    constructor = find_application(name)
    if constructor is None:
        from dlwp_tasks.models.backbones import BACKBONES

        raise ConfigError(f"'{name}' is neither a run folder nor a keras.applications model. Give a run folder, "
                          f"or one of: {', '.join(BACKBONES)}.")
    weights_value = _weights_argument(weights)
    include_top = kind == "gradcam"
    size = FILTER_SIZE if kind == "filters" else TRAINED_SIZES.get(_key(constructor.__name__), 224)
    model = _build(constructor, name, weights_value, include_top, size)
    module = importlib.import_module(constructor.__module__)

    def prepare(raw: np.ndarray) -> np.ndarray:
        return np.asarray(module.preprocess_input(np.array(raw, dtype="float32")), dtype="float32")

    names = _imagenet_names(module, int(model.output_shape[-1])) if include_top and weights == "imagenet" else None
    root = Path(output)
    return Subject(
        name=constructor.__name__,
        model=model,
        prepare=prepare,
        output_dir=root,
        tensorboard_dir=root / "tensorboard",
        class_names=names,
        # The book starts filter patterns from noise in [0.4, 0.6] fed straight to the model (listing 9.17).
        noise_start=lambda rng, shape: rng.uniform(0.4, 0.6, size=shape).astype("float32"),
    )
