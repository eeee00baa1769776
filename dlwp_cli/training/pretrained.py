"""Trainer modes for pretrained bases (book §8.3): fast feature extraction, and fine-tuning in two stages.

``trainer=feature_extraction`` (listings 8.19-8.22) runs the frozen base once over every split, caches the
features on disk, trains the classifier alone on them, and hands back the full model on raw images.
``trainer=finetune`` (listings 8.23-8.28) trains the classifier on the frozen base end to end (with the run's
augmentation), then unfreezes the base's last layers and trains on at a low learning rate.

Like :mod:`dlwp_cli.training.modes`, importing this module imports no TensorFlow (configs are checked without
it); the trainers import it when they run.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dlwp_cli.errors import ConfigError
from dlwp_cli.training.modes import HeldOut

FEATURE_CACHE_VERSION = 1   # bump when what a cached feature file holds changes


@dataclass
class FeatureExtraction(HeldOut):
    """The book's fast feature extraction (listing 8.20): the frozen base of ``model=backbone`` runs once over
    every split (features cached on disk, reused while the base's weights and the images are the same), then
    only the classifier trains, on the features. The saved model is the full one, taking raw images."""

    backs_up_epochs: ClassVar[bool] = True

    def run(self, ctx, data):
        return feature_extraction_trainer(self, ctx, data)


@dataclass
class FineTune(HeldOut):
    """Two stages in one run (listings 8.25-8.28): ``head_epochs`` training the classifier on the frozen base,
    then ``finetune_epochs`` with the base's last ``unfreeze_last`` layers unfrozen (never BatchNormalization),
    recompiled with the same optimizer at ``finetune_learning_rate``. No stage runs more than the run's
    ``epochs`` (so ``debug=smoke`` runs one epoch of each); ``finetune_epochs: 0`` stops after the first stage.
    A ``BestWeights`` callback restores the best epoch at the end of the last stage only: as in the book, the
    second stage continues from the first one's last epoch."""

    head_epochs: int
    finetune_epochs: int
    unfreeze_last: int
    finetune_learning_rate: float

    backs_up_epochs: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        if self.head_epochs < 0 or self.finetune_epochs < 0:
            raise ValueError(f"head_epochs and finetune_epochs must be 0 or more, got {self.head_epochs} and "
                             f"{self.finetune_epochs}")
        if self.head_epochs + self.finetune_epochs < 1:
            raise ValueError("head_epochs and finetune_epochs are both 0: nothing would train")
        if self.unfreeze_last < 0:
            raise ValueError(f"unfreeze_last must be 0 or more, got {self.unfreeze_last}")
        if self.finetune_learning_rate <= 0:
            raise ValueError(f"finetune_learning_rate must be positive, got {self.finetune_learning_rate}")

    def run(self, ctx, data):
        return finetune_trainer(self, ctx, data)


# -- shared pieces -------------------------------------------------------------------------------------------

class Prebuilt:
    """A mode whose trainee is a model built beforehand: ``model.fit`` and ``model.evaluate`` on it."""

    def __init__(self, model):
        self.model = model

    def build(self, ctx, data):
        from dlwp_cli.training.skeleton import KerasFit

        return KerasFit(self.model)


def base_figures(base, model) -> dict:
    """The base's output shape, and the parameters of the base and of the rest of the model."""
    return {"base_output": [int(d) for d in base.output.shape[1:]],
            "parameters_by_model": {"base": int(base.count_params()),
                                    "head": int(model.count_params() - base.count_params())}}


def _say(ctx, text: str) -> None:
    if ctx.cfg.output.console:
        from dlwp_cli import console

        console.console.print(text)


def _learning_rate(model) -> float:
    import keras

    return float(f"{float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)):.6g}")  # 1e-05, not 9.99e-06


# -- feature extraction --------------------------------------------------------------------------------------

def array_fingerprint(x: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and values."""
    x = np.ascontiguousarray(x)
    digest = hashlib.sha256(f"{x.dtype}:{x.shape};".encode())
    digest.update(memoryview(x).cast("B") if x.size else b"")
    return digest.hexdigest()


def extract_features(extractor, images: np.ndarray, batch_size: int, progress=None) -> np.ndarray:
    """``extractor`` over ``images`` in batches (float32 per batch, as the input pipeline feeds them)."""
    parts = []
    for start in range(0, len(images), batch_size):
        batch = np.asarray(images[start:start + batch_size], dtype="float32")
        parts.append(np.asarray(extractor.predict_on_batch(batch)))
        if progress is not None:
            progress(len(batch))
    return np.concatenate(parts) if parts else np.zeros((0, *extractor.output.shape[1:]), dtype="float32")


def cached_features(extractor, images: np.ndarray, batch_size: int, base_key: str,
                    progress=None) -> tuple[np.ndarray, bool]:
    """(the features of ``images``, whether they came from the cache). They are kept under
    ``<cache root>/features/<base_key>/<images' sha256[:16]>-v<version>.npz``, written atomically."""
    from dlwp_tasks.datasets.cache import cache_root, cached_arrays

    computed = []

    def build() -> dict:
        computed.append(True)
        return {"features": extract_features(extractor, images, batch_size, progress)}

    arrays = cached_arrays(cache_root() / "features" / base_key, array_fingerprint(images)[:16], build,
                           FEATURE_CACHE_VERSION)
    return arrays["features"], not computed


def base_cache_key(body, input_shape: tuple[int, ...], base) -> str:
    """``<backbone>-<hash>``: the hash covers the base's weight values (whatever file they came from), the
    input shape, the compute precision and the preprocessing."""
    import keras

    from dlwp_tasks.models.backbones import weights_fingerprint

    digest = hashlib.sha256(f"{body.backbone}:{tuple(input_shape)}:{keras.config.dtype_policy().name}:"
                            f"{weights_fingerprint(base)}".encode())
    return f"{body.backbone}-{digest.hexdigest()[:16]}"


def _feature_body(cfg):
    """The ``model`` group's body, which must be a pretrained base with a classifier (``model=backbone``)."""
    from dlwp_cli.training.modeling import model_body

    body = model_body(cfg.model, cfg.get("smoke", False))
    if not all(hasattr(body, part) for part in ("base", "extractor", "classifier", "assemble")):
        raise ConfigError(f"trainer=feature_extraction runs a pretrained base over the images, but model "
                          f"'{cfg.model._target_}' has none: use model=backbone (e.g. model.backbone=vgg16), or "
                          "trainer=fit for a model trained end to end.")
    return body


def _check_no_augmentation(cfg) -> None:
    from omegaconf import OmegaConf

    from dlwp_tasks.models.augmentation import is_active

    spec = cfg.get("augmentation")
    if spec is not None and is_active(OmegaConf.to_container(spec, resolve=True)):
        raise ConfigError("trainer=feature_extraction computes each image's features once, so augmentation "
                          "cannot vary them: use augmentation=none, or trainer=finetune trainer.finetune_epochs=0 "
                          "to train the classifier end to end on the frozen base with augmentation (listing 8.25).")


def _split_arrays(data) -> dict:
    """The image splits as (x, y), for the splits the data has."""
    found = {"train": (data.x_train, data.y_train)}
    if data.n_val:
        found["validation"] = (data.x_val, data.y_val)
    if data.n_test:
        found["test"] = (data.x_test, data.y_test)
    return found


def _progress_bar(ctx):
    """A transient console progress bar (one task per split), or None when the console is off."""
    if not ctx.cfg.output.console:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dlwp_cli import console

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console.console, transient=True)


def feature_extraction_trainer(mode: FeatureExtraction, ctx, data):
    """Listing 8.20's cached features, listing 8.21's classifier trained on them with the training skeleton
    (hold-out, callbacks, epoch backups, test scores), then the full model: raw images -> base -> classifier."""
    from dlwp_cli.training.common import TrainResult
    from dlwp_cli.training.features import Prepared
    from dlwp_cli.training.modeling import compile_model, heads, make_optimizer
    from dlwp_cli.training.skeleton import train_and_score

    cfg = ctx.cfg
    if data.streamed or isinstance(data.x_train, dict):
        raise ConfigError("trainer=feature_extraction needs image arrays (a task like cats_vs_dogs or "
                          "image_folder); this task gives a stream or named inputs.")
    body = _feature_body(cfg)
    _check_no_augmentation(cfg)
    input_shape = tuple(data.input_shape)
    replicas = ctx.strategy.num_replicas_in_sync
    try:
        with ctx.strategy.scope():
            base = body.base(input_shape)
            base.trainable = False  # its features are computed once
            extractor = body.extractor(input_shape, base)
    except ValueError as err:
        raise ConfigError(f"model=backbone cannot be built for inputs of shape {input_shape}: "
                          f"{str(err).splitlines()[0]}") from None
    batch = int(cfg.batch_size)
    limit = cfg.trainer.limit_batches
    rows = None if limit is None else int(limit) * batch  # a debug run needs no more
    key = base_cache_key(body, input_shape, base)

    started = time.perf_counter()
    splits = {name: (x[:rows], y[:rows]) for name, (x, y) in _split_arrays(data).items()}
    features, cached = {}, {}
    bar = _progress_bar(ctx)
    if bar is not None:
        bar.start()
    try:
        for name, (x, _) in splits.items():
            task = bar.add_task(f"{body.backbone} features: {name}", total=len(x)) if bar is not None else None
            advance = (lambda n, task=task: bar.advance(task, n)) if bar is not None else None
            features[name], cached[name] = cached_features(extractor, x, batch, key, advance)
    finally:
        if bar is not None:
            bar.stop()
    seconds = time.perf_counter() - started
    _say(ctx, f"{body.backbone} features ({seconds:.1f} s): " + ", ".join(
        f"{name} {tuple(f.shape)}{' (cached)' if cached[name] else ''}" for name, f in features.items()))

    def split_of(name):
        return (features[name], splits[name][1]) if name in features else (None, None)

    (x_val, y_val), (x_test, y_test) = split_of("validation"), split_of("test")
    feature_data = Prepared(features["train"], splits["train"][1], x_test, y_test, tuple(features["train"].shape[1:]),
                            "features", x_val=x_val, y_val=y_val)
    with ctx.strategy.scope():
        classifier = body.classifier(feature_data.input_shape, heads(cfg.task))
        compile_model(classifier, cfg, replicas, make_optimizer(cfg.optimizer))
    result, _ = train_and_score(Prebuilt(classifier), ctx, feature_data)

    with ctx.strategy.scope():
        model = body.assemble(input_shape, base, classifier)
        compile_model(model, cfg, replicas, classifier.optimizer)
    metrics = {
        **result.metrics,
        "features": {**{name: list(f.shape) for name, f in features.items()}, "seconds": seconds,
                     "cached": cached, "cache_key": key},
        **base_figures(base, model),
    }
    outputs = {name: np.asarray(classifier.predict(features[name], batch_size=batch, verbose=0))
               for name in ("test", "validation") if name in features}   # the error analysis needs no base pass
    return TrainResult(metrics, model, {"features_s": seconds, **result.timings}, split_outputs=outputs)


# -- fine-tuning ---------------------------------------------------------------------------------------------

def _stage_context(ctx, epochs: int, last: bool, seen: list):
    """``ctx`` for one stage: the run's config with the stage's ``epochs``, and its callbacks (kept in ``seen``)
    counting the stage's own epochs on the console; before the last stage, ``BestWeights`` restores nothing."""
    from omegaconf import OmegaConf

    from dlwp_cli.training.callbacks import BestWeights, RichProgress
    from dlwp_cli.training.common import Context

    cfg = OmegaConf.merge(ctx.cfg, {"epochs": epochs})
    OmegaConf.set_readonly(cfg, True)

    def callbacks(label: str, steps: int) -> list:
        built = ctx.callbacks(label, steps)
        for callback in built:
            if isinstance(callback, RichProgress):
                callback.epochs = epochs  # "epoch i/N" of the stage, not of the run
            if isinstance(callback, BestWeights) and not last:
                callback.restore_best_weights = False
        seen.extend(built)
        return built

    return Context(cfg, ctx.strategy, callbacks, ctx.run_dir)


def _train_stage(ctx, data, model, label: str, epochs: int, last: bool):
    """Fit ``model`` for one stage with the skeleton (its own callbacks and backups under ``label``); the
    result, its history the full one after a resumed run."""
    from dlwp_cli.training.resilience import EpochBackup
    from dlwp_cli.training.skeleton import train_and_score

    seen: list = []
    result, _ = train_and_score(Prebuilt(model), _stage_context(ctx, epochs, last, seen), data, label=label,
                                score=False)
    backup = next((cb for cb in seen if isinstance(cb, EpochBackup)), None)
    if backup is not None:
        full = backup.history()
        if len(next(iter(full.values()), [])) > len(next(iter(result.metrics["history"].values()), [])):
            result.metrics["history"] = full
    return result


def _joined(histories: list[dict]) -> dict:
    """The stages' per-epoch histories one after the other (metrics every stage logged)."""
    keys = [k for k in histories[0] if all(k in h for h in histories)]
    return {k: [v for h in histories for v in h[k]] for k in keys}


def finetune_trainer(mode: FineTune, ctx, data):
    """Stage 1: the model (the run's augmentation first) with its base frozen, compiled and trained for
    ``head_epochs``. Stage 2: the base's last layers unfrozen, recompiled at ``finetune_learning_rate``, trained
    for ``finetune_epochs``. Trainable weight-tensor counts after each change are printed and recorded."""
    from omegaconf import OmegaConf

    from dlwp_cli.training.common import TrainResult, best_epoch, score_test, test_dataset
    from dlwp_cli.training.modeling import build_model, compile_model, make_optimizer
    from dlwp_cli.training.skeleton import KerasFit
    from dlwp_tasks.models.backbones import BASE_NAME, find_base, trainable_tensors, unfreeze_last, unfrozen_tensors

    cfg = ctx.cfg
    replicas = ctx.strategy.num_replicas_in_sync
    with ctx.strategy.scope():
        model = build_model(cfg, data, replicas)
    base = find_base(model)
    if base is None:
        raise ConfigError(f"trainer=finetune freezes and unfreezes a pretrained base (a layer named '{BASE_NAME}'), "
                          f"but model '{cfg.model._target_}' has none: use model=backbone.")
    counts = {"base_before_freezing": unfrozen_tensors(base), "base_frozen": trainable_tensors(base)}
    with ctx.strategy.scope():
        compile_model(model, cfg, replicas, make_optimizer(cfg.optimizer))  # frozen before compiling
    counts["model"] = trainable_tensors(model)
    _say(ctx, f"trainable weight tensors: {BASE_NAME} {counts['base_before_freezing']} -> {counts['base_frozen']} "
              f"(frozen); model {counts['model']}")

    plan = []
    for label, wanted in (("head", mode.head_epochs), ("finetune", mode.finetune_epochs)):
        if wanted > int(cfg.epochs):
            _say(ctx, f"trainer.{label}_epochs={wanted} capped at epochs={cfg.epochs}")
        if wanted:
            plan.append((label, min(wanted, int(cfg.epochs))))
    stages, histories, timings, result = [], [], {"train_s": 0.0}, None
    for index, (label, epochs) in enumerate(plan):
        stage = {"name": label}
        if label == "finetune":
            stage["unfrozen_layers"] = unfreeze_last(base, mode.unfreeze_last)
            optimizer = make_optimizer(OmegaConf.merge(cfg.optimizer, {"learning_rate": mode.finetune_learning_rate}))
            with ctx.strategy.scope():
                compile_model(model, cfg, replicas, optimizer)
            counts["model_unfrozen"] = trainable_tensors(model)
            _say(ctx, f"trainable weight tensors: model {counts['model_unfrozen']} (unfrozen: "
                      f"{', '.join(stage['unfrozen_layers']) or 'none'})")
        result = _train_stage(ctx, data, model, label, epochs, last=index == len(plan) - 1)
        done = sum(len(next(iter(h.values()), [])) for h in histories)
        ran = len(next(iter(result.metrics["history"].values()), []))
        stage.update(epochs=[done + 1, done + ran], learning_rate=_learning_rate(model),
                     trainable_tensors=trainable_tensors(model))
        stages.append(stage)
        histories.append(result.metrics["history"])
        timings["train_s"] += result.timings["train_s"]

    history = _joined(histories)
    metrics = {**result.metrics, "history": history, "best_epoch": best_epoch(history), "stages": stages,
               "trainable_tensors": counts, **base_figures(base, model)}
    score_test(ctx, data, lambda: KerasFit(model).evaluate(test_dataset(ctx, data)), metrics, timings)
    return TrainResult(metrics, model, timings)
