"""One `dlwp run` in a fresh process, for the benchmarks: its metrics.json and wall-clock seconds."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_dlwp(data_dir: str, seed: int, *overrides: str, experiment: str = "ch02/mnist_dense") -> dict:
    """Train ``experiment`` with the real data in ``data_dir``; return training seconds, test accuracy
    and the whole process's seconds."""
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dlwp_cli.main", "run", f"experiment={experiment}", f"data_dir={data_dir}",
             "download=false", f"seed={seed}", "output.console=false", f"hydra.run.dir={run_dir}", *overrides],
            check=True, capture_output=True, text=True,
        )
        process_s = time.perf_counter() - started
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    return {"train_s": metrics["timings"]["train_s"], "test_accuracy": metrics["test"]["accuracy"],
            "process_s": process_s}
