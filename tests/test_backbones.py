"""Pretrained bases (book §8.3): model=backbone, trainer=feature_extraction and trainer=finetune.

The book's figures on VGG16 at 180x180 (random weights: the ImageNet file is not downloaded), the offline
missing-weights error, the feature cache, and both trainers end to end through the CLI on tiny synthetic images.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError, DataError
from dlwp_cli.training.pretrained import array_fingerprint, cached_features
from dlwp_tasks.models.backbones import (
    BackboneNet,
    find_base,
    trainable_tensors,
    unfreeze_last,
    unfrozen_tensors,
    weights_fingerprint,
)
from dlwp_tasks.models.head import Head

WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture(scope="module")
def vgg16():
    """The book's model (listing 8.25 without augmentation) at 180x180, random weights: built once."""
    return BackboneNet(backbone="vgg16", weights=None).build((180, 180, 3), Head(1, "sigmoid"))


def test_vgg16_base_has_the_books_size_and_output(vgg16):
    base = find_base(vgg16)
    assert base.count_params() == 14_714_688
    assert tuple(base.output.shape[1:]) == (5, 5, 512)
    assert vgg16.count_params() - base.count_params() == 3_277_313  # listing 8.21's classifier
    assert [layer.__class__.__name__ for layer in vgg16.layers] == [
        "InputLayer", "BackbonePreprocess", "Functional", "Flatten", "Dense", "Dropout", "Dense"]
    assert vgg16.layers[4].activation.__name__ == "linear"  # the book's Dense(256) has no activation


def test_trainable_tensors_26_0_4_then_10(vgg16):
    base = find_base(vgg16)
    try:
        assert trainable_tensors(base) == 0 and trainable_tensors(vgg16) == 4
        assert unfrozen_tensors(base) == 26
        assert trainable_tensors(base) == 0  # counting left it frozen
        assert unfreeze_last(base, 4) == ["block5_conv1", "block5_conv2", "block5_conv3"]
        assert trainable_tensors(base) == 6 and trainable_tensors(vgg16) == 10
    finally:
        base.trainable = False


def test_preprocess_input_is_vgg16s_caffe_mode(vgg16):
    pixels = np.array([[[[255.0, 0.0, 10.0]]]], dtype="float32")
    out = np.asarray(vgg16.layers[1](pixels))
    # RGB -> BGR, minus the ImageNet channel means (B 103.939, G 116.779, R 123.68)
    np.testing.assert_allclose(out[0, 0, 0], [10 - 103.939, 0 - 116.779, 255 - 123.68], rtol=1e-5)


@pytest.mark.parametrize(("override", "expected"), [
    ("model.backbone=resnet_50", "Did you mean 'resnet50'"),
    ("model.weights=no/such/file.h5", "'no/such/file.h5' is no file"),
    ("model.dropout=1.5", "dropout must be in [0, 1)"),
])
def test_bad_model_settings_are_config_errors(override, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        compose_validated(["task=cats_vs_dogs", "model=backbone", override])


def test_finetune_settings_are_checked():
    with pytest.raises(ConfigError, match="both 0"):
        compose_validated(["task=cats_vs_dogs", "model=backbone", "trainer=finetune", "trainer.head_epochs=0",
                           "trainer.finetune_epochs=0"])
    cfg = compose_validated(["experiment=ch08/cats_vs_dogs_vgg16_finetune"])
    assert (cfg.trainer.head_epochs, cfg.trainer.finetune_epochs, cfg.trainer.unfreeze_last) == (50, 30, 4)
    assert cfg.trainer.finetune_learning_rate == pytest.approx(1e-5) and cfg.model.download is True
    assert compose_validated(["task=cats_vs_dogs", "model=backbone", "download=false"]).model.download is False


def test_feature_extraction_refuses_augmentation_and_bodies_without_a_base():
    from dlwp_cli.training import pretrained

    augmented = compose_validated(["experiment=ch08/cats_vs_dogs_vgg16_features", "augmentation=book"])
    with pytest.raises(ConfigError, match="augmentation=none, or trainer=finetune trainer.finetune_epochs=0"):
        pretrained._check_no_augmentation(augmented)
    convnet = compose_validated(["task=cats_vs_dogs", "model=convnet", "trainer=feature_extraction"])
    with pytest.raises(ConfigError, match="use model=backbone"):
        pretrained._feature_body(convnet)


def test_missing_imagenet_weights_offline_name_the_file_and_the_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError) as raised:
        BackboneNet(backbone="vgg16", weights="imagenet", download=False).base((32, 32, 3))
    message = str(raised.value)
    for part in (WEIGHTS_FILE, str(tmp_path / "models"), "download=false", "model.weights=PATH",
                 "model.weights=null"):
        assert part in message


def test_a_failed_download_is_a_data_error_too(tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")  # what get_file raises

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(DataError, match="failed \\(URL fetch failure: no network\\). Check the network"):
        BackboneNet(backbone="vgg16", weights="imagenet", download=True).base((32, 32, 3))
    assert file_utils.get_file is offline  # put back as it was


def test_weights_from_a_file(tmp_path):
    source = BackboneNet(backbone="vgg16", weights=None).base((32, 32, 3))
    source.save_weights(tmp_path / "base.weights.h5")
    loaded = BackboneNet(backbone="vgg16", weights=str(tmp_path / "base.weights.h5")).base((32, 32, 3))
    assert weights_fingerprint(loaded) == weights_fingerprint(source)
    assert trainable_tensors(loaded) == 0


class CountingExtractor:
    """Stands in for the base: sums each image, counting the batches it sees."""

    def __init__(self):
        self.batches = 0

    def predict_on_batch(self, batch):
        self.batches += 1
        return batch.reshape(len(batch), -1).sum(axis=1, keepdims=True)


def test_features_are_cached_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("DLWP_CACHE_DIR", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, size=(10, 4, 4, 3), dtype=np.uint8)
    extractor = CountingExtractor()
    first, cached = cached_features(extractor, images, 4, "test-base")
    assert not cached and extractor.batches == 3 and first.shape == (10, 1)
    np.testing.assert_allclose(first[:, 0], images.reshape(10, -1).sum(axis=1))
    again, cached = cached_features(extractor, images, 4, "test-base")
    assert cached and extractor.batches == 3  # no second pass through the base
    np.testing.assert_array_equal(again, first)
    assert (tmp_path / "features" / "test-base" / f"{array_fingerprint(images)[:16]}-v1.npz").is_file()
    cached_features(extractor, images[:5], 4, "test-base")  # other images: computed
    cached_features(extractor, images, 4, "other-base")     # another base (weights): computed
    assert extractor.batches == 3 + 2 + 3


# -- both trainers end to end ----------------------------------------------------------------------------------

RELOAD = """
import json, sys
import numpy as np
from dlwp_cli.loading import load_model
from dlwp_tasks.datasets.synthetic import images_like

test = images_like(image_size=(32, 32), seed=42).x_test[:10].astype("float32")
print(json.dumps({run: load_model(run).predict(test, verbose=0)[:, 0].tolist() for run in sys.argv[1:]}))
"""


def test_feature_extraction_and_finetune_runs_through_the_cli(tmp_path):
    sweep = tmp_path / "sweep"
    out = subprocess.run(
        [sys.executable, "-m", "dlwp_cli.main", "run", "-m",
         "experiment=ch08/cats_vs_dogs_vgg16_features,ch08/cats_vs_dogs_vgg16_finetune",
         "task=cats_vs_dogs", "augmentation=none",  # a sweep composes its task before the experiment's
         "debug=smoke", "task.image_size=[32,32]", "output.console=false", "output.tensorboard=false",
         f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=${hydra.job.num}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    features, finetune = (json.loads((sweep / str(job) / "metrics.json").read_text()) for job in (0, 1))

    assert features["status"] == "completed" and features["experiment"] == "ch08/cats_vs_dogs_vgg16_features"
    assert features["features"]["train"] == [8, 1, 1, 512]  # 2 batches of 4 at 32x32: the base's (1, 1, 512)
    assert features["features"]["validation"] == features["features"]["test"] == [8, 1, 1, 512]
    assert features["parameters_by_model"] == {"base": 14_714_688, "head": 512 * 256 + 256 + 257}
    assert features["parameters"] == 14_714_688 + 512 * 256 + 256 + 257  # the full model, taking raw images
    assert features["base_output"] == [1, 1, 512] and len(features["history"]["val_loss"]) == 1
    assert set(features["test"]) == {"loss", "accuracy"}

    assert finetune["trainable_tensors"] == {"base_before_freezing": 26, "base_frozen": 0, "model": 4,
                                             "model_unfrozen": 10}
    head, tuned = finetune["stages"]
    assert (head["name"], head["epochs"], head["trainable_tensors"]) == ("head", [1, 1], 4)
    assert (tuned["name"], tuned["epochs"], tuned["trainable_tensors"]) == ("finetune", [2, 2], 10)
    assert tuned["learning_rate"] == pytest.approx(1e-5) and head["learning_rate"] == pytest.approx(1e-3)
    assert tuned["unfrozen_layers"] == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert len(finetune["history"]["val_loss"]) == 2 and set(finetune["test"]) == {"loss", "accuracy"}

    runs = [str(sweep / "0"), str(sweep / "1")]
    out = subprocess.run([sys.executable, "-c", RELOAD, *runs], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    reloaded = json.loads(out.stdout.strip().splitlines()[-1])
    for run, metrics in zip(runs, (features, finetune)):
        recorded = metrics["predictions"]["probability"]
        assert len(recorded) == 8  # the rows the smoke run scored: 2 batches of 4
        np.testing.assert_allclose(reloaded[run][:8], recorded, atol=1e-5)


def test_a_random_weights_run_compares_structure_but_not_the_books_pretrained_scores(tmp_path):
    """model.weights=null on real images: targets marked ``pretrained`` read "n/a (random weights)", the others
    (here a parameter count) are still compared."""
    from dlwp_cli import pipeline
    from image_folders import two_class_folder

    two_class_folder(tmp_path / "data" / "train", per_class=8)
    two_class_folder(tmp_path / "data" / "test", per_class=4, seed=5)
    targets = ("targets=[{metric:test.accuracy,book:0.975,band:[0.965,0.985],pretrained:true},"
               "{metric:parameters_by_model.base,book:14714688,band:[14714688,14714688]}]")
    cfg = compose_validated(["task=image_folder", f"task.path={tmp_path / 'data'}", "task.image_size=[32,32]",
                             "model=backbone", "model.weights=null", "trainer=feature_extraction", "epochs=1",
                             "augmentation=none", "output.console=false", "output.plots=false",
                             "output.tensorboard=false", targets])
    pipeline.run(cfg, tmp_path / "run", choices={})
    scored, counted = json.loads((tmp_path / "run" / "metrics.json").read_text())["targets"]
    assert scored["comparison"] == "n/a (random weights)" and scored["in_band"] is None
    assert scored["measured"] is not None and scored["delta"] is None
    assert "comparison" not in counted and counted["in_band"] is True
