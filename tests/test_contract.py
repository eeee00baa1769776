"""The dataset contract and the YAML-only registry, from outside the package: a user's module and config dir
add an image-folder, a text-folder and a windowed-series dataset, an optimizer and a trainer mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlwp_cli import pipeline
from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_cli.loading import load_model

PLUGINS = Path(__file__).parent / "plugins"

TASKS = {
    "my_images": """# Colour squares, one folder per colour
name: my_images
path: null
dataset: {_target_: user_plugins.image_folder, path: "${task.path}", size: 16}
input_kinds: [image]
labels: index
head: {units: 2, activation: softmax}
loss: sparse_categorical_crossentropy
metrics: [accuracy]
epochs: 3
batch_size: 8
""",
    "my_texts": """# Short reviews, one folder per opinion
name: my_texts
path: null
dataset: {_target_: user_plugins.text_folder, path: "${task.path}"}
input_kinds: [vector]
labels: value
head: {units: 1, activation: sigmoid}
loss: binary_crossentropy
metrics: [accuracy]
epochs: 3
batch_size: 8
dense_units: [8]
""",
    "my_series": """# A sine, windows of 8 rows, the next value
name: my_series
dataset: {_target_: user_plugins.windowed_series, rows: 300}
input_kinds: [vector]
labels: value
head: {units: 1, activation: null}
loss: mse
metrics: [mae]
epochs: 3
batch_size: 16
dense_units: [16]
""",
}
OTHERS = {
    "optimizer/clipped_sgd.yaml": "# SGD with gradient clipping, from a user's factory\n"
                                  "_target_: user_plugins.make_sgd_with_clipping\nlearning_rate: 0.05\nclip: 1.0\n",
    "trainer/noted_fit.yaml": "# fit, with a note in metrics.json\n_target_: user_plugins.NotedFit\n"
                              "note: hello\nevaluate_test: true\nlimit_batches: null\n",
}


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("user")
    for name, text in TASKS.items():
        (root / "conf" / "task").mkdir(parents=True, exist_ok=True)
        (root / "conf" / "task" / f"{name}.yaml").write_text(text)
    for rel, text in OTHERS.items():
        (root / "conf" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "conf" / rel).write_text(text)
    colours = {"red": (220, 30, 30), "blue": (30, 30, 220)}
    for name, rgb in colours.items():
        folder = root / "images" / name
        folder.mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.asarray(rgb) + np.random.default_rng(i).integers(-25, 25, (20, 20, 3)), 0, 255)
            Image.fromarray(pixels.astype("uint8")).save(folder / f"{i}.png")
    words = {"good": "great lovely wonderful fine superb", "bad": "awful dull terrible boring poor"}
    for name, vocabulary in words.items():
        folder = root / "texts" / name
        folder.mkdir(parents=True)
        for i in range(30):
            picked = np.random.default_rng(i).choice(vocabulary.split(), 4)
            (folder / f"{i}.txt").write_text(" ".join(picked) + " film")
    sys.path.insert(0, str(PLUGINS))
    with catalog.using_search_path(config_dir=root / "conf"):
        yield root
    sys.path.remove(str(PLUGINS))


def run(tmp_path, *overrides):
    cfg = compose_validated([*overrides, "output.console=false", "output.plots=false", "seed=1"])
    pipeline.run(cfg, tmp_path, choices={})
    return cfg, json.loads((tmp_path / "metrics.json").read_text())


def test_user_options_are_listed(user_dir):
    assert {"my_images", "my_texts", "my_series"} <= set(catalog.options("task"))
    assert "clipped_sgd" in catalog.options("optimizer") and "noted_fit" in catalog.options("trainer")
    assert catalog.description("task", "my_images") == "Colour squares, one folder per colour"


def test_an_image_folder_trains_and_the_saved_model_takes_raw_pixels(user_dir, tmp_path):
    cfg, metrics = run(tmp_path, "task=my_images", f"task.path={user_dir / 'images'}", "model=convnet",
                       "model.filters=[4,8]", "epochs=6")
    assert metrics["class_names"] == ["blue", "red"] and metrics["test"]["accuracy"] >= 0.8
    model = load_model(tmp_path)
    assert model.inputs[0].dtype == "uint8"  # Rescaling is inside: raw pixels in
    pixels = np.full((1, 16, 16, 3), (220, 30, 30), dtype="uint8")
    assert int(np.argmax(model.predict(pixels, verbose=0))) == 1  # red
    # Parameter counts leave the preprocessing out: Rescaling has none, so the body's count is the model's.
    assert metrics["parameters"] == model.count_params()


def test_a_text_folder_trains_on_raw_strings(user_dir, tmp_path):
    cfg, metrics = run(tmp_path, "task=my_texts", f"task.path={user_dir / 'texts'}", "epochs=30",
                       "optimizer.learning_rate=0.01")
    assert metrics["class_names"] == ["bad", "good"] and metrics["test"]["accuracy"] >= 0.8
    model = load_model(tmp_path)
    import tensorflow as tf

    scores = model.predict({"text": tf.constant([["lovely superb film"], ["awful boring film"]])}, verbose=0)
    assert scores[0, 0] > 0.5 > scores[1, 0]


def test_a_windowed_series_streams_through_tf_data(user_dir, tmp_path):
    cfg, metrics = run(tmp_path, "task=my_series", "epochs=8")
    # Windows of 8 rows whose target is the row after them: a split of n rows gives n - 8 windows.
    assert (metrics["train_examples"], metrics["validation_examples"], metrics["data"]["test_examples"]) == (142, 67, 67)
    assert len(metrics["history"]["val_mae"]) == 8
    assert metrics["history"]["val_mae"][-1] < metrics["history"]["val_mae"][0]
    # Normalization holds weights (mean, variance): the reported count is the body's, without them.
    assert metrics["parameters"] == (16 * 16 + 16) + (16 + 1)


def test_a_streamed_dataset_refuses_a_row_hold_out(user_dir, tmp_path):
    with pytest.raises(ConfigError, match="cannot be split by rows"):
        run(tmp_path, "task=my_series", "trainer.validation_size=10")


def test_a_user_optimizer_and_trainer_mode(user_dir, tmp_path):
    cfg, metrics = run(tmp_path, "task=my_series", "optimizer=clipped_sgd", "trainer=noted_fit", "epochs=2")
    assert metrics["note"] == "hello" and len(metrics["history"]["loss"]) == 2
    config = (tmp_path / "config.yaml").read_text()
    assert "user_plugins.make_sgd_with_clipping" in config and "user_plugins.NotedFit" in config


def test_user_targets_are_checked_up_front(user_dir):
    from dlwp_cli.config.validate import check_runtime_targets

    with pytest.raises(ConfigError, match="Unknown key 'task.dataset.colour': user_plugins.image_folder takes no argument 'colour'. It takes: path, size, seed"):
        compose_validated(["task=my_images", "model=convnet", "task.path=/tmp", "+task.dataset.colour=red"])
    with pytest.raises(ConfigError, match="Unknown key 'trainer.nte'.*Did you mean 'note'"):
        compose_validated(["task=my_series", "trainer=noted_fit", "+trainer.nte=x"])
    with pytest.raises(ConfigError, match="takes no argument 'clipp'.*Did you mean 'clip'"):
        check_runtime_targets(compose_validated(["task=my_series", "optimizer=clipped_sgd", "+optimizer.clipp=2"]))
    with pytest.raises(ConfigError, match="reads your own file: give it with task.path=FILE"):
        compose_validated(["task=my_images", "model=convnet"])
