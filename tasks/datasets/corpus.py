"""Text corpora for language models (§12.1.4): every text becomes one training sequence of word ids, the input
its first ``sequence_length - 1`` ids and the target the same ids shifted by one (listings 12.3-12.5).

``text_corpus`` reads a user's folder (every ``.txt`` file under it is one text) or one ``.txt`` file (one text per
non-blank line); ``imdb_lm`` is the IMDB reviews of ``train/`` and ``test/`` (and ``train/unsup/`` where the
archive has it), as the book's ``text_dataset_from_directory(..., label_mode=None)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits
from .imdb_text import aclimdb_folder, synthetic_words
from .text import read_texts

TOKENS = "tokens"                    # the model's input name
LINE_BREAK = re.compile(r"<br\s*/?>")  # HTML line breaks in the IMDB reviews


def check_sizes(vocab_size: int, sequence_length: int) -> None:
    if vocab_size < 3 or sequence_length < 2:
        raise DataError(f"task.vocab_size must be at least 3 and task.sequence_length at least 2 (one input and one "
                        f"target token), got {vocab_size} and {sequence_length}.")


def corpus_texts(path: str | os.PathLike, limit: int | None = None) -> tuple[list[str], list[str], dict]:
    """(texts, warnings, provenance) of a folder (one text per ``.txt`` file, sorted by path) or a ``.txt``
    file (one text per non-blank line)."""
    if path in (None, ""):
        raise DataError("task=text_corpus needs task.path=DIR (a folder of .txt files, one text each) or "
                        "task.path=FILE.txt (one text per line).")
    root = Path(path).expanduser()
    if root.is_file():
        lines = root.read_bytes().decode("utf-8", errors="replace").splitlines()
        texts = [line for line in lines if line.strip()][:limit]
        if not texts:
            raise DataError(f"'{root}' holds no text: give a file with one text per line.")
        return texts, [], {"source": "real", "path": str(root), "texts_from": "lines"}
    if not root.is_dir():
        raise DataError(f"task.path '{root}' does not exist: give a folder of .txt files or one .txt file.")
    files = sorted(f for f in root.rglob("*.txt") if f.is_file() and not f.name.startswith("."))[:limit]
    texts, _, warnings = read_texts(files)
    if not texts:
        raise DataError(f"'{root}' holds no non-empty .txt files: a text corpus is a folder of .txt files, one "
                        "text each (subfolders included).")
    return texts, warnings, {"source": "real", "path": str(root), "texts_from": "files"}


def language_model_splits(texts: Sequence[str], vocab_size: int, sequence_length: int, info: dict,
                          warnings: list[str], strip_html: bool = True) -> DataSplits:
    """Word ids of every text, cut or padded to ``sequence_length`` by a ``TextVectorization`` adapted on all of
    them (the book has no held-out text); inputs ``ids[:, :-1]`` under the name ``tokens``, targets ``ids[:, 1:]``,
    and the vocabulary (the word of each id)."""
    import keras  # noqa: PLC0415 - Keras only when the data is loaded
    import tensorflow as tf  # noqa: PLC0415

    cleaned = [LINE_BREAK.sub(" ", t) for t in texts] if strip_html else list(texts)
    corpus = tf.data.Dataset.from_tensor_slices(np.asarray(cleaned, dtype=object)).batch(512)
    vectorizer = keras.layers.TextVectorization(max_tokens=vocab_size, output_mode="int",
                                                output_sequence_length=sequence_length)
    vectorizer.adapt(corpus)
    ids = np.concatenate([vectorizer(batch).numpy() for batch in corpus]).astype("int32")
    vocabulary = [str(word) for word in vectorizer.get_vocabulary()]
    lengths = np.count_nonzero(ids, axis=1)
    info = {**info, "texts": len(cleaned), "vocabulary_size": len(vocabulary),
            "mean_tokens": float(lengths.mean()), f"share_cut_at_{sequence_length}_tokens":
            float(np.mean(lengths >= sequence_length))}
    schema = {"kind": "text_corpus", "vocab_size": vocab_size, "sequence_length": sequence_length}
    empty = {TOKENS: ids[:0, :-1]}
    return DataSplits({TOKENS: ids[:, :-1]}, ids[:, 1:], empty, ids[:0, 1:], info=info, schema=schema,
                      warnings=warnings, vocabulary=vocabulary)


def load_text_corpus(path: str | os.PathLike, vocab_size: int = 15000, sequence_length: int = 100,
                     strip_html: bool = True, limit: int | None = None) -> DataSplits:
    """A user's texts as language-model sequences (see :func:`corpus_texts` and :func:`language_model_splits`)."""
    check_sizes(vocab_size, sequence_length)
    texts, warnings, info = corpus_texts(path, limit)
    return language_model_splits(texts, vocab_size, sequence_length, info, warnings, strip_html)


def imdb_review_files(folder: Path) -> list[Path]:
    """Every review of ``train/`` and ``test/``: the ``.txt`` files in their subfolders (neg, pos, unsup)."""
    return sorted(f for split in ("train", "test") for f in (folder / split).glob("*/*.txt") if f.is_file())


def load_imdb_lm(path: str | os.PathLike | None = None, vocab_size: int = 15000, sequence_length: int = 100,
                 data_dir: str | os.PathLike | None = None, download: bool = True,
                 limit: int | None = None) -> DataSplits:
    """The IMDB reviews as language-model sequences, ``<br />`` removed (listing 12.3)."""
    check_sizes(vocab_size, sequence_length)
    folder, info = aclimdb_folder(path, data_dir, download)
    files = imdb_review_files(folder)[:limit]
    texts, _, warnings = read_texts(files)
    return language_model_splits(texts, vocab_size, sequence_length, info, warnings)


def corpus_like(n_texts: int = 64, vocab_size: int = 15000, sequence_length: int = 100, seed: int = 0) -> DataSplits:
    """Random texts over made-up words, enough distinct ones to fill a ``vocab_size`` vocabulary: the real shapes,
    so training, sampling and ``dlwp generate`` run (smoke runs)."""
    rng = np.random.default_rng(seed)
    words = np.asarray(synthetic_words(vocab_size, rng), dtype=object)
    chunks = np.array_split(rng.permutation(words), n_texts)
    texts = [" ".join([*chunk, *rng.choice(words, size=sequence_length)]) for chunk in chunks]
    return language_model_splits(texts, vocab_size, sequence_length, {"source": "synthetic", "seed": seed}, [])
