"""Translation (§11.5) on the real spa-eng pairs (slow: run with ``pytest -m slow``).

The book's full runs (15 GRU epochs, 30 Transformer epochs on 83,276 pairs) take many hours on a CPU, so these
checks train each model on the first ``SUBSET`` training pairs for one epoch (validation stays whole), and assert
what a subset run must show: the book's parameter counts, next-token validation accuracy well above the
most-frequent-token baseline, the decoded samples' form (targets.md: each starts with ``[start]`` and stops at
``[end]`` or after 20 tokens, mostly Spanish words), BLEU recorded, and ``dlwp predict`` translating.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config.compose import compose_validated

from shared_data import SHARED_DATASETS

pytestmark = pytest.mark.slow

SUBSET = 6400
EPOCHS = 1


@pytest.fixture(scope="module", autouse=True)
def shared_data():
    if not (SHARED_DATASETS / "spa_eng" / "spa-eng.zip").is_file():
        pytest.skip(f"shared dataset file missing: {SHARED_DATASETS / 'spa_eng' / 'spa-eng.zip'}")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("translation"))


@lru_cache(maxsize=None)
def subset_run(experiment: str, outputs: str) -> tuple[str, dict]:
    run_dir = f"{outputs}/{experiment}"
    cfg = compose_validated([f"experiment={experiment}", f"data_dir={SHARED_DATASETS}", "download=false",
                             f"task.max_pairs={SUBSET}", f"epochs={EPOCHS}", "output.console=false",
                             "output.tensorboard=false"])
    return run_dir, pipeline.run(cfg, run_dir, choices={})


def test_the_books_split_and_batch_shapes():
    from dlwp_tasks.datasets.spa_eng import load_spa_eng

    splits = load_spa_eng(data_dir=str(SHARED_DATASETS), download=False)
    assert {split: len(pairs) for split, pairs in splits.texts.items()} == {
        "train": 83_276, "validation": 17_844, "test": 17_844}
    (inputs, target), = splits.x_train.batch(64).take(1)
    assert inputs["english"].shape == (64, 20) and inputs["spanish"].shape == (64, 20) and target.shape == (64, 20)
    vocabulary = splits.schema["target_vocabulary"]
    assert len(vocabulary) == 15_000 and vocabulary[:4] == ["", "[UNK]", "[start]", "[end]"]
    assert not any(ch in token for token in vocabulary for ch in "¿?.,!")   # the custom standardisation


@pytest.mark.parametrize(("experiment", "parameters"), [("ch11/translation_gru_seq2seq", 34_869_912),
                                                        ("ch11/translation_transformer", 19_960_216)])
def test_a_subset_run_learns_and_translates(experiment, parameters, outputs, capsys):
    run_dir, metrics = subset_run(experiment, outputs)
    assert metrics["parameters"] == parameters
    assert metrics["train_examples"] == SUBSET and metrics["validation_examples"] == 17_844
    baseline = metrics["baselines"]["most_frequent_token"]
    assert 0.05 < baseline < 0.2
    assert metrics["history"]["val_accuracy"][-1] > baseline + 0.1
    samples = metrics["translation"]["samples"]
    assert len(samples) == 8
    for sample in samples:
        tokens = sample["translation"].split()
        assert tokens[0] == "[start]" and (tokens[-1] == "[end]" or len(tokens) == 21)
    words = [t for s in samples for t in s["translation"].split() if t not in ("[start]", "[end]")]
    assert np.mean([t != "[UNK]" for t in words]) > 0.5
    assert metrics["translation"]["bleu"]["pairs"] == 500
    assert metrics["translation"]["bleu"]["precisions"][0] > 0.1

    from dlwp_cli.commands.predict import predict_command

    capsys.readouterr()
    assert predict_command(run_dir, ["Tom is friendly."]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected = " ".join(t for t in samples[3]["translation"].split() if t not in ("[start]", "[end]"))
    assert printed == [f"Tom is friendly.\t{expected}"]


def test_the_transformer_beats_the_gru_on_the_same_subset(outputs):
    """§11.5.3: the Transformer's next-token accuracy is well above the GRU's."""
    _, gru = subset_run("ch11/translation_gru_seq2seq", outputs)
    _, transformer = subset_run("ch11/translation_transformer", outputs)
    assert transformer["history"]["val_accuracy"][-1] > gru["history"]["val_accuracy"][-1]
