"""TensorFlow's thread pools for a job that shares its machine with other jobs of the same sweep.

``hydra/launcher=joblib`` runs ``hydra.launcher.n_jobs`` jobs at once, each in a worker process of its own; left
alone, every worker's TensorFlow would size its pools to all the machine's cores, and the jobs would fight over
them. Each job gets cores ÷ parallel jobs threads instead (at least one). Under ``submitit`` a job gets
``hydra.launcher.cpus_per_task`` threads when that is set (the cores SLURM gives the task).

The limit is set through the environment (``OMP_NUM_THREADS``, ``TF_NUM_INTRAOP_THREADS``,
``TF_NUM_INTEROP_THREADS``) and ``tf.config.threading`` before TensorFlow runs its first op in the process;
a worker that runs several jobs keeps the first job's pools, which have the same size.
"""

from __future__ import annotations

import os
import sys

from omegaconf import DictConfig

THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def cpu_cores() -> int:
    """The cores this process may run on (its affinity mask, which container and SLURM limits set)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parallel_jobs(launcher: DictConfig, cores: int) -> int | None:
    """How many jobs a joblib launcher runs at once on this machine (joblib's ``n_jobs``: -1 all cores, -2 all
    but one, ...); None for other launchers."""
    if "joblib" not in str(launcher.get("_target_", "")):
        return None
    n_jobs = launcher.get("n_jobs")
    if n_jobs is None or int(n_jobs) == 0:
        return 1
    n_jobs = int(n_jobs)
    return max(1, n_jobs if n_jobs > 0 else cores + 1 + n_jobs)


def threads_for(launcher: DictConfig | None) -> tuple[int | None, dict]:
    """(threads per job or None to leave TensorFlow's default, a description for metrics.json)."""
    if launcher is None:
        return None, {}
    target = str(launcher.get("_target_", ""))
    name = target.rsplit(".", 1)[-1].removesuffix("Launcher").lower() or "unknown"
    cores = cpu_cores()
    parallel = parallel_jobs(launcher, cores)
    if parallel is not None:
        threads = max(1, cores // parallel)
        return threads, {"launcher": "joblib", "parallel_jobs": parallel, "cpu_cores": cores}
    if "submitit" in target:
        cpus = launcher.get("cpus_per_task")
        return (int(cpus) if cpus else None), {"launcher": f"submitit_{name}", "cpus_per_task": cpus,
                                               "cpu_cores": cores}
    return None, {"launcher": name, "cpu_cores": cores}


def limit_threads(launcher: DictConfig | None) -> dict:
    """Size this process's TensorFlow thread pools for the launcher; what was set, for metrics.json."""
    threads, described = threads_for(launcher)
    if threads is not None:
        for variable in THREAD_VARIABLES:
            os.environ[variable] = str(threads)
    if "tensorflow" not in sys.modules:  # a launcher's fresh worker: TensorFlow's start-up lines stay quiet
        from dlwp_cli import console

        with console.native_log_filtered():
            console.load_tensorflow()
    if threads is None:
        return described
    import tensorflow as tf

    for setter in (tf.config.threading.set_intra_op_parallelism_threads,
                   tf.config.threading.set_inter_op_parallelism_threads):
        try:
            setter(threads)
        except RuntimeError:  # pools already made by an earlier job of this worker, with this size
            pass
    return {**described, "threads": threads}


def recorded_threads() -> dict:
    """The pool sizes TensorFlow reports in this process (0: its own default)."""
    import tensorflow as tf

    return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
