"""A folder of small pictures from data shipped inside a package, then (with --train) `dlwp run task=image_folder`.

Writes scikit-learn's bundled digits (``load_digits``: 1,797 8x8 grayscale handwritten digits of 10 classes;
UCI Optical Recognition of Handwritten Digits, CC BY 4.0) as ``OUT_DIR/<class>/<i>.png``: each image's values
0..16 scaled to 0..255, upscaled to 32x32 by nearest neighbour, saved as RGB. With ``--train`` it then runs
``dlwp run task=image_folder task.path=OUT_DIR`` with the task's defaults plus the overrides given after ``--``,
and prints the test accuracy next to the majority baseline, the number of epochs trained and the wall time.

    python benchmarks/image_folder_from_package.py /tmp/digits_png
    python benchmarks/image_folder_from_package.py /tmp/digits_png --train -- debug=smoke
    python benchmarks/image_folder_from_package.py /tmp/digits_png --train -- 'task.image_size=[32,32]'
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

SIZE = 32   # side of the written pictures, in pixels


def digit_pictures() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 RGB pictures (N, 32, 32, 3) and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    gray = np.rint(digits.images * (255 / 16)).clip(0, 255).astype(np.uint8)
    scale = SIZE // gray.shape[1]
    upscaled = gray.repeat(scale, axis=1).repeat(scale, axis=2)
    return np.repeat(upscaled[..., np.newaxis], 3, axis=-1), digits.target


def write_folder(out_dir: Path) -> dict[str, int]:
    """``out_dir/<class>/<i>.png`` for every digit; returns the number of files per class folder."""
    from PIL import Image

    pictures, labels = digit_pictures()
    classes = sorted({str(label) for label in labels})
    strays = sorted(p.name for p in out_dir.iterdir() if p.name not in classes) if out_dir.is_dir() else []
    if strays:
        raise SystemExit(f"{out_dir} already holds {', '.join(strays[:5])}: give an empty or new folder, so the "
                         "class folders are the only things in it.")
    counts: dict[str, int] = {}
    for i, (picture, label) in enumerate(zip(pictures, labels)):
        folder = out_dir / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture).save(folder / f"{i}.png")
        counts[str(label)] = counts.get(str(label), 0) + 1
    return counts


def train(out_dir: Path, run_dir: Path, overrides: list[str]) -> dict:
    """``dlwp run task=image_folder task.path=out_dir`` in a fresh process; the figures of its metrics.json."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "dlwp_cli.main", "run", "task=image_folder", f"task.path={out_dir}",
               f"hydra.run.dir={run_dir}", *overrides]
    if subprocess.run(command).returncode != 0:
        raise SystemExit(f"dlwp run failed: {' '.join(command[2:])}")
    wall_s = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"test_accuracy": metrics["test"]["accuracy"], "majority_baseline": metrics["baselines"]["majority"],
            "epochs_trained": len(metrics["history"]["loss"]), "wall_s": round(wall_s, 2), "run_dir": str(run_dir)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     usage="%(prog)s OUT_DIR [--train] [--run-dir RUN_DIR] [-- OVERRIDE ...]")
    parser.add_argument("out_dir", type=Path, help="the folder to write the class folders into")
    parser.add_argument("--train", action="store_true", help="then train on it with `dlwp run task=image_folder`")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="the run folder (default outputs/image_folder_from_package/<date_time>)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args, overrides = parser.parse_args(argv[:split]), argv[split + 1:]
    if overrides and not args.train:
        parser.error("overrides after -- are for the training run: add --train")

    out_dir = args.out_dir.resolve()
    counts = write_folder(out_dir)
    print(f"wrote {sum(counts.values())} {SIZE}x{SIZE} RGB PNG files in {len(counts)} class folders under {out_dir}: "
          + ", ".join(f"{label}: {n}" for label, n in sorted(counts.items())))
    if args.train:
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        run_dir = args.run_dir or Path("outputs/image_folder_from_package") / stamp
        result = train(out_dir, run_dir.resolve(), overrides)
        print(json.dumps(result))
        print(f"test accuracy {result['test_accuracy']:.4f} "
              f"(majority baseline {result['majority_baseline']:.4f}) after {result['epochs_trained']} epochs, "
              f"{result['wall_s']:.1f} s wall time; run in {result['run_dir']}")


if __name__ == "__main__":
    main()
