"""Shared data containers and the search order for dataset files.

Every loader looks in the data directory first (the ``data_dir`` argument, else
``$DLWP_DATA_DIR``, laid out like the shared datasets folder), then for the
Keras file in the Keras cache, and downloads it with ``keras.utils.get_file``
only when ``download`` is true.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlwp_tasks.errors import DataError

from .cache import sha256_of, verify

ENV_DATA_DIR = "DLWP_DATA_DIR"
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(eq=False)
class Sequences:
    """Ragged int sequences: ``values[offsets[i]:offsets[i + 1]]`` is sequence ``i``."""

    values: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.int32)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int64)
        if (
            self.values.ndim != 1
            or self.offsets.ndim != 1
            or len(self.offsets) == 0
            or self.offsets[0] != 0
            or self.offsets[-1] != len(self.values)
            or np.any(np.diff(self.offsets) < 0)
        ):
            raise ValueError("offsets must rise from 0 to len(values)")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"sequence index {i} out of range for {n} sequences")
        i %= n
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        """Length of every sequence (int64)."""
        return np.diff(self.offsets)

    def take(self, indices: Sequence[int] | np.ndarray) -> Sequences:
        """A new object holding the sequences at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        lengths = self.lengths()[idx]
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        gather = np.repeat(self.offsets[idx] - offsets[:-1], lengths)
        gather += np.arange(offsets[-1], dtype=np.int64)
        return Sequences(self.values[gather], offsets)

    @classmethod
    def from_lists(cls, lists: Iterable[Iterable[int]]) -> Sequences:
        """Pack lists (or 1-D arrays) of ints."""
        lists = list(lists)
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.fromiter(
            itertools.chain.from_iterable(lists), dtype=np.int32, count=int(offsets[-1])
        )
        return cls(values, offsets)

    def to_lists(self) -> list[list[int]]:
        """Plain Python lists, as ``keras.datasets`` returns them."""
        flat = self.values.tolist()
        bounds = self.offsets.tolist()
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass(eq=False)
class DataSplits:
    """What a dataset callable returns: the splits, and what the pipeline needs to know about them.

    Each ``x_*`` is an array, word-id :class:`Sequences`, or a dict of arrays by input name (columns of
    a table, named inputs); each ``y_*`` an array (or a dict by output name). ``x_train`` may instead be
    an unbatched ``tf.data.Dataset`` of ``(inputs, targets)`` pairs, with ``y_train`` None (likewise
    for the other splits). The validation and test splits are optional.
    """

    x_train: Any
    y_train: Any
    x_test: Any = None
    y_test: Any = None
    info: dict[str, Any] = field(default_factory=dict)   # provenance: source, files, sha256, ...
    x_val: Any = None
    y_val: Any = None
    class_names: list[str] | None = None   # label names by class index (classification)
    problem: str | None = None             # classification | regression, where the dataset decides it
    # Keras layers adapted on the training rows only: ``preprocessing`` maps the raw inputs to what the
    # model body takes, and is saved inside model.keras, so a saved model takes raw inputs (one marked with
    # :func:`run_in_pipeline` is applied by the input pipeline instead, once per split, and only the saved
    # model holds it); ``postprocessing`` maps the head's output to the target's units (e.g. undoing a
    # target scaling).
    preprocessing: Any = None
    postprocessing: Any = None
    schema: dict[str, Any] | None = None   # JSON description of the inputs, saved as schema.json
    warnings: list[str] = field(default_factory=list)  # said on the console and kept in metrics.json
    vocabulary: list[str] | None = None    # the word of each id, to show word-id sequences as text


IN_PIPELINE = "dlwp_in_pipeline"  # attribute marking a preprocessing model that the input pipeline applies


def run_in_pipeline(preprocessing):
    """Mark a preprocessing model (e.g. text vectorization) to be applied by the input pipeline: each split is
    preprocessed once and kept, the network trains on the results, and model.keras is ``preprocessing ->
    network``, taking raw inputs. Returns the model."""
    setattr(preprocessing, IN_PIPELINE, True)
    return preprocessing


def runs_in_pipeline(preprocessing) -> bool:
    """Whether ``preprocessing`` was marked by :func:`run_in_pipeline`."""
    return bool(getattr(preprocessing, IN_PIPELINE, False))


@dataclass(frozen=True)
class KerasFile:
    """A file as ``keras.datasets`` fetches it; ``folder`` is its place in a data directory."""

    fname: str
    sha256: str
    folder: str
    pickled: bool = False   # its arrays need pickle: only the canonical file is ever loaded

    @property
    def origin(self) -> str:
        return KERAS_ORIGIN + self.fname


def data_dir_of(data_dir: str | os.PathLike | None) -> Path | None:
    """The data directory: the argument, else ``$DLWP_DATA_DIR``, else None."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(ENV_DATA_DIR)
    return Path(chosen).expanduser() if chosen else None


def keras_home() -> Path:
    """``$KERAS_HOME``, else ``~/.keras`` (where ``get_file`` caches under ``datasets/``)."""
    return Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()


def locate(relative_paths: Sequence[str], data_dir: str | os.PathLike | None) -> Path | None:
    """The data directory if it holds every one of ``relative_paths``, else None."""
    root = data_dir_of(data_dir)
    if root is not None and all((root / rel).is_file() for rel in relative_paths):
        return root
    return None


def fetch_keras_file(
    title: str,
    keras_file: KerasFile,
    expected: Sequence[str],
    data_dir: str | os.PathLike | None,
    download: bool,
) -> tuple[Path, str]:
    """Find or download a Keras dataset file; return its path and where it came from.

    Looks for ``<data_dir>/<folder>/<fname>``, then ``<keras_home>/datasets/<fname>``,
    then downloads when ``download`` is true (a cached copy of another sha256 is
    downloaded again, as ``get_file`` does). A file of another sha256 is used as it is
    (the caller records it as non-canonical), except one that needs pickle, which is
    refused. ``expected`` names the project's own layout for the error message.
    """
    root = data_dir_of(data_dir)
    if root is not None:
        candidate = root / keras_file.folder / keras_file.fname
        if candidate.is_file():
            if keras_file.pickled:
                verify(candidate, keras_file.sha256, title)
            return candidate, "data_dir"
    cached = keras_home() / "datasets" / keras_file.fname
    if cached.is_file():
        if sha256_of(cached) == keras_file.sha256:
            return cached, "keras-cache"
        if not download:  # offline: another version is used (with a warning), unless it needs pickle
            if keras_file.pickled:
                verify(cached, keras_file.sha256, title)
            return cached, "keras-cache"
    if not download:
        raise missing_data_error(title, expected, keras_file, root)
    try:
        import keras  # noqa: PLC0415 - only the download path pays for TensorFlow/Keras

        path = keras.utils.get_file(
            keras_file.fname,
            origin=keras_file.origin,
            file_hash=keras_file.sha256,
            cache_dir=str(keras_home()),
        )
    except Exception as exc:  # get_file raises many kinds (URLError, OSError, ValueError...)
        raise missing_data_error(title, expected, keras_file, root, str(exc)) from exc
    return Path(path), "download"


def missing_data_error(
    title: str,
    expected: Sequence[str],
    keras_file: KerasFile,
    root: Path | None,
    failure: str | None = None,
) -> DataError:
    """One paragraph naming the files, the places searched and the settings to change.

    ``failure`` is the download error; None means downloading was turned off.
    """
    wanted = ", ".join(expected)
    alt = f"{keras_file.folder}/{keras_file.fname}"
    if alt not in expected:
        wanted += f" (or Keras's {alt})"
    where = f"the data directory {root}" if root else "a data directory, but none is set"
    if failure is None:
        tail = (
            "downloading is turned off (download=false). On a connected machine, set "
            f"download=true to fetch {keras_file.origin}."
        )
    else:
        tail = (
            f"downloading {keras_file.origin} failed: {failure}. Check the network, or place "
            "the files as above and set download=false."
        )
    return DataError(
        f"{title}: expected {wanted} under {where} (set data_dir=... or the {ENV_DATA_DIR} "
        f"environment variable), or {keras_file.fname} in the Keras cache "
        f"{keras_home() / 'datasets'}; {tail}"
    )
