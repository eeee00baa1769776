"""Run folder guarantees: TensorBoard scalars and hyperparameters, atomic files, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlwp_cli import pipeline, run_folder
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.training import modes


def scalar_tags(folder: Path) -> dict[str, int]:
    """Scalar tag -> number of events in one TensorBoard log folder."""
    import tensorflow as tf

    counts: dict[str, int] = {}
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                counts[value.tag] = counts.get(value.tag, 0) + 1
    return counts


def plugin_names(folder: Path) -> set[str]:
    import tensorflow as tf

    names = set()
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                names.add(value.metadata.plugin_data.plugin_name)
    return names


def test_tensorboard_has_epoch_scalars_and_hparams(tmp_path):
    cfg = compose_validated(["epochs=3", "trainer.validation_size=200", "output.console=false"])
    pipeline.run(cfg, tmp_path, choices={})
    logs = tmp_path / "tensorboard"
    assert scalar_tags(logs / "train") == {"epoch_loss": 3, "epoch_accuracy": 3}
    assert scalar_tags(logs / "validation") == {"epoch_loss": 3, "epoch_accuracy": 3}
    assert "hparams" in plugin_names(logs)
    assert {"test/loss", "test/accuracy"} <= set(scalar_tags(logs))


def test_kfold_logs_one_folder_per_fold(tmp_path):
    cfg = compose_validated(["trainer=kfold", "trainer.folds=2", "epochs=2", "output.console=false"])
    pipeline.run(cfg, tmp_path, choices={})
    for fold in ("fold_1", "fold_2"):
        assert scalar_tags(tmp_path / "tensorboard" / fold / "train")["epoch_loss"] == 2


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    run_folder.write_json(target, {"old": True})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(run_folder.os, "replace", broken_replace)
    with pytest.raises(OSError):
        run_folder.write_json(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


WRITER = """
import sys
from pathlib import Path
from dlwp_cli.run_folder import write_json
target = Path(sys.argv[1])
i = 0
while True:
    write_json(target, {"writer": i % 2, "payload": [i % 2] * 200_000})
    i += 1
"""


def test_a_killed_writer_never_leaves_half_a_file(tmp_path):
    """A process rewriting metrics.json in a loop is read from outside and then SIGKILLed: every read, and
    the file left behind, is one whole document."""
    import signal
    import subprocess
    import sys
    import time

    target = tmp_path / "metrics.json"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
    try:
        deadline = time.time() + 30
        while not target.exists() and time.time() < deadline:
            time.sleep(0.01)
        reads = 0
        while reads < 40 and time.time() < deadline:
            document = json.loads(target.read_text())
            assert document["payload"] == [document["writer"]] * 200_000
            reads += 1
        assert reads == 40
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    document = json.loads(target.read_text())
    assert len(document["payload"]) == 200_000
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "metrics.json"]
    assert all(name.startswith(".metrics.json.") for name in leftovers)  # at most the killed write's temp file


def test_save_model_replaces_atomically_and_cleans_up(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    run_folder.save_model(tmp_path, model)
    first = (tmp_path / "model.keras").read_bytes()

    class Broken(keras.Sequential):
        def save(self, *args, **kwargs):
            Path(args[0]).write_bytes(b"half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_folder.save_model(tmp_path, Broken([keras.Input((2,)), keras.layers.Dense(1)]))
    assert (tmp_path / "model.keras").read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    assert keras.models.load_model(tmp_path / "model.keras").count_params() == 3


def test_a_crash_during_training_leaves_no_metrics(tmp_path, monkeypatch):
    def crash(self, ctx, data):
        raise RuntimeError("killed mid-training")

    monkeypatch.setattr(modes.Fit, "run", crash)
    cfg = compose_validated(["epochs=1", "output.console=false"])
    with pytest.raises(RuntimeError):
        pipeline.run(cfg, tmp_path, choices={})
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "running"  # not completed
    assert (tmp_path / "config.yaml").is_file()
