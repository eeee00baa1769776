"""Reuters newswires (46 topics): rebuilt from Reuters-21578, or Keras's ``reuters.npz``.

The rebuild follows the script Keras first used to make ``reuters.npz``, quirks
included: only the first ``<D>`` of a multi-topic wire is read (so it counts as
that topic), a wire without a body takes the next body in its file, and entities
stay unescaped (the trailing ``&#3;`` becomes the token ``3``).
"""

from __future__ import annotations

import os
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, KerasFile, Sequences, fetch_keras_file, locate
from .cache import cached_arrays, dataset_cache_dir, file_record, non_canonical_warnings, sha256_of
from .text import apply_keras_conventions, rank_by_frequency, tokenize

ARCHIVE = "reuters/reuters21578.tar.gz"
PARSER_VERSION = 1  # of rebuild_raw: bump it when the rebuilt arrays change, so caches are rebuilt
SHA256 = {ARCHIVE: "006ad520a6d911d0c88ed32daa374858c21debcc67329d3ffdbb0a1cd4098d12"}  # public sha256
KERAS_FILE = KerasFile(
    "reuters.npz", "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916", "reuters", pickled=True
)
MIN_WIRES_PER_TOPIC = 15


def load_reuters(
    num_words: int | None = 10000,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    seed: int = 113,
    test_split: float = 0.2,
    skip_top: int = 0,
    maxlen: int | None = None,
) -> DataSplits:
    """8,982 train and 2,246 test wires as ``Sequences`` of word ids, int64 labels 0-45."""
    root = locate([ARCHIVE], data_dir)
    if root is not None:
        raw = _rebuilt(root / ARCHIVE)
        x, y = Sequences(raw["values"], raw["offsets"]), raw["labels"]
        records = [file_record(root / ARCHIVE, SHA256[ARCHIVE])]
        info = {"source": "data_dir", "files": records}
        info["notes"] = "rebuilt from Reuters-21578; rare word ids can differ by a few ranks"
    else:
        path, source = fetch_keras_file("Reuters", KERAS_FILE, [ARCHIVE], data_dir, download)
        x, y = _read_keras_npz(path)
        records = [file_record(path, KERAS_FILE.sha256)]
        info = {"source": source, "files": records}
    [(x, y)] = apply_keras_conventions(
        [(x, y)], seed=seed, num_words=num_words, skip_top=skip_top, maxlen=maxlen
    )
    cut = int(len(x) * (1 - test_split))
    head, tail = np.arange(cut), np.arange(cut, len(x))
    info["num_words"] = num_words
    return DataSplits(x.take(head), y[:cut], x.take(tail), y[cut:], info=info,
                      warnings=non_canonical_warnings("Reuters", records))


def reuters_label_names(data_dir: str | os.PathLike | None = None) -> list[str]:
    """The 46 topic names in label order (cocoa, grain, veg-oil, earn, acq, ...).

    From the rebuild when the archive is in the data directory, else Keras's list.
    """
    root = locate([ARCHIVE], data_dir)
    if root is not None:
        return _rebuilt(root / ARCHIVE)["label_names"].tolist()
    import keras  # noqa: PLC0415 - only when there is no local archive

    return list(keras.datasets.reuters.get_label_names())


def parse_sgml(text: str) -> list[tuple[str, str]]:
    """(topic, body) for every wire with a topic, in file order, quirks kept."""
    wires = []
    pos = 0
    while (found := text.find("<TOPICS>", pos)) >= 0:
        pos = found + len("<TOPICS>")
        topics = _up_to_close(text, pos)
        if not topics or "</D><D>" in topics:
            continue
        body_tag = text.find("<BODY>", pos)
        # The original sliced s[s.find("<BODY>") + 6:], so a missing tag skips 5 characters.
        body = _up_to_close(text, body_tag + 6 if body_tag >= 0 else pos + 5)
        wires.append((topics.replace("<D>", "").replace("</D>", ""), body))
    return wires


def rebuild_raw(archive: str | os.PathLike) -> dict[str, np.ndarray]:
    """The raw form of ``reuters.npz`` (ranks from 1, labels) plus ``label_names``."""
    wires: list[tuple[str, str]] = []
    try:
        with tarfile.open(archive) as tar:
            members = sorted(
                (m for m in tar.getmembers() if m.isfile() and m.name.endswith(".sgm")),
                key=lambda m: m.name,
            )
            for member in members:
                wires += parse_sgml(tar.extractfile(member).read().decode("latin-1"))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(
            f"Reuters: cannot read {archive}: {exc}. Replace it with the canonical "
            "reuters21578.tar.gz, or point data_dir (or DLWP_DATA_DIR) at a good copy."
        ) from exc
    counts = Counter(topic for topic, _ in wires)
    labels: dict[str, int] = {}
    bodies, y = [], []
    for topic, body in wires:
        if counts[topic] >= MIN_WIRES_PER_TOPIC:
            y.append(labels.setdefault(topic, len(labels)))
            bodies.append(body)
    tokens = [tokenize(body) for body in bodies]
    ranks = rank_by_frequency(tokens)
    x = Sequences.from_lists([ranks[t] for t in wire] for wire in tokens)
    return {
        "values": x.values,
        "offsets": x.offsets,
        "labels": np.asarray(y, dtype=np.int64),
        "label_names": np.asarray(list(labels)),
    }


def _rebuilt(archive: Path) -> dict[str, np.ndarray]:
    """The rebuilt arrays, cached under the archive's own hash (a non-canonical copy gets its own entry)."""
    return cached_arrays(dataset_cache_dir("reuters", sha256_of(archive)), "raw", lambda: rebuild_raw(archive),
                         version=PARSER_VERSION)


def _up_to_close(text: str, start: int) -> str:
    """``s[:s.find("</")]`` for ``s = text[start:]``, including the -1 case."""
    end = text.find("</", start)
    return text[start:end] if end >= 0 else text[start:-1]


def _read_keras_npz(path: Path) -> tuple[Sequences, np.ndarray]:
    # The arrays are pickled lists; loading is safe because only the canonical file gets here (pickled=True).
    with np.load(path, allow_pickle=True) as npz:
        return Sequences.from_lists(npz["x"]), npz["y"].astype(np.int64)
