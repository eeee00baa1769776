"""Interrupted runs resume from their last epoch; a non-finite loss stops a run with its last good epoch kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlwp_cli import pipeline
from dlwp_cli import run_folder
from dlwp_cli.commands.resume import apply_overrides, find_run, interrupted_runs
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.errors import ConfigError
from dlwp_cli.training.resilience import EpochBackup, NonFiniteLoss

EPOCHS = 16
RUN = ["task=digits", f"epochs={EPOCHS}", "output.console=false", "performance.jit_compile=false", "deterministic=true"]


def _default_ctrl_c():
    # A shell starts background jobs with SIGINT ignored, and a child would inherit that: give it the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def dlwp_run(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "dlwp_cli.main", "run", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_ctrl_c)


def epochs_backed_up(run_dir) -> int:
    return run_folder.epochs_done(run_dir)


def test_a_killed_run_resumed_ends_as_the_uninterrupted_run(tmp_path):
    """SIGKILL mid-training, then resume=last: the history of every epoch (before and after the kill) and the
    final weights equal those of the same run left alone."""
    import keras
    import numpy as np

    run_dir = tmp_path / "outputs" / "killed"
    worker = dlwp_run(*RUN, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    deadline = time.time() + 180
    while epochs_backed_up(run_dir) < 6 and time.time() < deadline and worker.poll() is None:
        time.sleep(0.1)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    done_before = epochs_backed_up(run_dir)
    assert 6 <= done_before < EPOCHS, "the run must be killed mid-training"
    assert run_folder.status(run_dir) == "interrupted"  # killed: "running", with no live process

    resumed = dlwp_run("resume=last", cwd=tmp_path)
    out, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr[-2000:]
    assert f"after epoch {done_before}" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["resumed"] is True
    assert not (run_dir / "backup").exists()

    straight = dlwp_run(*RUN, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path)
    straight.communicate(timeout=300)
    reference = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    assert sorted(metrics["history"]) == sorted(reference["history"])
    for key, values in reference["history"].items():
        assert len(metrics["history"][key]) == EPOCHS
        np.testing.assert_allclose(metrics["history"][key], values, rtol=1e-5, err_msg=key)
    assert metrics["test"] == pytest.approx(reference["test"], rel=1e-5)
    ours, theirs = (keras.saving.load_model(d / "model.keras") for d in (run_dir, tmp_path / "straight"))
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_which_runs_resume(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="found no interrupted run"):
        find_run("last")
    runs = {}
    for name, state in (("done", "completed"), ("broke", "failed"), ("killed", "running"), ("stopped", "interrupted")):
        runs[name] = tmp_path / "outputs" / name
        runs[name].mkdir(parents=True)
        (runs[name] / "config.yaml").write_text("epochs: 7\ntask: {name: digits}\n")
        run_folder.write_json(runs[name] / "metrics.json", {"status": state})
        time.sleep(0.01)
    # A 'running' run whose process is gone (killed) counts as interrupted; completed and failed ones do not.
    assert [r.name for r in interrupted_runs()] == ["stopped", "killed"]
    assert find_run("last").name == "stopped"
    with pytest.raises(ConfigError, match="already completed"):
        find_run(str(runs["done"]))
    with pytest.raises(ConfigError, match="not a dlwp run folder"):
        find_run(str(tmp_path))
    cfg = apply_overrides(OmegaConf.load(runs["killed"] / "config.yaml"), ["epochs=9"])
    assert cfg.epochs == 9
    with pytest.raises(ConfigError, match="Unknown key 'epoch'.*Did you mean 'epochs'"):
        apply_overrides(cfg, ["epoch=9"])
    with pytest.raises(ConfigError, match="keeps? .*config groups|its own config groups"):
        apply_overrides(cfg, ["task=mnist"])


def test_two_runs_into_one_folder_one_is_refused_and_ctrl_c_interrupts(tmp_path):
    """A second process is refused while the first holds the folder; Ctrl-C then stops the first with status
    interrupted and one line saying how to continue; resume completes it from the saved config.yaml."""
    run_dir = tmp_path / "outputs" / "shared"
    # Far more epochs than it will get: the first run is surely still training when it gets Ctrl-C.
    first = dlwp_run(*RUN, "epochs=100000", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    deadline = time.time() + 180
    while epochs_backed_up(run_dir) < 3 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    before = sorted(p.name for p in run_dir.iterdir())
    second = dlwp_run("task=digits", "epochs=1", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    _, refused = second.communicate(timeout=120)
    assert second.returncode == 2
    assert f"in use by another process (PID {first.pid})" in " ".join(refused.split())
    assert sorted(p.name for p in run_dir.iterdir()) == before and run_folder.status(run_dir) == "running"

    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 130
    done = json.loads((run_dir / "metrics.json").read_text())
    assert done["status"] == "interrupted" and done["epochs_done"] >= 3
    assert f"interrupted after epoch {done['epochs_done']}; continue with `dlwp run resume={run_dir}`" in stderr

    # The saved config, not today's config tree, drives the resumed run: Hydra's record is not even needed.
    for path in sorted((run_dir / ".hydra").iterdir()):
        path.unlink()
    finish = done["epochs_done"] + 2  # a value given with resume= replaces the saved one
    resumed = dlwp_run(f"resume={run_dir}", f"epochs={finish}", cwd=tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    assert f"resuming {run_dir} after epoch" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and len(metrics["history"]["loss"]) == finish


def test_nan_loss_stops_the_run_with_a_clear_message(tmp_path):
    cfg = compose_validated(["task=boston", "epochs=30", "optimizer=sgd", "optimizer.learning_rate=5.0",
                             "output.console=false", "source=synthetic"])
    with pytest.raises(NonFiniteLoss) as info:
        pipeline.run(cfg, tmp_path, choices={})
    message = str(info.value)
    assert ("became nan" in message or "became inf" in message) and "learning_rate" in message
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "running"  # never completed


def test_after_a_nan_in_a_real_fit_the_last_good_epochs_backup_survives(tmp_path, monkeypatch):
    """Two good epochs, then the weights turn NaN (a callback poisons them): the run stops, and the backup
    holds epoch 2's finite weights, from which the run can resume."""
    import sys

    import h5py
    import numpy as np

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    cfg = compose_validated(["task=digits", "epochs=6", "output.console=false", "performance.steps_per_execution=1",
                             "+callbacks.poison._target_=user_plugins.poison_weights_callback",
                             "+callbacks.poison.at_epoch=2"])
    with pytest.raises(NonFiniteLoss, match="in epoch 3"):
        pipeline.run(cfg, tmp_path, choices={})
    backups = run_folder.epoch_backups(tmp_path / "backup" / "fit")
    assert [b.name for b in backups] == ["epoch-00002", "epoch-00001"]  # the newest and the one before
    state = json.loads((backups[0] / "state.json").read_text())
    assert state["epoch"] == 2 and sorted(state["history"]) == ["0", "1"]
    weights = []
    with h5py.File(backups[0] / "model.weights.h5", "r") as handle:
        handle.visititems(lambda name, item: weights.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    assert weights and all(np.all(np.isfinite(w)) for w in weights)
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] != "completed"
    sys.modules.pop("user_plugins", None)


def test_the_guard_runs_before_the_backup_so_the_last_good_epoch_stays(tmp_path):
    import numpy as np

    from dlwp_cli.training.resilience import resilience_callbacks

    guard, backup = resilience_callbacks(tmp_path / "backup")
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[guard, backup])
    with pytest.raises(NonFiniteLoss, match="epoch 3.*kept in"):
        for callback in (guard, backup):  # the order fit calls them in
            callback.on_epoch_end(2, {"loss": float("nan")})
    assert [b.name for b in run_folder.epoch_backups(tmp_path / "backup")] == ["epoch-00002", "epoch-00001"]
    assert len(backup.history()["loss"]) == 2


def _fit_with_backup(backup_dir, epochs, seed=0):
    """A small model with dropout, Adam and early stopping, fitted on fixed data with an epoch backup."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    stopper = keras.callbacks.EarlyStopping(patience=50, restore_best_weights=True)
    backup = EpochBackup(backup_dir, peers=[stopper])
    x = np.random.RandomState(1).normal(size=(64, 6)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, validation_data=(x[:16], y[:16]), epochs=epochs, batch_size=16, shuffle=False,
                        verbose=0, callbacks=[backup, stopper])
    return model, backup, stopper, history.history


def test_a_restarted_fit_continues_exactly_where_the_backup_left_it(tmp_path):
    """Weights, the optimizer's moments, dropout's random state and early stopping's state all come back: a fit
    stopped after epoch 3 and restarted (from fresh weights) ends as a 5-epoch fit does."""
    import numpy as np

    straight, _, straight_stopper, straight_history = _fit_with_backup(tmp_path / "straight", 5)
    _fit_with_backup(tmp_path / "split", 3)
    resumed, backup, stopper, resumed_history = _fit_with_backup(tmp_path / "split", 5, seed=99)
    assert backup.restored_epoch == 3 and len(resumed_history["loss"]) == 2
    np.testing.assert_allclose(backup.history()["loss"], straight_history["loss"], rtol=1e-6)
    np.testing.assert_allclose(backup.history()["val_loss"], straight_history["val_loss"], rtol=1e-6)
    for ours, theirs in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert stopper.best == pytest.approx(straight_stopper.best) and stopper.best_epoch == straight_stopper.best_epoch
    for ours, theirs in zip(stopper.best_weights, straight_stopper.best_weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_an_unreadable_newest_backup_falls_back_to_the_one_before(tmp_path):
    """A half-written backup never carries an epoch folder's name, and a damaged newest one gives way to the
    previous epoch's."""
    _fit_with_backup(tmp_path, 2)
    (tmp_path / ".partial-epoch-00003").mkdir()  # a save killed half-way
    assert [b.name for b in run_folder.epoch_backups(tmp_path)] == ["epoch-00002", "epoch-00001"]
    (tmp_path / "epoch-00002" / "model.weights.h5").write_bytes(b"not hdf5")
    _, backup, _, history = _fit_with_backup(tmp_path, 3)
    assert backup.restored_epoch == 1 and len(history["loss"]) == 2
