"""Folders of images: decoding and conversion, splits, the decode cache, bad files, the book's cats-vs-dogs subset,
and a run whose `dlwp predict` on image files gives back the run's own test predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.commands.predict import predict_command
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_tasks.datasets import images
from dlwp_tasks.datasets.cats_vs_dogs import load_cats_vs_dogs, subset_files
from dlwp_tasks.errors import DataError
from image_folders import save, two_class_folder
from shared_data import SHARED_DATASETS, shared_file


def test_classes_come_from_sorted_folders_and_every_mode_is_converted(tmp_path):
    root = two_class_folder(tmp_path / "imgs")
    (root / "dark" / "notes.txt").write_text("not an image")
    (root / "bright" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    splits = images.load_image_folder(root, image_size=[16, 16], validation_size=0.25, test_size=0.25, seed=3)
    assert splits.class_names == ["bright", "dark"]
    assert splits.x_train.dtype == np.uint8 and splits.x_train.shape[1:] == (16, 16, 3)
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 24
    for x, y in ((splits.x_train, splits.y_train), (splits.x_val, splits.y_val), (splits.x_test, splits.y_test)):
        assert set(np.unique(y)) == {0, 1}  # stratified: both classes in every split
        assert np.all((x.mean(axis=(1, 2, 3)) > 128) == (y == 0))  # bright = class 0, whatever the file mode
    assert len(splits.warnings) == 2
    assert any("notes.txt" in w for w in splits.warnings) and any("broken.jpg" in w for w in splits.warnings)
    gray = images.load_image_folder(root, image_size=[8, 8], color_mode="grayscale", test_size=0, seed=3)
    assert gray.x_train.shape[1:] == (8, 8, 1) and gray.x_test is None


def test_given_split_folders_are_used_as_they_are(tmp_path):
    two_class_folder(tmp_path / "data" / "train", per_class=6)
    two_class_folder(tmp_path / "data" / "val", per_class=2, seed=1)
    two_class_folder(tmp_path / "data" / "test", per_class=3, seed=2)
    splits = images.load_image_folder(tmp_path / "data", image_size=[8, 8])
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (12, 4, 6)


def test_unlabelled_folder_and_crop_to_aspect_ratio(tmp_path):
    wide = np.zeros((10, 30, 3), "uint8")
    wide[:, 10:20] = 255  # a white centre square in a black band
    save(tmp_path / "faces" / "a.png", wide)
    splits = images.load_image_folder(tmp_path / "faces", image_size=[10, 10], labels="none",
                                      crop_to_aspect_ratio=True)
    assert splits.y_train is None and splits.x_train.shape == (1, 10, 10, 3)
    assert splits.x_train.min() == 255  # the crop kept the centre square only


@pytest.mark.parametrize("layout, message", [
    ({"a": 2, "b": 0}, "hold no images"),
    ({"a": 3}, "one class folder"),
    ({}, "no class folders"),
])
def test_bad_folders_are_refused_with_a_clear_message(tmp_path, layout, message):
    root = tmp_path / "imgs"
    root.mkdir()
    for name, count in layout.items():
        (root / name).mkdir()
        for i in range(count):
            save(root / name / f"{i}.png", np.zeros((4, 4, 3), "uint8"))
    with pytest.raises(DataError, match=message):
        images.load_image_folder(root, image_size=[4, 4])


def test_large_folders_are_decoded_once_into_a_cache_outside_the_folder(tmp_path, monkeypatch):
    root = two_class_folder(tmp_path / "imgs", per_class=4)
    before = sorted(p.name for p in root.rglob("*"))
    monkeypatch.setenv("DLWP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "DISK_CACHE_BYTES", 0)
    first = images.load_image_folder(root, image_size=[8, 8], test_size=0, validation_size=0)
    assert list((tmp_path / "cache" / "images").glob("*/decoded-v*.npz"))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(images, "decode_image", no_decoding)
    second = images.load_image_folder(root, image_size=[8, 8], test_size=0, validation_size=0)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert sorted(p.name for p in root.rglob("*")) == before  # nothing written into the user's folder


def test_cats_vs_dogs_takes_the_books_file_ids_per_split(monkeypatch, tmp_path):
    shared_file("cats_vs_dogs/dogs_vs_cats_first2500_200px.tar")
    monkeypatch.setenv("DLWP_CACHE_DIR", str(tmp_path / "cache"))
    splits = load_cats_vs_dogs(data_dir=SHARED_DATASETS, limit=2)
    assert splits.class_names == ["cat", "dog"]
    assert [len(x) for x in (splits.x_train, splits.x_val, splits.x_test)] == [4, 4, 4]
    extracted = next((tmp_path / "cache" / "cats_vs_dogs").glob("*/dogs_vs_cats_200px/train"))
    files = subset_files(extracted)
    assert [len(files[s]["dog"]) for s in ("train", "validation", "test")] == [1000, 500, 1000]
    assert files["validation"]["cat"][0].name == "cat.1000.jpg" and files["test"]["dog"][-1].name == "dog.2499.jpg"
    expected = images.decode_image(extracted / "dog.1500.jpg", (180, 180))
    np.testing.assert_array_equal(splits.x_test[2], expected)  # test: cats 1500-1501, then dogs 1500-1501
    assert splits.y_test.tolist() == [0, 0, 1, 1]


def test_cats_vs_dogs_without_its_files_says_where_to_get_them(tmp_path):
    with pytest.raises(DataError, match="dogs_vs_cats_first2500_200px.tar.*kaggle competitions download"):
        load_cats_vs_dogs(data_dir=tmp_path)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    two_class_folder(folder / "data" / "train", per_class=16)
    two_class_folder(folder / "data" / "test", per_class=4, seed=5)
    run_dir = folder / "run"
    cfg = compose_validated(["task=image_folder", f"task.path={folder / 'data'}", "task.image_size=[28,28]",
                             "epochs=4", "output.console=false", "output.plots=false", "output.tensorboard=false",
                             "augmentation=book"])
    pipeline.run(cfg, run_dir, choices={})
    return folder, run_dir, json.loads((run_dir / "metrics.json").read_text())


def test_an_image_folder_run_reports_classes_and_saves_a_model_taking_raw_pixels(image_run):
    _, run_dir, metrics = image_run
    assert metrics["status"] == "completed" and metrics["class_names"] == ["bright", "dark"]
    assert metrics["confusion_matrix"]["labels"] == ["bright", "dark"]
    assert sum(map(sum, metrics["confusion_matrix"]["counts"])) == 8
    features = json.loads((run_dir / "features.json").read_text())
    assert features["scale"] == 255.0 and features["image_shape"] == [28, 28, 3]
    assert metrics["data"]["input_kind"] == "image"


def test_augmentation_is_saved_in_the_model_and_inactive_at_inference(image_run):
    from dlwp_cli.loading import load_model

    _, run_dir, _ = image_run
    model = load_model(run_dir, compile=False)
    assert model.get_layer("data_augmentation") is not None
    batch = np.random.default_rng(0).random((3, 28, 28, 3)).astype("float32")
    np.testing.assert_array_equal(model.predict(batch, verbose=0), model.predict(batch, verbose=0))


def test_predict_on_image_files_gives_back_the_runs_test_predictions(image_run, capsys):
    folder, run_dir, metrics = image_run
    test_files = [str(p) for c in ("bright", "dark") for p in sorted((folder / "data" / "test" / c).iterdir())]
    assert predict_command(str(run_dir), test_files) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == test_files
    probabilities = [float(line.split("\t")[2]) for line in lines]
    np.testing.assert_allclose(probabilities, metrics["predictions"]["probability"], rtol=1e-4, atol=1e-6)


def test_a_model_with_its_own_rescaling_gets_raw_pixels(tmp_path):
    two_class_folder(tmp_path / "data", per_class=6)
    cfg = compose_validated(["task=image_folder", f"task.path={tmp_path / 'data'}", "task.image_size=[16,16]",
                             "model=convnet", "model.rescaling=0.00392156862745098", "model.filters=[4]",
                             "epochs=1", "output.console=false", "output.plots=false", "output.tensorboard=false"])
    pipeline.run(cfg, tmp_path / "run", choices={})
    assert json.loads((tmp_path / "run" / "features.json").read_text())["scale"] is None


@pytest.mark.parametrize("overrides, message", [
    (["task=digits", "augmentation=book"], "augmentation changes images"),
    (["task=cats_vs_dogs", "augmentation.flip=sideways"], "augmentation.flip must be one of"),
    (["task=image_folder", "task.path=/tmp", "task.labels=none"], "unlabelled"),
])
def test_bad_image_settings_stop_before_training(overrides, message):
    with pytest.raises(ConfigError, match=message):
        compose_validated(overrides)


def test_predict_names_a_missing_image_and_prints_nothing(image_run, capsys):
    folder, run_dir, _ = image_run
    existing = str(next((folder / "data" / "test" / "dark").iterdir()))
    with pytest.raises(DataError, match="no_such.png"):
        predict_command(str(run_dir), [existing, str(folder / "no_such.png")])
    assert capsys.readouterr().out == ""


def test_a_folder_that_cannot_train_stops_before_a_run_folder_exists(tmp_path, capsys):
    from dlwp_cli.main import main

    save(tmp_path / "imgs" / "only" / "0.png", np.zeros((4, 4, 3), "uint8"))
    run_dir = tmp_path / "run"
    assert main(["run", "task=image_folder", f"task.path={tmp_path / 'imgs'}", f"hydra.run.dir={run_dir}"]) == 2
    assert "one class folder" in capsys.readouterr().err and not run_dir.exists()
