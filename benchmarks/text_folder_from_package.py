"""A folder of text files from data shipped inside a package, then (with --train) `dlwp run task=text_folder`.

Writes the fortune cookies of two topics of Debian's ``fortunes`` package (the fortune-mod data files; BSD
licence) as ``OUT_DIR/<topic>/<i>.txt``, one fortune per file: by default ``computers`` (1,051 fortunes) and
``politics`` (703). Get the package's files without installing it:

    apt-get download fortunes && dpkg-deb -x fortunes_*.deb /tmp/fortunes_deb
    python benchmarks/text_folder_from_package.py /tmp/fortunes_deb/usr/share/games/fortunes /tmp/fortune_topics
    python benchmarks/text_folder_from_package.py SRC OUT --train -- seed=2

With ``--train`` it then runs ``dlwp run task=text_folder task.path=OUT_DIR`` with the task's defaults plus the
overrides given after ``--``, and prints the test accuracy next to the majority baseline, the epochs trained and
the wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

TOPICS = ("computers", "politics")


def fortunes(path: Path) -> list[str]:
    """The fortunes of one data file (entries separated by lines holding only '%'), blank ones left out."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    entries, current = [], []
    for line in text.splitlines():
        if line.strip() == "%":
            entries.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    entries.append("\n".join(current).strip())
    return [entry for entry in entries if entry]


def write_folder(source: Path, out_dir: Path, topics: tuple[str, ...] = TOPICS) -> dict[str, int]:
    """``out_dir/<topic>/<i>.txt`` for every fortune of each topic; returns the number of files per topic."""
    missing = [t for t in topics if not (source / t).is_file()]
    if missing:
        raise SystemExit(f"{source} lacks the fortune file(s) {', '.join(missing)}: give the fortunes package's "
                         "usr/share/games/fortunes folder.")
    strays = sorted(p.name for p in out_dir.iterdir() if p.name not in topics) if out_dir.is_dir() else []
    if strays:
        raise SystemExit(f"{out_dir} already holds {', '.join(strays[:5])}: give an empty or new folder.")
    counts = {}
    for topic in topics:
        folder = out_dir / topic
        folder.mkdir(parents=True, exist_ok=True)
        found = fortunes(source / topic)
        for i, entry in enumerate(found):
            (folder / f"{i:05d}.txt").write_text(entry + "\n", encoding="utf-8")
        counts[topic] = len(found)
    return counts


def train(out_dir: Path, run_dir: Path, overrides: list[str]) -> dict:
    """``dlwp run task=text_folder task.path=out_dir`` in a fresh process; the figures of its metrics.json."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "dlwp_cli.main", "run", "task=text_folder", f"task.path={out_dir}",
               f"hydra.run.dir={run_dir}", *overrides]
    subprocess.run(command, check=True)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"test_accuracy": metrics.get("test", {}).get("accuracy"),
            "majority_baseline": metrics.get("baselines", {}).get("majority"),
            "epochs_trained": len(metrics.get("history", {}).get("loss", [])),
            "best_epoch": metrics.get("best_epoch"), "parameters": metrics.get("parameters"),
            "files": metrics.get("data", {}).get("texts"), "wall_s": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the fortunes package's usr/share/games/fortunes folder")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--topics", nargs="+", default=list(TOPICS), help="fortune files to use as classes")
    parser.add_argument("--train", action="store_true", help="then train task=text_folder on the folder")
    parser.add_argument("overrides", nargs="*", help="dlwp overrides for --train (after --)")
    args = parser.parse_args(argv)
    counts = write_folder(args.source, args.out_dir, tuple(args.topics))
    print(f"wrote {sum(counts.values())} files: {counts}")
    if args.train:
        run_dir = Path("outputs") / "text_folder_from_package" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        print(json.dumps(train(args.out_dir, run_dir, args.overrides), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
