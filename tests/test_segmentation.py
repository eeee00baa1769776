"""Segmentation (§9.2): the Oxford-IIIT Pets loader, the encoder-decoder's parameter count, per-pixel targets
through the pipeline's chance levels, samples and confusion matrix, and the masks report of a smoke run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from dlwp_cli import pipeline
from dlwp_cli.baselines import trivial_baselines
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_cli.training import mistakes
from dlwp_cli.training.features import Prepared
from dlwp_cli.training.task_reports import run_task_reports
from dlwp_tasks.datasets import oxford_pets
from dlwp_tasks.datasets.base import DataSplits
from dlwp_tasks.errors import DataError
from dlwp_tasks.models.head import Head
from dlwp_tasks.models.segmentation import SegmentationNet
from shared_data import SHARED_DATASETS, shared_file

SMOKE = ["experiment=ch09/oxford_pets_segmentation", "debug=smoke", "output.console=false"]


def test_the_books_segmentation_network_has_its_parameter_count():
    model = SegmentationNet().build((200, 200, 3), Head(3, "softmax"))
    assert model.count_params() == 2_880_643
    assert model.output_shape == (None, 200, 200, 3)
    assert SegmentationNet.takes_raw_pixels and type(model.layers[1]).__name__ == "Rescaling"
    with pytest.raises(ValueError, match="multiples of 8"):
        SegmentationNet().build((100, 100, 3), Head(3, "softmax"))


def test_only_a_per_pixel_model_fits_the_task():
    with pytest.raises(ConfigError, match="Models that fit task 'oxford_pets': segmentation"):
        compose_validated(["task=oxford_pets", "model=dense"])
    assert compose_validated(["task=oxford_pets"]).model._target_.endswith("SegmentationNet")


def test_book_order_is_the_shuffle_of_random_1337():
    names = [f"f{i}" for i in range(60)]
    shuffled = list(names)
    random.Random(1337).shuffle(shuffled)
    assert [names[i] for i in oxford_pets.book_order(60)] == shuffled


@pytest.fixture(scope="module")
def pets_subset(session_cache):
    shared_file(oxford_pets.SUBSET)
    with pytest.MonkeyPatch.context() as patch:   # extracted and decoded into the tests' own cache
        patch.setenv("DLWP_CACHE_DIR", str(session_cache))
        return oxford_pets.load_oxford_pets(data_dir=SHARED_DATASETS, validation_size=12, download=False)


def subset_files():
    from dlwp_tasks.datasets.cache import dataset_cache_dir

    folder = dataset_cache_dir("oxford_pets", oxford_pets.SUBSET_SHA256) / "oxford_pets_subset"
    return oxford_pets.pair_paths(folder / "images", folder / "annotations" / "trimaps")


def test_the_real_subset_loads_as_the_book_recipe(pets_subset):
    splits = pets_subset
    assert splits.x_train.shape == (48, 200, 200, 3) and splits.x_val.shape == (12, 200, 200, 3)
    assert splits.y_train.shape == (48, 200, 200, 1) and splits.y_val.shape == (12, 200, 200, 1)
    assert splits.x_train.dtype == splits.y_train.dtype == np.uint8
    assert len(splits.x_test) == len(splits.y_test) == 0
    assert set(np.unique(np.concatenate([splits.y_train, splits.y_val])).tolist()) == {0, 1, 2}
    assert splits.info["files"][0]["non_canonical"] is False and splits.info["pairs"] == 60


def test_subset_pairs_stay_aligned_and_the_rgba_file_is_rgb(pets_subset):
    from PIL import Image

    from dlwp_tasks.datasets.images import read_images

    images, trimaps = subset_files()
    order = oxford_pets.book_order(len(images))
    x = np.concatenate([pets_subset.x_train, pets_subset.x_val])
    y = np.concatenate([pets_subset.y_train, pets_subset.y_val])
    rgba = next(k for k, i in enumerate(order) if images[i].name == "Abyssinian_5.jpg")
    with Image.open(images[order[rgba]]) as image:
        assert image.mode == "RGBA"   # a PNG under a .jpg name, decoded by content
    for k in (0, 59, rgba):
        i = order[k]
        assert images[i].stem == trimaps[i].stem
        np.testing.assert_array_equal(x[k], read_images([images[i]], (200, 200))[0])
        np.testing.assert_array_equal(y[k], oxford_pets.read_trimaps([trimaps[i]], (200, 200))[0] - 1)


@pytest.mark.parametrize("validation_size", [60, 0, 100])
def test_a_validation_split_must_leave_training_pairs(validation_size):
    shared_file(oxford_pets.SUBSET)
    with pytest.raises(DataError, match="below the 60 image pairs"):
        oxford_pets.load_oxford_pets(data_dir=SHARED_DATASETS, validation_size=validation_size, download=False)


def test_a_validation_count_is_honoured(pets_subset):
    shared_file(oxford_pets.SUBSET)
    splits = oxford_pets.load_oxford_pets(data_dir=SHARED_DATASETS, validation_size=5, download=False)
    assert len(splits.x_train) == 55 and len(splits.x_val) == 5
    np.testing.assert_array_equal(splits.x_val, pets_subset.x_val[-5:])   # the last pairs, either way


def write_pet_folder(root, stems, size=(30, 20)):
    """A folder in the official layout: random JPEGs and trimaps of values 1-3 (an RGBA PNG under one .jpg name)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    for i, stem in enumerate(stems):
        pixels = rng.integers(0, 256, (size[1], size[0], 4 if i == 0 else 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"{stem}.jpg", format="PNG" if i == 0 else "JPEG")
        Image.fromarray(rng.integers(1, 4, (size[1], size[0]), dtype=np.uint8)).save(
            root / "annotations" / "trimaps" / f"{stem}.png")
    (root / "images" / "._hidden.jpg").write_bytes(b"not an image")


def test_a_folder_given_as_task_path_is_read(tmp_path):
    write_pet_folder(tmp_path, [f"cat_{i}" for i in range(6)])
    splits = oxford_pets.load_oxford_pets(path=tmp_path, image_size=(16, 16), validation_size=2, download=False)
    assert splits.x_train.shape == (4, 16, 16, 3) and splits.y_val.shape == (2, 16, 16, 1)
    assert set(np.unique(splits.y_train).tolist()) <= {0, 1, 2} and splits.info["source"] == "path"
    (tmp_path / "annotations" / "trimaps" / "cat_3.png").unlink()
    with pytest.raises(DataError, match="cat_3"):
        oxford_pets.load_oxford_pets(path=tmp_path, image_size=(16, 16), validation_size=2, download=False)


def test_the_official_archives_in_the_data_directory(tmp_path):
    import tarfile

    write_pet_folder(tmp_path / "unpacked", [f"dog_{i}" for i in range(5)])
    (tmp_path / "data" / "oxford_pets").mkdir(parents=True)
    for archive, folder in (("images.tar.gz", "images"), ("annotations.tar.gz", "annotations")):
        with tarfile.open(tmp_path / "data" / "oxford_pets" / archive, "w:gz") as tar:
            tar.add(tmp_path / "unpacked" / folder, arcname=folder)
    splits = oxford_pets.load_oxford_pets(image_size=(8, 8), validation_size=1, data_dir=tmp_path / "data",
                                          download=False)
    assert len(splits.x_train) == 4 and len(splits.x_val) == 1 and splits.info["source"] == "data_dir"
    assert [Path(f["path"]).name for f in splits.info["files"]] == ["images.tar.gz", "annotations.tar.gz"]


def test_no_data_and_no_download_names_what_to_get(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError, match="oxford_pets_3breeds_60.tar.gz.*download=false"):
        oxford_pets.load_oxford_pets(data_dir=tmp_path, download=False)


def per_pixel_data(n=4, size=8):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (n, size, size, 3)).astype("float32")
    y = rng.integers(0, 3, (n, size, size, 1)).astype("int32")
    return Prepared(x, y, x, y, (size, size, 3), "image_segmentation", x_val=x, y_val=y)


def test_chance_levels_count_every_pixel():
    masks = np.zeros((2, 4, 4, 1), dtype=np.uint8)
    masks[0, :2] = 1
    assert trivial_baselines(masks) == {"random": 0.75**2 + 0.25**2, "majority": 0.75}


def test_per_pixel_samples_and_test_confusion_matrix(tmp_path):
    import keras

    data = per_pixel_data()
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(inputs))
    cfg = compose_validated([*SMOKE, "trainer.evaluate_test=true", "output.predict_samples=3"])
    splits = DataSplits(None, None, class_names=["pet", "background", "border"])
    found = mistakes.analyse(model, data, splits, cfg, tmp_path)
    matrix = found["confusion_matrix"]
    assert matrix["unit"] == "pixels" and matrix["labels"] == ["pet", "background", "border"]
    assert np.sum(matrix["counts"]) == 4 * 64   # smoke: at most 2 batches of 4, here one
    assert np.asarray(matrix["counts"]).sum(axis=1).tolist() == np.bincount(data.y_test.ravel(), minlength=3).tolist()
    assert not (tmp_path / "errors.json").exists()
    samples = pipeline.predict_samples(model, data, cfg)
    predicted = model.predict(data.x_test[:3], verbose=0).argmax(axis=-1)
    expected = np.mean(predicted == data.y_test[:3, ..., 0], axis=(1, 2))
    np.testing.assert_allclose(samples["pixel_accuracy"], expected, atol=1e-4)
    assert all(abs(sum(shares) - 1) < 1e-3 for shares in samples["predicted_shares"])


def test_smoke_run_trains_and_writes_masks(tmp_path, capsys):
    from PIL import Image

    pipeline.run(compose_validated(SMOKE), tmp_path, choices={})
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["status"] == "completed" and saved["parameters"] == 2_880_643
    assert {"loss", "accuracy", "mean_iou", "val_loss", "val_accuracy", "val_mean_iou"} <= set(saved["history"])
    assert saved["validation_examples"] == 8 and "test" not in saved and saved["predictions"] == {}
    assert 0.0 < saved["baselines"]["majority"] < 1.0 and "confusion_matrix" not in saved
    assert (tmp_path / "oxford_segmentation.keras").is_file()
    masks = saved["masks"]   # the task's report, run by the pipeline after training
    assert masks["model"] == "checkpoint oxford_segmentation.keras"
    assert [image["index"] for image in masks["images"]] == [0, 1, 2, 4]
    for image in masks["images"]:
        with Image.open(tmp_path / image["input"]) as picture:
            assert picture.size == (200, 200) and picture.mode == "RGB"
        for part in ("true", "predicted"):
            with Image.open(tmp_path / image[part]) as picture:
                assert picture.mode == "L" and set(np.unique(np.asarray(picture)).tolist()) <= {0, 127, 254}
    predict_writes_a_mask_per_image(tmp_path, capsys)


def predict_writes_a_mask_per_image(run_dir: Path, capsys):
    """``dlwp predict`` on the finished segmentation run: a mask PNG per image at the run's size, and each
    class's share of its pixels on stdout."""
    from PIL import Image

    from dlwp_cli.commands.predict import predict_command

    photo = run_dir / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 130, 4), dtype=np.uint8)).save(photo)  # RGBA
    capsys.readouterr()
    assert predict_command(str(run_dir), [str(photo)]) == 0
    name, mask_path, *shares = capsys.readouterr().out.strip().split("\t")
    assert name == str(photo) and Path(mask_path) == run_dir / "predicted_masks" / "photo.png"
    assert len(shares) == 3 and abs(sum(float(share) for share in shares) - 1) < 1e-3
    with Image.open(mask_path) as mask:
        assert mask.size == (200, 200) and mask.mode == "L"
        assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 127, 254}


def test_save_masks_draws_input_truth_and_prediction(tmp_path):
    import keras
    from PIL import Image

    from dlwp_tasks.masks import save_masks

    data = per_pixel_data(n=6)
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(inputs))
    splits = DataSplits(None, None, x_val=data.x_val.astype(np.uint8), y_val=data.y_val)
    found = save_masks(model, data, splits, None, tmp_path, indices=[4, 9], checkpoint="absent.keras")["masks"]
    assert found["model"] == "final" and [image["index"] for image in found["images"]] == [4]
    predicted = model.predict(data.x_val[4:5], verbose=0).argmax(axis=-1)[0]
    with Image.open(tmp_path / "masks" / "val_0004_predicted.png") as picture:
        np.testing.assert_array_equal(np.asarray(picture), predicted * 127)
    with Image.open(tmp_path / "masks" / "val_0004_true.png") as picture:
        np.testing.assert_array_equal(np.asarray(picture), data.y_val[4, ..., 0] * 127)
    with Image.open(tmp_path / "masks" / "val_0004_input.png") as picture:
        np.testing.assert_array_equal(np.asarray(picture), splits.x_val[4])
    assert found["images"][0]["pixel_accuracy"] == pytest.approx(np.mean(predicted == data.y_val[4, ..., 0]))
    assert save_masks(None, data, splits, None, tmp_path) == {}


def test_a_report_with_wrong_arguments_is_a_config_error(tmp_path):
    cfg = compose_validated([*SMOKE, "task.reports=[{_target_: dlwp_tasks.masks.save_masks, colour: red}]"])
    with pytest.raises(ConfigError, match="task.reports.0.*colour"):
        run_task_reports(None, per_pixel_data(), None, cfg, tmp_path)
    cfg = OmegaConf.merge(cfg, {"task": {"reports": []}})
    assert run_task_reports(None, per_pixel_data(), None, cfg, tmp_path) == {}
