"""Data-parallel training: MirroredStrategy against one device (the same math on even batches; fit's
per-replica mean on an uneven last one), ``dlwp launch`` with MultiWorkerMirroredStrategy
(custom ``strategy.run`` loop, chief-only run folder, identical weights on every worker, group restarts), and
the launcher's TF_CONFIG and argument handling."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dlwp_cli.commands import launch
from dlwp_cli.errors import ConfigError

# Same data order and op determinism, so the runs differ only in how each batch is split and reduced.
SAME_MATH = ["task=digits", "epochs=2", "output.console=false", "deterministic=true", "trainer.shuffle=false"]
# 1,347 training rows = 42 batches of 32 + 3 rows; fit under several replicas averages the replicas' own
# means, which for that uneven 2+1 split differs from the global mean (~6e-4 in the epoch loss). 42 full
# batches keep every split even.
FULL_BATCHES = ["trainer.limit_batches=42"]
RTOL = 1e-5  # measured: up to ~2e-7 (float reduction order)


# The runs the mirrored tests compare, all trained in one process (one TensorFlow start instead of five). The
# mirrored ones come first: the CPU can be split into logical devices only before TensorFlow starts, and the
# one-device runs then use the first of them, which computes as the unsplit CPU does.
RUNS = {
    "mirrored_full_batches": ["strategy=mirrored", "strategy.logical_cpus=2", *FULL_BATCHES],
    "mirrored": ["strategy=mirrored", "strategy.logical_cpus=2"],
    "mirrored_step": ["strategy=mirrored", "strategy.logical_cpus=2", "trainer.custom_train_step=true"],
    "one_device_full_batches": ["strategy=one_device", *FULL_BATCHES],
    "one_device": ["strategy=one_device"],
}
TRAIN_IN_ORDER = """
import json, sys
from dlwp_cli.main import main
for run_dir, overrides in json.loads(sys.argv[1]):
    code = main(["run", *overrides, "hydra.run.dir=" + run_dir])
    if code:
        sys.exit(code)
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    jobs = [(str(root / name), [*SAME_MATH, *overrides]) for name, overrides in RUNS.items()]
    result = subprocess.run([sys.executable, "-c", TRAIN_IN_ORDER, json.dumps(jobs)], capture_output=True,
                            text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-2000:]
    return {name: root / name for name in RUNS}


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def assert_same_training(got: dict, want: dict) -> None:
    assert set(got["history"]) == set(want["history"]) == {"loss", "accuracy"}
    for key, values in want["history"].items():
        assert got["history"][key] == pytest.approx(values, rel=RTOL), key
    for key, value in want["test"].items():
        assert got["test"][key] == pytest.approx(value, rel=RTOL), key


def test_mirrored_on_two_cpus_matches_one_device(runs):
    mirrored, one = metrics(runs["mirrored_full_batches"]), metrics(runs["one_device_full_batches"])
    assert mirrored["environment"]["strategy"] == "MirroredStrategy" and mirrored["environment"]["replicas"] == 2
    assert one["environment"]["strategy"] == "OneDeviceStrategy" and one["environment"]["replicas"] == 1
    assert mirrored["performance"]["steps_per_execution"] == 1  # keras-team/keras#19246
    assert_same_training(mirrored, one)
    import numpy as np

    from dlwp_cli.loading import load_model

    got, want = load_model(runs["mirrored_full_batches"]), load_model(runs["one_device_full_batches"])
    for got_weights, want_weights in zip(got.get_weights(), want.get_weights()):
        np.testing.assert_allclose(got_weights, want_weights, rtol=RTOL, atol=1e-6)


def test_mirrored_fit_weighs_an_uneven_last_batch_by_replica_not_by_row(runs):
    """digits' 1,347 training rows in batches of 32 end with 3 rows, split 2+1 over two replicas. fit (and
    the custom train_step, which does what Keras's does) averages each replica's own mean loss, so that
    update weighs the two rows 1/4 each and the single row 1/2, where one device weighs each 1/3. The
    reported loss is a per-row mean either way, so epoch 1's logs agree; epoch 2 starts from weights that
    differ by that one update, and its loss and the test scores move by about 1e-3 relative.
    Measured: epoch-2 loss 1.51062 vs 1.50965 (6.4e-4), test loss 1.30001 vs 1.29858 (1.1e-3)."""
    mirrored, mirrored_step, one = (metrics(runs[name]) for name in ("mirrored", "mirrored_step", "one_device"))
    assert mirrored["environment"]["replicas"] == 2

    def rel(a, b):
        return abs(a - b) / abs(b)

    # Epoch 1's logs come before the uneven update has any effect: equal to float rounding.
    assert rel(mirrored["history"]["loss"][0], one["history"]["loss"][0]) < 1e-5
    assert mirrored["history"]["accuracy"][0] == pytest.approx(one["history"]["accuracy"][0], abs=1e-6)
    # After it: a real difference (rounding alone stays below 1e-5), and a small one.
    epoch2 = rel(mirrored["history"]["loss"][1], one["history"]["loss"][1])
    test_loss = rel(mirrored["test"]["loss"], one["test"]["loss"])
    assert 1e-4 < epoch2 < 3e-3, epoch2
    assert test_loss < 5e-3, test_loss
    assert abs(mirrored["test"]["accuracy"] - one["test"]["accuracy"]) <= 0.02
    # The custom train_step reproduces fit's update and fit's loss log under two replicas too.
    for key, values in mirrored["history"].items():
        assert mirrored_step["history"][key] == pytest.approx(values, rel=1e-5), key


def test_launch_trains_like_one_device_restarts_a_dead_worker_and_only_the_chief_writes(tmp_path, runs):
    """Two workers, one killed after epoch 1: the launcher restarts the group, both resume from the chief's
    epoch-1 backup, and the finished run is one device's (the strategy.run loop averages over the global batch,
    uneven last batch included), written once, with the same weights on both workers."""
    overrides = [o for o in SAME_MATH if not o.startswith("output.console")]
    command = [sys.executable, "-m", "dlwp_cli.main", "launch", "--workers", "2", "--max-restarts", "1", "--",
               "run", *overrides, "output.console=true", "output.plots=false"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, victim, killed = [], None, False
    try:
        for line in proc.stdout:
            lines.append(line)
            pid = re.match(r"\[launch\] worker 1 pid (\d+)", line)
            victim = int(pid.group(1)) if pid and victim is None else victim
            if not killed and re.match(r"\[worker 0\] epoch\s+1/2", line):  # epoch 1 is backed up, epoch 2 runs
                os.kill(victim, signal.SIGKILL)
                killed = True
        proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines)
    assert proc.returncode == 0, output[-3000:]
    assert "[launch] restarting all workers" in output
    assert len(re.findall(r"\[launch\] worker 1 pid", output)) == 2
    assert re.search(r"\[worker 0\] resuming from .* \(epoch 1\)", output)
    assert re.search(r"\[worker 1\] resuming from .* \(epoch 1\)", output)

    run_dirs = [p for p in (tmp_path / "outputs").glob("*/*") if p.is_dir()]
    assert len(run_dirs) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]  # the restart reuses it
    launched = metrics(run_dirs[0])
    assert launched["distributed"] == {"workers": 2, "replicas": 2, "loop": "strategy.run"}
    assert launched["resumed"] is True and not (run_dirs[0] / "backup").exists()
    assert_same_training(launched, metrics(runs["one_device"]))

    from dlwp_cli.loading import load_model
    from dlwp_cli.training.distributed import weights_sha256

    printed = dict(re.findall(r"^\[worker (\d)\] weights sha256 ([0-9a-f]{64})$", output, re.M))
    assert printed.keys() == {"0", "1"}
    assert printed["0"] == printed["1"] == weights_sha256(load_model(run_dirs[0]))


# --- the launcher without TensorFlow ------------------------------------------------------------------------


def test_tf_config_names_every_worker_and_this_task():
    assert json.loads(launch.tf_config([1111, 2222], 1)) == {
        "cluster": {"worker": ["127.0.0.1:1111", "127.0.0.1:2222"]}, "task": {"type": "worker", "index": 1}}


def test_free_ports_are_distinct():
    ports = launch.free_ports(3)
    assert len(set(ports)) == 3 and all(0 < p < 65536 for p in ports)


def test_only_the_chief_writes_under_outputs():
    commands = launch.worker_commands(["task=digits"], 3, "/tmp/scratch")
    assert commands[0][-2:] == ["task=digits", "strategy=multi_worker"]
    assert [c[-1] for c in commands[1:]] == ["hydra.run.dir=/tmp/scratch/worker_1", "hydra.run.dir=/tmp/scratch/worker_2"]


def test_parse_args():
    options, overrides = launch.parse_args(["--workers", "2", "--port", "9000", "--", "run", "epochs=1"])
    assert (options.workers, options.port, options.max_restarts, overrides) == (2, 9000, 2, ["epochs=1"])


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2"], "needs the run after '--'"),
    (["--workers", "2", "--", "show"], "got '-- show'"),
    (["--workers", "2", "--"], "needs the run after '--'"),
    (["--workers", "0", "--", "run"], "at least 1"),
    (["--workers", "2", "--max-restarts", "-1", "--", "run"], "0 or more"),
    (["--workers", "2", "--", "run", "-m", "seed=1,2"], "sweep"),
])
def test_bad_launch_arguments_are_config_errors(argv, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        launch.parse_args(argv)


def test_missing_workers_is_a_usage_error():
    with pytest.raises(SystemExit):
        launch.parse_args(["--", "run"])


def test_a_given_run_dir_is_kept_else_the_default_is_pinned():
    assert launch.pin_run_dir(["hydra.run.dir=/x"]) == ["hydra.run.dir=/x"]
    pinned = launch.pin_run_dir(["task=digits"])[-1]
    assert re.fullmatch(r"hydra\.run\.dir=outputs/digits-dense/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", pinned)


def test_multi_output_tasks_are_refused_under_multi_worker():
    from dlwp_cli.config.compose import compose_validated
    from dlwp_cli.training.common import Context
    from dlwp_cli.training.distributed import DistributedFit

    cfg = compose_validated(["task=tickets", "model=tickets"])
    with pytest.raises(ConfigError, match="strategy=multi_worker trains single-output models"):
        DistributedFit(Context(cfg, strategy=None), data=None)
