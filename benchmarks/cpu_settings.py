"""CPU speed of precision and steps_per_execution on ch02/mnist_dense, as ratios from one benchmark run.

Runs `dlwp run experiment=ch02/mnist_dense` in fresh processes, alternating the settings in rounds,
and prints median training-time ratios against float32 with steps_per_execution=1, with test accuracies.

    python benchmarks/cpu_settings.py --data-dir ../shared/datasets --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from dlwp_process import run_dlwp

SETTINGS = {
    "float32, steps_per_execution=1": ["precision=float32", "performance.steps_per_execution=1"],
    "float32, steps_per_execution=32": ["precision=float32", "performance.steps_per_execution=32"],
    "mixed_bfloat16, steps_per_execution=32": ["precision=mixed_bfloat16", "performance.steps_per_execution=32"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR", "../shared/datasets"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    results: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for i in range(args.rounds):
        for name, overrides in SETTINGS.items():
            results[name].append(run_dlwp(data_dir, 42 + i, *overrides))
            print(f"  round {i + 1} {name}: {results[name][-1]}", flush=True)
    baseline = "float32, steps_per_execution=1"
    for name, runs in results.items():
        ratio = statistics.median(b["train_s"] / r["train_s"] for b, r in zip(results[baseline], runs))
        accuracy = statistics.mean(r["test_accuracy"] for r in runs)
        print(f"{name}: speed-up x{ratio:.2f} against {baseline}; test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
