"""A folder of text files from data shipped inside a package, then (with --train) `dlwp run task=text_folder`.

Two sources, told apart by the folder given:

- Debian's ``fortunes`` package (the fortune-mod data files; BSD licence): the fortune cookies of two topics as
  ``OUT_DIR/<topic>/<i>.txt``, one fortune per file; by default ``computers`` (1,051) and ``politics`` (703).
- Debian's ``wordnet-base`` package (Princeton WordNet 3.0; WordNet licence): the glosses (definitions, with
  their example phrases) of the noun synsets of two lexicographer files, one gloss per file; for example
  ``--topics noun.animal noun.food`` (7,509 and 2,573 glosses).

Get a package's files without installing it:

    apt-get download fortunes && dpkg-deb -x fortunes_*.deb /tmp/fortunes_deb
    python benchmarks/text_folder_from_package.py /tmp/fortunes_deb/usr/share/games/fortunes /tmp/fortune_topics
    python benchmarks/text_folder_from_package.py SRC OUT --train -- seed=2
    apt-get download wordnet-base && dpkg-deb -x wordnet-base_*.deb /tmp/wordnet_deb
    python benchmarks/text_folder_from_package.py /tmp/wordnet_deb/usr/share/wordnet /tmp/wordnet_topics \
        --topics noun.animal noun.food --train

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


# WordNet 3.0's noun lexicographer files, by number (the lex_filenum field of data.noun)
NOUN_FILES = ("Tops", "act", "animal", "artifact", "attribute", "body", "cognition", "communication", "event",
              "feeling", "food", "group", "location", "motive", "object", "person", "phenomenon", "plant",
              "possession", "process", "quantity", "relation", "shape", "state", "substance", "time")
WORDNET_NOUNS = {f"noun.{name}": number for number, name in enumerate(NOUN_FILES, start=3)}


def wordnet_glosses(source: Path, topic: str) -> list[str]:
    """The glosses of the noun synsets of one lexicographer file (``noun.animal``) in WordNet's ``data.noun``."""
    if topic not in WORDNET_NOUNS:
        raise SystemExit(f"'{topic}' is no WordNet noun file; choose from {', '.join(WORDNET_NOUNS)}.")
    number = f"{WORDNET_NOUNS[topic]:02d}"
    glosses = []
    for line in (source / "data.noun").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(" ") or " | " not in line:
            continue  # the licence header
        fields = line.split(" ", 2)
        if len(fields) == 3 and fields[1] == number:
            glosses.append(line.split(" | ", 1)[1].strip())
    return [gloss for gloss in glosses if gloss]


def write_folder(source: Path, out_dir: Path, topics: tuple[str, ...] = TOPICS) -> dict[str, int]:
    """``out_dir/<topic>/<i>.txt`` for every fortune (or WordNet gloss) of each topic; returns the number of files
    per topic."""
    wordnet = (source / "data.noun").is_file()
    missing = [] if wordnet else [t for t in topics if not (source / t).is_file()]
    if missing:
        raise SystemExit(f"{source} lacks the fortune file(s) {', '.join(missing)}: give the fortunes package's "
                         "usr/share/games/fortunes folder (or wordnet-base's usr/share/wordnet).")
    strays = sorted(p.name for p in out_dir.iterdir() if p.name not in topics) if out_dir.is_dir() else []
    if strays:
        raise SystemExit(f"{out_dir} already holds {', '.join(strays[:5])}: give an empty or new folder.")
    counts = {}
    for topic in topics:
        folder = out_dir / topic
        folder.mkdir(parents=True, exist_ok=True)
        found = wordnet_glosses(source, topic) if wordnet else fortunes(source / topic)
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
    parser.add_argument("source", type=Path, help="the fortunes package's usr/share/games/fortunes folder, or "
                                                   "wordnet-base's usr/share/wordnet")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--topics", nargs="+", default=list(TOPICS), help="fortune files (or WordNet noun files such as noun.animal) to use as classes")
    parser.add_argument("--train", action="store_true", help="then train task=text_folder on the folder")
    parser.add_argument("overrides", nargs="*", help="dlwp overrides for --train (after --)")
    args = parser.parse_intermixed_args(argv)
    counts = write_folder(args.source, args.out_dir, tuple(args.topics))
    print(f"wrote {sum(counts.values())} files: {counts}")
    if args.train:
        run_dir = Path("outputs") / "text_folder_from_package" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        print(json.dumps(train(args.out_dir, run_dir, args.overrides), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
