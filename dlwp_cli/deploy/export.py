"""A trained model as a SavedModel (TensorFlow Serving) or a TFLite flat buffer, float32 or fully int8
(book §6.3.2), and the exported artifact run batch by batch, to score it on the test split.

The SavedModel is Keras's ``model.export``: its serving signature takes what the run's model takes (raw
strings for text runs, a table's raw columns, prepared arrays otherwise). TFLite files are converted from that
SavedModel with TFLite's built-in ops only, so they run in any TFLite runtime; int8 quantises weights and
activations, calibrated on training examples, and keeps float32 input and output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from dlwp_cli.errors import ConfigError

FORMATS = ("saved_model", "tflite", "tflite_int8")
FILES = {"saved_model": "saved_model", "tflite": "model_float32.tflite", "tflite_int8": "model_int8.tflite"}


@contextlib.contextmanager
def native_output_captured():
    """Send file descriptors 1 and 2 to a temporary file for the block (the converter's MLIR diagnostics and
    progress lines), and yield a function that reads what was written."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)

        def read() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        try:
            yield read
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def export_saved_model(model, path: Path) -> None:
    """``model.export(path)``: a SavedModel whose ``serving_default`` signature (and ``serve`` function) takes
    the model's own inputs."""
    with native_output_captured():
        model.export(str(path), format="tf_saved_model", verbose=False)


def _layer_names(model) -> list[str]:
    """Every layer name of the model, nested models' layers included, outermost first."""
    names = []
    for layer in getattr(model, "layers", []):
        names.append(layer.name)
        names += _layer_names(layer)
    return names


def failing_layers(message: str, model) -> tuple[list[str], list[str]]:
    """(the Keras layers, the TensorFlow ops) a converter error names. Ops are found in the MLIR locations
    (``fused["StringLower:", "model/text_vectorization_1/StringLower@..."]``); each op's name scope is matched,
    innermost first, to the model's layer names (TensorFlow may add ``_1`` to a scope)."""
    names = set(_layer_names(model))
    layers, ops = [], []
    for op, scope in re.findall(r'fused\["(\w+):", "([^"@]+)', message):
        if op in ("StatefulPartitionedCall", "PartitionedCall"):
            continue
        if op not in ops:
            ops.append(op)
        for part in reversed(scope.split("/")[:-1]):
            base = re.sub(r"_\d+$", "", part)
            found = part if part in names else base if base in names else None
            if found:
                if found not in layers:
                    layers.append(found)
                break
    if not ops:
        ops = list(dict.fromkeys(re.findall(r"'tf\.(\w+)' op", message)))
    return layers, ops


def _describe_layers(layers: list[str], model) -> str:
    kinds = {}
    for name in layers:
        with contextlib.suppress(ValueError):
            kinds[name] = type(_find_layer(model, name)).__name__
    return ", ".join(f"'{name}' ({kinds[name]})" if name in kinds else f"'{name}'" for name in layers)


def _find_layer(model, name: str):
    for layer in getattr(model, "layers", []):
        if layer.name == name:
            return layer
        with contextlib.suppress(ValueError):
            return _find_layer(layer, name)
    raise ValueError(name)


def conversion_error(fmt: str, message: str, model) -> ConfigError:
    """The converter's failure as one paragraph naming the layers (and their ops) TFLite cannot take."""
    layers, ops = failing_layers(message, model)
    int8 = fmt == "tflite_int8"
    verb, target = ("quantise", " to int8") if int8 else ("convert", "")
    because = f": its TensorFlow ops {', '.join(ops)} have no {'int8 ' if int8 else ''}TFLite built-in kernel" \
        if ops else ""
    if layers:
        head = f"TFLite cannot {verb} layer {_describe_layers(layers, model)}{target}{because}."
    else:
        first = next((line.strip() for line in message.splitlines() if line.strip()), "conversion failed")
        head = f"TFLite cannot {verb} this model{target}{because or ': ' + first[:300]}."
    return ConfigError(f"{head} Export it with --format saved_model instead (served as it is, raw strings "
                       "included), or train a model without that layer for TFLite.")


def convert_tflite(saved_model: Path, model, fmt: str, representative: Callable[[], Iterable] | None = None,
                   asked: str | None = None) -> bytes:
    """The TFLite flat buffer of a SavedModel: float32 (``tflite``), or with int8 weights and activations and
    float32 input and output (``tflite_int8``, calibrated on ``representative()``'s examples). A failure is a
    ConfigError worded for the format the user ``asked`` for (default ``fmt``)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if fmt == "tflite_int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    with native_output_captured() as output:
        try:
            return converter.convert()
        except Exception as err:  # noqa: BLE001 - the converter raises several kinds; all mean "cannot convert"
            failure = f"{err}\n{output()}"
    raise conversion_error(asked or fmt, failure, model)


def _cast(value, dtype):
    array = np.asarray(value)
    if np.dtype(dtype).kind in "SUO":
        return array
    return array.astype(dtype) if array.dtype != dtype else array


def tflite_predictor(flat_buffer: bytes) -> Callable[[object], np.ndarray]:
    """One batch of inputs (an array, or a dict by input name) -> the TFLite model's single output, through
    its serving signature (which resizes its input to the batch)."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # tf.lite.Interpreter's notice that LiteRT will replace it
        interpreter = tf.lite.Interpreter(model_content=flat_buffer)
    runner = interpreter.get_signature_runner()
    details = runner.get_input_details()
    names = list(details)

    def predict(inputs):
        if isinstance(inputs, dict):
            given = {name: _cast(inputs[name], details[name]["dtype"]) for name in names}
        else:
            given = {names[0]: _cast(inputs, details[names[0]]["dtype"])}
        outputs = runner(**given)
        return next(iter(outputs.values()))

    return predict


def saved_model_predictor(loaded) -> Callable[[object], np.ndarray]:
    """One batch of inputs -> a reloaded SavedModel's ``serve`` output, the inputs cast to its signature's dtypes."""
    import tensorflow as tf

    (spec,), _ = loaded.serve.concrete_functions[0].structured_input_signature

    def cast(value, wanted):
        return value if value.dtype == wanted.dtype else tf.cast(value, wanted.dtype)

    def predict(inputs):
        return np.asarray(loaded.serve(tf.nest.map_structure(cast, inputs, spec)))

    return predict


def serving_inputs(loaded) -> dict:
    """A reloaded SavedModel's ``serving_default`` inputs: name -> {dtype, shape}."""
    _, inputs = loaded.signatures["serving_default"].structured_input_signature
    return {name: {"dtype": spec.dtype.name, "shape": [None if d is None else int(d) for d in spec.shape]}
            for name, spec in inputs.items()}


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    path = Path(path)
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_bytes_atomic(path: Path, content: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_folder(new: Path, final: Path) -> None:
    """Put the complete folder ``new`` at ``final`` (same parent), replacing an earlier one: the old folder is
    renamed away first and deleted after, so ``final`` is never a half-written folder."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
