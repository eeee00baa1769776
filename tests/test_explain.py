"""A classifier's errors explained: confusion matrix, threshold table, confident mistakes, and how a run used its
test split (book §6.3.1 and §6.2.5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli import explain, pipeline
from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.data import load_data, prepare_data
from dlwp_cli.loading import load_model

PLUGINS = Path(__file__).parent / "plugins"
SMALL_IMDB = ["task=imdb", "source=synthetic", "task.size.train=300", "task.size.test=200", "epochs=2",
              "batch_size=64"]


def run(tmp_path, *overrides):
    cfg = compose_validated([*overrides, "output.console=false", "output.plots=false", "seed=1"])
    metrics = pipeline.run(cfg, tmp_path, choices={})
    return cfg, metrics


def test_threshold_rates_match_counts_done_by_hand():
    truth = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    probability = np.array([0.95, 0.62, 0.35, 0.55, 0.12, 0.05, 0.71, 0.5])
    row = {r["threshold"]: r for r in explain.threshold_table(truth, probability)}[0.5]
    # above 0.5: 0.95, 0.62 (positives), 0.55, 0.71 (negatives); 0.5 itself is not above
    assert row["precision"] == pytest.approx(2 / 4) and row["recall"] == pytest.approx(2 / 4)
    assert row["fpr"] == pytest.approx(2 / 4) and row["fnr"] == pytest.approx(2 / 4)
    assert row["accuracy"] == pytest.approx(4 / 8)
    table = explain.threshold_table(truth, probability)
    assert [r["threshold"] for r in table] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert table[-1]["precision"] == 1.0 and table[-1]["recall"] == pytest.approx(1 / 4)  # only 0.95 is above 0.9
    assert explain.threshold_table(truth, probability / 2)[-1]["precision"] is None  # nothing said positive
    best = explain.best_f1_threshold(table)
    assert explain.f1({r["threshold"]: r for r in table}[best]) == max(explain.f1(r) for r in table)
    matrix = explain.confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), ["a", "b", "c"])
    assert matrix["counts"] == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert explain.confident_mistakes(np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0]), np.array([.6, .9, .8, .7])) \
        == [2, 0]


def test_a_binary_run_without_validation_explains_its_errors_on_test(tmp_path):
    """No validation split, so the threshold table is on test; at 0.5 its accuracy is the run's test accuracy,
    and its rates match a confusion matrix computed here from the saved model's own predictions."""
    cfg, metrics = run(tmp_path, *SMALL_IMDB)
    thresholds = metrics["thresholds"]
    assert thresholds["split"] == "test" and 0.1 <= thresholds["best_f1_threshold"] <= 0.9
    at_half = {r["threshold"]: r for r in thresholds["table"]}[0.5]
    assert at_half["accuracy"] == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)

    data, _ = prepare_data(cfg, load_data(cfg))
    from dlwp_cli.training.inputs import make_dataset

    probability = load_model(tmp_path).predict(make_dataset(data.x_test, data.y_test, data, 64), verbose=0)[:, 0]
    said, truth = probability > 0.5, data.y_test.astype(bool)
    tp, fp = np.sum(said & truth), np.sum(said & ~truth)
    fn, tn = np.sum(~said & truth), np.sum(~said & ~truth)
    assert metrics["confusion_matrix"]["counts"] == [[tn, fp], [fn, tp]]
    assert at_half["precision"] == pytest.approx(tp / (tp + fp)) and at_half["recall"] == pytest.approx(tp / (tp + fn))
    assert at_half["fpr"] == pytest.approx(fp / (fp + tn)) and at_half["fnr"] == pytest.approx(fn / (fn + tp))

    assert metrics["test_evaluations"] == 1 and metrics["final"] is True
    errors = json.loads((tmp_path / "errors.json").read_text())
    confidences = [m["confidence"] for m in errors["mistakes"]]
    assert errors["split"] == "test" and confidences == sorted(confidences, reverse=True)
    assert len(confidences) == min(12, fp + fn) and all(m["true"] != m["predicted"] for m in errors["mistakes"])


def test_with_a_validation_split_the_thresholds_come_from_it_and_the_run_is_not_final(tmp_path):
    _, metrics = run(tmp_path, *SMALL_IMDB, "trainer.validation_size=100")
    assert metrics["thresholds"]["split"] == "validation"
    assert metrics["final"] is False and metrics["test_evaluations"] == 1


def test_a_multiclass_run_records_its_confusion_matrix_and_shows_its_mistaken_images(tmp_path):
    _, metrics = run(tmp_path, "task=digits", "epochs=2")
    counts = np.array(metrics["confusion_matrix"]["counts"])
    assert counts.shape == (10, 10) and counts.sum() == metrics["data"]["test_examples"]
    assert np.trace(counts) / counts.sum() == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert "thresholds" not in metrics
    errors = json.loads((tmp_path / "errors.json").read_text())
    assert all((tmp_path / m["input"]["image"]).is_file() for m in errors["mistakes"])

    shown = subprocess.run([sys.executable, "-m", "dlwp_cli.main", "report", str(tmp_path), "--errors"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "Confusion matrix" in text and "Most confident mistakes" in text
    assert str(counts[0, 0]) in text


def test_choosing_by_a_validation_split_that_is_the_test_split_is_flagged(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    conf = tmp_path / "conf" / "task"
    conf.mkdir(parents=True)
    (conf / "leaky.yaml").write_text(
        "# validation split = test split\nname: leaky\ndataset: {_target_: user_plugins.validation_is_test}\n"
        "input_kinds: [vector]\nlabels: value\nhead: {units: 1, activation: sigmoid}\nloss: binary_crossentropy\n"
        "metrics: [accuracy]\nepochs: 3\nbatch_size: 16\n"
        "callbacks:\n  stop: {_target_: keras.callbacks.EarlyStopping, patience: 2}\n")
    with catalog.using_search_path(config_dir=tmp_path / "conf"):
        _, metrics = run(tmp_path / "run", "task=leaky", "epochs=3")
    assert metrics["test_used_for_choices"] == ["stop"]
    shown = subprocess.run([sys.executable, "-m", "dlwp_cli.main", "report", str(tmp_path / "run")],
                           capture_output=True, text=True, timeout=120)
    assert "validation split is its test split" in " ".join(shown.stderr.split())
    sys.modules.pop("user_plugins", None)


def test_the_confusion_matrix_picture_shows_every_class(tmp_path):
    from PIL import Image

    from dlwp_cli.plots import plot_confusion_matrix

    path = plot_confusion_matrix({"labels": ["cat", "dog", "fox"], "counts": [[8, 2, 0], [1, 9, 0], [0, 0, 5]]},
                                 tmp_path / "cm.png", "pets")
    pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100 and pixels.std() > 10


def test_known_split_outputs_spare_a_pass_through_the_model(tmp_path):
    """A trainer that already has the model's outputs on a split (a classifier on cached features) hands them
    over: the analysis uses them, and predicts with the model only for the splits it lacks."""
    from dlwp_cli.training import mistakes

    cfg = compose_validated(["task=digits", "output.console=false"])
    splits = load_data(cfg)
    data, _ = prepare_data(cfg, splits)

    class NoPredict:
        def predict(self, *args, **kwargs):
            raise AssertionError("the model was run over a split whose outputs were known")

    rng = np.random.default_rng(0)
    known = rng.dirichlet(np.ones(10), size=data.n_test)
    found = mistakes.analyse(NoPredict(), data, splits, cfg, tmp_path, {"test": known})
    expected = explain.confusion_matrix(np.asarray(data.y_test), known.argmax(axis=1), list(range(10)))
    assert found["confusion_matrix"] == expected
    assert json.loads((tmp_path / "errors.json").read_text())["split"] == "test"
