"""What precision, XLA and steps_per_execution buy the chapter-11 sequence models on this machine, from one run.

For each model (``--models``) and each setting, ``dlwp run experiment=...`` runs in a fresh process for 2 epochs
of ``--steps`` training batches (validation on at most ``--steps`` batches too): epoch 1 warms up (tracing,
compilation), epoch 2 is timed, its training part only (``timings.epoch_train_s``). The settings alternate in
rounds, all from the same seed. The reference is the book's: float32, steps_per_execution=1, no XLA.

Prints each run, then per model and setting: milliseconds per training step, the speed-up over the reference,
and the validation accuracy after the 2 × steps steps, with its difference from the float32 runs' (the rule for
``precision=auto`` as these experiments' default: within 0.5 point of float32 after the same steps).

    python benchmarks/sequence_settings.py --data-dir ../shared/datasets --steps 200
    python benchmarks/sequence_settings.py --models imdb_transformer --settings reference bf16 --rounds 2
    python benchmarks/sequence_settings.py --models translation_gru --results gru.jsonl   # rerun: skips done runs

``--results FILE`` appends each finished run to FILE (one JSON line) and reuses the runs already there with the same
model, setting, round, steps and seed, so a table cut short by a stopped machine continues where it stopped.
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

MODELS = {
    "imdb_transformer": "ch11/imdb_text_transformer_encoder",
    "imdb_transformer_posemb": "ch11/imdb_text_transformer_encoder_posemb",
    "translation_gru": "ch11/translation_gru_seq2seq",
    "translation_transformer": "ch11/translation_transformer",
}
SETTINGS = {
    "reference": ("precision=float32", "performance.steps_per_execution=1", "performance.jit_compile=false"),
    "spe32": ("precision=float32", "performance.steps_per_execution=32", "performance.jit_compile=false"),
    "xla": ("precision=float32", "performance.steps_per_execution=1", "performance.jit_compile=true"),
    "bf16": ("precision=mixed_bfloat16", "performance.steps_per_execution=1", "performance.jit_compile=false"),
    "bf16_spe32": ("precision=mixed_bfloat16", "performance.steps_per_execution=32", "performance.jit_compile=false"),
}
FLOAT32 = ("reference", "spe32", "xla")


def run(experiment: str, data_dir: str, steps: int, seed: int, overrides: tuple[str, ...]) -> dict:
    """One 2-epoch run in a fresh process: ms per training step of epoch 2 and the last validation accuracy."""
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        command = [sys.executable, "-m", "dlwp_cli.main", "run", f"experiment={experiment}", f"data_dir={data_dir}",
                   "download=false", f"seed={seed}", "epochs=2", f"trainer.limit_batches={steps}",
                   "trainer.evaluate_test=false", "output.console=false", "output.save_model=false",
                   "output.predict_samples=0", f"hydra.run.dir={run_dir}", *overrides]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as err:
            raise SystemExit(f"{' '.join(command[3:])} failed (exit status {err.returncode}):\n"
                             f"{err.stderr[-3000:]}") from None
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    timings = metrics["timings"]
    return {"ms_per_step": round(1000 * timings["epoch_train_s"][-1] / steps, 2),
            "val_accuracy": metrics["history"]["val_accuracy"][-1],
            "performance": metrics.get("performance"), "process_s": round(time.perf_counter() - started, 1)}


def finished_runs(path: Path | None) -> dict[tuple, dict]:
    """The runs recorded in a ``--results`` file, by (model, setting, round, steps, seed)."""
    if path is None or not path.is_file():
        return {}
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {tuple(entry["key"]): entry["run"] for entry in lines}


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Per setting: median ms/step, speed-up over the reference, mean validation accuracy and its difference in
    points from the float32 settings' mean."""
    ms = {name: statistics.median(r["ms_per_step"] for r in results) for name, results in runs.items()}
    accuracy = {name: statistics.mean(r["val_accuracy"] for r in results) for name, results in runs.items()}
    float32 = [accuracy[name] for name in FLOAT32 if name in accuracy]
    base = statistics.mean(float32) if float32 else None
    return {name: {"ms_per_step": ms[name],
                   "speedup": round(ms["reference"] / ms[name], 3) if "reference" in ms else None,
                   "val_accuracy": round(accuracy[name], 4),
                   "points_from_float32": None if base is None else round(100 * (accuracy[name] - base), 2)}
            for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR", "../shared/datasets"))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["imdb_transformer", "translation_gru"])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=200, help="training batches per epoch (2 epochs per run)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, help="JSON-lines file of finished runs: appended, and reused")
    args = parser.parse_args()
    if args.steps < 1 or args.rounds < 1:
        parser.error("--steps and --rounds must be at least 1")
    data_dir = str(Path(args.data_dir).resolve())
    done = finished_runs(args.results)
    summary = {}
    for model in args.models:
        runs: dict[str, list[dict]] = {name: [] for name in args.settings}
        for i in range(args.rounds):
            for name in args.settings:
                key = (model, name, i + 1, args.steps, args.seed)
                if key not in done:
                    done[key] = run(MODELS[model], data_dir, args.steps, args.seed, SETTINGS[name])
                    if args.results:
                        with args.results.open("a") as out:
                            out.write(json.dumps({"key": list(key), "run": done[key]}) + "\n")
                runs[name].append(done[key])
                print(f"  {model} round {i + 1} {name}: {runs[name][-1]}", flush=True)
        summary[model] = summarise(runs)
        for name, row in summary[model].items():
            points = row["points_from_float32"]
            print(f"{model:24s} {name:11s} {row['ms_per_step']:9.1f} ms/step  x{row['speedup']}  val accuracy "
                  f"{row['val_accuracy']:.4f} ({'n/a' if points is None else f'{points:+.2f}'} points from float32)",
                  flush=True)
    print(json.dumps({"steps": args.steps, "rounds": args.rounds, "seed": args.seed,
                      "settings": {name: list(SETTINGS[name]) for name in args.settings}, "results": summary},
                     indent=2))


if __name__ == "__main__":
    main()
