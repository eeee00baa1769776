"""What a translation run reports after training, and how ``dlwp predict`` translates.

:func:`translation_report` (a ``task.reports`` entry) decodes the sample sentences into ``translations.txt``,
scores greedy translations of the first test pairs with corpus BLEU (``test_translations.tsv`` holds them),
and records the most-frequent-token baseline of next-token accuracy: always predicting the training targets'
most frequent token, scored on the validation tokens that Keras's accuracy counts (positions where the
decoder's input is not padding). :func:`translate` is the task's ``predict_answers`` hook.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError
from dlwp_tasks.translation.bleu import corpus_bleu
from dlwp_tasks.translation.codec import END, START, PairCodec
from dlwp_tasks.translation.decoding import greedy_decode

SAMPLES_FILE = "translations.txt"
TEST_FILE = "test_translations.tsv"
SCHEMA_FILE = "schema.json"
SAMPLE_COUNT = 8   # test sources decoded when the task names no sample sentences


def decode(model, codec: PairCodec, sentences: Sequence[str]) -> list[list[str]]:
    """Greedy translations of source sentences, as target tokens from ``[start]`` (to ``[end]`` when reached)."""
    if not sentences:
        return []
    ids = greedy_decode(model, codec.source_ids(sentences), codec.start_id, codec.end_id, codec.sequence_length)
    return [codec.words(row) for row in ids]


def plain(tokens: Sequence[str]) -> str:
    """A decoded translation without its ``[start]`` and ``[end]`` markers."""
    return " ".join(token for token in tokens if token not in (START, END))


def most_frequent_token(splits, codec: PairCodec) -> dict:
    """The training targets' most frequent token and its next-token accuracy on the validation split (the test
    split when there is none), over the positions whose decoder input is not padding."""
    def counted(split: str) -> np.ndarray:
        _, target = splits.ids[split]
        return target[:, 1:][target[:, :-1] != 0]

    scored = next((s for s in ("validation", "test", "train") if len(splits.ids.get(s, ((), ()))[0])), "train")
    token = int(np.bincount(counted("train"), minlength=2).argmax())
    tokens = counted(scored)
    return {"token": codec.target_vocabulary[token], "split": scored,
            "accuracy": float(np.mean(tokens == token)) if len(tokens) else 0.0}


def translation_report(model, data, splits, cfg, run_dir: Path, samples: Sequence[str] | None = None,
                       bleu_pairs: int = 500) -> dict:
    """Sample translations (``translations.txt``), BLEU on the first ``bleu_pairs`` test pairs
    (``test_translations.tsv``) and the most-frequent-token baseline, for metrics.json."""
    if not hasattr(splits, "texts") or not splits.schema:
        raise DataError("translation_report needs sentence-pair splits (dlwp_tasks.datasets.spa_eng.PairSplits); "
                        "this task's dataset gives another kind. Drop it from task.reports.")
    codec = splits.codec
    baseline = most_frequent_token(splits, codec)
    found = {"baselines": {"most_frequent_token": baseline["accuracy"]},
             "translation": {"most_frequent_token": baseline}}
    if model is None:
        return found
    started = time.perf_counter()
    sources = list(samples) if samples else [source for source, _ in splits.texts["test"][:SAMPLE_COUNT]]
    translated = decode(model, codec, sources)
    Path(run_dir, SAMPLES_FILE).write_text("".join(f"{s}\t{' '.join(t)}\n" for s, t in zip(sources, translated)),
                                           encoding="utf-8")
    found["translation"]["samples"] = [{"source": s, "translation": " ".join(t)} for s, t in zip(sources, translated)]
    test = splits.texts["test"][: max(int(bleu_pairs), 0)]
    if test:
        decoded = decode(model, codec, [source for source, _ in test])
        candidates = [[t for t in tokens if t not in (START, END)] for tokens in decoded]
        references = codec.target_tokens([t for _, t in test])
        Path(run_dir, TEST_FILE).write_text(
            "source\treference\ttranslation\n"
            + "".join(f"{s}\t{t}\t{' '.join(c)}\n" for (s, t), c in zip(test, candidates)), encoding="utf-8")
        found["translation"]["bleu"] = {**corpus_bleu(candidates, references), "pairs": len(test), "split": "test"}
    found["translation"]["decode_s"] = time.perf_counter() - started
    return found


def translate(inputs: Sequence[str], run_dir: Path, model) -> tuple[list[str], list[list[str]]]:
    """``dlwp predict``'s answers for a translation run: each text's greedy translation, without the markers."""
    schema_file = Path(run_dir) / SCHEMA_FILE
    if not schema_file.is_file():
        raise DataError(f"{schema_file} is missing: a translation run keeps its vocabularies there, so it cannot "
                        "read new sentences without it.")
    codec = PairCodec.from_schema(json.loads(schema_file.read_text(encoding="utf-8")))
    texts = list(inputs)
    silent = [i + 1 for i, row in enumerate(codec.source_ids(texts)) if not row.any()]
    if silent:
        raise DataError(f"Text {', '.join(map(str, silent))} has no words once lowercased and stripped of "
                        "punctuation: give a sentence to translate.")
    return texts, [[plain(tokens)] for tokens in decode(model, codec, texts)]
