"""The layers of a trained model as ``dlwp viz`` sees them: nested models opened up, layer kinds, and a probe
that records chosen layers' outputs during one forward pass (so gradients can flow back to them)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from dlwp_cli.errors import ConfigError

CONV_KINDS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")
POOL_KINDS = ("MaxPooling2D", "AveragePooling2D")


@dataclass(frozen=True)
class Found:
    """A leaf layer, with the path of nested models that hold it (``convnet/conv2d``)."""

    layer: object
    path: str

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def kind(self) -> str:
        return type(self.layer).__name__

    @property
    def output_rank(self) -> int | None:
        try:
            return len(self.layer.output.shape)
        except (AttributeError, ValueError):  # a layer never called in a graph
            return None

    @property
    def is_conv(self) -> bool:
        return any(base.__name__ in CONV_KINDS for base in type(self.layer).__mro__)

    @property
    def is_pool(self) -> bool:
        return any(base.__name__ in POOL_KINDS for base in type(self.layer).__mro__)


def leaf_layers(model) -> Iterator[Found]:
    """Every layer of ``model`` in order, nested models (the augmentation block, a body, a pretrained base)
    opened up."""
    import keras

    def walk(container, prefix: str):
        for layer in container.layers:
            if isinstance(layer, keras.Model):
                yield from walk(layer, f"{prefix}{layer.name}/")
            else:
                yield Found(layer, f"{prefix}{layer.name}")

    yield from walk(model, "")


def layer_kinds(model) -> str:
    """The distinct layer kinds of ``model``, in order (for error messages)."""
    kinds = dict.fromkeys(found.kind for found in leaf_layers(model))
    return ", ".join(kinds)


def find_layer(model, name: str, rank: int | None = 4) -> Found:
    """The layer called ``name`` (or ``nested/name``); with ``rank``, its output must have that many axes."""
    layers = list(leaf_layers(model))
    matches = [f for f in layers if name in (f.name, f.path)]
    candidates = [f.name for f in layers if rank is None or f.output_rank == rank]
    if not matches:
        raise ConfigError(f"The model has no layer '{name}'. Layers with image-shaped outputs: "
                          f"{', '.join(candidates) or 'none'}.")
    if rank is not None and matches[0].output_rank != rank:
        raise ConfigError(f"Layer '{name}' ({matches[0].kind}) gives no image-shaped (batch, height, width, "
                          f"channels) output; pick one of: {', '.join(candidates) or 'none'}.")
    return matches[0]


def image_layers(model) -> list[Found]:
    """Layers with a 4-D (batch, height, width, channels) output, input and augmentation layers left out."""
    skip = ("InputLayer",)
    return [f for f in leaf_layers(model) if f.output_rank == 4 and f.kind not in skip
            and not f.kind.startswith("Random")]


@contextlib.contextmanager
def probe(layers: list[Found]):
    """For the block, every call of ``layers`` stores its output in the yielded dict (by path): run the model
    once inside (under a GradientTape, for gradients with respect to those outputs)."""
    outputs: dict[str, object] = {}
    patched = []
    try:
        for found in layers:
            original = found.layer.call

            def recording(*args, _original=original, _path=found.path, **kwargs):
                result = _original(*args, **kwargs)
                outputs[_path] = result
                return result

            found.layer.call = recording
            patched.append(found.layer)
        yield outputs
    finally:
        for layer in patched:
            del layer.call  # the class's own call again
