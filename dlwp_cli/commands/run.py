"""``dlwp run``: check every job's config up front, then hand over to Hydra (runs and sweeps).

Hydra's own flags work anywhere on the line: ``--config-dir/-cd DIR`` (the user's configs, see
:mod:`dlwp_cli.config.catalog`), ``-m/--multirun``, ``--cfg job|hydra|all`` with ``--package/-p`` and
``--resolve``, ``--info [TOPIC]`` and ``--hydra-help``; ``--cfg``, ``--info`` and ``--hydra-help`` print
and train nothing.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from dlwp_cli.config import catalog
from dlwp_cli.errors import ConfigError

CFG_TYPES = ("job", "hydra", "all")
INFO_TOPICS = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")
RUN_USAGE = """\
usage: dlwp run [OVERRIDES...] [-m] [--config-dir DIR] [--cfg job|hydra|all] [--info]

Train and evaluate one configuration, or sweep several with -m. Options may stand anywhere on the line.

  OVERRIDES                  Hydra overrides: group=option to pick a config of a group, key=value to set a
                             value (task=imdb model=dense epochs=3 optimizer.learning_rate=1e-4)
  -m, --multirun             a sweep: one run per combination of comma-separated values (glob(...) too),
                             under outputs/multirun/ (hydra.sweep.dir=PATH), ending with how many failed;
                             hydra/sweeper=optuna searches the config's search_space (interval(...) too) for
                             the best objective.metric on validation data; hydra/launcher=joblib runs jobs in
                             parallel, hydra/launcher=submitit_slurm on a SLURM cluster
  --config-dir DIR, -cd DIR  also read configs from DIR (DIR/experiment/mine.yaml -> experiment=mine);
                             more folders with hydra.searchpath=[file:///abs/dir,pkg://some.package]
  --cfg job|hydra|all        print the composed config (the job's, Hydra's or both) and train nothing;
                             -p/--package PACKAGE prints one node, --resolve resolves interpolations
  --info [TOPIC]             print Hydra's information (all, config, defaults, defaults-tree, plugins,
                             searchpath) and train nothing
  --hydra-help               Hydra's own help

config groups (dlwp list GROUP shows the options and what each does):
{groups}

main top-level keys (dlwp show prints them all, with their values):
  seed=42                    random seed (weights, shuffling, synthetic data)
  epochs=N, batch_size=N     override the task's (the book's) training settings
  precision=float32          float32 | mixed_float16 (GPU) | mixed_bfloat16 | auto (bf16 CPU/TPU, fp16 GPU)
  source=real                real | synthetic (random data of the real shapes)
  data_dir=PATH              where the datasets are (else $DLWP_DATA_DIR); download=false: never download
  deterministic=true         TensorFlow's op determinism (slower, bit-identical reruns)
  transforms.* performance.* output.*   data changes (ch. 5), speed settings, what the run folder gets
  hydra.run.dir=PATH         the run folder (default outputs/<experiment or task-model>/<date_time>)

special overrides:
  resume=RUN_DIR|last        continue an interrupted run in its own folder, with its own overrides
                             (last: the newest unfinished run under ./outputs)
  -m resume=SWEEP_DIR        finish a killed or stopped sweep: every job without a completed metrics.json
                             runs again in its own folder (an Optuna search continues its study)
  debug=smoke                any task/model pair on tiny synthetic data, 1 epoch, in seconds

your own configs: put them in a folder laid out like the groups (DIR/experiment/mine.yaml,
DIR/model/wide.yaml, DIR/task/mytable.yaml) and add --config-dir DIR; give them names of their own (a
packaged option of the same name wins). See the README section "Your own data and models".

examples:
  dlwp run experiment=ch02/mnist_dense
  dlwp run task=imdb model=dense epochs=3 seed=1
  dlwp run -m model.dropout=0,0.5 optimizer.learning_rate=1e-3,1e-4
  dlwp run -m hydra/sweeper=optuna 'model.dropout=interval(0,0.5)' trainer.validation_size=0.2
  dlwp run experiment=ch04/boston_kfold debug=smoke
  dlwp run -cd my_configs experiment=mine --cfg job\
"""


def run_help() -> str:
    """``dlwp run --help``: the usage, with the config groups and their options read from the search path
    (no TensorFlow import)."""
    lines = []
    for group in catalog.groups():
        options = catalog.options(group)
        line = f"  {group:<26} "
        for i, option in enumerate(options):
            rest = f", ... ({len(options)} in all)" if i < len(options) - 1 else ""
            if i and len(line) + len(option) + len(rest) + 2 > 110:
                line += f", ... ({len(options)} in all)"
                break
            line += (", " if i else "") + option
        lines.append(line)
    return RUN_USAGE.format(groups="\n".join(lines))


@dataclasses.dataclass
class RunArgs:
    """The words after ``dlwp run``, sorted into Hydra's flags and the overrides."""

    overrides: list[str]
    config_dir: str | None = None
    multirun: bool = False
    cfg: str | None = None
    package: str | None = None
    resolve: bool = False
    info: str | None = None
    help: bool = False
    hydra_help: bool = False

    @property
    def prints_only(self) -> bool:
        """--cfg, --info and --hydra-help print and train nothing."""
        return self.cfg is not None or self.info is not None or self.hydra_help

    def hydra_argv(self) -> list[str]:
        """The command line handed to ``app.hydra_main()``: flags first, then the overrides."""
        flags: list[str] = []
        if self.config_dir is not None:
            flags += ["--config-dir", str(self.config_dir)]
        if self.multirun:
            flags.append("--multirun")
        if self.cfg is not None:
            flags += ["--cfg", self.cfg]
            if self.package is not None:
                flags += ["--package", self.package]
            if self.resolve:
                flags.append("--resolve")
        if self.info is not None:
            flags += ["--info", self.info]  # the topic is always explicit, so no override is taken for it
        if self.hydra_help:
            flags.append("--hydra-help")
        return [*flags, *self.overrides]


def parse_args(args: list[str]) -> RunArgs:
    """Sort the words after ``dlwp run`` into Hydra's flags and the overrides, wherever the flags stand."""
    config_dir, words = catalog.split_config_dir(args)
    parsed = RunArgs(overrides=[], config_dir=config_dir)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-"):
            parsed.overrides.append(word)
            continue
        flag, eq, value = word.partition("=")

        def needs_value(choices: tuple[str, ...] | None = None) -> str:
            nonlocal i
            given = value
            if not eq:
                if i >= len(words) or words[i].startswith("-"):
                    raise ConfigError(f"dlwp run: {flag} needs a value"
                                      f"{' (' + '|'.join(choices) + ')' if choices else ''}.")
                given = words[i]
                i += 1
            if choices and given not in choices:
                raise ConfigError(f"dlwp run: {flag} takes one of {', '.join(choices)}, got '{given}'.")
            return given

        if eq and flag in ("-m", "--multirun", "-h", "--help", "--hydra-help", "--resolve", "-r", "--run"):
            raise ConfigError(f"dlwp run: {flag} takes no value, got '{word}'.")
        if flag in ("-m", "--multirun"):
            parsed.multirun = True
        elif flag in ("-h", "--help"):
            parsed.help = True
        elif flag == "--hydra-help":
            parsed.hydra_help = True
        elif flag == "--resolve":
            parsed.resolve = True
        elif flag in ("-r", "--run"):
            pass  # a single run is what dlwp run does anyway
        elif flag in ("--cfg", "-c"):
            parsed.cfg = needs_value(CFG_TYPES)
        elif flag in ("--package", "-p"):
            parsed.package = needs_value()
        elif flag in ("--info", "-i"):
            if eq:
                parsed.info = needs_value(INFO_TOPICS)
            elif i < len(words) and words[i] in INFO_TOPICS:
                parsed.info = words[i]
                i += 1
            else:
                parsed.info = "all"
        elif flag in ("--config-name", "-cn", "--config-path", "-cp"):
            raise ConfigError(f"dlwp run: {flag} is not supported: the primary config is dlwp's own. Put your "
                              "configs in a folder and give it with --config-dir DIR (DIR/experiment/mine.yaml "
                              "-> experiment=mine).")
        else:
            raise ConfigError(f"dlwp run: unknown option '{word}'. Overrides look like key=value; see dlwp run --help.")
    if parsed.help:
        return parsed
    shown = [name for name, on in (("--cfg", parsed.cfg), ("--info", parsed.info), ("-m/--multirun", parsed.multirun))
             if on]
    if len(shown) > 1:
        raise ConfigError(f"dlwp run: {' and '.join(shown)} cannot be combined (Hydra does one of them).")
    if (parsed.package is not None or parsed.resolve) and parsed.cfg is None:
        raise ConfigError("dlwp run: --package and --resolve go with --cfg job|hydra|all.")
    return parsed


def split_args(args: list[str]) -> tuple[list[str], bool]:
    """(overrides, multirun) from the words after ``dlwp run``."""
    parsed = parse_args(args)
    return parsed.overrides, parsed.multirun


def _parse(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        return OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        from dlwp_cli.config.compose import syntax_hint

        raise ConfigError(f"Cannot parse the overrides: {str(err).splitlines()[0]}{syntax_hint(str(err))}") from None


def expand_globs(overrides: list[str]) -> list[str]:
    """Replace ``group=glob(...)`` by the matching options, listed (Hydra's glob skips nested
    options such as ``experiment=ch04/...``). Options come from the catalog's search path, so the
    user's own configs (``--config-dir``, ``hydra.searchpath``) are matched too."""
    from hydra.core.override_parser.types import Glob

    expanded = []
    for override, text in zip(_parse(overrides), overrides):
        key = override.get_key_element()
        if not isinstance(override.value(), Glob):
            expanded.append(text)
            continue
        matches = override.value().filter(catalog.options(key)) if key in catalog.groups() else []
        if not matches:
            raise ConfigError(f"'{text}' matches no option of group '{key}' (see 'dlwp list {key}').")
        expanded.append(f"{key}={','.join(matches)}")
    return expanded


def precheck(overrides: list[str], multirun: bool, plan=None) -> Path:
    """Compose and validate each job (with the catalog's search path, as the real run will), and make
    sure its output folder can be written; return that folder (the sweep's for a multirun). A sweep checks the
    jobs its plan lists (:mod:`dlwp_cli.sweeps.plan`), and an objective-driven one each job's objective too."""
    from dlwp_cli.config.compose import compose
    from dlwp_cli.config.validate import check_runtime_targets, validate
    from dlwp_cli.run_folder import ensure_writable
    from dlwp_cli.sweeps import objective

    from dlwp_cli.data import data_description

    if multirun and plan is None:
        from dlwp_cli.sweeps import plan as sweep_plan

        plan = sweep_plan.make(overrides)
    checked = set()
    for job in plan.checks if multirun else [overrides]:
        cfg = compose(job)
        typed = validate(cfg)
        if multirun and plan.objective_driven:
            objective.check(typed)
        data_description(typed)  # a dataset that can check its data cheaply (a table) does so now
        targets = (typed.optimizer._target_, typed.strategy._target_, str(typed.task))  # what the check reads
        if targets not in checked:  # imports TensorFlow: after every check that does not need it
            check_runtime_targets(typed)
            checked.add(targets)
    return ensure_writable(Path(plan.sweep_dir if multirun else str(cfg.hydra.run.dir)))


def run_command(args: list[str]) -> int:
    parsed = parse_args(args)
    if parsed.help:
        print(run_help())
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow C++ start-up noise
    parsed.overrides = [catalog.expand_home(o) for o in parsed.overrides]  # resume=~/... too
    if any(o.startswith("resume=") for o in parsed.overrides):
        from dlwp_cli.commands.resume import resume_command

        return resume_command(parsed)
    parsed.overrides = catalog.configure(parsed.config_dir, parsed.overrides)
    if parsed.config_dir is not None:
        parsed.config_dir = str(catalog.get_search_path().config_dir)  # absolute, as Hydra records it
    if parsed.multirun:
        parsed.overrides = expand_globs(parsed.overrides)
    plan = None
    if parsed.prints_only:
        if not parsed.hydra_help:
            from dlwp_cli.config.compose import compose

            compose(parsed.overrides)  # a clear error for a bad override; no validation, no run folder
    else:
        from dlwp_cli import console

        # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL (see dlwp_cli.console): the checks
        # import it, so they run with those lines filtered out, and so does finding the devices.
        with console.native_log_filtered():
            if parsed.multirun:
                from dlwp_cli.sweeps import plan as sweep_plan

                plan = sweep_plan.make(parsed.overrides)
                parsed.overrides = plan.overrides
            folder = precheck(parsed.overrides, parsed.multirun, plan)
            if parsed.multirun:
                sweep_plan.write(plan)
            else:  # held before Hydra writes anything into it (.hydra/ included)
                from dlwp_cli import run_folder

                run_folder.lock(folder)
            console.load_tensorflow()
    return launch(parsed, plan.sweep_dir if plan is not None else None)


def launch(parsed: RunArgs, sweep_dir: str | None = None) -> int:
    """Hand the command line to Hydra; after a sweep, say how many jobs failed (and how to continue a sweep
    that stopped). The exit status: 0, or 1 when a job failed or the sweep stopped."""
    from dlwp_cli import app

    sweeping = parsed.multirun and not parsed.prints_only
    started = time.time()
    for done in (app.JOB_DIRS, app.SWEEP_DIRS, app.FAILED_JOBS, app.STOPPED):  # this call's jobs only
        del done[:]
    saved = sys.argv
    sys.argv = ["dlwp", *parsed.hydra_argv()]
    stopped = False
    try:
        app.hydra_main()
    except SystemExit as exit_:  # Hydra exits on --hydra-help and on its own errors (a sweeper that stops too)
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if not sweeping or code == 0:
            return code
        stopped = True
    finally:
        sys.argv = saved
    failed = bool(app.FAILED_JOBS)
    if sweeping:
        failed = end_of_sweep(app, sweep_dir, started) or failed
        stopped = stopped or bool(app.STOPPED)
        if stopped and sweep_dir and (Path(sweep_dir) / "multirun.yaml").is_file():
            from dlwp_cli import console

            console.console.print(f"the sweep stopped before its end; continue it with "
                                  f"`dlwp run -m resume={sweep_dir}`", markup=False, highlight=False, soft_wrap=True)
    return 1 if failed or stopped else 0


def end_of_sweep(app, planned_sweep_dir: str | None, started: float) -> bool:
    """Print "N of M jobs failed" (with the failed run folders) or "all M jobs completed", counted from the
    jobs' run folders; True when a job failed."""
    from dlwp_cli.commands.report import sweep_summary

    sweep_dirs = list(app.SWEEP_DIRS) or ([planned_sweep_dir] if planned_sweep_dir else [])
    return bool(sweep_summary(sweep_dirs, app.JOB_DIRS, since=started))
