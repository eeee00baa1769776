"""``dlwp export RUN_DIR --format saved_model|tflite|tflite_int8 [--data-dir DIR]``: a finished run's model for
serving (book §6.3.2), re-evaluated on the run's test split.

Writes ``RUN_DIR/export/saved_model/``, ``RUN_DIR/export/model_float32.tflite`` or
``RUN_DIR/export/model_int8.tflite``, and ``RUN_DIR/export/<format>.json`` with the export's test scores and
file size next to the original model's. A repeated export replaces its own earlier output, never the run's files.
"""

from __future__ import annotations


from dlwp_cli.errors import ConfigError

FORMATS = ("saved_model", "tflite", "tflite_int8")
USAGE = "dlwp export RUN_DIR --format saved_model|tflite|tflite_int8 [--data-dir DIR]"
HELP = f"""\
usage: {USAGE}

Export a finished run's model for serving (book 6.3.2) into RUN_DIR/export/, and score the export on the run's
test split next to the original model.

  RUN_DIR               a finished run folder (status completed, with model.keras)
  --format FORMAT       saved_model: RUN_DIR/export/saved_model/ (TensorFlow Serving; its serving signature takes
                                     the model's own inputs: raw strings for text runs, raw columns for tables)
                        tflite:      RUN_DIR/export/model_float32.tflite (TFLite built-in ops)
                        tflite_int8: RUN_DIR/export/model_int8.tflite: weights and activations int8, calibrated
                                     on 200 training examples; float32 input and output
  --data-dir DIR        where the run's data is, if not where it was when it ran (the test split is read again)

writes RUN_DIR/export/<format>.json: the export's test scores and size in bytes next to model.keras's (tflite_int8:
also the float32 TFLite size and the ratio). A repeated export replaces its own earlier files.

examples:
  dlwp export outputs/ch02/mnist_dense/<date_time> --format tflite_int8
  dlwp export outputs/imdb_text_run --format saved_model
"""


def parse(argv: list[str]) -> tuple[str, str, str | None] | None:
    """(run folder, format, data dir or None), or None for --help."""
    if {"-h", "--help"} & set(argv):
        return None
    run_dir, fmt, data_dir = None, None, None
    words = list(argv)
    while words:
        word = words.pop(0)
        flag, eq, value = word.partition("=")
        if flag in ("--format", "-f", "--data-dir"):
            if not eq:
                if not words:
                    raise ConfigError(f"dlwp export: {flag} needs a value. Usage: {USAGE}")
                value = words.pop(0)
            if flag == "--data-dir":
                data_dir = value
            else:
                fmt = value
        elif word.startswith("-"):
            raise ConfigError(f"dlwp export: unknown option '{word}'. Usage: {USAGE}")
        elif run_dir is None:
            run_dir = word
        else:
            raise ConfigError(f"dlwp export takes one RUN_DIR, got '{run_dir}' and '{word}'. Usage: {USAGE}")
    if run_dir is None:
        raise ConfigError(f"Give the run folder to export. Usage: {USAGE}")
    if fmt is None:
        raise ConfigError(f"Give the format: --format saved_model, tflite or tflite_int8. Usage: {USAGE}")
    if fmt not in FORMATS:
        from dlwp_cli.config.plugins import suggest

        raise ConfigError(f"Unknown export format '{fmt}'.{suggest(fmt, FORMATS)} dlwp export writes "
                          f"{', '.join(FORMATS)}.")
    return run_dir, fmt, data_dir


def _size(count: int) -> str:
    return f"{count / 1e6:.3f} MB" if count >= 1e5 else f"{count / 1e3:.1f} kB"


def export_command(argv: list[str]) -> int:
    parsed = parse(argv)
    if parsed is None:
        print(HELP)
        return 0
    run_dir, fmt, data_dir = parsed
    from dlwp_cli.deploy.finished_run import finished_run, with_values

    run = finished_run(run_dir, "export")
    if data_dir is not None:
        run.cfg = with_values(run.cfg, [f"data_dir={data_dir}"], "export")
    if run.cfg.task.get("outputs"):
        raise ConfigError(f"The run in '{run.path}' has several outputs ({', '.join(run.cfg.task.outputs)}); dlwp "
                          "export re-evaluates single-output runs.")
    from dlwp_cli import console

    console.start_tensorflow_quietly()
    from dlwp_cli.deploy.export_run import EXPORT, export_run

    record = export_run(run, fmt)
    original = record["original"]
    out = console.console
    out.print(f"wrote {run.path / record['path']} ({_size(record['size_bytes'])}; model.keras "
              f"{_size(original['size_bytes'])})", markup=False, highlight=False, soft_wrap=True)
    if "size_ratio_float32_to_int8" in record:
        out.print(f"float32 TFLite {_size(record['float32_tflite_size_bytes'])}: "
                  f"{record['size_ratio_float32_to_int8']:.2f}x smaller as int8", markup=False, highlight=False)
    scores = ", ".join(f"{name} {value:.4f} (original {original['test'][name]:.4f})"
                       for name, value in record["test"].items())
    out.print(f"test ({record['test_examples']} examples): {scores}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"record: {run.path / EXPORT / (fmt + '.json')}", markup=False, highlight=False, soft_wrap=True)
    return 0
