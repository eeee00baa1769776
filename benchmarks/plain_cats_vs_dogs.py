"""The book's listings 8.6-8.11 in plain Keras: the baseline that benchmarks/vision_speed.py compares against.

Builds the ``cats_vs_dogs_small/{train,validation,test}/{cat,dog}`` tree of symbolic links (file ids 0-999,
1000-1499 and 1500-2499 of each class) in a temporary folder, reads it with ``image_dataset_from_directory``
at 180x180 in batches of 32, and fits the convnet of listing 8.7 (991,041 parameters) with rmsprop and binary
crossentropy. Only the location of the extracted files comes from dlwp.

Prints one JSON line: seconds of each epoch (training and validation), training seconds, whole-process seconds,
the last epoch's validation accuracy and the parameter count.

    python benchmarks/plain_cats_vs_dogs.py --data-dir ../shared/datasets --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from dlwp_tasks.datasets.cats_vs_dogs import _source_folder, kaggle_folder  # noqa: E402

SPLIT_IDS = {"train": range(0, 1000), "validation": range(1000, 1500), "test": range(1500, 2500)}
CLASSES = ("cat", "dog")


def make_subset(source: Path, target: Path) -> Path:
    """Listing 8.6: ``target/cats_vs_dogs_small`` with one link per chosen file of ``source``."""
    base = target / "cats_vs_dogs_small"
    for split, ids in SPLIT_IDS.items():
        for label in CLASSES:
            folder = base / split / label
            folder.mkdir(parents=True)
            for i in ids:
                name = f"{label}.{i}.jpg"
                (folder / name).symlink_to(source / name)
    return base


def book_convnet() -> keras.Model:
    """Listing 8.7: Rescaling, five Conv2D layers with max pooling between them, and one sigmoid unit."""
    inputs = keras.Input(shape=(180, 180, 3))
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Conv2D(filters=32, kernel_size=3, activation="relu")(x)
    for filters in (64, 128, 256, 256):
        x = keras.layers.MaxPooling2D(pool_size=2)(x)
        x = keras.layers.Conv2D(filters=filters, kernel_size=3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds from the start to the end of each epoch, validation included."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.perf_counter() - self._started, 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR", "../shared/datasets"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32")
    parser.add_argument("--limit-batches", type=int, default=None,
                        help="train and validate on at most this many batches per epoch (quick checks only)")
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.precision)
    folder, _ = _source_folder(None, args.data_dir)
    source = kaggle_folder(folder)   # the folder holding cat.<id>.jpg and dog.<id>.jpg
    if source is None:
        raise SystemExit(f"{folder} holds no cat.<id>.jpg / dog.<id>.jpg files")
    with tempfile.TemporaryDirectory() as tmp:
        base = make_subset(source, Path(tmp))
        train_dataset = keras.utils.image_dataset_from_directory(
            base / "train", image_size=(180, 180), batch_size=32, seed=args.seed, verbose=False)
        validation_dataset = keras.utils.image_dataset_from_directory(
            base / "validation", image_size=(180, 180), batch_size=32, seed=args.seed, verbose=False)
        if args.limit_batches is not None:
            train_dataset = train_dataset.take(args.limit_batches)
            validation_dataset = validation_dataset.take(args.limit_batches)

        model = book_convnet()
        model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
        timer = EpochTimer()
        started = time.perf_counter()
        history = model.fit(train_dataset, epochs=args.epochs, validation_data=validation_dataset,
                            callbacks=[timer], verbose=0)
        train_s = time.perf_counter() - started
    print(json.dumps({"epoch_s": timer.seconds, "train_s": round(train_s, 4),
                      "process_s": round(time.perf_counter() - STARTED, 4),
                      "val_accuracy": history.history["val_accuracy"][-1],
                      "max_val_accuracy": max(history.history["val_accuracy"]),
                      "params": model.count_params(), "precision": args.precision}))


if __name__ == "__main__":
    main()
