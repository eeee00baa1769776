"""Sweeps as Hydra plugins: the validation objective, the up-front check, Optuna (search_space, storage) on joblib,
submitit, failure limits, and sweeps that survive a kill (``dlwp run -m resume=SWEEP_DIR``)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from dlwp_cli import run_folder
from dlwp_cli.commands.run import run_command
from dlwp_cli.sweeps import objective, plan, threads

FAST = ["task=digits", "epochs=1", "output.console=false", "output.save_model=false", "output.plots=false",
        "output.tensorboard=false", "performance.jit_compile=false"]
OPTUNA = ["hydra/sweeper=optuna", "trainer.validation_size=0.25"]


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


# -- planning, no training -----------------------------------------------------------------------------------


def test_search_space_becomes_the_optuna_sweepers_parameters(tmp_path, monkeypatch):
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides
    from optuna.distributions import CategoricalDistribution, IntUniformDistribution, LogUniformDistribution

    monkeypatch.chdir(tmp_path)
    space = ("++search_space={model.units:'choice([8],[16])',optimizer.learning_rate:'tag(log, interval(1e-4,1e-2))',"
             "batch_size:'range(16,64,16)',model.dropout:'interval(0.1,0.5)'}")
    planned = plan.make([*FAST, *OPTUNA, "model.dropout=0.2,0.3", "objective.direction=max",
                         "objective.metric=val_accuracy", space])
    assert planned.optuna and planned.objective_driven and planned.sweep_dir.startswith("outputs/multirun/")
    sent = planned.overrides
    assert "model.dropout=0.2,0.3" in sent and not any(o.startswith("model.dropout=interval") for o in sent)
    assert "hydra.sweeper.direction=maximize" in sent and "hydra.sweeper.sampler.seed=42" in sent
    assert f"hydra.sweeper.storage='sqlite:///{tmp_path / planned.sweep_dir / 'optuna.db'}'" in sent
    assert "hydra.sweeper.study_name='digits-dense'" in sent and f"hydra.sweep.dir='{planned.sweep_dir}'" in sent
    swept = [o for o in sent if o.startswith(("model.units=", "optimizer.learning_rate=", "batch_size="))]
    params, _ = create_params_from_overrides(swept)
    assert params["model.units"] == CategoricalDistribution(["[8]", "[16]"])
    assert params["optimizer.learning_rate"] == LogUniformDistribution(1e-4, 1e-2)
    # range(16,64,16) is 16, 32, 48 (stop excluded), also for Optuna, whose integer ranges include their end
    assert params["batch_size"] == IntUniformDistribution(16, 48, step=16)
    # the up-front check covers every listed value once, with one sampled value per interval
    assert len(planned.checks) == 2
    rates = {float(o.split("=")[1]) for job in planned.checks for o in job if o.startswith("optimizer.learning")}
    assert {o for job in planned.checks for o in job if o.startswith("model.units")} == {"model.units=[8]",
                                                                                        "model.units=[16]"}
    assert all(1e-4 <= rate <= 1e-2 for rate in rates)


def test_grid_jobs_and_the_basic_sweepers_failure_limit():
    planned = plan.make(["task=digits", "model.units=[8],[16]", "seed=1,2,3", "hydra.sweeper.max_failure_rate=0.5",
                         "hydra.sweep.dir=sweep"])
    assert not planned.objective_driven and planned.jobs == 6 and len(planned.checks) == 6
    assert planned.max_failure_rate == 0.5 and not any("max_failure_rate" in o for o in planned.overrides)
    assert planned.checks[1] == ["task=digits", "model.units=[8]", "seed=2", "hydra.sweep.dir=sweep"]


@pytest.mark.parametrize("words, message", [
    ([*FAST, *OPTUNA], "search_space is empty"),
    ([*FAST, *OPTUNA, "++search_space={model.dropout:'interval(0.5,0.1)'}"], "low > high"),
    ([*FAST, *OPTUNA, "++search_space={model.units:'range(64,16)'}"], "is empty: its start must be below"),
    ([*FAST, "model.dropout=interval(0,0.5)"], "cannot enumerate an interval"),
    ([*FAST, "hydra/sweeper=optuna", "model.units=[8],[16]"], "no validation split .* trainer.validation_size=0.2"),
    ([*FAST, *OPTUNA, "model.units=[8],[16]", "objective.metric=val_auc"], "not a metric this run logs"),
    ([*FAST, *OPTUNA, "model.units=[8],[16]", "objective.metric=accuracy"], "Did you mean objective.metric=val_acc"),
    ([*FAST, "model.units=[8],[16]", "hydra.sweeper.max_failure_rate=2"], "from 0 .* to 1"),
])
def test_a_bad_search_stops_before_any_folder(words, message, tmp_path, monkeypatch, capsys):
    from dlwp_cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["run", "-m", *words, "hydra.sweep.dir=sweep"]) == 2
    assert re.search(message, " ".join(capsys.readouterr().err.split()))
    assert not (tmp_path / "sweep").exists()


def test_the_objective_is_a_validation_score_at_its_best_epoch():
    history = {"loss": [0.9, 0.5, 0.4], "val_loss": [0.7, 0.3, 0.35], "val_accuracy": [0.6, 0.8, 0.85]}
    assert objective.measure({"history": history, "test": {"loss": 0.1}}, {"metric": "val_loss", "direction": "min"}) \
        == {"metric": "val_loss", "direction": "min", "value": 0.3, "epoch": 2}
    assert objective.measure({"history": history}, {"metric": "val_accuracy", "direction": "max"})["epoch"] == 3
    kfold = {"history": {"loss": [1.0]}, "cv": {"mean": {"val_mae": 2.5}, "mean_history": {"loss": [1.0]}}}
    assert objective.measure(kfold, {"metric": "val_mae", "direction": "min"})["value"] == 2.5
    with pytest.raises(objective.ObjectiveMissing, match="val_auc .*val_loss, val_accuracy|val_accuracy, val_loss"):
        objective.measure({"history": history}, {"metric": "val_auc", "direction": "max"})
    with pytest.raises(objective.ObjectiveMissing, match="no validation data"):
        objective.measure({"history": {"loss": [1.0]}, "test": {"loss": 0.5}}, {"metric": "val_loss",
                                                                                 "direction": "min"})


def test_joblib_shares_the_cores_between_its_jobs():
    from omegaconf import OmegaConf

    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    assert threads.parallel_jobs(OmegaConf.create({"_target_": joblib, "n_jobs": 2}), 16) == 2
    assert threads.parallel_jobs(OmegaConf.create({"_target_": joblib, "n_jobs": -1}), 16) == 16
    assert threads.parallel_jobs(OmegaConf.create({"_target_": joblib, "n_jobs": -2}), 16) == 15
    slurm = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert threads.threads_for(OmegaConf.create({"_target_": slurm, "cpus_per_task": 4}))[0] == 4
    assert threads.threads_for(None) == (None, {})


# -- sweeps that run -----------------------------------------------------------------------------------------


def test_optuna_on_joblib_writes_its_study_and_a_killed_search_resumes(tmp_path, monkeypatch):
    """Two trials on two joblib workers (each with cores / 2 TensorFlow threads), objective = the best val_loss,
    a study in SWEEP_DIR/optuna.db; then a trial left running by a kill is run again with its parameters, the
    finished ones are not touched, and the study reaches hydra.sweeper.n_trials."""
    import optuna

    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "search"
    assert run_command(["-m", *FAST, *OPTUNA, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                        "hydra.sweeper.n_jobs=2", "hydra.sweeper.n_trials=2", "model.units=choice([4],[8])",
                        "optimizer.learning_rate=tag(log, interval(1e-3,1e-2))", f"hydra.sweep.dir={sweep}"]) == 0
    def load():
        return optuna.load_study(study_name="digits-dense", storage=f"sqlite:///{sweep}/optuna.db")

    study = load()
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    expected_threads = max(1, threads.cpu_cores() // 2)
    for trial in trials:  # job number = trial number
        job = metrics(sweep / f"{trial.number}_digits-dense")
        assert job["objective"] == {"metric": "val_loss", "direction": "min", "epoch": 1,
                                    "value": pytest.approx(min(job["history"]["val_loss"]))}
        assert job["objective"]["value"] == pytest.approx(trial.value)
        assert job["launcher"]["parallel_jobs"] == 2 and job["launcher"]["tf_threads"]["intra_op"] == expected_threads
        assert job["test_evaluations"] == 1 and "multirun.yaml" in os.listdir(sweep)
    stamps = {t.number: (sweep / f"{t.number}_digits-dense" / "metrics.json").stat().st_mtime_ns for t in trials}

    killed = study.ask()  # a third trial, as a killed sweep leaves it: running, forever
    for name, distribution in trials[0].distributions.items():
        killed._suggest(name, distribution)
    assert run_command(["-m", f"resume={sweep}", "hydra.sweeper.n_trials=3", "hydra/launcher=basic"]) == 0
    trials = load().get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]
    assert trials[3].params == killed.params  # the interrupted trial's parameters, run again
    assert metrics(sweep / "3_digits-dense")["objective"]["value"] == pytest.approx(trials[3].value)
    assert {n: (sweep / f"{n}_digits-dense" / "metrics.json").stat().st_mtime_ns for n in stamps} == stamps
    assert run_command(["-m", f"resume={sweep}"]) == 0  # nothing left to run
    assert len(load().get_trials()) == 4


def _default_ctrl_c():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_grid_sweep_killed_halfway_resumes_and_completes_every_job_once(tmp_path, monkeypatch):
    """Kill a 3-job sweep while its second job trains; resume=SWEEP_DIR leaves the first job alone, continues the
    second in its folder from its last epoch backup, and runs the third in the folder planned for it."""
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "grid"
    epochs = 12
    words = ["task=digits", f"epochs={epochs}", "output.console=false", "output.plots=false", "output.save_model=false",
             "output.tensorboard=false", "model.units=[4],[8],[16]", f"hydra.sweep.dir={sweep}"]
    worker = subprocess.Popen([sys.executable, "-m", "dlwp_cli.main", "run", "-m", *words], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              preexec_fn=_default_ctrl_c)
    second = sweep / "1_digits-dense"
    deadline = time.time() + 300
    while run_folder.epochs_done(second) < 3 and time.time() < deadline and worker.poll() is None:
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    done_before = run_folder.epochs_done(second)
    assert 3 <= done_before < epochs, "the sweep must be killed while its second job trains"
    assert run_folder.status(sweep / "0_digits-dense") == "completed" and not (sweep / "2_digits-dense").exists()
    first_stamp = (sweep / "0_digits-dense" / "metrics.json").stat().st_mtime_ns

    assert run_command(["-m", f"resume={sweep}"]) == 0
    jobs = {p.name: metrics(p) for p in sorted(sweep.iterdir()) if (p / "metrics.json").is_file()}
    assert sorted(jobs) == ["0_digits-dense", "1_digits-dense", "2_digits-dense"]
    assert all(job["status"] == "completed" and len(job["history"]["loss"]) == epochs for job in jobs.values())
    assert (sweep / "0_digits-dense" / "metrics.json").stat().st_mtime_ns == first_stamp
    assert jobs["1_digits-dense"]["resumed"] is True and not (second / "backup").exists()
    assert [job["parameters"] for job in jobs.values()] == [64 * u + u + u * 10 + 10 for u in (4, 8, 16)]
    for name in jobs:  # each job completed once
        assert (sweep / name / "dlwp.log").read_text().count("completed:") == 1, name
    assert run_command(["-m", f"resume={sweep}"]) == 0  # all done: nothing runs again
    assert (sweep / "0_digits-dense" / "metrics.json").stat().st_mtime_ns == first_stamp


def test_a_submitit_local_sweep_completes(tmp_path, monkeypatch, capsys):
    """Jobs in submitit's own processes: the end-of-sweep summary finds them by their folders."""
    from dlwp_cli import app

    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "cluster"
    assert run_command(["-m", *FAST, "model.units=[4],[8]", "hydra/launcher=submitit_local",
                        "hydra.launcher.timeout_min=10", f"hydra.sweep.dir={sweep}"]) == 0
    assert app.JOB_DIRS == []  # nothing ran in this process
    assert "all 2 jobs completed" in capsys.readouterr().out
    for job in ("0_digits-dense", "1_digits-dense"):
        done = metrics(sweep / job)
        assert done["status"] == "completed" and done["launcher"]["launcher"] == "submitit_local"
    assert (sweep / ".submitit").is_dir() and (sweep / "multirun.yaml").is_file()


def test_failed_jobs_count_against_max_failure_rate(tmp_path, monkeypatch, capsys):
    """Basic sweeper (dlwp's own count): past the limit the remaining jobs are not run. Optuna: a failed trial
    counts against its max_failure_rate (default 0), which stops the search."""
    import optuna

    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "no-data"
    empty.mkdir()
    offline = ["epochs=1", "output.console=false", f"data_dir={empty}", "download=false"]
    grid = tmp_path / "grid"
    assert run_command(["-m", *offline, "task=mnist,digits", "hydra.sweeper.max_failure_rate=0",
                        f"hydra.sweep.dir={grid}"]) == 1
    out = capsys.readouterr()
    assert "1 of 2 jobs failed, more than hydra.sweeper.max_failure_rate=0 allows" in out.err
    assert run_folder.status(grid / "0_mnist-dense") == "failed" and not (grid / "1_digits-dense").exists()
    assert f"dlwp run -m resume={grid}" in out.out

    search = tmp_path / "search"
    assert run_command(["-m", *offline, *OPTUNA, "task=choice(mnist)", "hydra.sweeper.n_trials=3",
                        "hydra.sweeper.n_jobs=1", f"hydra.sweep.dir={search}"]) == 1
    study = optuna.load_study(study_name="mnist-dense", storage=f"sqlite:///{search}/optuna.db")
    assert [t.state.name for t in study.get_trials()] == ["FAIL"]  # stopped at the first failure
    assert "failed" in capsys.readouterr().err
