"""Every chapter-10 experiment on a full-length synthetic Jena file, one after another, as a table.

Writes the synthetic file (``dlwp data synth-jena``: 420,551 rows, marked synthetic) into DATA_DIR unless it is
there, then runs each ``ch10/jena_*`` experiment in a fresh process with ``data_dir=DATA_DIR`` and prints one row
per experiment: the epochs it trained, its best validation MAE, its test MAE, the naive baseline's validation and
test MAE, the median epoch time (robust to an epoch slowed by other jobs) and the wall time. Every figure is
synthetic: never compared with the book's.

    python benchmarks/jena_all.py /tmp/jena                         # the book's epochs, 50-epoch ones capped at 10
    python benchmarks/jena_all.py /tmp/jena --max-epochs 50         # the book's epochs throughout
    python benchmarks/jena_all.py /tmp/jena --only lstm dense -- seed=1
    python benchmarks/jena_all.py /tmp/jena --runs-dir outputs/jena     # keep the run folders; rerun to continue

With ``--runs-dir DIR`` each experiment's run folder is kept as DIR/jena_<variant>: a completed one is read again
instead of rerun, and one cut short (a stopped machine) continues from its last finished epoch with
``dlwp run resume=``. Its wall time is then this call's share only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENTS = ("naive_baseline", "dense", "conv1d", "lstm", "lstm_dropout", "stacked_gru_dropout", "lstm_reversed",
               "bidirectional_lstm")
BOOK_EPOCHS = {"lstm_dropout": 50, "stacked_gru_dropout": 50}   # the others: 10


def ensure_file(data_dir: Path, rows: int | None) -> Path:
    """The synthetic file in ``data_dir``, written with ``dlwp data synth-jena`` when missing."""
    from dlwp_tasks.datasets.synth_jena import FILENAME, marker_path

    path = data_dir / FILENAME
    if not path.is_file():
        command = [sys.executable, "-m", "dlwp_cli.main", "data", "synth-jena", str(data_dir)]
        subprocess.run(command + (["--rows", str(rows)] if rows else []), check=True)
    if not marker_path(path).is_file():
        raise SystemExit(f"{path} has no synthetic marker: this benchmark only runs on a synthetic file.")
    return path


def run_one(variant: str, data_dir: Path, epochs: int | None, overrides: list[str],
            runs_dir: Path | None = None) -> dict:
    """One experiment in a fresh process (in ``runs_dir``: read again when completed, resumed when cut short): its
    metrics.json figures and wall time."""
    with contextlib.ExitStack() as stack:
        run_dir = (runs_dir / f"jena_{variant}" if runs_dir else
                   Path(stack.enter_context(tempfile.TemporaryDirectory())))
        status = _status(run_dir)
        if status == "completed":
            command, wall = None, None
        elif status is not None:
            command = [sys.executable, "-m", "dlwp_cli.main", "run", f"resume={run_dir}", "output.console=false"]
        else:
            command = [sys.executable, "-m", "dlwp_cli.main", "run", f"experiment=ch10/jena_{variant}",
                       f"data_dir={data_dir}", "download=false", "output.console=false", f"hydra.run.dir={run_dir}",
                       *([f"epochs={epochs}"] if epochs else []), *overrides]
        if command:
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                return {"variant": variant, "error": (done.stderr.strip().splitlines() or ["?"])[-1], "wall_s": wall}
        metrics = json.loads((run_dir / "metrics.json").read_text())
    if wall is None:
        wall = metrics["timings"]["total_s"]
    history = metrics.get("history") or {}
    naive = (metrics.get("baselines") or {}).get("naive") or {}
    return {"variant": variant, "epochs": len(history.get("loss", [])),
            "best_val_mae": min(history["val_mae"]) if history.get("val_mae") else metrics["validation"]["mae"],
            "test_mae": metrics.get("test", {}).get("mae"), "naive_val": naive.get("validation"),
            "naive_test": naive.get("test"), "parameters": metrics.get("parameters"),
            "source": metrics["data"]["source"], "epoch_s": metrics["timings"].get("epoch_s") or [], "wall_s": wall}


def _status(run_dir: Path) -> str | None:
    """The run folder's metrics.json status, or None when there is no run there yet."""
    try:
        return json.loads((run_dir / "metrics.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def table(results: list[dict]) -> str:
    """The results as a Markdown table."""
    lines = ["| experiment | params | epochs | best val MAE | test MAE | naive val | naive test | median s/epoch | wall |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| ch10/jena_{r['variant']} | failed: {r['error']} | | | | | | | {r['wall_s']:.0f} s |")
            continue
        per_epoch = f"{statistics.median(r['epoch_s']):.0f}" if r["epoch_s"] else "-"
        cells = [f"ch10/jena_{r['variant']}", f"{r['parameters']:,}" if r["parameters"] else "-", str(r["epochs"]),
                 f"{r['best_val_mae']:.3f}", "-" if r["test_mae"] is None else f"{r['test_mae']:.3f}",
                 f"{r['naive_val']:.3f}", f"{r['naive_test']:.3f}", per_epoch, f"{r['wall_s']:.0f} s"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="folder for (or holding) the synthetic jena_climate_2009_2016.csv")
    parser.add_argument("--rows", type=int, help="rows of the synthetic file when it is written (default 420,551)")
    parser.add_argument("--max-epochs", type=int, default=10,
                        help="cap on every experiment's epochs (default 10: the 50-epoch experiments run 10)")
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, metavar="VARIANT", help="these experiments only")
    parser.add_argument("--runs-dir", type=Path, help="keep each run folder here (rerun to continue a cut-short one)")
    parser.add_argument("overrides", nargs="*", help="after --: overrides for every run (seed=1, precision=auto)")
    args = parser.parse_intermixed_args()
    data_dir = Path(args.data_dir).resolve()
    ensure_file(data_dir, args.rows)
    results = []
    for variant in args.only or EXPERIMENTS:
        epochs = min(BOOK_EPOCHS.get(variant, 10), args.max_epochs)
        results.append(run_one(variant, data_dir, epochs, list(args.overrides),
                               args.runs_dir.resolve() if args.runs_dir else None))
        print(f"  ch10/jena_{variant}: {results[-1]}", flush=True)
    print("\nsynthetic data (dlwp data synth-jena): never compared with the book's figures\n")
    print(table(results))


if __name__ == "__main__":
    main()
