"""What a run prints: config summary, progress, results table with the book's figures, errors.

Also what a run keeps out of the console and what it logs:

* TensorFlow's native start-up lines (``I0000 ... port.cc] oneDNN ...``, ``cudart_stub.cc``,
  ``cuda_platform.cc``, ``WARNING: All log messages before absl::InitializeLog() ...``) are written by
  abseil's C++ logging straight to file descriptor 2. Before ``absl::InitializeLog()`` (which TensorFlow
  never calls) abseil ignores every threshold, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them; and
  TensorFlow's shared libraries each link their own copy of abseil, so every line comes twice.
  :func:`native_log_filtered` points descriptor 2 at a temporary file while TensorFlow loads and its
  devices are found, then writes back every line but those below ``TF_CPP_MIN_LOG_LEVEL``.
* The ``dlwp`` logger is the run folder's log (``dlwp.log``, Hydra's file handler): :func:`log_to_run_folder`
  lets its INFO lines through to the file but never to the console, and while a job runs everything
  :data:`console` prints (summary, data description, each epoch's metrics line, results) is copied there
  as plain text.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import tempfile

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from dlwp_cli.errors import DlwpError

log = logging.getLogger("dlwp")

# Width of the plain-text copy of console output in dlwp.log.
LOG_WIDTH = 120


class _LoggedConsole(Console):
    """A rich Console that, while :func:`log_to_run_folder` is on, copies what it prints to the ``dlwp`` logger."""

    tee = False

    def print(self, *objects, **kwargs) -> None:  # noqa: A003 - rich's name
        super().print(*objects, **kwargs)
        if self.tee and log.isEnabledFor(logging.INFO):
            plain = Console(file=io.StringIO(), width=LOG_WIDTH, color_system=None, highlight=False,
                            force_terminal=False, soft_wrap=True)
            keep = {k: v for k, v in kwargs.items() if k in ("sep", "end", "markup", "justify")}
            plain.print(*objects, **keep)
            for line in plain.file.getvalue().splitlines():
                if line.strip():
                    log.info(line.rstrip())


console = _LoggedConsole(highlight=False)
errors = Console(stderr=True, highlight=False)


# -- the run folder's log ------------------------------------------------------------------------------


class _NotOnConsole(logging.Filter):
    """Keeps the ``dlwp`` logger's records (the run folder's log) off console handlers: rich prints those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == log.name or record.name.startswith(log.name + "."))


_level_before = logging.NOTSET   # the dlwp logger's own level before the run that log_to_run_folder switched on


def log_to_run_folder(on: bool = True) -> None:
    """While ``on``, send the ``dlwp`` logger's INFO lines to the file handlers Hydra set up for the job
    (``dlwp.log``), not to its console handlers, and copy console output there. Off undoes all of it, so the
    process goes on (a sweep's next job, a notebook, a test's log capture) with logging as it was."""
    global _level_before
    console.tee = on
    handlers = [h for h in logging.getLogger().handlers if not isinstance(h, logging.FileHandler)]
    if on:
        _level_before = log.level
        log.setLevel(logging.INFO)
        for handler in handlers:
            if not any(isinstance(f, _NotOnConsole) for f in handler.filters):
                handler.addFilter(_NotOnConsole())
        return
    log.setLevel(_level_before)
    for handler in handlers:
        for added in [f for f in handler.filters if isinstance(f, _NotOnConsole)]:
            handler.removeFilter(added)


# -- TensorFlow's native start-up lines -------------------------------------------------------------

ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# abseil/glog line prefix: severity letter, MMDD, time, thread id, file:line]
_NATIVE_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ [^\]\s]+:\d+\] ")
_CONTINUATION = re.compile(r"^(\s+\S|To enable the following instructions)")


def native_min_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as a number (0 info, 1 warning, 2 error, 3 fatal only)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def filter_native_log(text: str, min_level: int) -> list[str]:
    """The lines of ``text`` worth showing: native log lines below ``min_level`` (and their continuation
    lines) and abseil's pre-initialization notice are dropped; every other line is kept."""
    kept: list[str] = []
    dropping = False
    for line in text.splitlines():
        match = _NATIVE_LINE.match(line)
        if match:
            dropping = "IWEF".index(match.group(1)) < min_level
        elif line.startswith(ABSL_PREAMBLE):
            dropping = min_level > 0
        elif not (dropping and _CONTINUATION.match(line)):
            dropping = False
        if not dropping:
            kept.append(line)
    return kept


@contextlib.contextmanager
def native_log_filtered():
    """Route file descriptor 2 to a temporary file for the block, then write back to stderr every line
    :func:`filter_native_log` keeps. Python's own stderr output in the block is kept (only delayed)."""
    min_level = native_min_level()
    try:
        saved = os.dup(2)
    except OSError:
        saved = None
    if min_level <= 0 or saved is None:
        if saved is not None:
            os.close(saved)
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept = filter_native_log(sink.read().decode(errors="replace"), min_level)
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


def start_tensorflow_quietly() -> None:
    """For a verb that loads models: TensorFlow imported and its devices found without its C++ start-up lines
    (``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 for the process; a user's own setting wins)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_log_filtered():
        load_tensorflow()


def load_tensorflow() -> None:
    """Import TensorFlow and Keras and find the devices (CUDA reports at the first device query), so that
    their start-up lines happen inside :func:`native_log_filtered`. Logical devices stay unconfigured."""
    import keras  # noqa: F401
    import tensorflow as tf

    tf.config.list_physical_devices()


def config_tree(cfg, title: str = "config") -> Tree:
    """The composed config as a rich tree."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    tree = Tree(f"[bold]{title}[/]")

    def add(branch, node):
        for key, value in node.items():
            if isinstance(value, DictConfig):
                add(branch.add(f"[cyan]{key}[/]"), value)
            elif isinstance(value, ListConfig):
                branch.add(f"[cyan]{key}[/]: {OmegaConf.to_container(value, resolve=True)}")
            else:
                branch.add(f"[cyan]{key}[/]: {value}")

    add(tree, cfg)
    return tree


def update_label(cfg, optimizer_choice) -> str:
    """What updates the run's weights: the optimizer group's choice, the model's own optimizer nodes (a GAN's
    ``d_optimizer`` and ``g_optimizer``), or the trainer's own rule (DeepDream's gradient ascent)."""
    from omegaconf import DictConfig

    from dlwp_cli.config.plugins import trainer_class

    own_update = getattr(trainer_class(cfg.trainer._target_), "own_update", None)
    if own_update:
        return own_update
    own = [f"model.{key}" for key, node in (cfg.model or {}).items()
           if str(key).endswith("optimizer") and isinstance(node, DictConfig)]
    return ",".join(own) if own else str(optimizer_choice)


def summary(cfg, choices: dict, run_dir) -> None:
    """One line per choice that shapes the run."""
    console.rule(f"[bold]dlwp run[/] {cfg.name}")
    shown = {**choices, "optimizer": update_label(cfg, choices.get("optimizer"))}
    parts = [f"{group}={shown.get(group)}" for group in ("task", "model", "optimizer", "strategy", "trainer")]
    console.print("  ".join(parts))
    console.print(
        f"epochs={cfg.epochs}  batch_size={cfg.batch_size}  seed={cfg.seed}  source={cfg.source}  "
        f"steps_per_execution={cfg.performance.steps_per_execution}  jit_compile={cfg.performance.jit_compile}"
    )
    console.print(f"run folder: {run_dir}")


def results(metrics: dict, checks: list[dict]) -> None:
    """Final metrics, then each book figure with the measured value and the delta."""
    table = Table(title="Results", show_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for section in ("test", "cv.mean"):
        values = metrics.get("test") if section == "test" else metrics.get("cv", {}).get("mean")
        for key, value in (values or {}).items():
            table.add_row(f"{section}.{key}", f"{value:.4f}")
    for label, value in baseline_rows(metrics.get("baselines", {})):
        table.add_row(label, f"{value:.4f}")
    if not metrics.get("test") and not metrics.get("cv"):  # nothing scored (a generative run): the last values
        for key, curve in (metrics.get("history") or {}).items():
            if curve:
                table.add_row(f"final {key}", f"{curve[-1]:.4g}")
    for name, count in (metrics.get("parameters_by_model") or {}).items():
        table.add_row(f"parameters ({name})", f"{count:,}")
    if metrics.get("final_image"):
        table.add_row("image", metrics["final_image"])
    if metrics.get("collapse"):
        verdict = metrics["collapse"]
        table.add_row("discriminator winning (collapse)",
                      f"from epoch {verdict['epoch'] - verdict['rule']['epochs'] + 1}" if verdict["detected"] else "no")
    if metrics.get("best_epoch"):
        table.add_row("best_epoch", str(metrics["best_epoch"]))
    if metrics.get("thresholds"):
        table.add_row(f"best F1 threshold ({metrics['thresholds']['split']})",
                      f"{metrics['thresholds']['best_f1_threshold']:.1f}")
    console.print(table)
    for line in test_use_lines(metrics):
        console.print(line, markup=False, highlight=False)
    if checks:
        book = Table(title="Against the book", show_edge=False)
        for column in ("metric", "book", "measured", "delta", "band", "in band"):
            book.add_column(column, justify="left" if column == "metric" else "right")
        for c in checks:
            measured = "-" if c["measured"] is None else figure(c["measured"])
            delta = "-" if c["delta"] is None else figure(c["delta"], sign=True)
            band = "-" if not c.get("band") else (figure(c["band"][0]) if c["band"][0] == c["band"][1] else
                                                  f"{figure(c['band'][0])}-{figure(c['band'][1])}")
            mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[c["in_band"]]
            if c.get("comparison"):  # not compared, e.g. "n/a (synthetic)" for synthetic data
                mark, delta = f"[dim]{c['comparison']}[/]", "-"
            given = "-" if c.get("book") is None else figure(c["book"])
            book.add_row(c["metric"], given, measured, delta, band, mark)
        console.print(book)


def figure(value, sign: bool = False) -> str:
    """A number for the book table: a whole number written out with thousands separators (parameter and example
    counts), anything else to 4 significant digits."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):+,}" if sign else f"{int(value):,}"
    return f"{value:+.4g}" if sign else f"{value:.4g}"


def baseline_rows(baselines: dict) -> list[tuple[str, float]]:
    """(label, value) per baseline: a chance level (``chance (majority)``), or one row per split of a baseline
    scored on several (``naive baseline (test)``, the time-series baseline's MAE)."""
    rows = []
    for name, value in baselines.items():
        if isinstance(value, dict):
            rows += [(f"{name} baseline ({split})", float(v)) for split, v in value.items() if v is not None]
        elif value is not None:
            rows.append((f"chance ({name})", float(value)))
    return rows


def test_use_lines(metrics: dict) -> list[str]:
    """What the run did with its test split, when it matters: a final run, or choices made on test data."""
    lines = []
    if metrics.get("final"):
        count = metrics.get("test_evaluations", 0)
        lines.append(f"final run: trained on all {metrics.get('train_examples', '?')} training examples (no validation "
                     f"split); test split evaluated {'once' if count == 1 else f'{count} times'}")
    if metrics.get("test_used_for_choices"):
        lines.append(f"warning: the validation split is the test split, and {', '.join(metrics['test_used_for_choices'])} "
                     "chose by it: the test score is optimistic. Give the task a validation split of its own.")
    return lines


def error(err: DlwpError | str) -> None:
    title = err.title if isinstance(err, DlwpError) else "error"
    errors.print(f"[bold red]dlwp {title}:[/] {escape(str(err))}", soft_wrap=True)  # messages quote user text
