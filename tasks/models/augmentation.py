"""Image augmentation as Keras layers (book §8.2.5), built from the ``augmentation`` config group.

The layers sit between the model's input and its body, so they are saved with the model; Keras's random
image layers act in training only, so ``predict`` and ``evaluate`` see the images unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

FLIPS = ("horizontal", "vertical", "horizontal_and_vertical")


def check_augmentation(spec: Mapping | None) -> None:
    """Raise ValueError naming the first bad setting."""
    if not spec:
        return
    unknown = set(spec) - {"flip", "rotation", "zoom", "contrast"}
    if unknown:
        raise ValueError(f"augmentation has no setting(s) {', '.join(sorted(unknown))}; it takes flip, rotation, "
                         "zoom and contrast")
    if spec.get("flip") not in (None, *FLIPS):
        raise ValueError(f"augmentation.flip must be one of {', '.join(FLIPS)} or null, got '{spec['flip']}'")
    for key in ("rotation", "zoom", "contrast"):
        value = spec.get(key) or 0.0
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"augmentation.{key} must be a number in [0, 1), got {value!r}")


def is_active(spec: Mapping | None) -> bool:
    """Whether ``spec`` changes images at all."""
    return bool(spec) and bool(spec.get("flip") or any(spec.get(k) for k in ("rotation", "zoom", "contrast")))


def augmentation_layers(spec: Mapping | None) -> list:
    """The Keras layers of ``spec`` ({flip, rotation, zoom, contrast}), in the book's order; [] for none."""
    check_augmentation(spec)
    if not is_active(spec):
        return []
    import keras

    layers = []
    if spec.get("flip"):
        layers.append(keras.layers.RandomFlip(spec["flip"]))
    if spec.get("rotation"):
        layers.append(keras.layers.RandomRotation(float(spec["rotation"])))
    if spec.get("zoom"):
        layers.append(keras.layers.RandomZoom(float(spec["zoom"])))
    if spec.get("contrast"):
        layers.append(keras.layers.RandomContrast(float(spec["contrast"])))
    return layers


def augmentation_model(spec: Mapping | None, name: str = "data_augmentation"):
    """The layers as one ``keras.Sequential`` (the book's ``data_augmentation``), or None for none."""
    layers = augmentation_layers(spec)
    if not layers:
        return None
    import keras

    return keras.Sequential(layers, name=name)
