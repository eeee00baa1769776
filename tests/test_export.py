"""``dlwp export``: SavedModel and TFLite (float32, int8) exports of finished runs, each scored on the test split
next to the original model, and the mistakes users can make."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.main import main

QUIET = ["output.console=false", "output.tensorboard=false", "output.plots=false"]


def make_run(folder: Path, *overrides: str) -> Path:
    pipeline.run(compose_validated([*overrides, *QUIET]), folder, choices={})
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export-runs")
    return {
        # real digits, a network small enough to train in seconds: accuracy is compared on it
        "digits": make_run(root / "digits", "task=digits", "model=dense", "model.units=[64]", "epochs=8", "seed=1"),
        # the book's MNIST network (784-512-10) on stand-in data: its weights dominate the file sizes
        "mnist": make_run(root / "mnist", "experiment=ch02/mnist_dense", "debug=smoke"),
        # a model that takes raw strings (TextVectorization inside)
        "text": make_run(root / "text", "experiment=ch11/imdb_text_bigram_multihot", "debug=smoke"),
    }


def record(run: Path, fmt: str) -> dict:
    return json.loads((run / "export" / f"{fmt}.json").read_text())


def test_int8_is_about_four_times_smaller_than_float32(runs):
    mnist = runs["mnist"]
    assert main(["export", str(mnist), "--format", "tflite"]) == 0
    assert main(["export", str(mnist), "--format", "tflite_int8"]) == 0
    float32, int8 = mnist / "export" / "model_float32.tflite", mnist / "export" / "model_int8.tflite"
    ratio = float32.stat().st_size / int8.stat().st_size
    assert 3.0 <= ratio <= 4.5, ratio
    quantised = record(mnist, "tflite_int8")
    assert quantised["size_bytes"] == int8.stat().st_size
    assert quantised["float32_tflite_size_bytes"] == float32.stat().st_size
    assert quantised["size_ratio_float32_to_int8"] == pytest.approx(ratio)
    assert quantised["quantization"]["activations"] == "int8"
    assert quantised["quantization"]["calibration_samples"] == 200
    assert record(mnist, "tflite")["max_abs_output_difference"] < 1e-4   # float32 TFLite computes as Keras


def test_int8_keeps_test_accuracy_within_a_point(runs):
    digits = runs["digits"]
    assert main(["export", str(digits), "--format", "tflite_int8"]) == 0
    exported = record(digits, "tflite_int8")
    recorded = json.loads((digits / "metrics.json").read_text())["test"]
    assert exported["test_examples"] == 450
    assert exported["original"]["test"]["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-6)
    assert recorded["accuracy"] > 0.9
    assert abs(exported["test"]["accuracy"] - recorded["accuracy"]) <= 0.01
    assert exported["quantization"]["calibration_samples"] == 200
    assert (digits / "export" / "model_int8.tflite").stat().st_size == exported["size_bytes"]


FRESH = """
import sys
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
np.save(sys.argv[3], model.signatures["serving_default"](tf.constant(np.load(sys.argv[2])))["output_0"].numpy())
"""


def test_saved_model_reloads_in_a_fresh_process_and_predicts_as_the_run(runs, tmp_path):
    from omegaconf import OmegaConf

    from dlwp_cli.deploy.run_data import batches, load_run_data
    from dlwp_cli.loading import load_model

    digits = runs["digits"]
    assert main(["export", str(digits), "--format", "saved_model"]) == 0
    data = load_run_data(OmegaConf.load(digits / "config.yaml"))
    inputs = np.asarray(next(iter(batches(data.data, data.test, 64)))[0])
    expected = load_model(digits).predict(inputs, verbose=0)
    np.save(tmp_path / "inputs.npy", inputs)
    out = subprocess.run([sys.executable, "-c", FRESH, str(digits / "export" / "saved_model"),
                          str(tmp_path / "inputs.npy"), str(tmp_path / "outputs.npy")],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "outputs.npy"), expected, atol=1e-5)
    exported = record(digits, "saved_model")
    assert exported["serving_inputs"] and list(exported["serving_inputs"].values())[0]["shape"] == [None, 64]
    assert exported["test"] == pytest.approx(exported["original"]["test"], abs=1e-6)


def test_a_repeated_export_replaces_its_own_output_only(runs):
    digits = runs["digits"]
    model_bytes = (digits / "model.keras").read_bytes()
    for _ in range(2):
        assert main(["export", str(digits), "--format", "saved_model"]) == 0
    leftovers = [p.name for p in (digits / "export").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert (digits / "export" / "saved_model" / "saved_model.pb").is_file()
    assert (digits / "model.keras").read_bytes() == model_bytes


def test_the_saved_model_of_a_text_run_takes_raw_strings(runs):
    text = runs["text"]
    assert main(["export", str(text), "--format", "saved_model"]) == 0
    assert record(text, "saved_model")["serving_inputs"] == {"text": {"dtype": "string", "shape": [None]}}


def test_int8_of_a_layer_tflite_cannot_quantise_names_the_layer(runs, capsys):
    text = runs["text"]
    shutil.rmtree(text / "export", ignore_errors=True)
    assert main(["export", str(text), "--format", "tflite_int8"]) == 2
    message = capsys.readouterr().err
    assert "layer 'text_vectorization' (TextVectorization)" in message and "int8" in message
    assert "StringLower" in message and "--format saved_model" in message
    assert not (text / "export").exists()   # a failed first export leaves the run folder as it was


def test_a_run_whose_model_was_not_saved(runs, tmp_path, capsys):
    copy = tmp_path / "unsaved"
    shutil.copytree(runs["digits"], copy, ignore=shutil.ignore_patterns("export"))
    (copy / "model.keras").unlink()
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["output"]["save_model"] = False
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["export", str(copy), "--format", "tflite"]) == 2
    assert "output.save_model=false" in capsys.readouterr().err
    assert not (copy / "export").exists()


def test_bad_formats_and_unfinished_runs_stop_before_loading(runs, tmp_path, capsys):
    digits = runs["digits"]
    assert main(["export", str(digits), "--format", "tflite8"]) == 2
    assert "Unknown export format 'tflite8'. Did you mean 'tflite'?" in capsys.readouterr().err
    assert main(["export", str(digits)]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--format", "tflite"]) == 2
    assert "not a dlwp run folder" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"
    shutil.copytree(digits, unfinished, ignore=shutil.ignore_patterns("export"))
    (unfinished / "metrics.json").write_text(json.dumps({"status": "interrupted"}))
    assert main(["export", str(unfinished), "--format", "tflite"]) == 2
    assert "has not finished (status: interrupted)" in capsys.readouterr().err


def test_help_of_export_and_ensemble_imports_no_tensorflow():
    code = ("import sys; from dlwp_cli.main import main; "
            "assert main(['export', '--help']) == 0 and main(['ensemble', '-h']) == 0; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage: dlwp export RUN_DIR --format" in out.stdout and "usage: dlwp ensemble RUN_DIR..." in out.stdout
