"""The book's figures reproduced on the real data (slow: run with ``pytest -m slow``).

Each experiment runs once with its recorded seed; every target of its config must land in its band,
plus the checks of targets.md that relate runs to each other or need more than one number.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated

from conftest import SHARED_DATASETS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def shared_data():
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared datasets folder missing: {SHARED_DATASETS}")


@lru_cache(maxsize=None)
def reproduce(experiment: str, outputs: str) -> dict:
    cfg = compose_validated([f"experiment={experiment}", f"data_dir={SHARED_DATASETS}", "download=false",
                             "output.console=false"])
    return pipeline.run(cfg, f"{outputs}/{experiment}", choices={})


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("reproduce"))


def assert_targets(metrics: dict) -> None:
    misses = [t for t in metrics["targets"] if not t["in_band"]]
    assert not misses, f"outside the book's band: {misses}"


@pytest.mark.parametrize("experiment", [
    "ch02/mnist_dense", "ch04/imdb_dense", "ch04/imdb_dense_final", "ch04/reuters_dense",
    "ch04/reuters_dense_final", "ch04/reuters_dense_sparse_labels", "ch04/reuters_bottleneck",
    "ch04/reuters_random_baseline", "ch04/boston_kfold", "ch04/boston_kfold_curves", "ch04/boston_final",
])
def test_book_targets(experiment, outputs):
    assert_targets(reproduce(experiment, outputs))


def test_mnist_dense_details(outputs):
    metrics = reproduce("ch02/mnist_dense", outputs)
    assert metrics["test"]["accuracy"] < metrics["history"]["accuracy"][-1]  # the book's first overfitting
    assert metrics["predictions"]["predicted"][0] == 7 and metrics["predictions"]["probability"][0] > 0.99


def test_imdb_training_loss_keeps_falling(outputs):
    loss = reproduce("ch04/imdb_dense", outputs)["history"]["loss"]
    assert sum(b > a for a, b in zip(loss, loss[1:])) <= 1


def test_imdb_final_has_confident_and_uncertain_predictions(outputs):
    probabilities = np.array(reproduce("ch04/imdb_dense_final", outputs)["predictions"]["probability"])
    assert ((probabilities >= 0.99) | (probabilities <= 0.01)).any()
    assert (np.abs(probabilities - 0.5) <= 0.2).any()


def test_sparse_labels_match_one_hot(outputs):
    one_hot = reproduce("ch04/reuters_dense_final", outputs)["test"]["accuracy"]
    sparse = reproduce("ch04/reuters_dense_sparse_labels", outputs)["test"]["accuracy"]
    assert abs(one_hot - sparse) <= 0.02


def test_bottleneck_peaks_below_dense(outputs):
    dense = max(reproduce("ch04/reuters_dense", outputs)["history"]["val_accuracy"])
    bottleneck = max(reproduce("ch04/reuters_bottleneck", outputs)["history"]["val_accuracy"])
    assert bottleneck < dense
