"""IMDB reviews as raw text (§11.3.1): aclImdb's ``train/`` and ``test/`` reviews (neg = 0, pos = 1), with the
book's validation carve-out, read as a text folder (see :mod:`dlwp_tasks.datasets.text`).

Sources, in this order: ``path`` (an ``aclImdb/`` folder, or the folder holding it); the data directory's
``imdb/aclImdb_labeled.tar.gz`` (sha-checked, extracted into the dlwp cache); Stanford's ``aclImdb_v1.tar.gz``
in the Keras cache, or downloaded there when ``download`` is true. Only the ``neg`` and ``pos`` folders are read
(the download's ``train/unsup`` is not).

The carve-out, per class: the sorted file names of ``train/<class>`` are shuffled with a fresh
``random.Random(1337)`` and the last 20 % go to validation, so 20,000 / 5,000 / 25,000 reviews. The book shuffled
``os.listdir``'s order, which differs between file systems; sorting first makes the split reproducible.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, data_dir_of, keras_home
from .cache import dataset_cache_dir, extract_tar_safely, file_record, non_canonical_warnings, sha256_of
from .imdb import ARCHIVE, SHA256
from .text import check_settings, class_files, read_splits, resolve_encoding, text_splits

CLASSES = ("neg", "pos")
VALIDATION_SHARE = 0.2
SPLIT_SEED = 1337
DOWNLOAD_NAME = "aclImdb_v1.tar.gz"
DOWNLOAD_ORIGIN = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


def _aclimdb_in(folder: Path) -> Path | None:
    """``folder`` or its ``aclImdb/`` when it holds ``train/`` and ``test/``, else None."""
    for candidate in (folder, folder / "aclImdb"):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    return None


def _extracted(archive: Path, record: dict) -> Path:
    folder = _aclimdb_in(extract_tar_safely(archive, dataset_cache_dir("imdb_text", record["sha256"])))
    if folder is None:
        raise DataError(f"IMDB: {archive} holds no aclImdb/train and aclImdb/test folders. Replace it with the "
                        "canonical archive, or give an aclImdb/ folder with task.path=DIR.")
    return folder


def aclimdb_folder(path, data_dir, download: bool) -> tuple[Path, dict]:
    """(the ``aclImdb/`` folder to read, provenance for ``metrics.json``)."""
    if path not in (None, ""):
        folder = _aclimdb_in(Path(path).expanduser())
        if folder is None:
            raise DataError(f"task.path '{path}' is not an aclImdb/ folder: it needs train/ and test/ folders, each "
                            "with neg/ and pos/ folders of .txt reviews.")
        return folder, {"source": "path", "path": str(folder)}
    root = data_dir_of(data_dir)
    if root is not None and (root / ARCHIVE).is_file():
        record = file_record(root / ARCHIVE, SHA256[ARCHIVE])
        return _extracted(root / ARCHIVE, record), {"source": "data_dir", "files": [record]}
    cached = keras_home() / "datasets" / DOWNLOAD_NAME
    if not cached.is_file() and download:
        try:
            import keras  # noqa: PLC0415 - only the download path pays for Keras

            cached = Path(keras.utils.get_file(DOWNLOAD_NAME, origin=DOWNLOAD_ORIGIN, cache_dir=str(keras_home())))
        except Exception as exc:  # get_file raises many kinds (URLError, OSError, ValueError...)
            raise _missing(root, f"downloading {DOWNLOAD_ORIGIN} failed: {exc}") from None
    if not cached.is_file():
        raise _missing(root, "downloading is turned off (download=false)")
    record = {"path": str(cached), "sha256": sha256_of(cached)}
    return _extracted(cached, record), {"source": "keras-cache", "files": [record]}


def _missing(root: Path | None, why: str) -> DataError:
    where = f"the data directory {root}" if root else "a data directory, but none is set"
    return DataError(f"IMDB raw text: expected {ARCHIVE} under {where} (set data_dir=... or DLWP_DATA_DIR), an "
                     f"aclImdb/ folder given with task.path=DIR, or {DOWNLOAD_NAME} in the Keras cache "
                     f"{keras_home() / 'datasets'}; {why}. On a connected machine, download=true fetches "
                     f"{DOWNLOAD_ORIGIN}.")


def book_carve_out(files: list[Path], share: float = VALIDATION_SHARE,
                   seed: int = SPLIT_SEED) -> tuple[list[Path], list[Path]]:
    """(train, validation) of one class's training files: the sorted names shuffled with a fresh
    ``random.Random(seed)``, the last ``int(share * n)`` to validation (listing 11.2's loop body)."""
    names = sorted(files, key=lambda p: p.name)
    random.Random(seed).shuffle(names)
    count = int(share * len(names))
    return names[: len(names) - count], names[len(names) - count:]


def imdb_text_files(folder: Path) -> dict[str, dict[str, list[Path]]]:
    """{split: {class: files}} with the book's validation split carved out of ``train/``."""
    files = {"train": class_files(folder / "train", CLASSES), "validation": {},
             "test": class_files(folder / "test", CLASSES)}
    for split in ("train", "test"):
        if sorted(files[split]) != list(CLASSES) or not all(files[split].values()):
            raise DataError(f"IMDB: {folder / split} needs neg/ and pos/ folders of .txt reviews.")
    for label in CLASSES:
        files["train"][label], files["validation"][label] = book_carve_out(files["train"][label])
    return files


def load_imdb_text(path: str | os.PathLike | None = None, encoding: str = "multi_hot", ngrams: int = 2,
                   max_tokens: int = 20000, sequence_length: int = 600, model: str | None = None,
                   data_dir: str | os.PathLike | None = None, download: bool = True, limit: int | None = None,
                   layers: bool = True) -> DataSplits:
    """20,000 / 5,000 / 25,000 raw reviews (neg = 0, pos = 1) and the vectorizer of ``encoding``, adapted on the
    training reviews."""
    check_settings(ngrams, max_tokens, sequence_length)
    encoding = resolve_encoding(encoding, model)
    folder, info = aclimdb_folder(path, data_dir, download)
    texts, class_names, warnings = read_splits(imdb_text_files(folder), 0, 0, 0, limit)
    splits = text_splits(texts, class_names, encoding=encoding, ngrams=ngrams, max_tokens=max_tokens,
                         sequence_length=sequence_length, info=info, warnings=warnings, layers=layers)
    splits.warnings += non_canonical_warnings("IMDB", [r for r in info.get("files", []) if "non_canonical" in r])
    return splits


def describe_imdb_text(encoding: str = "multi_hot", model: str | None = None, ngrams: int = 2,
                       max_tokens: int = 20000, sequence_length: int = 600, **_) -> list[str]:
    """The encoding ``dlwp run`` would use; an encoding the model cannot read stops the run before a run folder."""
    check_settings(ngrams, max_tokens, sequence_length)
    chosen = resolve_encoding(encoding, model)
    shape = f"{sequence_length} token ids" if chosen == "int" else f"{ngrams}-gram {chosen}, up to {max_tokens}"
    return [f"  encoding: {shape}"]


load_imdb_text.describe = describe_imdb_text


def synthetic_words(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct made-up lowercase words."""
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    syllables = [c + v for c in consonants for v in vowels]
    words: set[str] = set()
    while len(words) < count:
        parts = rng.integers(0, len(syllables), size=(count, 3))
        words.update("".join(syllables[i] for i in row) for row in parts)
    return sorted(words)[:count]


def imdb_text_like(n_train: int = 256, n_val: int = 32, n_test: int = 32, vocabulary_size: int = 24000,
                   encoding: str = "multi_hot", ngrams: int = 2, max_tokens: int = 20000, sequence_length: int = 600,
                   model: str | None = None, seed: int = 0, layers: bool = True) -> DataSplits:
    """Random reviews over a made-up vocabulary of ``vocabulary_size`` words, and random labels: the training
    reviews use every word, so the vectorizer has the real shapes (``max_tokens`` slots of n-grams, sequences of
    ``sequence_length`` ids) and every raw-string path runs."""
    rng = np.random.default_rng(seed)
    words = np.asarray(synthetic_words(vocabulary_size, rng), dtype=object)
    chunks = np.array_split(rng.permutation(words), n_train)

    def review(base=()) -> str:
        extra = rng.choice(words, size=int(rng.integers(20, 120)))
        return " ".join([*base, *extra])

    texts = {"train": ([review(chunk) for chunk in chunks], rng.integers(0, 2, n_train)),
             "validation": ([review() for _ in range(n_val)], rng.integers(0, 2, n_val)),
             "test": ([review() for _ in range(n_test)], rng.integers(0, 2, n_test))}
    info = {"source": "synthetic", "kind": "text", "seed": seed, "vocabulary_words": vocabulary_size}
    return text_splits(texts, list(CLASSES), encoding=resolve_encoding(encoding, model), ngrams=ngrams,
                       max_tokens=max_tokens, sequence_length=sequence_length, info=info, warnings=[], layers=layers)
