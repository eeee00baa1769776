"""Seconds per training step of dlwp's IMDB text experiments against the book's listings as plain Keras scripts
on the same data: the bag-of-bigrams model (``ch11/imdb_text_bigram_multihot``, listings 11.7-11.8) and the
Transformer encoder (``ch11/imdb_text_transformer_encoder``, listings 11.21-11.23).

The plain side is this file run with ``--plain MODEL``: the reviews of dlwp's extracted aclImdb with the book's
validation carve-out, as a folder of links read by ``text_dataset_from_directory`` in batches of 32;
``TextVectorization`` adapted on the training text and mapped over the datasets with ``num_parallel_calls=4``
(and ``.cache()`` for the bigrams), then ``fit`` as in the book. The dlwp side is ``dlwp run experiment=...``.

Both run in fresh processes, alternated for ``--pairs`` rounds. An epoch is timed from its start to its end,
validation included, in both; a step's time is the median of epochs 2..N (epoch 1 holds tracing, and the book's
vectorisation into its cache) divided by the training steps of an epoch. ``--steps N`` trains each epoch on N
batches and validates on N (the Transformer's full epoch takes about 11 minutes here). Prints each run, then a
JSON summary with the settings and the ratios plain/dlwp (above 1 when dlwp is faster).

    python benchmarks/text_speed.py --data-dir ../shared/datasets --pairs 2 --epochs 3
    python benchmarks/text_speed.py --models transformer --steps 200 --epochs 2
    python benchmarks/text_speed.py --plain bigram --epochs 10 --evaluate    # the book's listing alone, with test
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

STARTED = time.perf_counter()
EXPERIMENTS = {"bigram": "ch11/imdb_text_bigram_multihot", "transformer": "ch11/imdb_text_transformer_encoder",
               "tfidf": "ch11/imdb_text_bigram_tfidf", "unigram": "ch11/imdb_text_unigram_multihot"}
BATCH = 32


# ----------------------------------------------------------------------------- the book's listings


def book_folders(data_dir: str, target: Path) -> Path:
    """``target/aclImdb/{train,val,test}/{neg,pos}``: links to dlwp's extracted reviews, split as listing 11.2."""
    from dlwp_tasks.datasets.imdb_text import aclimdb_folder, imdb_text_files

    folder, _ = aclimdb_folder(None, data_dir, False)
    for split, classes in imdb_text_files(folder).items():
        for label, files in classes.items():
            out = target / "aclImdb" / {"validation": "val"}.get(split, split) / label
            out.mkdir(parents=True)
            for path in files:
                (out / path.name).symlink_to(path)
    return target / "aclImdb"


def book_model(model: str, keras):
    """Listing 11.5's ``get_model()`` (bigrams, TF-IDF, unigrams) or listing 11.22's Transformer encoder."""
    if model != "transformer":
        inputs = keras.Input(shape=(20000,))
        x = keras.layers.Dense(16, activation="relu")(inputs)
        x = keras.layers.Dropout(0.5)(x)
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    else:
        from dlwp_tasks.models.transformer_layers import TransformerEncoder

        inputs = keras.Input(shape=(None,), dtype="int64")
        x = keras.layers.Embedding(20000, 256)(inputs)
        x = TransformerEncoder(256, 32, 2)(x)
        x = keras.layers.GlobalMaxPooling1D()(x)
        x = keras.layers.Dropout(0.5)(x)
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model_ = keras.Model(inputs, outputs)
    model_.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model_


def plain_script(model: str, data_dir: str, epochs: int, steps: int | None, seed: int, evaluate: bool) -> dict:
    """The book's listing in plain Keras; its epoch seconds, steps per epoch and accuracies."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        base = book_folders(data_dir, Path(scratch))
        train_ds, val_ds, test_ds = (keras.utils.text_dataset_from_directory(base / split, batch_size=BATCH)
                                     for split in ("train", "val", "test"))
        settings = {"bigram": dict(ngrams=2, max_tokens=20000, output_mode="multi_hot"),
                    "unigram": dict(max_tokens=20000, output_mode="multi_hot"),
                    "tfidf": dict(ngrams=2, max_tokens=20000, output_mode="tf_idf"),
                    "transformer": dict(max_tokens=20000, output_mode="int", output_sequence_length=600)}[model]
        vectorization = keras.layers.TextVectorization(**settings)
        vectorization.adapt(train_ds.map(lambda x, y: x))

        def vectorised(ds):
            ds = ds.map(lambda x, y: (vectorization(x), y), num_parallel_calls=4)
            return ds.take(steps) if steps else ds

        train, val = vectorised(train_ds), vectorised(val_ds)
        if model != "transformer":
            train, val = train.cache(), val.cache()
        network = book_model(model, keras)
        timer = EpochTimer(keras)
        with tempfile.TemporaryDirectory() as checkpoints:
            best = str(Path(checkpoints) / "best.keras")
            started = time.perf_counter()
            history = network.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[
                timer, keras.callbacks.ModelCheckpoint(best, save_best_only=True)])
            result = {"epoch_s": timer.seconds, "train_s": time.perf_counter() - started,
                      "steps": int(train.cardinality()), "val_accuracy": history.history["val_accuracy"][-1],
                      "parameters": network.count_params()}
            if evaluate:
                reloaded = keras.models.load_model(best)
                result["test_accuracy"] = reloaded.evaluate(vectorised(test_ds), verbose=0)[1]
    result["process_s"] = time.perf_counter() - STARTED
    return result


def EpochTimer(keras):  # noqa: N802 - a Keras callback class made once Keras is imported
    class Timer(keras.callbacks.Callback):
        """Wall-clock seconds from the start to the end of each epoch, validation included."""

        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []
            self._started = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(round(time.perf_counter() - self._started, 4))

    return Timer()


# ----------------------------------------------------------------------------- the comparison


def _run(command: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        raise SystemExit(f"{what} failed (exit status {err.returncode}):\n{err.stderr[-3000:]}") from None


def plain(model: str, data_dir: str, epochs: int, steps: int | None, seed: int) -> dict:
    command = [sys.executable, __file__, "--plain", model, "--data-dir", data_dir, "--epochs", str(epochs),
               "--seed", str(seed)] + (["--steps", str(steps)] if steps else [])
    return json.loads(_run(command, f"the plain {model} script").stdout.strip().splitlines()[-1])


def dlwp(model: str, data_dir: str, epochs: int, steps: int | None, seed: int, *overrides: str) -> dict:
    """One ``dlwp run`` of the model's experiment in a fresh process, read back from its metrics.json."""
    overrides += (f"trainer.limit_batches={steps}",) if steps else ()
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        _run([sys.executable, "-m", "dlwp_cli.main", "run", f"experiment={EXPERIMENTS[model]}",
              f"data_dir={data_dir}", "download=false", f"seed={seed}", f"epochs={epochs}",
              "trainer.evaluate_test=false", "output.console=false", "output.tensorboard=false",
              "output.save_model=false", "output.predict_samples=0", f"hydra.run.dir={run_dir}", *overrides],
             f"dlwp run experiment={EXPERIMENTS[model]}")
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    return {"epoch_s": metrics["timings"]["epoch_s"], "train_s": metrics["timings"]["train_s"],
            "steps": metrics["steps_per_epoch"], "val_accuracy": metrics["history"]["val_accuracy"][-1],
            "parameters": metrics["parameters"], "performance": metrics["performance"],
            "process_s": time.perf_counter() - started}


def step_ms(run: dict) -> float:
    """Milliseconds per training step: the median of epochs 2..N (epoch 1 alone for one epoch) over its steps."""
    return 1000 * statistics.median(run["epoch_s"][1:] or run["epoch_s"]) / run["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("DLWP_DATA_DIR", "../shared/datasets"))
    parser.add_argument("--models", nargs="+", choices=("bigram", "transformer"), default=["bigram", "transformer"])
    parser.add_argument("--pairs", type=int, default=2, help="rounds of plain and dlwp runs per model")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="batches per epoch (and per validation)")
    parser.add_argument("--transformer-steps", type=int, default=200,
                        help="batches per epoch for the Transformer when --steps is not given")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--plain", choices=tuple(EXPERIMENTS), help="run the book's plain script alone")
    parser.add_argument("--evaluate", action="store_true", help="--plain: also test the best checkpoint")
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    if args.plain:
        print(json.dumps(plain_script(args.plain, data_dir, args.epochs, args.steps, args.seed, args.evaluate)))
        return
    if args.pairs < 1 or args.epochs < 2:
        parser.error("--pairs must be at least 1 and --epochs at least 2 (epoch 1 is the warm-up)")
    summary = {"batch_size": BATCH, "epochs": args.epochs, "pairs": args.pairs, "cpu_count": os.cpu_count(),
               "models": {}}
    for model in args.models:
        steps = args.steps or (args.transformer_steps if model == "transformer" else None)
        runs = {"plain": [], "dlwp": []}
        for i in range(args.pairs):
            runs["plain"].append(plain(model, data_dir, args.epochs, steps, args.seed + i))
            runs["dlwp"].append(dlwp(model, data_dir, args.epochs, steps, args.seed + i))
            for side in runs:
                print(f"  {model} round {i + 1} {side}: {json.dumps(runs[side][-1])}", flush=True)
        ms = {side: statistics.median(step_ms(r) for r in side_runs) for side, side_runs in runs.items()}
        summary["models"][model] = {
            "experiment": EXPERIMENTS[model], "steps_per_epoch": runs["dlwp"][0]["steps"], "step_ms": ms,
            "ratio_plain_over_dlwp": ms["plain"] / ms["dlwp"], "dlwp_performance": runs["dlwp"][0]["performance"],
            "plain_settings": "Keras defaults: steps_per_execution=1, jit_compile=auto, float32",
            "val_accuracy": {side: statistics.mean(r["val_accuracy"] for r in side_runs)
                             for side, side_runs in runs.items()}}
    print(json.dumps(summary, indent=2))
    for model, found in summary["models"].items():
        print(f"{model}: {found['step_ms']['plain']:.2f} ms per step plain, {found['step_ms']['dlwp']:.2f} ms dlwp; "
              f"plain/dlwp {found['ratio_plain_over_dlwp']:.2f}")


if __name__ == "__main__":
    main()
