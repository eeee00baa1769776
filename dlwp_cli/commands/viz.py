"""``dlwp viz KIND RUN_DIR [--image PATH] [--layer NAME]``: pictures of what a finished run's convnet sees.

KIND is ``activations`` (every channel of the conv and pooling layers for one image), ``filters`` (the patterns
a layer's filters respond to, by gradient ascent), ``gradcam`` (a class heatmap over the image, with the top
classes) or ``augmentation`` (the image through the run's augmentation, 9 times). Pictures go to
``RUN_DIR/viz/KIND/`` and to the run's TensorBoard log (``RUN_DIR/tensorboard/viz/KIND``); a repeated call
replaces that folder whole. In place of RUN_DIR a ``keras.applications`` name (``xception``, ``vgg16``) works,
with ``--weights imagenet|PATH|none`` and ``--output DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

from dlwp_cli.errors import ConfigError, DataError
from dlwp_cli.viz import KINDS


def _check_arguments(kind: str, target: str, image: str | None, weights: str | None, output: str | None) -> bool:
    """Whether ``target`` is a run folder; usage errors raised before anything is loaded."""
    if kind not in KINDS:
        raise ConfigError(f"dlwp viz shows one of {', '.join(KINDS)}, not '{kind}'.")
    if image is not None and not Path(image).is_file():
        raise DataError(f"Image '{image}' does not exist (or is not a file): give the path of an image file "
                        "(JPEG, PNG, ...), or leave --image out for the first test image of the run's task.")
    is_run = Path(target).is_dir()
    if is_run and weights is not None:
        raise ConfigError("--weights applies to keras.applications models (dlwp viz KIND xception --weights "
                          "imagenet --output DIR); a run folder's model has its own trained weights.")
    if not is_run and (Path(target).exists() or os.sep in target):
        raise ConfigError(f"'{target}' is not a run folder: give the folder of a finished run (with config.yaml "
                          "and model.keras), or a keras.applications name such as xception.")
    if not is_run and not output:
        raise ConfigError(f"'{target}' is not a run folder. For a keras.applications model give --output DIR, "
                          f"where its pictures go: dlwp viz {kind} {target} --output viz_{target}.")
    return is_run


def _subject(kind: str, target: str, is_run: bool, weights: str | None, output: str | None):
    if is_run:
        from dlwp_cli.viz.subject import run_subject

        return run_subject(target, output)
    from dlwp_cli.viz.applications import application_subject

    return application_subject(target, kind, weights or "imagenet", output)


def _render(kind: str, subject, image: str | None, layer: str | None):
    """The kind's pictures; every choice it needs (layers, image, augmentation) is checked before it computes."""
    if kind == "activations":
        from dlwp_cli.viz import activations

        layers = activations.choose_layers(subject.model, layer)
        return activations.render(subject, subject.picture(image), layers)
    if kind == "filters":
        from dlwp_cli.viz import filters

        found = filters.choose_layer(subject.model, layer)
        subject.image_shape  # noqa: B018 - a model without image inputs stops here
        return filters.render(subject, found)
    if kind == "gradcam":
        from dlwp_cli.viz import gradcam

        found = gradcam.choose_layer(subject.model, layer)
        return gradcam.render(subject, subject.picture(image), found)
    from dlwp_cli.viz import augmentation

    layers = augmentation.check_augmentation(subject)
    return augmentation.render(layers, subject.picture(image))


def viz_command(kind: str, target: str, image: str | None = None, layer: str | None = None,
                weights: str | None = None, output: str | None = None) -> int:
    is_run = _check_arguments(kind, target, image, weights, output)
    from dlwp_cli import console

    console.start_tensorflow_quietly()
    from dlwp_cli.viz.output import write_kind

    subject = _subject(kind, target, is_run, weights, output)
    rendered = _render(kind, subject, image, layer)
    tensorboard = subject.tensorboard_dir / kind if subject.tensorboard_dir is not None else None
    written = write_kind(rendered, kind, subject.output_dir / kind, tensorboard)
    for line in rendered.lines:
        print(line)
    for path in written:
        print(f"wrote {path}")
    return 0
