"""``dlwp predict RUN_DIR INPUT... [--output FILE] [--top K]``: a finished run's answers for new inputs.

The run's task says how its inputs are read (``task.predict_inputs``: a CSV of rows for tables; image files for a
model that takes images; else ``.npy`` arrays), prepared as the run prepared its training inputs. Stdout holds only the answers,
one line per example: ``INPUT<TAB>CLASS<TAB>P`` (top K classes), ``INPUT<TAB>CLASS<TAB>P(positive)`` for a
sigmoid model, ``INPUT<TAB>VALUE`` for regression.

Task hooks (each a ``_target_`` node in the task config):
- ``predict_inputs``: ``(inputs, run_dir) -> (names, model_inputs)``; with ``takes: text`` in the node the inputs are
  texts, not files (``--file PATH`` adds one text per line), and an empty text is refused.
- ``predict_answers``: ``(inputs, run_dir, model) -> (names, rows)``, for runs whose answer is not a class or a
  value (a translation, a forecast from a file): each row a list of values printed after the name.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from dlwp_cli.errors import ConfigError, DataError
from dlwp_cli.run_folder import CONFIG, FEATURES, MODEL, SCHEMA, read_metrics, write_atomic


def read_npy_inputs(paths: list[str], run_dir: Path):
    """(a name per example, the model's input array) from ``.npy`` files of raw examples, shaped, scaled and
    standardized as the run's training arrays were (``features.json``)."""
    from dlwp_cli.training.features import apply_feature_stats

    stats_file = run_dir / FEATURES
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else None
    names, arrays = [], []
    for raw in paths:
        try:
            array = np.load(raw, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(f"'{raw}' is not a readable .npy array ({err}). This run takes .npy files of examples "
                            "(one per row), like its training data.") from None
        names += [f"{raw}[{i}]" for i in range(len(array))]
        arrays.append(apply_feature_stats(array, stats) if stats else np.asarray(array, dtype="float32"))
    return names, np.concatenate(arrays)


def read_image_inputs(paths: list[str], run_dir: Path):
    """(the paths, the model's input array) from image files: decoded, converted and resized to the run's image
    size and channels (as its training images were), then scaled as they were (``features.json``)."""
    from dlwp_cli.training.features import apply_feature_stats
    from dlwp_tasks.datasets.images import image_shape_of, read_images

    stats = json.loads((run_dir / FEATURES).read_text())
    schema_file = run_dir / SCHEMA
    crop = bool(json.loads(schema_file.read_text()).get("crop_to_aspect_ratio")) if schema_file.is_file() else False
    size, color_mode = image_shape_of(stats)
    return list(paths), apply_feature_stats(read_images(paths, size, color_mode, crop), stats)


def _takes_images(run_dir: Path) -> bool:
    stats_file = run_dir / FEATURES
    return stats_file.is_file() and json.loads(stats_file.read_text()).get("input_kind") == "image"


def _run_files(run_dir: Path) -> tuple[dict, dict]:
    from omegaconf import OmegaConf

    if not (run_dir / CONFIG).is_file():
        raise ConfigError(f"'{run_dir}' is not a dlwp run folder (no {CONFIG}). Give a folder under outputs/.")
    if not (run_dir / MODEL).is_file():
        raise ConfigError(f"The run in '{run_dir}' has no {MODEL}: it did not finish, or ran with "
                          "output.save_model=false.")
    cfg = OmegaConf.to_container(OmegaConf.load(run_dir / CONFIG), resolve=False)
    return cfg, read_metrics(run_dir) or {}


def _reader(task: dict, run_dir: Path):
    spec = task.get("predict_inputs")
    if not spec:
        return read_image_inputs if _takes_images(run_dir) else read_npy_inputs
    from dlwp_cli.config.plugins import import_target

    return import_target(spec["_target_"], "task.predict_inputs")


def takes_text(task: dict) -> bool:
    """Whether the run's inputs are texts given on the command line (a text or translation run)."""
    return any((task.get(hook) or {}).get("takes") == "text" for hook in ("predict_inputs", "predict_answers"))


def text_inputs(inputs: list[str], files: list[str]) -> list[str]:
    """The texts to answer: the command line's, then one per line of each ``--file`` (blank lines skipped)."""
    texts = list(inputs)
    for path in files:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as err:
            raise DataError(f"--file '{path}' cannot be read ({err.strerror or err}).") from None
        texts += [line for line in lines if line.strip()]
    if not texts:
        raise ConfigError("Give at least one text to answer: dlwp predict RUN_DIR \"some text\" (or --file PATH, one "
                          "text per line).")
    empty = [i + 1 for i, text in enumerate(texts) if not text.strip()]
    if empty:
        raise DataError(f"Text {', '.join(map(str, empty))} is empty: give words for the model to read.")
    return texts


def _checked_inputs(task: dict, inputs: list[str], files: list[str]) -> list[str]:
    if takes_text(task):
        return text_inputs(inputs, files)
    if files:
        raise ConfigError("--file is for text runs (one text per line); this run reads files given as INPUT.")
    if not inputs:
        raise ConfigError("Give at least one input file: dlwp predict RUN_DIR INPUT...")
    for raw in inputs:
        if not Path(raw).is_file():
            raise DataError(f"Input '{raw}' does not exist (or is not a file).")
    return list(inputs)


def answers(outputs: np.ndarray, head: dict, class_names: list[str] | None, top: int) -> list[list]:
    """Per example: [class, p, class, p, ...] (top K), [class, p(positive)] (sigmoid) or [value]."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    if head.get("activation") == "sigmoid" and outputs.shape[1] == 1:
        names = class_names or ["0", "1"]
        return [[names[int(p > 0.5)], float(p)] for p in outputs[:, 0]]
    if head.get("activation") == "softmax" or (class_names and outputs.shape[1] == len(class_names) > 1):
        names = class_names or [str(i) for i in range(outputs.shape[1])]
        rows = []
        for probabilities in outputs:
            order = np.argsort(-probabilities)[: max(1, top)]
            rows.append([item for i in order for item in (names[i], float(probabilities[i]))])
        return rows
    return [[float(v) for v in values] for values in outputs]


def _format(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _csv_text(names: list[str], rows: list[list], classes: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    width = max(len(r) for r in rows) if rows else 1
    if classes:
        header = ["input"] + [c for k in range(width // 2)
                              for c in ((f"prediction_{k + 1}", f"probability_{k + 1}") if k else
                                        ("prediction", "probability"))]
    else:
        header = ["input"] + (["prediction"] if width == 1 else [f"prediction_{k + 1}" for k in range(width)])
    writer.writerow(header)
    writer.writerows([name, *(_format(v) for v in row)] for name, row in zip(names, rows))
    return buffer.getvalue()


def predict_command(run_dir: str, inputs: list[str], output: str | None = None, top: int = 1,
                    files: list[str] | None = None) -> int:
    run = Path(run_dir)
    if top < 1:
        raise ConfigError(f"--top must be at least 1, got {top}.")
    cfg, metrics = _run_files(run)
    from dlwp_cli.commands.generate import what_it_generates

    if what_it_generates(cfg) is not None:
        raise ConfigError(f"The run in '{run}' generates rather than answers: use dlwp generate {run} "
                          "(--prompt for text, --samples for images).")
    task = cfg.get("task", {})
    if task.get("outputs"):
        raise ConfigError(f"The run in '{run}' has several outputs ({', '.join(task['outputs'])}); "
                          "dlwp predict answers for single-output runs.")
    inputs = _checked_inputs(task, list(inputs), list(files or []))
    from dlwp_cli import console

    console.start_tensorflow_quietly()
    if task.get("predict_answers"):
        from dlwp_cli.config.plugins import import_target
        from dlwp_cli.loading import load_model

        answer = import_target(task["predict_answers"]["_target_"], "task.predict_answers")
        names, rows = answer(inputs, run, load_model(run, compile=False))
    else:
        names, x = _reader(task, run)(inputs, run)
        from dlwp_cli.loading import load_model

        model = load_model(run, compile=False)  # answers need no optimizer
        outputs = model.predict(x, verbose=0)
        rows = answers(outputs, task.get("head") or {}, metrics.get("class_names"), top)
    for name, row in zip(names, rows):
        print("\t".join([name, *(_format(v) for v in row)]))
    if output:
        classes = bool(rows) and isinstance(rows[0][0], str)
        write_atomic(Path(output), _csv_text(names, rows, classes))
    return 0
