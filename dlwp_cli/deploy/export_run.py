"""Export a finished run's model into ``RUN_DIR/export/`` and score the export on the run's test split next to
the original model: ``RUN_DIR/export/<format>.json`` records both scores and both sizes."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from dlwp_cli import run_folder
from dlwp_cli.deploy import export as exporting
from dlwp_cli.deploy.finished_run import FinishedRun
from dlwp_cli.deploy.run_data import RunData, batches, collect, keras_predictor, load_run_data
from dlwp_cli.deploy.scoring import Scorer
from dlwp_cli.errors import ConfigError

EXPORT = "export"                 # RUN_DIR/export/
CALIBRATION_SAMPLES = 200         # training examples that calibrate int8 activations


def representative_examples(data: RunData, model, seed: int):
    """A generator function over ``CALIBRATION_SAMPLES`` training examples drawn at random (seeded), one at a
    time as the model takes them: what TFLite calibrates the int8 activation ranges on."""
    split = data.train_rows(CALIBRATION_SAMPLES, seed)
    named = isinstance(model.inputs, dict) or len(model.inputs) > 1

    def generate():
        for inputs, _ in batches(data.data, split, batch_size=1):
            if isinstance(inputs, dict):
                yield {name: np.asarray(value) for name, value in inputs.items()}
            else:
                yield {model.inputs[0].name: np.asarray(inputs)} if named else [np.asarray(inputs)]

    return generate


def export_run(run: FinishedRun, fmt: str) -> dict:
    """Export ``run``'s model as ``fmt`` into ``RUN_DIR/export/`` (replacing an earlier export of that format),
    score it on the test split, and write and return the record ``RUN_DIR/export/<fmt>.json``. A model TFLite
    cannot convert stops before the data is read."""
    from dlwp_cli.loading import load_model

    started = time.perf_counter()
    model = load_model(run.path, compile=False)
    folder = run.path / EXPORT
    made = not folder.exists()
    folder.mkdir(exist_ok=True)
    try:
        record = _export(run, fmt, model, folder)
    except BaseException:
        if made:  # a failed first export leaves the run folder as it was
            shutil.rmtree(folder, ignore_errors=True)
        raise
    record["seconds"] = time.perf_counter() - started
    run_folder.write_json(folder / f"{fmt}.json", record)
    return record


def _export(run: FinishedRun, fmt: str, model, folder: Path) -> dict:
    """Write the export into ``folder`` and return its record (scores, sizes), without the JSON file."""
    final = folder / exporting.FILES[fmt]
    record: dict = {"format": fmt, "path": str(final.relative_to(run.path))}
    with tempfile.TemporaryDirectory(dir=folder, prefix=".partial-") as scratch:
        saved = Path(scratch) / "saved_model"
        exporting.export_saved_model(model, saved)
        if fmt != "saved_model":  # float32 first: a layer without a TFLite kernel fails here, in seconds
            flat = exporting.convert_tflite(saved, model, "tflite", asked=fmt)
            record["float32_tflite_size_bytes"] = len(flat)
        data = load_run_data(run.cfg)
        if data.test is None:
            raise ConfigError(f"The run in '{run.path}' has no test split (task '{run.task}'), and dlwp export "
                              "checks every export against the original model on the test split.")
        if fmt == "saved_model":
            import tensorflow as tf

            reloaded = tf.saved_model.load(str(saved))
            predict = exporting.saved_model_predictor(reloaded)
            record["serving_inputs"] = exporting.serving_inputs(reloaded)
        else:
            if fmt == "tflite_int8":
                examples = representative_examples(data, model, int(run.cfg.get("seed", 0)))
                flat = exporting.convert_tflite(saved, model, fmt, examples)
            predict = exporting.tflite_predictor(flat)
        original, targets = collect(keras_predictor(model), data.data, data.test)
        with exporting.native_output_captured():   # TFLite's delegate notice on the first batch
            exported, _ = collect(predict, data.data, data.test)
        if fmt == "saved_model":
            exporting.replace_folder(saved, final)
        else:
            exporting.write_bytes_atomic(final, flat)
    record.update(_scores(run, Scorer(data.cfg, original.shape[1:]), original, exported, targets, final))
    if fmt == "tflite":
        del record["float32_tflite_size_bytes"]
    if fmt == "tflite_int8":
        record["size_ratio_float32_to_int8"] = record["float32_tflite_size_bytes"] / record["size_bytes"]
        record["quantization"] = {"weights": "int8", "activations": "int8", "input": "float32", "output": "float32",
                                  "calibration_samples": min(CALIBRATION_SAMPLES, data.data.n_train),
                                  "calibration_split": "training rows, drawn at random with the run's seed"}
    return record


def _scores(run: FinishedRun, scorer: Scorer, original: np.ndarray, exported: np.ndarray, targets, final: Path) -> dict:
    """The export's and the original's test scores (computed alike), sizes, and how far their outputs differ."""
    exported_scores, original_scores = scorer(exported, targets), scorer(original, targets)
    return {
        "size_bytes": exporting.size_of(final),
        "test": exported_scores,
        "test_examples": int(len(targets)),
        "original": {"path": run_folder.MODEL, "size_bytes": exporting.size_of(run.model_file),
                     "test": original_scores, "recorded_test": run.metrics.get("test", {})},
        "difference": {name: exported_scores[name] - original_scores[name] for name in exported_scores},
        "max_abs_output_difference": float(np.max(np.abs(exported - original))) if len(original) else 0.0,
    }
