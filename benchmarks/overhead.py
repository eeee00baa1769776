"""Overhead and speed-up of ``dlwp run`` against the book's plain Keras script, on ch02/mnist_dense.

Alternates plain and dlwp runs (at least 3 pairs) in fresh processes and prints median ratios:
1. identical settings (steps_per_execution=1): training-time and whole-process-time ratios;
2. dlwp's fast defaults against the same plain script: speed-up and test-accuracy difference.

    python benchmarks/overhead.py --data-dir ../shared/datasets --pairs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from dlwp_process import run_dlwp

HERE = Path(__file__).resolve().parent


def plain(data_dir: str, seed: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(HERE / "plain_mnist_dense.py"), "--data-dir", data_dir, "--seed", str(seed)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(label: str, pairs: int, data_dir: str, overrides: list[str]) -> dict:
    plain_runs, dlwp_runs = [], []
    for i in range(pairs):
        plain_runs.append(plain(data_dir, 42 + i))
        dlwp_runs.append(run_dlwp(data_dir, 42 + i, *overrides))
        print(f"  {label} pair {i + 1}: plain {plain_runs[-1]}  dlwp {dlwp_runs[-1]}", flush=True)
    train_ratio = statistics.median(d["train_s"] / p["train_s"] for p, d in zip(plain_runs, dlwp_runs))
    process_ratio = statistics.median(d["process_s"] / p["process_s"] for p, d in zip(plain_runs, dlwp_runs))
    accuracy_gap = statistics.mean(d["test_accuracy"] for d in dlwp_runs) - statistics.mean(
        p["test_accuracy"] for p in plain_runs)
    return {"train_time_ratio": train_ratio, "process_time_ratio": process_ratio,
            "accuracy_difference_points": 100 * accuracy_gap,
            "plain_train_s": statistics.median(p["train_s"] for p in plain_runs),
            "dlwp_train_s": statistics.median(d["train_s"] for d in dlwp_runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR", "../shared/datasets"))
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    same = compare("identical settings", args.pairs, data_dir,
                   ["performance.steps_per_execution=1"])
    fast = compare("fast defaults", args.pairs, data_dir, [])
    print(json.dumps({"identical_settings": same, "fast_defaults": fast}, indent=2))
    print(f"identical settings: dlwp/plain training time {same['train_time_ratio']:.3f}, "
          f"whole process {same['process_time_ratio']:.3f}")
    print(f"fast defaults: plain/dlwp training speed-up {1 / fast['train_time_ratio']:.2f}x, "
          f"test accuracy difference {fast['accuracy_difference_points']:+.2f} points")


if __name__ == "__main__":
    main()
