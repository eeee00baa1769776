"""Results that cannot be mistaken: one HParams session group per run, and synthetic runs never compared
with the book."""

from __future__ import annotations

import json

import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated


def session_groups(log_dir) -> set[str]:
    """The HParams session group names written to the event files under ``log_dir``."""
    groups = set()
    for events in log_dir.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name != "hparams":
                    continue
                data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                if data.HasField("session_start_info"):
                    groups.add(data.session_start_info.group_name)
    return groups


def test_each_job_of_a_sweep_is_its_own_hparams_session_group(tmp_path):
    for job, rate in enumerate(("0.001", "0.01")):
        cfg = compose_validated(["task=digits", "epochs=1", f"optimizer.learning_rate={rate}",
                                 "output.console=false", "output.plots=false"])
        assert cfg.name == "digits-dense"  # the jobs of a sweep share their name
        pipeline.run(cfg, tmp_path / "sweep" / f"{job}_digits-dense", choices={})
    per_job = [session_groups(tmp_path / "sweep" / f"{job}_digits-dense" / "tensorboard") for job in (0, 1)]
    assert all(len(groups) == 1 for groups in per_job)
    assert len(per_job[0] | per_job[1]) == 2


def test_a_synthetic_run_is_never_compared_with_the_book(tmp_path):
    cfg = compose_validated(["experiment=ch02/mnist_dense", "debug=smoke", "output.console=false"])
    pipeline.run(cfg, tmp_path, choices={})
    checks = json.loads((tmp_path / "metrics.json").read_text())["targets"]
    assert checks and all(c["in_band"] is None and c["delta"] is None for c in checks)
    assert {c["comparison"] for c in checks} == {"n/a (synthetic)"}
