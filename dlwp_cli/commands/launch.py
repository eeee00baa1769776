"""``dlwp launch --workers N -- run OVERRIDES...``: a multi-worker run on this machine.

Starts N ``dlwp run ... strategy=multi_worker`` processes on free loopback ports, each with its own
TF_CONFIG, and prefixes their output with ``[worker i]``. Only worker 0 (the chief) writes under
``outputs/``; the others get a throwaway ``hydra.run.dir``. If a worker fails or dies, the whole group
is stopped and started again (``--max-restarts`` times; a configuration error, exit status 2, is not
retried). Returns the chief's exit status. No TensorFlow here.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from dlwp_cli.errors import ConfigError

CONFIG_ERROR = 2  # dlwp's exit status for bad input: restarting cannot fix it


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(launcher options, the words after ``run``) from ``--workers N ... -- run OVERRIDES...``."""
    parser = argparse.ArgumentParser(prog="dlwp launch", usage="dlwp launch --workers N [--port P] "
                                     "[--max-restarts K] -- run OVERRIDES...")
    parser.add_argument("--workers", type=int, required=True, help="worker processes on this machine")
    parser.add_argument("--port", type=int, help="first port (workers use P..P+N-1); default: free ports")
    parser.add_argument("--max-restarts", type=int, default=2, help="group restarts after a failure (default 2)")
    split = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command or command[0] != "run":
        raise ConfigError("dlwp launch needs the run after '--', e.g. "
                          "'dlwp launch --workers 2 -- run task=digits epochs=2'"
                          + (f"; got '-- {' '.join(command)}'." if command else "."))
    if any(arg in ("-m", "--multirun") for arg in command):
        raise ConfigError("dlwp launch starts one run on several workers; a sweep (-m) cannot be launched.")
    if options.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {options.workers}.")
    if options.max_restarts < 0:
        raise ConfigError(f"--max-restarts must be 0 or more, got {options.max_restarts}.")
    return options, command[1:]


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that are free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(ports: list[int], index: int) -> str:
    """TF_CONFIG for worker ``index`` of a loopback cluster."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def worker_commands(overrides: list[str], workers: int, scratch: str) -> list[list[str]]:
    """The ``dlwp run`` command line of each worker: non-chief workers write their Hydra folder to ``scratch``."""
    base = [sys.executable, "-m", "dlwp_cli.main", "run", *overrides, "strategy=multi_worker"]
    return [base if i == 0 else [*base, f"hydra.run.dir={scratch}/worker_{i}"] for i in range(workers)]


def pin_run_dir(overrides: list[str]) -> list[str]:
    """Fix the chief's ``hydra.run.dir`` (its default has the start time in it), so that a restarted
    group writes the same run folder instead of a second one."""
    if any(arg.startswith("hydra.run.dir=") for arg in overrides):
        return overrides
    from dlwp_cli.config import catalog
    from dlwp_cli.config.compose import compose

    config_dir, words = catalog.split_config_dir(overrides)
    folder = str(compose(catalog.configure(config_dir, [w for w in words if not w.startswith("-")])).hydra.run.dir)
    return [*overrides, f"hydra.run.dir={folder}"]


def share_checkpoints(overrides: list[str]) -> list[str]:
    """Point every worker at the chief's checkpoint folder, so a restarted group resumes from it."""
    if any(arg.startswith("strategy.checkpoint_dir=") for arg in overrides):
        return overrides
    run_dir = Path(next(arg.split("=", 1)[1] for arg in overrides if arg.startswith("hydra.run.dir=")))
    return [*overrides, f"strategy.checkpoint_dir={run_dir.resolve() / 'backup' / 'distributed'}"]


def _stream(index: int, proc: subprocess.Popen, lock: threading.Lock) -> None:
    for line in proc.stdout:
        with lock:
            print(f"[worker {index}] {line}", end="", flush=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 5
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_group(commands: list[list[str]], ports: list[int]) -> list[int]:
    """Start one process per command, stream its output, and return every exit status; as soon as one
    fails, stop the others (a worker whose peer is gone would wait forever)."""
    lock = threading.Lock()
    procs, threads = [], []
    for i, command in enumerate(commands):
        env = {**os.environ, "TF_CONFIG": tf_config(ports, i), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        with lock:
            print(f"[launch] worker {i} pid {proc.pid} at 127.0.0.1:{ports[i]}", flush=True)
        procs.append(proc)
        threads.append(threading.Thread(target=_stream, args=(i, proc, lock), daemon=True))
        threads[-1].start()
    try:
        while any(proc.poll() is None for proc in procs):
            if any(proc.poll() not in (None, 0) for proc in procs):
                break
            time.sleep(0.2)
    finally:
        _stop(procs)
        for thread in threads:
            thread.join(timeout=5)
    return [proc.returncode for proc in procs]


def launch_command(argv: list[str]) -> int:
    options, overrides = parse_args(argv)
    overrides = share_checkpoints(pin_run_dir(overrides))
    status = 1
    for attempt in range(options.max_restarts + 1):
        ports = (list(range(options.port, options.port + options.workers)) if options.port
                 else free_ports(options.workers))
        with tempfile.TemporaryDirectory(prefix="dlwp-launch-") as scratch:
            codes = run_group(worker_commands(overrides, options.workers, scratch), ports)
        status = codes[0] if codes[0] != 0 else max(codes, key=abs)
        if all(code == 0 for code in codes):
            return 0
        print(f"[launch] attempt {attempt + 1} failed: exit status by worker {codes}", flush=True)
        if CONFIG_ERROR in codes:
            break
        if attempt < options.max_restarts:
            print("[launch] restarting all workers", flush=True)
    return status if status > 0 else 1
