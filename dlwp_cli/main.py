"""The ``dlwp`` command. Only ``run`` imports TensorFlow; help, list, show, launch and report start fast."""

from __future__ import annotations

import argparse
import sys

from dlwp_cli import __version__

USAGE = """\
dlwp run [OVERRIDES...]        train and evaluate (Hydra overrides; -m/--multirun sweeps)
dlwp list [GROUP]              config groups and their options (task, model, experiment, ...)
dlwp show [OVERRIDES...]       the composed, validated config, without training
dlwp launch --workers N -- run [OVERRIDES...]
                               one run on N local worker processes (MultiWorkerMirroredStrategy)
dlwp report [RUN_DIR...]       finished runs against the book (--summary over seeds; --format csv|markdown;
                               --plot val_loss overlays one curve of several runs)

examples:
  dlwp run                                     offline default: digits with a dense network
  dlwp run experiment=ch02/mnist_dense
  dlwp run task=imdb model=dense epochs=3
  dlwp run -m 'model.units=[16,16],[64,64]' optimizer.learning_rate=1e-3,1e-4
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlwp", description="Config-driven Keras experiments (Deep Learning with Python, 2nd ed.).",
        usage=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dlwp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="train and evaluate", add_help=False)
    run.add_argument("args", nargs=argparse.REMAINDER)
    show = sub.add_parser("show", help="print the composed config")
    show.add_argument("overrides", nargs="*")
    lister = sub.add_parser("list", help="list config groups and options")
    lister.add_argument("group", nargs="?")
    report = sub.add_parser("report", help="table of finished runs")
    report.add_argument("run_dirs", nargs="*", default=["outputs"])
    report.add_argument("--format", choices=["table", "csv", "markdown"], default="table")
    report.add_argument("--output", "-o", help="also write the table to this file")
    report.add_argument("--summary", action="store_true",
                        help="one row per experiment and book figure: mean, std and median over its runs (seeds)")
    report.add_argument("--plot", metavar="METRIC", help="overlay this per-epoch curve (e.g. val_loss) of the runs")
    report.add_argument("--plot-file", metavar="PNG", help="where --plot writes (default: compare_METRIC.png)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "run":
        # Hydra parses everything after 'run' itself (overrides, -m, --cfg, hydra.run.dir=...).
        from dlwp_cli.commands.run import run_command

        return _exit(run_command, argv[1:])
    if argv and argv[0] == "launch":
        from dlwp_cli.commands.launch import launch_command

        return _exit(launch_command, argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "list":
        from dlwp_cli.commands.listing import list_command

        return _exit(list_command, args.group)
    if args.command == "show":
        from dlwp_cli.commands.show import show_command

        return _exit(show_command, args.overrides)
    if args.command == "report":
        from dlwp_cli.commands.report import report_command

        return _exit(report_command, args.run_dirs, args.format, args.output, args.summary, args.plot, args.plot_file)
    _parser().print_help()
    return 0


def _exit(command, *args) -> int:
    from dlwp_cli.errors import DlwpError

    try:
        return command(*args) or 0
    except DlwpError as err:
        from dlwp_cli.console import error

        error(err)
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
