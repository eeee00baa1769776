"""The book's listings 2.1-2.7 in plain Keras: the baseline that benchmarks/overhead.py compares against.

Prints one JSON line: training seconds, test accuracy and whole-process seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time

STARTED = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from dlwp_tasks.datasets.mnist import load_mnist  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR"))
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    splits = load_mnist(data_dir=args.data_dir, download=False)
    train_images = splits.x_train.reshape((60000, 28 * 28)).astype("float32") / 255
    test_images = splits.x_test.reshape((10000, 28 * 28)).astype("float32") / 255

    model = keras.Sequential([
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=args.steps_per_execution)
    started = time.perf_counter()
    model.fit(train_images, splits.y_train, epochs=5, batch_size=128, verbose=0)
    train_s = time.perf_counter() - started
    _, accuracy = model.evaluate(test_images, splits.y_test, verbose=0)
    print(json.dumps({"train_s": train_s, "test_accuracy": accuracy, "process_s": time.perf_counter() - STARTED}))


if __name__ == "__main__":
    main()
