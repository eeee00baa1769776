"""dlwp tune: the search space as KerasTuner hyperparameters, a search's run folder, a resumed search, bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from dlwp_cli import pipeline, run_folder
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.config.search_space import parse
from dlwp_cli.errors import ConfigError
from dlwp_cli.main import main

SPACE = ["+search_space.model.units='choice([8],[16])'",
         "+search_space.optimizer.learning_rate='tag(log, interval(1e-3,1e-2))'"]
SEARCH = ["task=digits", "trainer=keras_tuner", "tuner=random", "trainer.validation_size=0.2", "epochs=2",
          "batch_size=64", "output.console=false", "output.plots=false", "performance.jit_compile=false", *SPACE]


def trials_table(run_dir) -> list[dict]:
    with open(run_dir / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_kind_of_dimension_maps_to_a_kerastuner_hyperparameter_and_back():
    import keras_tuner as kt

    from dlwp_cli.tuning.space import declare, decode

    dims = parse({"optimizer": "choice(rmsprop,adam)", "model.units": "choice([16,16],[64,64])",
                  "model.dropout": "choice(0,0.5)", "model.width": "range(16,65,16)",
                  "model.depth": "tag(log, range(1,9))", "model.rate": "range(0.1,0.5,0.1)",
                  "optimizer.learning_rate": "tag(log, interval(1e-4,1e-2))", "model.l2": "interval(0.0,0.01)",
                  "model.layers": "int(interval(1,4))"})
    hp = kt.HyperParameters()
    first = {dim.key: declare(hp, dim) for dim in dims}
    space = {p.name: p for p in hp.space}
    assert isinstance(space["optimizer"], kt.engine.hyperparameters.Choice)
    assert space["optimizer"].values == ["rmsprop", "adam"]
    assert space["model.units"].values == ["[16,16]", "[64,64]"]   # lists are offered as their override text
    assert space["model.dropout"].values == ["0", "0.5"]             # so are mixed types
    width = space["model.width"]
    assert isinstance(width, kt.engine.hyperparameters.Int)
    assert (width.min_value, width.max_value, width.step, width.sampling) == (16, 64, 16, "linear")
    assert isinstance(space["model.depth"], kt.engine.hyperparameters.Int)
    assert (space["model.depth"].min_value, space["model.depth"].max_value) == (1, 8)
    assert space["model.depth"].sampling == "log"
    assert space["model.rate"].values == [0.1, 0.2, 0.3, 0.4]       # a float range: its values
    rate = space["optimizer.learning_rate"]
    assert isinstance(rate, kt.engine.hyperparameters.Float) and rate.sampling == "log"
    assert (rate.min_value, rate.max_value) == (1e-4, 1e-2)
    assert isinstance(space["model.l2"], kt.engine.hyperparameters.Float) and space["model.l2"].sampling == "linear"
    assert isinstance(space["model.layers"], kt.engine.hyperparameters.Int)
    assert (space["model.layers"].min_value, space["model.layers"].max_value) == (1, 4)
    # the defaults come back as the config takes them: a list stays a list, an int stays an int
    assert first["model.units"] == [16, 16] and first["model.dropout"] == 0 and first["model.width"] == 16
    # a trial's values, as KerasTuner holds them, decode to config values (its own entries left out)
    values = {"optimizer": "adam", "model.units": "[64,64]", "model.dropout": "0.5", "model.width": 48,
              "optimizer.learning_rate": 0.003, "tuner/epochs": 4}
    decoded = decode(dims, values)
    assert decoded == {"optimizer": "adam", "model.units": [64, 64], "model.dropout": 0.5, "model.width": 48,
                       "optimizer.learning_rate": 0.003}
    hp.values.update(values)
    assert {dim.key: declare(hp, dim) for dim in dims}["model.units"] == [64, 64]


def test_a_search_writes_its_trials_the_top_sets_test_scores_and_the_best_model(tmp_path):
    import keras

    cfg = compose_validated([*SEARCH, "tuner.max_trials=2", "tuner.top_n=2", "trainer.refit_patience=1"])
    metrics = pipeline.run(cfg, tmp_path, choices={})
    rows = trials_table(tmp_path)
    assert [row["trial"] for row in rows] == ["0", "1"] and {row["status"] for row in rows} == {"completed"}
    assert list(rows[0]) == ["trial", "status", "model.units", "optimizer.learning_rate", "val_loss", "best_epoch",
                             "error"]
    scores = {row["trial"]: float(row["val_loss"]) for row in rows}
    best = min(scores, key=scores.get)
    objective = metrics["objective"]
    assert objective["metric"] == "val_loss" and objective["direction"] == "min" and objective["trial"] == best
    assert objective["value"] == pytest.approx(scores[best], rel=1e-5)
    tuning = metrics["tuning"]
    assert tuning["trials"] == tuning["completed"] == 2 and tuning["failed"] == 0
    assert (tuning["search_examples"], tuning["validation_examples"], tuning["retrain_examples"]) == (1077, 270, 1347)
    top = tuning["top"]
    assert [t["rank"] for t in top] == [1, 2] and top[0]["trial"] == best
    for result in top:
        assert 1 <= result["best_epoch"] <= 2 and result["epochs"] == int(result["best_epoch"] * 1.2)
        assert set(result["test"]) == {"loss", "accuracy"} and result["test_evaluations"] == 1
        units = result["values"]["model.units"][0]
        assert result["parameters"] == 64 * units + units + units * 10 + 10
        assert json.loads((tmp_path / "retrain" / f"rank_{result['rank']}.json").read_text())["test"] == result["test"]
    assert metrics["test"] == top[0]["test"] and metrics["test_evaluations"] == 2 and metrics["final"] is True
    assert len(metrics["history"]["loss"]) == top[0]["epochs"] and metrics["train_examples"] == 1347
    model = keras.saving.load_model(tmp_path / "model.keras")
    assert model.count_params() == top[0]["parameters"] == metrics["parameters"]
    for trial in ("0", "1"):  # one HParams session per trial, its execution's curves below it
        assert list((tmp_path / "tensorboard" / f"trial_{trial}").glob("events.out.tfevents.*"))
        assert (tmp_path / "tensorboard" / f"trial_{trial}" / "execution_1" / "validation").is_dir()
    assert (tmp_path / "tuner" / "oracle.json").is_file()


def test_a_set_tried_twice_is_retrained_once_for_its_best_trial():
    from types import SimpleNamespace

    import keras_tuner as kt

    from dlwp_cli.tuning.search import Search

    def trial(trial_id, optimizer, score):
        hp = kt.HyperParameters()
        hp.values["optimizer"] = optimizer
        return SimpleNamespace(trial_id=trial_id, hyperparameters=hp, status="COMPLETED", score=score)

    tried = [trial("0", "adam", 0.90), trial("1", "adam", 0.95), trial("2", "rmsprop", 0.80), trial("3", "sgd", 0.7)]
    search = Search.__new__(Search)
    search.dims, search.run_dir = parse({"optimizer": "choice(rmsprop,adam,sgd)"}), None
    search.settings = SimpleNamespace(top_n=2)
    search.oracle = SimpleNamespace(trials={t.trial_id: t for t in tried},
                                    get_best_trials=lambda n: sorted(tried, key=lambda t: -t.score)[:n])
    assert [t.trial_id for t in search.best_trials()] == ["1", "2"]


def test_a_search_interrupted_after_two_trials_resumes_without_repeating_them(tmp_path, monkeypatch):
    from dlwp_cli.commands.tune import tune_command
    from dlwp_cli.tuning.search import Search

    run_dir = tmp_path / "search"
    started: list[str] = []
    begin = Search.begin_trial

    def interrupt_at_the_third(self, trial):
        if trial.trial_id == "2" and not started:
            raise KeyboardInterrupt  # as Ctrl-C (or a kill) while the third trial starts
        return begin(self, trial)

    monkeypatch.setattr(Search, "begin_trial", interrupt_at_the_third)
    cfg = compose_validated([*SEARCH, "tuner.max_trials=3", "trainer.best_epoch=search"])
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(cfg, run_dir, choices={})
    before = trials_table(run_dir)
    assert [(row["trial"], row["status"]) for row in before] == [("0", "completed"), ("1", "completed")]
    assert run_folder.status(run_dir) == run_folder.INTERRUPTED
    assert json.loads((run_dir / "metrics.json").read_text())["trials_done"] == 2

    def record(self, trial):
        started.append(trial.trial_id)
        return begin(self, trial)

    monkeypatch.setattr(Search, "begin_trial", record)
    assert tune_command([f"resume={run_dir}"]) == 0
    assert started == ["2"]  # only the trial the interruption cut short
    after = trials_table(run_dir)
    assert [(row["trial"], row["status"]) for row in after] == [("0", "completed"), ("1", "completed"),
                                                               ("2", "completed")]
    assert after[:2] == before
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["resumed"] is True
    assert metrics["tuning"]["trials"] == 3 and metrics["tuning"]["top"][0]["best_epoch_from"] == "search"


MY_SEARCH = """\
# @package _global_
# My search over the optimizer, one of them my own
defaults:
  - override /task: digits
  - override /trainer: keras_tuner
  - override /tuner: random
search_space:
  optimizer: 'choice(adam,slow_sgd)'
trainer:
  validation_size: 0.2
  best_epoch: search
tuner:
  max_trials: 2
  top_n: 1
"""


def test_dlwp_tune_searches_a_users_own_config_group_options(tmp_path):
    from dlwp_cli.config import catalog

    user_dir = tmp_path / "mine"
    (user_dir / "experiment").mkdir(parents=True)
    (user_dir / "optimizer").mkdir()
    (user_dir / "experiment" / "my_search.yaml").write_text(MY_SEARCH)
    (user_dir / "optimizer" / "slow_sgd.yaml").write_text("# plain SGD (mine)\n_target_: keras.optimizers.SGD\n"
                                                          "learning_rate: 0.001\n")
    run_dir = tmp_path / "run"
    try:
        assert main(["tune", "-cd", str(user_dir), "experiment=my_search", "debug=smoke", "output.console=false",
                     f"hydra.run.dir={run_dir}"]) == 0
    finally:
        catalog.set_search_path()
    rows = trials_table(run_dir)
    assert sorted(row["optimizer"] for row in rows) == ["adam", "slow_sgd"]
    assert {row["status"] for row in rows} == {"completed"}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["experiment"] is None and metrics["tuning"]["tuner"] == "RandomSearch"
    assert metrics["choices"]["trainer"] == "keras_tuner" and len(metrics["tuning"]["top"]) == 1
    saved = json.loads((run_dir / "tuner" / "group_options.json").read_text())  # a resumed search reads these
    assert saved["optimizer"]["slow_sgd"] == {"_target_": "keras.optimizers.SGD", "learning_rate": 0.001}


@pytest.mark.parametrize(("overrides", "message"), [
    (["trainer.validation_size=0.2"], "search_space is empty"),
    (["trainer.validation_size=0.2", "+search_space.optimizer.learning_rate='interval(0.1, 0.01)'"], "low > high"),
    (["trainer.validation_size=0.2", "+search_space.model.units='range(64, 16, 16)'"], "is empty"),
    ([*SPACE, "trainer.validation_size=0.2", "objective.metric=val_auc"], "not a metric this run logs"),
    ([*SPACE, "trainer.validation_size=0.2", "objective.metric=val_accuracy"], "objective.direction=max"),
    ([*SPACE, "trainer.validation_size=0.2", "objective.metric=accuracy"], "not a validation metric"),
    (["trainer.validation_size=0.2", "+search_space.model.unitz='choice([8],[16])'"], "Did you mean 'units'"),
    (["trainer.validation_size=0.2", "+search_space.optimizer='choice(adam,adamm)'"], "Did you mean 'adam'"),
    (["trainer.validation_size=0.2", "+search_space.task.epochs='choice(1,2)'"], "Hydra sweep"),
])
def test_bad_searches_stop_before_a_run_folder_with_exit_status_2(tmp_path, capsys, overrides, message):
    run_dir = tmp_path / "never"
    assert main(["tune", "task=digits", f"hydra.run.dir={run_dir}", *overrides]) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not run_dir.exists()


def test_a_search_without_validation_data_says_how_to_get_some(tmp_path):
    cfg = compose_validated([*[o for o in SEARCH if not o.startswith("trainer.validation_size")]])
    with pytest.raises(ConfigError, match="trainer.validation_size"):
        pipeline.run(cfg, tmp_path, choices={})


def test_an_objective_the_fit_does_not_log_stops_the_search_after_its_first_epoch(tmp_path):
    # a metric class without a name: what it logs is only known once the fit runs
    metric = "task.metrics=[accuracy,{_target_:keras.metrics.SparseTopKCategoricalAccuracy,k:3}]"
    cfg = compose_validated([*SEARCH, metric, "objective.metric=val_top3", "tuner.max_trials=1"])
    with pytest.raises(ConfigError, match="val_sparse_top_k_categorical_accuracy"):
        pipeline.run(cfg, tmp_path, choices={})
    assert not (tmp_path / "model.keras").exists()


def test_tune_help_imports_no_tensorflow():
    code = ("import sys; from dlwp_cli.main import main; main(['tune', '--help']); "
            "assert 'tensorflow' not in sys.modules and 'keras_tuner' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: dlwp tune" in done.stdout and "resume=RUN_DIR" in done.stdout
