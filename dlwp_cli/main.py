"""The ``dlwp`` command. Only the verbs that load models import TensorFlow; help, list, show, launch and report
start fast."""

from __future__ import annotations

import argparse
import sys

from dlwp_cli import __version__

USAGE = "dlwp COMMAND [ARGS...]   (dlwp COMMAND --help for one command's options)"

COMMANDS = """\
commands:
  dlwp run [OVERRIDES...] [-m] [--config-dir DIR] [--cfg job|hydra|all] [--info]
        train and evaluate (Hydra overrides; -m sweeps; --cfg and --info print and train nothing)
  dlwp list [GROUP...] [--config-dir DIR]
        config groups and their options (task, model, experiment, ...)
  dlwp show [OVERRIDES...] [--config-dir DIR]
        the composed, validated config, without training
  dlwp data inspect [OVERRIDES...] [--output DIR] [--config-dir DIR]
        the task's data before training: split sizes, class balance, missing values, shapes, leakage
        hints; pictures in DIR (default inspect/TASK); no run folder
  dlwp data synth-jena OUT_DIR [--rows N] [--seed S]
        a synthetic jena_climate_2009_2016.csv in the original format, marked synthetic (then data_dir=OUT_DIR)
  dlwp report [RUN_DIR...] [--summary] [--format table|csv|markdown] [-o FILE]
              [--group-by KEY] [--plot METRIC [--against KEY] [--plot-file PNG]] [--errors]
        finished runs against the book (default RUN_DIR: outputs); --summary over seeds; --plot val_loss
        overlays one curve of several runs; --errors: confusion matrix, thresholds, confident mistakes
  dlwp launch --workers N [--port P] [--max-restarts K] -- run [OVERRIDES...]
        one run on N local worker processes (MultiWorkerMirroredStrategy)
  dlwp tune [OVERRIDES...] [--config-dir DIR]
        a KerasTuner search over the config's search_space, then the top N retrained and tested
        (resume=RUN_DIR continues a killed search)
  dlwp ensemble RUN_DIR... [--weights equal|optimized] [OVERRIDES...]
        average finished runs' predictions into a run folder of its own, scored next to each member
  dlwp export RUN_DIR --format saved_model|tflite|tflite_int8 [--data-dir DIR]
        a finished run's model for serving, re-evaluated on the test set (RUN_DIR/export/)
  dlwp predict RUN_DIR INPUT... [--file PATH] [--output FILE] [--top K]
        a finished run's answers for new inputs (a CSV of rows for table runs, .npy arrays for array
        tasks), one line per example
  dlwp generate RUN_DIR [--prompt T --temperature X --length N | --samples N] [--seed S]
        more output from a finished generative run: text after a prompt (stdout), or N images tiled into
        RUN_DIR/generated/TIME.png (its path on stdout)
  dlwp viz activations|filters|gradcam|augmentation RUN_DIR [--image PATH] [--layer NAME]
        what a finished run's convnet sees: activation grids, filter patterns, a Grad-CAM heatmap, or the
        image through the run's augmentation; pictures in RUN_DIR/viz/KIND and the run's TensorBoard.
        RUN_DIR may be a keras.applications name (xception) with --weights imagenet|PATH|none --output DIR

your own configs: run, list and show take --config-dir DIR (-cd DIR), a folder laid out like the config
groups (DIR/experiment/mine.yaml, DIR/model/wide.yaml, ...), anywhere on the line; more folders with
hydra.searchpath=[file:///abs/dir,pkg://some.package]. Options of the same name as a packaged one are
shadowed by it (Hydra's search order), so give yours new names.

examples:
  dlwp run                                     offline default: digits with a dense network
  dlwp run experiment=ch02/mnist_dense
  dlwp run task=imdb model=dense epochs=3
  dlwp run -m 'model.units=[16,16],[64,64]' optimizer.learning_rate=1e-3,1e-4
  dlwp run --config-dir my_configs experiment=mine   my_configs/experiment/mine.yaml
  dlwp list experiment -cd my_configs          the book's experiments and yours
  dlwp report outputs/multirun --plot val_loss
"""
REPORT_USAGE = ("dlwp report [RUN_DIR...] [--summary] [--format table|csv|markdown] [-o FILE]\n"
                "                   [--group-by KEY] [--plot METRIC [--against KEY] [--plot-file PNG]] [--errors]")
TUNE_USAGE = "dlwp tune [OVERRIDES...] [--config-dir DIR]"
ENSEMBLE_USAGE = "dlwp ensemble RUN_DIR... [--weights equal|optimized] [OVERRIDES...]"
EXPORT_USAGE = "dlwp export RUN_DIR --format saved_model|tflite|tflite_int8 [--data-dir DIR]"
LAUNCH_USAGE = "dlwp launch --workers N [--port P] [--max-restarts K] -- run [OVERRIDES...]"
VIZ_USAGE = ("dlwp viz activations|filters|gradcam|augmentation RUN_DIR [--image PATH] [--layer NAME]\n"
             "                [--weights imagenet|PATH|none] [--output DIR]")
VIZ_KINDS = ("activations", "filters", "gradcam", "augmentation")
GENERATE_USAGE = "dlwp generate RUN_DIR [--prompt T --temperature X --length N | --samples N] [--seed S]"
SYNTH_JENA_USAGE = "dlwp data synth-jena OUT_DIR [--rows N] [--seed S]"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlwp", description="Config-driven Keras experiments (Deep Learning with Python, 2nd ed.).",
        usage=USAGE, epilog=COMMANDS, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dlwp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="train and evaluate (dlwp run --help)", add_help=False)
    run.add_argument("args", nargs=argparse.REMAINDER)
    config_dir = dict(metavar="DIR", help="also read configs from this folder (Hydra's --config-dir)")
    show = sub.add_parser("show", prog="dlwp show", help="print the composed config",
                          usage="dlwp show [OVERRIDES...] [--config-dir DIR]",
                          description="The composed, validated config, without training.")
    show.add_argument("overrides", nargs="*", metavar="OVERRIDES", help="Hydra overrides, hydra.searchpath=[...] too")
    show.add_argument("--config-dir", "-cd", **config_dir)
    data = sub.add_parser("data", prog="dlwp data",
                          help="look at a task's data, or write a synthetic Jena file (dlwp data ACTION --help)",
                          usage=f"dlwp data inspect [OVERRIDES...] [--output DIR] [--config-dir DIR]\n"
                                f"       {SYNTH_JENA_USAGE}",
                          description="A task's data before training; a synthetic stand-in for the Jena file.")
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    synth = actions.add_parser(
        "synth-jena", prog="dlwp data synth-jena", usage=SYNTH_JENA_USAGE,
        help="write a synthetic jena_climate_2009_2016.csv (the original format) and its synthetic marker",
        description="Write OUT_DIR/jena_climate_2009_2016.csv in exactly the original file's format (header, "
                    "10-minute rows from 01.01.2009 00:10:00, two decimals, -9999.00 wind glitches, no final "
                    "newline), from a seeded generator, and the marker jena_climate_2009_2016.csv.synthetic.json "
                    "beside it. Runs that read it (data_dir=OUT_DIR) label every number synthetic and never compare "
                    "it with the book.")
    synth.add_argument("out_dir", metavar="OUT_DIR", help="the folder to write into (created if missing)")
    synth.add_argument("--rows", type=int, metavar="N", help="rows to write (default 420,551, as the real file)")
    synth.add_argument("--seed", type=int, metavar="S", help="the generator's seed (default 2009)")
    inspect = actions.add_parser(
        "inspect", prog="dlwp data inspect", help="split sizes, class balance, missing values, shapes, leakage",
        usage="dlwp data inspect [OVERRIDES...] [--output DIR] [--config-dir DIR]",
        description="The task's data as 'dlwp run' would read it, without training and without a run folder: "
                    "split sizes, class balance or target distribution, missing values, input shapes and "
                    "dtypes, a table's column types, and features that alone predict the label; pictures "
                    "(samples.png, labels.png, features.png, lengths.png) go to --output.")
    inspect.add_argument("overrides", nargs="*", metavar="OVERRIDES", help="Hydra overrides, as for dlwp run")
    inspect.add_argument("--output", "-o", metavar="DIR", help="folder for the pictures (default: inspect/TASK)")
    inspect.add_argument("--config-dir", "-cd", **config_dir)
    lister = sub.add_parser("list", prog="dlwp list", help="list config groups and options",
                            usage="dlwp list [GROUP...] [--config-dir DIR]",
                            description="Config groups and their options, with descriptions.")
    lister.add_argument("group", nargs="*", metavar="GROUP", help="one group (and optionally hydra.searchpath=[...])")
    lister.add_argument("--config-dir", "-cd", **config_dir)
    report = sub.add_parser("report", prog="dlwp report", help="table of finished runs", usage=REPORT_USAGE,
                            description="Finished runs against the book's figures. A sweep's runs get one "
                                        "column per override that differs between them.")
    report.add_argument("run_dirs", nargs="*", default=["outputs"], metavar="RUN_DIR",
                        help="run folders, or folders that contain them (default: outputs)")
    report.add_argument("--format", choices=["table", "csv", "markdown"], default="table",
                        help="table (default), csv or markdown")
    report.add_argument("--output", "-o", metavar="FILE", help="also write the table to this file")
    report.add_argument("--summary", action="store_true",
                        help="one row per group of runs that differ only by seed: n, seeds, mean ± std of each key "
                             "metric, and the book figure's mean, std, median")
    report.add_argument("--plot", metavar="METRIC", help="overlay this per-epoch curve (e.g. val_loss) of the runs; "
                                                         "with --against KEY, its final value against KEY")
    report.add_argument("--plot-file", metavar="PNG", help="where --plot writes (default: compare_METRIC.png "
                                                           "next to the runs: in the run folder, or the folder "
                                                           "the runs share)")
    report.add_argument("--group-by", metavar="KEY", help="one row per value of this config key (e.g. "
                                                            "optimizer.learning_rate): mean ± std over its runs")
    report.add_argument("--against", metavar="KEY", help="with --plot: the metric's final value against this "
                                                         "swept config key, instead of per-epoch curves")
    report.add_argument("--errors", action="store_true", help="each classifier run's confusion matrix, decision "
                                                              "thresholds and most confident mistakes")
    sub.add_parser("launch", help="one run on N local worker processes (dlwp launch --help)", add_help=False,
                   usage=LAUNCH_USAGE)
    sub.add_parser("tune", help="hyperparameter search with KerasTuner (dlwp tune --help)", add_help=False,
                   usage=TUNE_USAGE)
    sub.add_parser("ensemble", help="average finished runs' predictions (dlwp ensemble --help)", add_help=False,
                   usage=ENSEMBLE_USAGE)
    sub.add_parser("export", help="a finished run's model as SavedModel or TFLite (dlwp export --help)",
                   add_help=False, usage=EXPORT_USAGE)
    predict = sub.add_parser("predict", prog="dlwp predict", help="answers of a finished run for new inputs",
                             usage="dlwp predict RUN_DIR INPUT... [--file PATH] [--output FILE] [--top K]")
    predict.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder")
    predict.add_argument("inputs", nargs="*", metavar="INPUT",
                         help="new examples as the run's task reads them: files (images, CSV, .npy), or texts for a "
                              "text run")
    predict.add_argument("--file", action="append", default=[], metavar="PATH",
                         help="a text run: read one text per line of PATH (repeatable)")
    predict.add_argument("--output", "-o", metavar="FILE", help="also write the answers as a CSV")
    predict.add_argument("--top", type=int, default=1, metavar="K", help="the K most likely classes (default 1)")
    generate = sub.add_parser("generate", prog="dlwp generate", help="more output from a finished generative run",
                              usage=GENERATE_USAGE,
                              description="Text from a finished language-model run (the prompt as typed, then the "
                                          "sampled words), or images from a VAE or GAN run (tiled into "
                                          "RUN_DIR/generated/TIME.png, whose path is printed).")
    generate.add_argument("run_dir", metavar="RUN_DIR", help="a finished run folder of a generative model")
    generate.add_argument("--prompt", metavar="T", help="text runs: the words to continue")
    generate.add_argument("--temperature", type=float, metavar="X",
                          help="text runs: sampling temperature above 0 (default 1.0; lower is more predictable)")
    generate.add_argument("--length", type=int, metavar="N", help="text runs: words to generate (default 50)")
    generate.add_argument("--samples", type=int, metavar="N", help="image runs: images to generate (default 16)")
    generate.add_argument("--seed", type=int, metavar="S", help="make the output repeatable")
    viz = sub.add_parser("viz", prog="dlwp viz", help="pictures of what a finished run's convnet sees",
                         usage=VIZ_USAGE,
                         description="Pictures of a finished run's convnet (book 8.2.5 and 9.4), written to "
                                     "RUN_DIR/viz/KIND/ and the run's TensorBoard (tensorboard/viz/KIND); a "
                                     "repeated call replaces that folder. activations: each conv and pooling "
                                     "layer's channels for one image; filters: the patterns the first 64 filters "
                                     "of a layer respond to (gradient ascent); gradcam: where the image shows its "
                                     "predicted class, with the top classes; augmentation: the image through the "
                                     "run's augmentation 9 times.")
    viz.add_argument("kind", choices=VIZ_KINDS, metavar="KIND", help=", ".join(VIZ_KINDS))
    viz.add_argument("run_dir", metavar="RUN_DIR",
                     help="a finished run folder, or a keras.applications name (xception, vgg16, ...)")
    viz.add_argument("--image", metavar="PATH", help="an image file (default: the first test image of the run's task)")
    viz.add_argument("--layer", metavar="NAME", help="the layer to show (default: every conv and pooling layer for "
                                                     "activations, the last conv layer for filters, the last "
                                                     "image-shaped layer for gradcam)")
    viz.add_argument("--weights", metavar="imagenet|PATH|none",
                     help="for a keras.applications model: ImageNet weights (default), a weights file, or none")
    viz.add_argument("--output", "-o", metavar="DIR",
                     help="where the pictures go (required for a keras.applications model; default RUN_DIR/viz)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":
        # run sorts Hydra's flags (--config-dir, -m, --cfg, --info) from the overrides itself, wherever they stand.
        from dlwp_cli.commands.run import run_command

        return _exit(run_command, argv[1:])
    if argv and argv[0] == "launch":
        from dlwp_cli.commands.launch import launch_command

        return _exit(launch_command, argv[1:])
    if argv and argv[0] == "tune":
        from dlwp_cli.commands.tune import tune_command

        return _exit(tune_command, argv[1:])
    if argv and argv[0] == "ensemble":
        from dlwp_cli.commands.ensemble import ensemble_command

        return _exit(ensemble_command, argv[1:])
    if argv and argv[0] == "export":
        from dlwp_cli.commands.export import export_command

        return _exit(export_command, argv[1:])
    config_dir = None
    if argv and argv[0] in ("list", "show", "data") and not {"-h", "--help"} & set(argv):
        # --config-dir may stand anywhere, also between overrides (argparse would stop at it).
        from dlwp_cli.config.catalog import split_config_dir

        split = _exit_value(split_config_dir, argv[1:])
        if isinstance(split, int):
            return split
        config_dir, rest = split
        argv = [argv[0], *rest]
    if argv and argv[0] == "data":
        # overrides may also follow --output (argparse leaves those over)
        args, more = _parser().parse_known_args(argv)
        from dlwp_cli.commands.data import data_command, synth_jena_command

        if args.action == "synth-jena":
            return _exit(synth_jena_command, args.out_dir, args.rows, args.seed, more)
        return _exit(data_command, args.action, [*args.overrides, *more], args.output, config_dir)
    args = _parser().parse_args(argv)
    if args.command == "list":
        from dlwp_cli.commands.listing import list_command

        return _exit(list_command, args.group, config_dir)
    if args.command == "show":
        from dlwp_cli.commands.show import show_command

        return _exit(show_command, args.overrides, config_dir)
    if args.command == "report":
        from dlwp_cli.commands.report import report_command

        return _exit(report_command, args.run_dirs, args.format, args.output, args.summary, args.plot, args.plot_file,
                     args.errors, args.group_by, args.against)
    if args.command == "predict":
        from dlwp_cli.commands.predict import predict_command

        return _exit(predict_command, args.run_dir, args.inputs, args.output, args.top, args.file)
    if args.command == "generate":
        from dlwp_cli.commands.generate import generate_command

        return _exit(generate_command, args.run_dir, args.prompt, args.temperature, args.length, args.samples,
                     args.seed)
    if args.command == "viz":
        from dlwp_cli.commands.viz import viz_command

        return _exit(viz_command, args.kind, args.run_dir, args.image, args.layer, args.weights, args.output)
    _parser().print_help()
    return 0


def _exit_value(function, *args):
    """``function(*args)``, or the exit status 2 after printing its DlwpError."""
    from dlwp_cli.errors import DlwpError

    try:
        return function(*args)
    except DlwpError as err:
        from dlwp_cli.console import error

        error(err)
        return 2


def _exit(command, *args) -> int:
    """Run a verb: its exit status; 2 after printing a DlwpError (bad input), 130 when interrupted, and 1 after
    any other error, printed as one line with its traceback saved to a file (``DLWP_TRACEBACK=1`` raises it)."""
    from dlwp_cli.errors import DlwpError

    try:
        return command(*args) or 0
    except DlwpError as err:
        from dlwp_cli.console import error

        error(err)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception as err:  # a bug, not bad input: one line here, the traceback in a file
        import os

        if os.environ.get("DLWP_TRACEBACK"):
            raise
        _report_crash(command.__module__.rpartition(".")[2], err)  # dlwp_cli.commands.VERB
        return 1


def _report_crash(verb: str, err: Exception) -> None:
    """Print ``dlwp VERB failed: Type: message`` and where the full traceback was saved."""
    import os
    import tempfile
    import time
    import traceback
    from pathlib import Path

    from dlwp_cli.console import error

    log = Path(tempfile.gettempdir()) / f"dlwp-{verb}-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        log.write_text(traceback.format_exc())
        where = f"full traceback in {log}"
    except OSError:
        where = "set DLWP_TRACEBACK=1 to see the traceback"
    message = str(err)
    if len(message) > CRASH_MESSAGE_CHARS:  # e.g. Keras quoting a whole model config: the file has all of it
        message = message[:CRASH_MESSAGE_CHARS] + " [...]"
    error(f"{verb} failed: {type(err).__name__}: {message} ({where}). This is a bug in dlwp, not in your input: "
          "please report it with that file.")


CRASH_MESSAGE_CHARS = 400  # of an unexpected error's message, on the console


SIGPIPE_STATUS = 141  # what a shell reports for a command whose reader went away (128 + SIGPIPE)


def entry() -> None:
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `dlwp ... | head`: the reader stopped early; no traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush must not fail again
        status = SIGPIPE_STATUS
    sys.exit(status)


if __name__ == "__main__":
    entry()
