"""IMDB reviews as word-id sequences: encoded from aclImdb with Keras's word index,
or Keras's ``imdb.npz``.

The local encoding lists each split's reviews by sorted file name, ``pos`` (label
1) then ``neg`` (label 0), and drops tokens absent from the index, as Keras's
own file does. The order inside ``imdb.npz`` is unknown, so after shuffling the
reviews are not in the book's order.
"""

from __future__ import annotations

import json
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, KerasFile, Sequences, fetch_keras_file, keras_home, locate
from .cache import cache_root, cached_arrays, file_record, non_canonical_warnings
from .text import apply_keras_conventions, tokenize

ARCHIVE = "imdb/aclImdb_labeled.tar.gz"
WORD_INDEX = "imdb/imdb_word_index.json"
# The canonical files' public sha256 (as the shared datasets folder's SHA256SUMS lists them).
PARSER_VERSION = 1  # of encode_archive: bump it when the encoded arrays change, so caches are rebuilt
SHA256 = {
    ARCHIVE: "b7666e167690cd4b615a5a720fa5062cd886ff1ca9762da660d09597e1122678",
    WORD_INDEX: "027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6",
}
KERAS_FILE = KerasFile(
    "imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f", "imdb", pickled=True
)
SPLITS = ("train", "test")
LABELS = {"pos": 1, "neg": 0}


def load_imdb(
    num_words: int | None = 10000,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    seed: int = 113,
    skip_top: int = 0,
    maxlen: int | None = None,
) -> DataSplits:
    """25,000 train and 25,000 test reviews as ``Sequences``, int64 labels (0 neg, 1 pos)."""
    root = locate([ARCHIVE, WORD_INDEX], data_dir)
    if root is not None:
        records = [file_record(root / rel, SHA256[rel]) for rel in (ARCHIVE, WORD_INDEX)]
        raw = _encoded(root / ARCHIVE, root / WORD_INDEX, [r["sha256"] for r in records])
        parts = [
            (Sequences(raw[f"{s}_values"], raw[f"{s}_offsets"]), raw[f"{s}_labels"])
            for s in SPLITS
        ]
        info = {
            "source": "data_dir",
            "files": records,
            "notes": "encoded from aclImdb with the Keras word index; review order differs "
            "from imdb.npz",
        }
    else:
        path, source = fetch_keras_file("IMDB", KERAS_FILE, [ARCHIVE, WORD_INDEX], data_dir, download)
        parts = _read_keras_npz(path)
        records = [file_record(path, KERAS_FILE.sha256)]
        info = {"source": source, "files": records}
    (x_train, y_train), (x_test, y_test) = apply_keras_conventions(
        parts, seed=seed, num_words=num_words, skip_top=skip_top, maxlen=maxlen
    )
    info["num_words"] = num_words
    index_file = locate([WORD_INDEX], data_dir)
    vocabulary = words_by_id(load_word_index(index_file / WORD_INDEX)) if index_file is not None else None
    return DataSplits(x_train, y_train, x_test, y_test, info=info, warnings=non_canonical_warnings("IMDB", records),
                      vocabulary=vocabulary)


def words_by_id(word_index: dict[str, int], index_from: int = 3) -> list[str]:
    """The word of each id as the sequences number them (ids 0-2: padding, start, out-of-vocabulary)."""
    words = ["<pad>", "<start>", "<oov>"] + ["<oov>"] * (max(word_index.values(), default=0) + index_from - 2)
    for word, rank in word_index.items():
        words[rank + index_from] = word
    return words


def load_word_index(path: str | os.PathLike) -> dict[str, int]:
    """Keras's IMDB word index: word -> rank (1 = "the")."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def encode_review(text: str, word_index: dict[str, int]) -> list[int]:
    """Raw ranks of a review's tokens, skipping words absent from the index."""
    return [rank for rank in map(word_index.get, tokenize(text)) if rank]


def encode_archive(archive: str | os.PathLike, word_index: dict[str, int]) -> dict[str, np.ndarray]:
    """Stream the tar once; per split, ``<split>_values/offsets/labels`` of raw ranks."""
    found: dict[tuple[str, str, str], list[int]] = {}
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 4 and parts[1] in SPLITS and parts[2] in LABELS:
                    text = tar.extractfile(member).read().decode("utf-8")
                    found[(parts[1], parts[2], parts[3])] = encode_review(text, word_index)
    except (tarfile.TarError, OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(
            f"IMDB: cannot read {archive}: {exc}. Replace it with the canonical "
            "aclImdb_labeled.tar.gz, or point data_dir (or DLWP_DATA_DIR) at a good copy."
        ) from exc
    arrays: dict[str, np.ndarray] = {}
    for split in SPLITS:
        keys = [k for label in LABELS for k in sorted(k for k in found if k[:2] == (split, label))]
        if not keys:
            raise DataError(f"IMDB: {archive} holds no aclImdb/{split}/pos or /neg reviews.")
        x = Sequences.from_lists(found[k] for k in keys)
        arrays[f"{split}_values"], arrays[f"{split}_offsets"] = x.values, x.offsets
        arrays[f"{split}_labels"] = np.asarray([LABELS[k[1]] for k in keys], dtype=np.int64)
    return arrays


def _encoded(archive: Path, index_path: Path, sha256s: list[str]) -> dict[str, np.ndarray]:
    """The encoded reviews, cached under the files' own hashes (a non-canonical copy gets its own entry)."""
    key = "_".join(sha[:16] for sha in sha256s)
    return cached_arrays(
        cache_root() / "imdb" / key,
        "encoded",
        lambda: encode_archive(archive, load_word_index(index_path)),
        version=PARSER_VERSION,
    )


def _read_keras_npz(path: Path) -> list[tuple[Sequences, np.ndarray]]:
    # The arrays are pickled lists; loading is safe because only the canonical file gets here (pickled=True).
    with np.load(path, allow_pickle=True) as npz:
        return [
            (Sequences.from_lists(npz[f"x_{s}"]), npz[f"y_{s}"].astype(np.int64)) for s in SPLITS
        ]


def word_index_file(data_dir: str | os.PathLike | None) -> Path | None:
    """Keras's IMDB word index: in the data directory, else in the Keras cache (``imdb.get_word_index``'s)."""
    root = locate([WORD_INDEX], data_dir)
    if root is not None:
        return root / WORD_INDEX
    cached = keras_home() / "datasets" / Path(WORD_INDEX).name
    return cached if cached.is_file() else None


def encode_texts(texts: list[str], word_index: dict[str, int], num_words: int | None, skip_top: int = 0,
                 start_char: int = 1, oov_char: int = 2, index_from: int = 3) -> list[list[int]]:
    """Raw texts as the word ids ``load_data`` gives its reviews: ``start_char``, then each indexed word's rank
    plus ``index_from``, ids outside ``[skip_top, num_words)`` as ``oov_char`` (unindexed words are dropped, as
    in the encoded reviews)."""
    encoded = []
    for text in texts:
        ids = [start_char] + [rank + index_from for rank in encode_review(text, word_index)]
        encoded.append([i if skip_top <= i < (num_words or i + 1) else oov_char for i in ids])
    return encoded


def predict_inputs(texts: list[str], run_dir) -> tuple[list[str], np.ndarray]:
    """``dlwp predict`` on a chapter-4 IMDB run: raw reviews encoded with Keras's word index, as the run's
    reviews were, then multi-hot over the run's ``features.num_tokens`` ids."""
    from omegaconf import OmegaConf  # noqa: PLC0415

    cfg = OmegaConf.load(Path(run_dir) / "config.yaml")
    features, dataset = cfg.task.features, cfg.task.dataset
    if features.get("encoding") != "multi_hot":
        raise DataError("This IMDB run's model does not read multi-hot reviews (task.features.encoding is not "
                        "multi_hot), so dlwp predict cannot encode text for it.")
    path = word_index_file(cfg.get("data_dir"))
    if path is None:
        raise DataError(f"Encoding text for an IMDB run needs Keras's word index: {WORD_INDEX} under the run's "
                        f"data directory ({cfg.get('data_dir')}), or {Path(WORD_INDEX).name} in the Keras cache "
                        f"{keras_home() / 'datasets'} (keras.datasets.imdb.get_word_index() downloads it).")
    ids = encode_texts(texts, load_word_index(path), dataset.get("num_words"), int(dataset.get("skip_top", 0)))
    width = int(features.num_tokens)
    vectors = np.zeros((len(texts), width), dtype=np.float32)
    for row, sequence in enumerate(ids):
        vectors[row, [i for i in sequence if i < width]] = 1.0
    return list(texts), vectors
