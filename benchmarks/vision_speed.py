"""Seconds per epoch of ``dlwp run experiment=ch08/cats_vs_dogs_scratch`` against the book's plain Keras script
(benchmarks/plain_cats_vs_dogs.py, listings 8.6-8.11), in float32 and with dlwp's ``precision=mixed_bfloat16``.

Alternates the variants in fresh processes for ``--pairs`` rounds: plain, dlwp, dlwp with mixed_bfloat16, and
any given with ``--variant``.
Each variant's figure is the median over its runs of the median seconds of epochs 2..N (epoch 1 includes
tracing and warm-up, and dlwp's first epoch follows its image decoding); an epoch is timed from its start to
its end, validation included, in both scripts. Prints a JSON summary (seconds per epoch, the ratios
plain/variant, above 1 when the variant is faster, and the last epoch's validation accuracy of each)
and a one-line summary.

    python benchmarks/vision_speed.py --data-dir ../shared/datasets --pairs 2 --epochs 4
    python benchmarks/vision_speed.py --variant dlwp_xla=performance.jit_compile=true   # one more variant
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPERIMENT = "ch08/cats_vs_dogs_scratch"
# dlwp's variants: name -> overrides (the plain script is the first variant of every round)
DLWP_VARIANTS = {"dlwp": (), "dlwp_bf16": ("precision=mixed_bfloat16",)}


def _failed(err: subprocess.CalledProcessError, what: str) -> SystemExit:
    return SystemExit(f"{what} failed (exit status {err.returncode}):\n{err.stderr[-3000:]}")


def plain(data_dir: str, seed: int, epochs: int, limit_batches: int | None) -> dict:
    """One run of the plain script: its epoch seconds, training seconds and last validation accuracy."""
    command = [sys.executable, str(HERE / "plain_cats_vs_dogs.py"), "--data-dir", data_dir, "--seed", str(seed),
               "--epochs", str(epochs)]
    if limit_batches is not None:
        command += ["--limit-batches", str(limit_batches)]
    try:
        out = subprocess.run(command, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        raise _failed(err, "plain_cats_vs_dogs.py") from None
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {key: result[key] for key in ("epoch_s", "train_s", "process_s", "val_accuracy")}


def dlwp(data_dir: str, seed: int, epochs: int, limit_batches: int | None, *overrides: str) -> dict:
    """One ``dlwp run`` of the experiment in a fresh process, read back from its metrics.json."""
    if limit_batches is not None:
        overrides += (f"trainer.limit_batches={limit_batches}",)
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        try:
            subprocess.run(
                [sys.executable, "-m", "dlwp_cli.main", "run", f"experiment={EXPERIMENT}", f"data_dir={data_dir}",
                 "download=false", f"seed={seed}", f"epochs={epochs}", "trainer.evaluate_test=false",
                 "output.console=false", f"hydra.run.dir={run_dir}", *overrides],
                check=True, capture_output=True, text=True,
            )
        except subprocess.CalledProcessError as err:
            raise _failed(err, f"dlwp run experiment={EXPERIMENT} {' '.join(overrides)}") from None
        process_s = time.perf_counter() - started
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    return {"epoch_s": metrics["timings"]["epoch_s"], "train_s": metrics["timings"]["train_s"],
            "process_s": process_s, "val_accuracy": metrics["history"]["val_accuracy"][-1]}


def steady_epoch_s(run: dict) -> float:
    """Median seconds of epochs 2..N (epoch 1 alone when the run had one epoch)."""
    return statistics.median(run["epoch_s"][1:] or run["epoch_s"])


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Per-variant medians and the plain/variant ratios of seconds per epoch."""
    epoch_s = {name: statistics.median(steady_epoch_s(r) for r in variant_runs)
               for name, variant_runs in runs.items()}
    return {
        "epoch_s": epoch_s,
        **{f"ratio_plain_over_{name}": epoch_s["plain"] / epoch_s[name] for name in runs if name != "plain"},
        "val_accuracy": {name: statistics.mean(r["val_accuracy"] for r in variant_runs)
                         for name, variant_runs in runs.items()},
        "process_s": {name: statistics.median(r["process_s"] for r in variant_runs)
                      for name, variant_runs in runs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR", "../shared/datasets"))
    parser.add_argument("--pairs", type=int, default=2, help="rounds of the three variants")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--limit-batches", type=int, default=None,
                        help="train and validate on at most this many batches per epoch (quick checks of the "
                             "script only: dlwp's validation batches come in class order, so its accuracy is then "
                             "that of one class)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OVERRIDE[,OVERRIDE...]",
                        help="one more dlwp variant, e.g. dlwp_xla=performance.jit_compile=true (repeatable)")
    args = parser.parse_args()
    if args.pairs < 1 or args.epochs < 1:
        parser.error("--pairs and --epochs must be at least 1 (use --epochs 2 or more to skip the warm-up epoch)")
    variants = dict(DLWP_VARIANTS)
    for spec in args.variant:
        name, sep, overrides = spec.partition("=")
        if not sep or not name or name in ("plain", *variants):
            parser.error(f"--variant {spec!r}: give NAME=OVERRIDE[,OVERRIDE...] with a new NAME")
        variants[name] = tuple(overrides.split(","))
    data_dir = str(Path(args.data_dir).resolve())
    runs: dict[str, list[dict]] = {name: [] for name in ("plain", *variants)}
    for i in range(args.pairs):
        seed = 42 + i
        runs["plain"].append(plain(data_dir, seed, args.epochs, args.limit_batches))
        for name, overrides in variants.items():
            runs[name].append(dlwp(data_dir, seed, args.epochs, args.limit_batches, *overrides))
        for name in runs:
            print(f"  round {i + 1} {name}: {runs[name][-1]}", flush=True)
    summary = summarise(runs)
    print(json.dumps({"epochs": args.epochs, "pairs": args.pairs, "limit_batches": args.limit_batches,
                      "variants": {name: list(o) for name, o in variants.items()}, **summary}, indent=2))
    seconds, accuracy = summary["epoch_s"], summary["val_accuracy"]
    print(f"seconds per epoch (median of epochs 2..{args.epochs}): "
          + ", ".join(f"{name} {seconds[name]:.1f}" for name in runs) + "; "
          + ", ".join(f"plain/{name} {summary[f'ratio_plain_over_{name}']:.2f}" for name in runs if name != "plain")
          + "; val accuracy " + " / ".join(f"{accuracy[name]:.3f}" for name in runs))


if __name__ == "__main__":
    main()
