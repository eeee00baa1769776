"""``dlwp viz``: activation grids, filter patterns, Grad-CAM and augmentation grids of one tiny finished run
(MNIST convnet with the book's augmentation, smoke-sized), a keras.applications model, and the usage errors
(exit 2, nothing written)."""

from __future__ import annotations

import dataclasses

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlwp_cli.main import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One finished smoke run (Input -> augmentation -> convnet body), and copies of it: ``plain`` says it had no
    augmentation, ``dense`` holds a model without convolutions."""
    root = tmp_path_factory.mktemp("viz")
    run = root / "augmented"
    assert main(["run", "task=mnist", "model=convnet", "augmentation=book", "debug=smoke", "output.console=false",
                 f"hydra.run.dir={run}"]) == 0
    plain = root / "plain"
    shutil.copytree(run, plain)
    config = (plain / "config.yaml").read_text()
    (plain / "config.yaml").write_text(config.replace("flip: horizontal", "flip: null")
                                       .replace("rotation: 0.1", "rotation: 0.0").replace("zoom: 0.2", "zoom: 0.0"))
    dense = root / "dense"
    shutil.copytree(run, dense)
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")])
    model.save(dense / "model.keras")
    return {"augmented": run, "plain": plain, "dense": dense}


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def events(folder: Path) -> list[Path]:
    return list(folder.glob("events.out.tfevents.*"))


def test_help_imports_no_tensorflow(tmp_path):
    code = ("import sys\nfrom dlwp_cli.main import main\n"
            "for words in (['viz', '--help'], ['--help']):\n"
            "    try:\n        main(words)\n    except SystemExit:\n        pass\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "usage: dlwp viz activations|filters|gradcam|augmentation RUN_DIR" in result.stdout
    assert "dlwp viz activations|filters|gradcam|augmentation RUN_DIR [--image PATH] [--layer NAME]" in result.stdout


def test_activations_of_every_conv_and_pooling_layer_then_one(runs, capsys):
    run = runs["augmented"]
    assert main(["viz", "activations", str(run)]) == 0
    folder = run / "viz" / "activations"
    names = ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.png" for n in names)
    first = png(folder / "conv2d.png")
    assert first.shape == (2 * 27 - 1, 16 * 27 - 1, 3)        # 32 channels of 26x26, 16 a row, 1 px apart
    assert first.std() > 0
    assert png(folder / "conv2d_2.png").shape == (8 * 4 - 1, 16 * 4 - 1, 3)   # 128 channels of 3x3
    assert events(run / "tensorboard" / "viz" / "activations")
    out = capsys.readouterr().out
    assert f"wrote {folder / 'conv2d.png'}" in out and "32 channels of 26x26" in out

    # --layer picks one; the repeated call replaces the kind's folder whole
    assert main(["viz", "activations", str(run), "--layer", "conv2d_1"]) == 0
    assert [p.name for p in folder.iterdir()] == ["conv2d_1.png"]
    assert png(folder / "conv2d_1.png").shape == (4 * 12 - 1, 16 * 12 - 1, 3)   # 64 channels of 11x11
    assert len(events(run / "tensorboard" / "viz" / "activations")) == 1
    assert not list((run / "viz").glob(".*"))                  # no temporary folders left
    assert (run / "model.keras").is_file() and (run / "metrics.json").is_file()


def test_filter_patterns_of_the_last_conv_layer_and_a_chosen_one(runs):
    run = runs["augmented"]
    assert main(["viz", "filters", str(run)]) == 0
    grid = png(run / "viz" / "filters" / "filters_for_layer_conv2d_2.png")
    # 64 of 128 filters, 8x8 tiles of 28 - 2 * 3 px (an eighth cropped per side), 5 px apart
    assert grid.shape == (8 * 22 + 7 * 5, 8 * 22 + 7 * 5)
    tile = grid[:22, :22].astype(float)
    assert tile.std() > 0 and grid.std() > 0
    assert main(["viz", "filters", str(run), "--layer", "conv2d"]) == 0
    assert [p.name for p in (run / "viz" / "filters").iterdir()] == ["filters_for_layer_conv2d.png"]
    assert png(run / "viz" / "filters" / "filters_for_layer_conv2d.png").shape == (6 * 22 + 5 * 5,) * 2  # 32


def test_filter_patterns_outgrow_their_start_noise_and_excite_their_filter(runs):
    """Gradient ascent moves each pattern far past its start noise and raises its own filter's mean activation;
    a step not scaled to the model's input range would leave the noise as it was."""
    from dlwp_cli.viz import filters
    from dlwp_cli.viz.subject import run_subject

    subject = run_subject(str(runs["plain"]), None)
    assert subject.input_span() == pytest.approx(1.0)  # this convnet takes pixels scaled to [0, 1]
    raw_pixels = dataclasses.replace(subject, prepare=lambda pixels: pixels)  # as a model with its own Rescaling
    assert filters.step_size(raw_pixels) == pytest.approx(filters.step_size(subject) * 255)
    found = filters.choose_layer(subject.model, None)
    extract = filters._extractor(subject.model, found)
    start = subject.start_image(np.random.default_rng(0), 4)
    with filters.before_activation(found.layer):  # the layer's own ReLU is left out, as the render does
        grown = filters.grow_patterns(extract, start, np.arange(4), learning_rate=filters.step_size(subject))
        before, after = (np.asarray(extract(x), "float64").mean(axis=(1, 2))[np.arange(4), np.arange(4)]
                         for x in (start, grown))
    assert found.layer.activation.__name__ == "relu"  # put back afterwards
    assert np.abs(grown - start).mean() > 3 * start.std()
    assert np.all(after > before + 1.0), (before, after)


def test_every_kind_on_a_mixed_precision_run(tmp_path):
    """A run trained with precision=mixed_bfloat16 computes in bfloat16: every picture still comes out."""
    run = tmp_path / "bf16"
    assert main(["run", "task=mnist", "model=convnet", "augmentation=book", "debug=smoke", "output.console=false",
                 "precision=mixed_bfloat16", f"hydra.run.dir={run}"]) == 0
    for kind in ("activations", "filters", "gradcam", "augmentation"):
        assert main(["viz", kind, str(run)]) == 0, kind
        pictures = sorted((run / "viz" / kind).glob("*.png"))
        assert pictures and all(png(p).std() > 0 for p in pictures), kind


def test_gradcam_on_the_first_test_image_and_on_a_file(runs, tmp_path, capsys):
    run = runs["augmented"]
    assert main(["viz", "gradcam", str(run)]) == 0
    folder = run / "viz" / "gradcam"
    summary = json.loads((folder / "top_classes.json").read_text())
    assert summary["layer"] == "convnet/conv2d_2" and summary["heatmap_size"] == [3, 3]
    probabilities = [row["probability"] for row in summary["top_classes"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
    assert summary["explained_index"] == summary["top_classes"][0]["index"]
    assert png(folder / "heatmap.png").shape == (28, 28, 3)
    assert png(folder / "superimposed.png").std() > 0
    assert "top classes:" in capsys.readouterr().out

    photo = tmp_path / "photo.png"
    rows, columns = np.mgrid[0:40, 0:50]
    Image.fromarray(np.stack([rows * 6, columns * 5, (rows + columns) * 2], -1).astype(np.uint8)).save(photo)
    assert main(["viz", "gradcam", str(run), "--image", str(photo), "--layer", "conv2d_1"]) == 0
    summary = json.loads((folder / "top_classes.json").read_text())
    assert summary["image"] == str(photo) and summary["heatmap_size"] == [11, 11]
    superimposed = png(folder / "superimposed.png")
    assert superimposed.shape == (40, 50, 3) and superimposed.std() > 0   # the photo's own resolution


def test_augmentation_grid_of_nine_copies(runs):
    run = runs["augmented"]
    assert main(["viz", "augmentation", str(run)]) == 0
    grid = png(run / "viz" / "augmentation" / "augmented_3x3.png")
    assert grid.shape == (3 * 28 + 2 * 2, 3 * 28 + 2 * 2)
    tiles = [grid[r * 30:r * 30 + 28, c * 30:c * 30 + 28] for r in range(3) for c in range(3)]
    assert grid.std() > 0 and len({tile.tobytes() for tile in tiles}) > 1   # random copies differ


@pytest.mark.parametrize("which, args, message", [
    ("plain", ["activations", "--image", "no/such/cat.jpg"], "does not exist"),
    ("plain", ["augmentation"], "without augmentation"),
    ("plain", ["activations", "--layer", "nope"], "no layer 'nope'"),
    ("plain", ["gradcam", "--layer", "flatten"], "image-shaped"),
    ("dense", ["filters"], "no convolution layers"),
    ("dense", ["gradcam"], "Flatten, Dense"),
])
def test_errors_exit_2_and_write_nothing(runs, capsys, which, args, message):
    run = runs[which]
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    assert main(["viz", args[0], str(run), *args[1:]]) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_keras_application_with_random_weights(tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(photo)
    out = tmp_path / "out"
    assert main(["viz", "gradcam", "mobilenet_v3_small", "--weights", "none", "--output", str(out),
                 "--image", str(photo)]) == 0
    summary = json.loads((out / "gradcam" / "top_classes.json").read_text())
    assert min(summary["heatmap_size"]) > 1                     # not the 1x1 logits map
    assert png(out / "gradcam" / "superimposed.png").shape == (60, 80, 3)
    assert events(out / "tensorboard" / "gradcam")
    assert main(["viz", "gradcam", "mobilenet_v3_small"]) == 2   # no --output
    assert "--output DIR" in " ".join(capsys.readouterr().err.split())


def test_imagenet_weights_offline_name_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))            # an empty Keras cache
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")   # a closed port: the download fails at once
    monkeypatch.setattr(urllib.request, "_opener", None)     # urllib reads the proxies again
    out = tmp_path / "out"
    photo = tmp_path / "photo.png"
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(photo)
    assert main(["viz", "gradcam", "mobilenet_v3_small", "--output", str(out), "--image", str(photo)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "weights_mobilenet_v3_small" in err and str(tmp_path / "keras" / "models") in err
    assert "--weights none" in err
    assert not out.exists()


def test_book_normalisation_and_sigmoid_classes():
    from dlwp_cli.viz.gradcam import class_scores
    from dlwp_cli.viz.pictures import book_normalised

    assert not book_normalised(np.zeros((4, 4))).any()                 # an all-zero channel stays blank
    channel = book_normalised(np.array([[0.0, 1.0], [2.0, 3.0]]))
    assert channel.dtype == np.uint8 and channel[0, 0] < 128 < channel[1, 1]
    assert class_scores(np.array([0.3])) == (0, [(0, 0.7), (1, 0.3)])   # a sigmoid explains its predicted class
    predicted, top = class_scores(np.array([0.1, 0.6, 0.05, 0.25]))
    assert predicted == 1 and [i for i, _ in top] == [1, 3, 0]
