"""The ensemble of chapter 11's three bag-of-words models (book §13.1.2 on §11.3's models), fixed in advance:
unigram multi-hot, bigram multi-hot and bigram TF-IDF, averaged with equal weights and scored on the 25,000 test
reviews next to each member.

Trains each member (``dlwp run experiment=ch11/imdb_text_<variant> seed=S``) into OUT/bow_<variant>_s<S> unless
that folder already holds a completed run, then runs ``dlwp ensemble`` on them into OUT/bow_ensemble_<weights>_s<S>
and prints its table (and the ensemble's metrics.json figures as one JSON line).

    python benchmarks/ensemble_bow.py ../shared/datasets outputs/long               # equal weights (the book's mean)
    python benchmarks/ensemble_bow.py ../shared/datasets outputs/long --weights optimized --seed 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("unigram_multihot", "bigram_multihot", "bigram_tfidf")


def completed(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "metrics.json").read_text()).get("status") == "completed"
    except (OSError, ValueError):
        return False


def train(variant: str, data_dir: str, out: Path, seed: int) -> Path:
    """The member's run folder, trained now in a fresh process unless it is complete already."""
    run_dir = out / f"bow_{variant}_s{seed}"
    if not completed(run_dir):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dlwp_cli.main", "run", f"experiment=ch11/imdb_text_{variant}",
                        f"seed={seed}", f"data_dir={data_dir}", "download=false", f"hydra.run.dir={run_dir}"],
                       check=True)
        print(f"{variant}: trained in {time.perf_counter() - started:.0f} s", flush=True)
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", help="the folder holding imdb/aclImdb_labeled.tar.gz")
    parser.add_argument("out", type=Path, help="where the member runs and the ensemble go")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", choices=("equal", "optimized"), default="equal")
    args = parser.parse_args()
    members = [train(variant, args.data_dir, args.out, args.seed) for variant in VARIANTS]
    folder = args.out / f"bow_ensemble_{args.weights}_s{args.seed}"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dlwp_cli.main", "ensemble", *map(str, members), "--weights", args.weights,
                    f"data_dir={args.data_dir}", "download=false", f"hydra.run.dir={folder}"], check=True)
    metrics = json.loads((folder / "metrics.json").read_text())
    print(json.dumps({"ensemble": metrics["test"], "weights": metrics["weights"],
                      "members": {Path(m["run_dir"]).name: m["test"] for m in metrics["members"]},
                      "validation": (metrics.get("validation") or {}).get("ensemble"),
                      "wall_s": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
