"""Chapter-5 building blocks: data transforms, regularized and dropout models, chance levels, comparison plots."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from dlwp_cli import run_folder
from dlwp_cli.baselines import trivial_baselines
from dlwp_cli.commands import report
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.features import Prepared, apply_transforms
from dlwp_tasks.datasets.base import Sequences
from dlwp_tasks.models.dense import DenseNet
from dlwp_tasks.models.head import Head

from shared_data import shared_file


def transforms(**values):
    return OmegaConf.create({"extra_channels": 0, "extra_channels_fill": "noise", "shuffle_labels": False, **values})


def vector_data(n=100, width=6):
    x = np.full((n, width), 0.5, dtype="float32")
    y = np.arange(n) % 10
    return Prepared(x, y, x[:20], y[:20], (width,), "vector")


@pytest.mark.parametrize("fill", ["noise", "zeros"])
def test_extra_channels(fill):
    data = apply_transforms(vector_data(), transforms(extra_channels=4, extra_channels_fill=fill), seed=0)
    assert data.x_train.shape == (100, 10) and data.x_test.shape == (20, 10) and data.input_shape == (10,)
    extra = data.x_train[:, 6:]
    assert np.all(data.x_train[:, :6] == 0.5)
    if fill == "zeros":
        assert not extra.any()
    else:
        assert 0.0 <= extra.min() and extra.max() < 1.0 and extra.std() > 0.2


def test_shuffled_labels_keep_the_label_counts():
    data = vector_data()
    shuffled = apply_transforms(data, transforms(shuffle_labels=True), seed=0)
    assert sorted(shuffled.y_train) == sorted(data.y_train)
    assert np.mean(shuffled.y_train == data.y_train) < 0.5
    assert np.array_equal(shuffled.y_test, data.y_test)  # only training labels change


def test_extra_channels_need_flat_vectors():
    seqs = Sequences.from_lists([[1, 2], [3]])
    data = Prepared(seqs, np.zeros(2), seqs, np.zeros(2), (10,), "vector", multi_hot_tokens=10)
    with pytest.raises(ValueError, match="flat vector inputs"):
        apply_transforms(data, transforms(extra_channels=3), seed=0)


def test_regularized_and_dropout_models_keep_the_books_parameter_count():
    head = Head(1, "sigmoid")
    for body in (DenseNet([16, 16]), DenseNet([16, 16], l2=0.002), DenseNet([16, 16], dropout=0.5),
                 DenseNet([16, 16], l1=0.001, l2=0.001)):
        assert body.build((10000,), head).count_params() == 160_305
    model = DenseNet([16, 16], dropout=0.5).build((10000,), head)
    assert [type(layer).__name__ for layer in model.layers].count("Dropout") == 2
    penalized = DenseNet([16, 16], l2=0.002).build((10000,), head)
    penalized(np.ones((2, 10000), dtype="float32"))
    assert len(penalized.losses) == 2 and all(float(loss) > 0 for loss in penalized.losses)


def test_keras_dropout_is_inverted_dropout():
    import keras

    layer = keras.layers.Dropout(0.5, seed=1)
    x = np.ones((4, 4), dtype="float32")
    trained = np.asarray(layer(x, training=True))
    assert set(np.unique(trained)) <= {0.0, 2.0}  # kept units scaled by 1 / (1 - rate)
    assert np.array_equal(np.asarray(layer(x, training=False)), x)


def test_model_options_are_validated():
    with pytest.raises(ConfigError, match="dropout must be in"):
        compose_validated(["model.dropout=1.0"])
    assert compose_validated(["task=imdb", "model.l2=0.002"]).model.l2 == 0.002


def test_trivial_baselines():
    assert trivial_baselines(np.array([0, 0, 0, 1])) == {"random": 0.625, "majority": 0.75}
    one_hot = np.eye(3)[[0, 1, 2, 2]]
    assert trivial_baselines(one_hot)["majority"] == 0.5
    assert trivial_baselines(np.array([[0.0], [1.0]]))["random"] == 0.5


@pytest.mark.parametrize(("dataset", "low", "high"), [("mnist", 0.099, 0.102), ("imdb", 0.5, 0.5),
                                                       ("reuters", 0.17, 0.20)])
def test_book_chance_levels(dataset, low, high):
    from dlwp_tasks.datasets.imdb import load_imdb
    from dlwp_tasks.datasets.mnist import load_mnist
    from dlwp_tasks.datasets.reuters import load_reuters

    needed = {"mnist": "mnist/t10k-labels-idx1-ubyte.gz", "imdb": "imdb/aclImdb_labeled.tar.gz",
              "reuters": "reuters/reuters21578.tar.gz"}[dataset]
    data_dir = shared_file(needed).parents[1]
    loader = {"mnist": load_mnist, "imdb": load_imdb, "reuters": load_reuters}[dataset]
    splits = loader(data_dir=str(data_dir), download=False)
    assert low <= trivial_baselines(splits.y_test)["random"] <= high


def test_comparison_plot(tmp_path):
    for name, curve in (("a", [0.5, 0.4, 0.45]), ("b", [0.6, 0.5, 0.4])):
        (tmp_path / name).mkdir()
        run_folder.write_json(tmp_path / name / "metrics.json", {"name": name, "history": {"val_loss": curve}})
    runs = report.find_runs([str(tmp_path)])
    png = report.plot_metric(runs, "val_loss", tmp_path / "compare.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="Curves these runs have: val_loss"):
        report.plot_metric(runs, "val_accuracy", tmp_path / "x.png")
