"""``dlwp run -m resume=SWEEP_DIR``: finish a sweep that was killed or stopped, from its ``multirun.yaml``.

* **A grid** (Hydra's basic sweeper): the job list is rebuilt from the recorded overrides, as the sweeper built
  it. Each job whose folder holds a completed metrics.json is skipped. Every other job runs again, through the
  sweep's own launcher, in its original folder (``hydra.sweep.subdir`` given per job): one that had started
  goes on from its saved config.yaml and its last epoch backup, as ``dlwp run resume=RUN_DIR`` does; one that
  never started runs as planned. So every job ends completed once.
* **An Optuna search**: its study is in the sweep's storage (``sqlite:///SWEEP_DIR/optuna.db``). Trials left
  ``RUNNING`` by the killed sweep are marked failed and their parameters queued again, so they are the first
  asked for; the sweeper then runs until ``n_trials`` trials have finished (``hydra.sweeper.n_trials=N`` next to
  ``resume=`` raises the target). New job folders are numbered after the existing ones (job number = trial
  number), and the sampler's seed moves on, so the resumed part does not repeat the first draws.

Values next to ``resume=`` may only be Hydra's (``hydra.launcher.n_jobs=4``, ``hydra/launcher=joblib``): the
jobs keep their own overrides.
"""

from __future__ import annotations

import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlwp_cli import run_folder
from dlwp_cli.config import catalog
from dlwp_cli.errors import ConfigError
from dlwp_cli.sweeps import failures
from dlwp_cli.sweeps import plan as sweep_plan
from dlwp_cli.sweeps.record import RECORD, RESUMING

# Recorded Hydra overrides a resume sets itself.
RESET = ("hydra.mode", "hydra.sweep.dir", "hydra.sweep.subdir", "hydra.sweeper.n_trials", "hydra.sweeper.storage",
         "hydra.sweeper.sampler.seed")


def is_sweep(folder) -> bool:
    return (Path(folder) / RECORD).is_file()


def resume_sweep(parsed, sweep_dir: Path) -> int:
    """Resume the sweep in ``sweep_dir``; the exit status (0: every job completed; 1: one failed again)."""
    record = OmegaConf.load(Path(sweep_dir) / RECORD)
    extra = _hydra_only([o for o in parsed.overrides if not o.startswith("resume=")])
    busy = [job for job in failures.job_folders(sweep_dir) if run_folder.is_locked(job)]
    if busy:
        raise ConfigError(f"resume={sweep_dir}: the sweep is still running ({busy[0]} is held by a live process). "
                          "Wait for it to end, or stop it first.")
    _configure_search_path(record, parsed)
    sweeper = str(record.hydra.sweeper._target_)
    if sweeper == sweep_plan.BASIC:
        return resume_grid(Path(sweep_dir), record, extra)
    if "optuna" in sweeper:
        return resume_optuna(parsed, Path(sweep_dir), record, extra)
    raise ConfigError(f"resume={sweep_dir}: resuming a sweep of {sweeper} is not supported (the basic sweeper's "
                      "grids and Optuna searches are).")


def _hydra_only(overrides: list[str]) -> list[str]:
    for override in sweep_plan.parse(overrides):
        if not override.is_hydra_override():
            raise ConfigError(f"A resumed sweep keeps its jobs' overrides: '{override.input_line}' cannot be changed. "
                              "Only Hydra's settings may be given next to resume= (e.g. hydra.launcher.n_jobs=2, "
                              "hydra.sweeper.n_trials=20).")
    return overrides


def _configure_search_path(record: DictConfig, parsed) -> None:
    """The config folders the sweep read: its --config-dir and hydra.searchpath, as recorded."""
    sources = OmegaConf.select(record, "hydra.runtime.config_sources", default=None) or []
    config_dir = next((str(s.path) for s in sources if s.provider == "command-line" and s.schema == "file"), None)
    hydra_overrides = list(record.hydra.overrides.hydra)
    catalog.configure(config_dir, hydra_overrides)
    parsed.config_dir = config_dir


def _recorded(record: DictConfig, extra: list[str]) -> tuple[list[str], list[str]]:
    """(the sweep's Hydra overrides without those a resume sets, then ``extra``; its task overrides)."""
    given = {o.key_or_group for o in sweep_plan.parse(extra)}
    dropped = set(RESET) | given
    if "hydra/launcher" in given:  # another launcher: the recorded one's settings do not apply
        dropped |= {"hydra.launcher"}
    hydra = [o for o in record.hydra.overrides.hydra if not _covered(_key(o), dropped)]
    return [*hydra, *extra], list(record.hydra.overrides.task)


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _covered(key: str, keys: set[str]) -> bool:
    return any(key == k or key.startswith(k + ".") for k in keys)


@contextmanager
def _resuming():
    """Marks the processes that run the jobs (this one, and the launcher's, which inherit it) as resuming."""
    before = os.environ.get(RESUMING)
    os.environ[RESUMING] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RESUMING, None)
        else:
            os.environ[RESUMING] = before


def _say(text: str) -> None:
    from dlwp_cli import console

    console.console.print(text, markup=False, highlight=False, soft_wrap=True)


# -- a grid ------------------------------------------------------------------------------------------------


def grid(record: DictConfig) -> list[list[str]]:
    """The sweep's jobs as Hydra's basic sweeper listed them (job number = index)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    params = OmegaConf.select(record, "hydra.sweeper.params", default=None) or {}
    arguments = [f"{key}={value}" for key, value in params.items()] + list(record.hydra.overrides.task)
    batches = BasicSweeper.split_arguments(sweep_plan.parse(arguments), None)
    return [list(job) for job in batches[0]]


def job_folder_by_overrides(sweep_dir: Path) -> dict[tuple, Path]:
    """Each job folder of the sweep, keyed by the overrides Hydra recorded for it."""
    found = {}
    for folder in failures.job_folders(sweep_dir):
        overrides = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
        found.setdefault(tuple(str(o) for o in overrides), folder)
    return found


def resume_grid(sweep_dir: Path, record: DictConfig, extra: list[str]) -> int:
    hydra_overrides, task_overrides = _recorded(record, extra)
    jobs = grid(record)
    folders = job_folder_by_overrides(sweep_dir)
    pending = [(num, job) for num, job in enumerate(jobs) if not _completed(folders.get(tuple(job)))]
    done = len(jobs) - len(pending)
    if not pending:
        _say(f"all {len(jobs)} jobs of {sweep_dir} already completed")
        return 0
    _say(f"resuming {sweep_dir}: {done} of {len(jobs)} jobs completed, {len(pending)} to run")
    plan = sweep_plan.read(sweep_dir)
    if plan:
        sweep_plan.write(sweep_plan.SweepPlan([], [], plan.get("sweeper", sweep_plan.BASIC), str(sweep_dir),
                                              jobs=len(jobs), max_failure_rate=plan.get("max_failure_rate", 1.0)))
    started = time.time()
    with _resuming():
        launched = launch_jobs([*hydra_overrides, f"hydra.sweep.dir={_quoted(sweep_dir)}"], task_overrides,
                               [(num, job, folders.get(tuple(job))) for num, job in pending])
    folders = job_folder_by_overrides(sweep_dir)
    unfinished = [job for job in jobs if not _completed(folders.get(tuple(job)))]
    from dlwp_cli.commands.report import sweep_summary

    sweep_summary([sweep_dir], launched, since=started)
    if unfinished:
        _say(f"{len(unfinished)} of {len(jobs)} jobs of the sweep are not completed; fix the cause and run "
             f"`dlwp run -m resume={sweep_dir}` again")
        return 1
    _say(f"all {len(jobs)} jobs of {sweep_dir} completed ({len(pending)} run now)")
    return 0


def _completed(folder: Path | None) -> bool:
    return folder is not None and run_folder.status(folder) == run_folder.COMPLETED


def _quoted(value) -> str:
    return "'" + str(value).replace("'", "\\'") + "'"


def launch_jobs(hydra_overrides: list[str], task_overrides: list[str], jobs: list[tuple]) -> list[str]:
    """Run ``jobs`` ((number, overrides, existing folder or None)) through the sweep's launcher, as Hydra's
    multirun does but without its sweeper, each job in its original folder; the folders run."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.plugins import Plugins
    from hydra.errors import HydraException
    from hydra.types import HydraContext, RunMode
    from omegaconf import open_dict

    from dlwp_cli import app, console
    from dlwp_cli.config.compose import _initialize, translate_hydra_error

    GlobalHydra.instance().clear()
    with console.native_log_filtered():
        console.load_tensorflow()
    _initialize(catalog.get_search_path())
    hydra = GlobalHydra.instance().hydra
    try:
        overrides = [*hydra_overrides, "hydra.mode=MULTIRUN", *task_overrides]
        try:
            master = hydra.compose_config("config", overrides=overrides, with_log_configuration=True,
                                          run_mode=RunMode.MULTIRUN)
        except HydraException as err:
            raise translate_hydra_error(err, overrides) from None
        callbacks = Callbacks(master)
        context = HydraContext(config_loader=hydra.config_loader, callbacks=callbacks)
        launched = []
        for num, job, folder in jobs:
            if folder is None:  # never started: the folder its number gives
                job_cfg = hydra.config_loader.load_sweep_config(master, list(job))
                with open_dict(job_cfg):
                    job_cfg.hydra.job.num = num
                HydraConfig.instance().set_config(job_cfg)  # the subdir may read hydra:runtime.choices
                folder = Path(str(job_cfg.hydra.sweep.dir)) / str(job_cfg.hydra.sweep.subdir)
            subdir = os.path.relpath(folder, str(master.hydra.sweep.dir))
            launched.append((list(job) + [f"hydra.sweep.subdir={_quoted(subdir)}"], folder))
        callbacks.on_multirun_start(config=master, config_name="config")
        launcher = Plugins.instance().instantiate_launcher(config=master, hydra_context=context,
                                                          task_function=app.run_job)
        for done in (app.JOB_DIRS, app.SWEEP_DIRS, app.FAILED_JOBS, app.STOPPED):
            del done[:]
        launcher.launch([job for job, _ in launched], initial_job_idx=0)
        callbacks.on_multirun_end(config=master, config_name="config")
    finally:
        GlobalHydra.instance().clear()
    return [str(folder) for _, folder in launched]


# -- an Optuna search --------------------------------------------------------------------------------------


def resume_optuna(parsed, sweep_dir: Path, record: DictConfig, extra: list[str]) -> int:
    import optuna

    sweeper = record.hydra.sweeper
    storage = str(sweeper.storage) if sweeper.get("storage") else None
    if storage is None:
        raise ConfigError(f"resume={sweep_dir}: this Optuna sweep kept no storage (hydra.sweeper.storage=null), so "
                          "its trials cannot be found again.")
    if storage.startswith("sqlite:///") and storage.endswith("/optuna.db") and (sweep_dir / "optuna.db").is_file():
        storage = sweep_plan.storage_url(str(sweep_dir))  # the folder may have moved since
    target = int(sweeper.n_trials)
    for override in sweep_plan.parse(extra):
        if override.key_or_group == "hydra.sweeper.n_trials":
            target = int(override.value())
    extra = [o for o in extra if not o.split("=", 1)[0] == "hydra.sweeper.n_trials"]
    try:
        study = optuna.load_study(study_name=str(sweeper.study_name), storage=storage)
    except KeyError:
        raise ConfigError(f"resume={sweep_dir}: no study '{sweeper.study_name}' in {storage}.") from None
    trials = study.get_trials(deepcopy=False)
    asked = len(trials)
    stale = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    finished = [t for t in trials if t.state.is_finished()]
    remaining = target - len(finished)
    if remaining <= 0 and not stale:
        _say(f"all {target} trials of {sweep_dir} already finished")
        return 0
    remaining = max(remaining, len(stale))
    for trial in stale:  # killed with the sweep: failed, and its parameters asked for again first
        study._storage.set_trial_state(trial._trial_id, optuna.trial.TrialState.FAIL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.enqueue_trial(trial.params)
    _say(f"resuming {sweep_dir}: {len(finished)} of {target} trials finished, {len(stale)} interrupted (run again "
         f"with their parameters), {remaining} to run")
    if target != int(sweeper.n_trials):
        with open_record(sweep_dir) as saved:
            saved.hydra.sweeper.n_trials = target
            kept = [o for o in saved.hydra.overrides.hydra if not str(o).startswith("hydra.sweeper.n_trials=")]
            saved.hydra.overrides.hydra = [*kept, f"hydra.sweeper.n_trials={target}"]
    hydra_overrides, task_overrides = _recorded(record, extra)
    subdir = str(OmegaConf.to_container(record.hydra.sweep, resolve=False)["subdir"])
    numbered_after = subdir.replace("${hydra.job.num}", f"${{dlwp_add:${{hydra.job.num}},{asked}}}")
    resumed = [f"hydra.sweep.dir={_quoted(sweep_dir)}", f"hydra.sweeper.storage={_quoted(storage)}",
               f"hydra.sweeper.n_trials={remaining}", f"hydra.sweep.subdir={_quoted(numbered_after)}"]
    seed = OmegaConf.select(record, "hydra.sweeper.sampler.seed", default=None)
    if seed is not None:
        resumed.append(f"hydra.sweeper.sampler.seed={int(seed) + asked}")
    parsed.overrides = [*hydra_overrides, *resumed, *task_overrides]
    parsed.multirun = True
    from dlwp_cli import console
    from dlwp_cli.commands.run import launch

    with console.native_log_filtered():
        console.load_tensorflow()
    with _resuming():
        return launch(parsed, str(sweep_dir))


@contextmanager
def open_record(sweep_dir: Path):
    """The sweep's multirun.yaml, to change and write back (atomically)."""
    from dlwp_cli.run_folder import write_atomic

    path = Path(sweep_dir) / RECORD
    record = OmegaConf.load(path)
    yield record
    write_atomic(path, OmegaConf.to_yaml(record))
