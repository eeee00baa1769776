"""What ``dlwp viz`` looks at: a trained model with the way its inputs are prepared, its class names, where its
pictures go, and the image to show it (``--image``, else the first test image of the run's task)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlwp_cli.errors import ConfigError, DataError
from dlwp_cli.run_folder import CONFIG, FEATURES, MODEL, SCHEMA, TENSORBOARD, read_metrics
from dlwp_cli.viz.pictures import to_uint8

VIZ = "viz"   # RUN_DIR/viz/<kind>/ and RUN_DIR/tensorboard/viz/<kind>/


@dataclass
class Picture:
    """An image to show the model: ``pixels`` uint8 (H, W, C) at the model's input size, ``batch`` the model's
    input (1, H, W, C) float32, ``original`` uint8 at the file's own resolution (for the Grad-CAM overlay)."""

    pixels: np.ndarray
    batch: np.ndarray
    original: np.ndarray
    source: str


@dataclass
class Subject:
    """A model to visualise and everything around it."""

    name: str
    model: object
    prepare: Callable[[np.ndarray], np.ndarray]      # raw pixels (N, H, W, C) -> model inputs, float32
    output_dir: Path                                   # pictures go to output_dir/<kind>/
    tensorboard_dir: Path | None                       # TensorBoard logs go to tensorboard_dir/<kind>/
    class_names: list[str] | None = None
    classifier: bool = True                            # outputs class probabilities (softmax or sigmoid)
    augmentation: dict | None = None                   # the run's augmentation config
    default_image: Callable[[], tuple[np.ndarray, np.ndarray, str]] | None = None   # (raw example, pixels, label)
    noise_start: Callable[[np.random.Generator, tuple], np.ndarray] | None = None

    @property
    def image_shape(self) -> tuple[int | None, int | None, int]:
        """(height, width, channels) of the model's image input; ConfigError for a model that takes no images."""
        shape = self.model.input_shape
        if isinstance(shape, list) or len(shape) != 4:
            raise ConfigError(f"The model of '{self.name}' takes inputs of shape {shape}, not images "
                              "(batch, height, width, channels): dlwp viz shows convnets.")
        return tuple(shape[1:])

    def start_image(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` noisy grey images in the model's input space, where filter patterns start (listing 9.17)."""
        height, width, channels = self.image_shape
        shape = (count, height or 200, width or 200, channels)
        if self.noise_start is not None:
            return self.noise_start(rng, shape)
        return self.prepare(rng.uniform(0.4, 0.6, size=shape) * 255.0)

    def input_span(self) -> float:
        """Model-input units between a black and a white pixel (mean over channels): 255 for a model that takes
        raw pixels, 2 for one whose inputs run from -1 to 1."""
        height, width, channels = self.image_shape
        shape = (1, height or 200, width or 200, channels)
        black, white = (self.prepare(np.full(shape, value, dtype="float32")) for value in (0.0, 255.0))
        return float(np.mean(np.abs(np.asarray(white, "float64") - np.asarray(black, "float64"))))

    def picture(self, path: str | None) -> Picture:
        """The image file at ``path`` read at the model's input size and channels (or the default image)."""
        height, width, channels = self.image_shape
        if path is None:
            if self.default_image is None:
                raise ConfigError(f"'{self.name}' has no test images of its own: give one with --image PATH.")
            raw, pixels, source = self.default_image()
            return Picture(pixels, self.prepare(raw[np.newaxis]), pixels, source)
        original = read_original(path, channels)
        size = (height or original.shape[0], width or original.shape[1])
        pixels = read_pixels(path, size, channels)
        return Picture(pixels, self.prepare(pixels[np.newaxis].astype("float32")), original, path)


def _color_mode(channels: int) -> str:
    return "grayscale" if channels == 1 else "rgb"


def read_pixels(path: str, size: tuple[int, int], channels: int) -> np.ndarray:
    """An image file as uint8 (H, W, C), decoded by content and bilinear-resized as the image tasks read them."""
    from dlwp_tasks.datasets.images import read_images

    return read_images([path], size, _color_mode(channels))[0]


def read_original(path: str, channels: int) -> np.ndarray:
    """An image file at its own resolution, uint8 (H, W, C) in the model's colour mode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            converted = image.convert("RGBA").convert("RGB") if image.mode in ("P", "LA", "PA") else image
            pixels = np.asarray(converted.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"Image '{path}' does not exist.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DataError(f"'{path}' is not a readable image ({err}).") from None
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _first_test_example(cfg, stats: dict) -> tuple[np.ndarray, np.ndarray, str]:
    """(raw first test example, its uint8 pixels, a label): the run's own data, loaded as the run loaded it."""
    from dlwp_cli.data import load_data

    try:
        splits = load_data(cfg)
    except DataError as err:
        raise DataError(f"{err} (dlwp viz shows the first test image of the run's task by default: give another "
                        "image with --image PATH.)") from None
    for split, x in (("test", splits.x_test), ("validation", splits.x_val), ("training", splits.x_train)):
        if x is not None and not isinstance(x, dict) and hasattr(x, "shape") and len(x):
            raw = np.asarray(x[0])
            return raw, to_uint8(raw, stats.get("scale")), f"the first {split} image of task {cfg.task.name}"
    raise ConfigError(f"Task '{cfg.task.name}' gives no image arrays to show: give an image with --image PATH.")


def run_subject(run_dir: str, output: str | None) -> Subject:
    """A finished run: its model, features.json, class names and augmentation config."""
    from omegaconf import OmegaConf

    from dlwp_cli.loading import load_model
    from dlwp_cli.training.features import apply_feature_stats

    run = Path(run_dir)
    if not (run / CONFIG).is_file():
        raise ConfigError(f"'{run}' is not a dlwp run folder (no {CONFIG}). Give a folder under outputs/, or a "
                          "keras.applications name (xception, vgg16, ...) with --output DIR.")
    if not (run / MODEL).is_file():
        raise ConfigError(f"The run in '{run}' has no {MODEL}: it did not finish, or ran with "
                          "output.save_model=false.")
    cfg = OmegaConf.load(run / CONFIG)
    stats = _read_json(run / FEATURES) or {"input_kind": "image"}
    names = (read_metrics(run) or {}).get("class_names") or (_read_json(run / SCHEMA) or {}).get("class_names")
    augmentation = cfg.get("augmentation")
    head = cfg.task.get("head") or {}
    root = Path(output) if output else run / VIZ
    return Subject(
        name=str(run),
        model=load_model(run, compile=False),
        prepare=lambda raw: apply_feature_stats(raw, {**stats, "input_kind": "image"}),
        output_dir=root,
        tensorboard_dir=(root / TENSORBOARD) if output else run / TENSORBOARD / VIZ,
        class_names=list(names) if names else None,
        classifier=head.get("activation") in ("softmax", "sigmoid"),
        augmentation=OmegaConf.to_container(augmentation, resolve=True) if augmentation is not None else None,
        default_image=lambda: _first_test_example(cfg, stats),
    )
