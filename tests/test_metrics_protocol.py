"""Chapter 6: the measure of success (task.metrics, the imbalance advice) and the evaluation protocol
(iterated K-fold with shuffling)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from dlwp_cli import pipeline
from dlwp_cli.advice import imbalance_advice, task_advice
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.training.features import fold_label, kfold_indices

FAST = ["output.console=false", "performance.jit_compile=false", "output.save_model=false"]
BINARY = ["task=two_gaussians", "source=synthetic", "task.head.activation=sigmoid", "task.loss=binary_crossentropy",
          "epochs=1"]

USER_METRICS = '''
from keras import ops

def within_half(y_true, y_pred):
    """1 where the prediction is within 0.5 of the target."""
    error = ops.abs(ops.reshape(y_true, (-1,)) - ops.reshape(y_pred, (-1,)))
    return ops.cast(error < 0.5, "float32")
'''


def run(tmp_path, *overrides):
    cfg = compose_validated([*FAST, *overrides])
    return pipeline.run(cfg, tmp_path, choices={})


def assert_scores(scores: dict, names) -> None:
    for name in names:
        assert name in scores, (name, sorted(scores))
        values = scores[name] if isinstance(scores[name], list) else [scores[name]]
        assert all(0.0 <= value <= 1.0 for value in values), (name, values)


def test_fit_logs_auc_precision_and_recall_under_their_names(tmp_path):
    metrics = run(tmp_path / "run", *BINARY, "task.metrics=[accuracy,auc,precision,recall]",
                  "trainer.validation_size=0.2")
    names = ["accuracy", "auc", "precision", "recall"]
    assert_scores(metrics["test"], names)
    assert_scores(metrics["history"], names + [f"val_{name}" for name in names])
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert sorted(saved["test"]) == ["accuracy", "auc", "loss", "precision", "recall"]


def test_custom_loop_takes_target_nodes_of_keras_classes_and_user_functions(tmp_path, monkeypatch):
    import keras

    (tmp_path / "my_metrics.py").write_text(USER_METRICS)
    monkeypatch.syspath_prepend(str(tmp_path))
    keras.metrics.AUC()  # an earlier default-named AUC: Keras would number the next one auc_1
    metrics = run(tmp_path / "run", *BINARY, "trainer=custom_loop",
                  "task.metrics=[acc,{_target_:keras.metrics.AUC,curve:PR},"
                  "{_target_:keras.metrics.Precision,name:prec,thresholds:0.7},{_target_:my_metrics.within_half}]")
    assert_scores(metrics["test"], ["acc", "auc", "prec", "within_half"])
    assert sorted(metrics["history"]) == ["acc", "auc", "loss", "prec", "within_half"]


def test_metric_mistakes_stop_before_training_with_a_clear_error(tmp_path):
    cases = {
        "unknown name": (["task.metrics=[accuracy,precison]"], ["'precison'", "Did you mean 'precision'?"]),
        "unknown per-output name": (["task=tickets", "model=tickets", "task.metrics.department=[acuracy]"],
                                    ["task.metrics.department", "'acuracy'", "Did you mean 'accuracy'?"]),
        "not a metric": (["task.metrics=[{_target_:keras.losses.Huber}]"], ["keras.losses.Huber", "is not a metric"]),
        "auc on integer labels": (["task.metrics=[accuracy,auc]"],
                                  ["'auc'", "10-unit softmax head with integer labels", "task.labels=one_hot"]),
        "no rounds": (["trainer=kfold", "trainer.repeats=0"], ["trainer: repeats must be at least 1", "got 0"]),
    }
    script = ("import contextlib, io, json, sys\nfrom dlwp_cli.main import main\nresults = {}\n"
              "for name, args in json.loads(sys.argv[1]).items():\n    err = io.StringIO()\n"
              "    with contextlib.redirect_stderr(err):\n        code = main(['run', *args])\n"
              "    results[name] = [code, err.getvalue()]\nprint(json.dumps(results))\n")
    args = {name: [*overrides, f"hydra.run.dir={tmp_path / 'run' / str(i)}"]
            for i, (name, (overrides, _)) in enumerate(cases.items())}
    out = subprocess.run([sys.executable, "-c", script, json.dumps(args)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    results = json.loads(out.stdout.strip().splitlines()[-1])
    for name, (_, expected) in cases.items():
        code, message = results[name]
        flat = " ".join(message.split())
        assert code == 2, (name, message)
        assert all(part in flat for part in expected), (name, message)
        assert "Traceback" not in message
    assert not (tmp_path / "run").exists()


def test_imbalance_advice_for_accuracy_alone_on_a_skewed_label_set():
    skewed = np.array([0] * 90 + [1] * 10)
    advice = imbalance_advice(["accuracy"], skewed)
    assert advice is not None and "90%" in advice and "task.metrics=[accuracy,auc,precision,recall]" in advice
    assert imbalance_advice(["binary_accuracy"], np.eye(2)[skewed]) is not None  # one-hot rows
    assert imbalance_advice(["accuracy", "auc"], skewed) is None
    assert imbalance_advice(["accuracy", OmegaConf.create({"_target_": "keras.metrics.Recall"})], skewed) is None
    assert imbalance_advice(["accuracy"], np.array([0, 1] * 50)) is None
    assert imbalance_advice(["mae"], skewed) is None  # not a classification measure


def test_imbalance_advice_on_a_softmax_head_names_one_hot_labels():
    task = compose_validated([]).task  # digits: 10-unit softmax, integer labels, accuracy
    (advice,) = task_advice(task, np.array([3] * 80 + list(range(10)) * 2))
    assert "task.labels=one_hot task.loss=categorical_crossentropy task.metrics=[accuracy,auc" in advice
    assert task_advice(task, np.arange(100) % 10) == []


def test_kfold_indices_repeats_reshuffle_each_round_and_keep_the_plain_folds():
    n, folds = 12, 3
    plain = kfold_indices(n, folds, shuffle=False, seed=5)
    assert [val.tolist() for _, val in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert [val.tolist() for _, val in kfold_indices(n, folds, False, 5, repeats=1)] == [v.tolist() for _, v in plain]
    shuffled = kfold_indices(n, folds, True, 5)
    assert np.array_equal(np.concatenate([val for _, val in shuffled]), np.random.RandomState(5).permutation(n))

    repeated = kfold_indices(n, folds, shuffle=False, seed=5, repeats=3)
    assert len(repeated) == 9
    rounds = [repeated[r * folds : (r + 1) * folds] for r in range(3)]
    for split in rounds:
        assert sorted(np.concatenate([val for _, val in split]).tolist()) == list(range(n))
        for train, val in split:
            assert sorted([*train.tolist(), *val.tolist()]) == list(range(n)) and not set(train) & set(val)
    orders = {tuple(np.concatenate([val for _, val in split]).tolist()) for split in rounds}
    assert len(orders) == 3 and tuple(range(n)) not in orders  # every round a new shuffle, even unshuffled
    assert [fold_label(i, folds, 3) for i in (0, 4, 8)] == ["round_1_fold_1", "round_2_fold_2", "round_3_fold_3"]
    assert [fold_label(i, folds, 1) for i in range(3)] == ["fold_1", "fold_2", "fold_3"]
    with pytest.raises(ValueError, match="repeats"):
        kfold_indices(n, folds, False, 5, repeats=0)


def test_iterated_kfold_records_every_fold_and_the_mean_and_std_over_all(tmp_path):
    metrics = run(tmp_path, "task=boston", "source=synthetic", "trainer=kfold", "trainer.repeats=2",
                  "trainer.folds=2", "epochs=1", "batch_size=64")
    cv = metrics["cv"]
    assert (cv["repeats"], cv["folds_per_round"], len(cv["folds"])) == (2, 2, 4)
    assert [(f["round"], f["fold"]) for f in cv["folds"]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    for key in ("val_loss", "val_mae"):
        values = [fold[key] for fold in cv["folds"]]
        assert cv["mean"][key] == pytest.approx(np.mean(values))
        assert cv["std"][key] == pytest.approx(np.std(values))
    assert len({fold["val_mae"] for fold in cv["folds"]}) == 4
    assert sorted(p.name for p in (tmp_path / "tensorboard").iterdir() if p.is_dir()) == [
        "round_1_fold_1", "round_1_fold_2", "round_2_fold_1", "round_2_fold_2"]


def test_folds_stopped_early_at_different_epochs_average_over_the_folds_that_reached_each_epoch():
    from dlwp_cli.training.trainers import _mean_history

    mean = _mean_history([{"val_loss": [4.0, 2.0, 1.0]}, {"val_loss": [2.0, 1.0]}, {"val_loss": [3.0], "loss": [9.0]}])
    assert mean == {"val_loss": [3.0, 1.5, 1.0]}
