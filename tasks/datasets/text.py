"""Text datasets: folders of text files (``task=text_folder``) vectorised by ``TextVectorization``, and the
helpers shared by IMDB and Reuters (the tokenizer, frequency ranks and the conventions of
``keras.datasets.{imdb,reuters}.load_data``).

A text folder holds one subfolder of ``.txt`` files per class, optionally inside ``train/``, ``validation/`` (or
``val/``) and ``test/``: the layout of ``keras.utils.text_dataset_from_directory``, and aclImdb's. Missing
validation and test splits are carved out of ``train/``, seeded and stratified. Files that are not UTF-8 are
decoded with replacement characters, and empty files are skipped, each with a warning naming them.

The texts stay raw strings in the splits. ``DataSplits.preprocessing`` is a ``TextVectorization`` adapted on the
training texts only, marked to run in the input pipeline (each split is vectorised once and kept, as the book's
``.cache()``); the saved model.keras is ``TextVectorization -> network`` and takes raw strings. This module
imports no TensorFlow or Keras at import time.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, Sequences, run_in_pipeline
from .class_folders import check_classes, split_folders, stratified_carve

# Keras's old Tokenizer filters: ASCII punctuation except the apostrophe, plus tab and newline.
_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TABLE = str.maketrans(_FILTERS, " " * len(_FILTERS))


def tokenize(text: str) -> list[str]:
    """Lowercase, turn the filtered characters into spaces, split on spaces, drop empties."""
    return [token for token in text.lower().translate(_TABLE).split(" ") if token]


def rank_by_frequency(token_lists: Iterable[list[str]]) -> dict[str, int]:
    """Word -> rank from 1, by descending count; ties keep first-occurrence order."""
    counts: Counter[str] = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    ordered = sorted(counts, key=counts.__getitem__, reverse=True)  # stable: ties stay in order
    return {word: rank for rank, word in enumerate(ordered, start=1)}


def apply_keras_conventions(
    parts: list[tuple[Sequences, np.ndarray]],
    *,
    seed: int = 113,
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    start_char: int = 1,
    oov_char: int = 2,
    index_from: int = 3,
) -> list[tuple[Sequences, np.ndarray]]:
    """Turn raw rank sequences into what ``load_data`` returns, one part at a time.

    One ``RandomState(seed)`` shuffles every part in turn; then ``start_char`` is
    prepended and ``index_from`` added, sequences with ``len >= maxlen`` dropped,
    and ids outside ``[skip_top, num_words)`` replaced by ``oov_char``. Without
    ``num_words`` the largest id is used, so (as in Keras) that id becomes OOV.
    """
    rng = np.random.RandomState(seed)
    shifted = []
    for x, y in parts:
        order = np.arange(len(x))
        rng.shuffle(order)
        x, y = _prepend(x.take(order), start_char, index_from), np.asarray(y)[order]
        if maxlen:
            keep = np.flatnonzero(x.lengths() < maxlen)
            if len(keep) == 0:
                raise DataError(
                    f"no sequence is shorter than maxlen={maxlen}; increase the maxlen setting."
                )
            x, y = x.take(keep), y[keep]
        shifted.append((x, y.astype(np.int64)))
    if not num_words:
        num_words = max(int(x.values.max(initial=0)) for x, _ in shifted)
    out = []
    for x, y in shifted:
        ok = (x.values >= skip_top) & (x.values < num_words)
        out.append((Sequences(np.where(ok, x.values, oov_char), x.offsets), y))
    return out


def _prepend(x: Sequences, start_char: int, index_from: int) -> Sequences:
    """Put ``start_char`` first in every sequence and add ``index_from`` to every id."""
    n = len(x)
    offsets = x.offsets + np.arange(n + 1, dtype=np.int64)
    values = np.empty(len(x.values) + n, dtype=np.int32)
    values[offsets[:-1]] = start_char
    positions = np.arange(len(x.values), dtype=np.int64) + np.repeat(
        np.arange(1, n + 1, dtype=np.int64), x.lengths()
    )
    values[positions] = x.values + index_from
    return Sequences(values, offsets)


# ----------------------------------------------------------------------------- folders of text files

ENCODINGS = ("auto", "multi_hot", "count", "tf_idf", "int")
SEQUENCE_KIND, VECTOR_KIND = "token_ids", "vector"   # the model input kinds of int and bag-of-words encodings
NAMED_FILES = 10   # files named in a warning; the rest are counted


def _is_text_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".txt" and not path.name.startswith(".")


def class_files(folder: Path, classes: Sequence[str] | None = None) -> dict[str, list[Path]]:
    """{class: its ``.txt`` files, sorted (subfolders included)}, from the sorted subfolders of ``folder``, or only
    those named in ``classes``."""
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is not None:
        names = [c for c in sorted(classes) if c in names]
    return {c: sorted(f for f in (folder / c).rglob("*") if _is_text_file(f)) for c in names}


def text_files(root: Path, classes: Sequence[str] | None = None) -> dict[str, dict[str, list[Path]]]:
    """{split: {class: files}} of a labelled text folder; raises DataError for a layout that cannot train."""
    split_dirs = split_folders(root)
    if split_dirs and "train" not in split_dirs:
        raise DataError(f"'{root}' has {', '.join(p.name + '/' for p in split_dirs.values())} but no train/ "
                        "folder: add train/, or put the class folders directly under task.path.")
    files = {split: class_files(folder, classes) for split, folder in (split_dirs or {"train": root}).items()}
    check_classes(files["train"], split_dirs.get("train", root), ".txt files",
                  "DIR/positive/*.txt, DIR/negative/*.txt", "Add a folder of .txt files per class.")
    for split, found in files.items():
        unknown = sorted(set(found) - set(files["train"]))
        if unknown:
            raise DataError(f"The {split} split has class folder(s) {unknown} that train/ lacks: every class needs "
                            "training files.")
    return files


def _named(paths: list[Path]) -> str:
    shown = ", ".join(str(p) for p in paths[:NAMED_FILES])
    return shown + (f" and {len(paths) - NAMED_FILES} more" if len(paths) > NAMED_FILES else "")


def read_texts(paths: Sequence[Path]) -> tuple[list[str], np.ndarray, list[str]]:
    """(the texts of the non-empty files, a keep mask over ``paths``, warnings): files that are not UTF-8 are
    decoded with replacement characters, empty (or blank) files are skipped; each warning names the files."""
    texts, keep, not_utf8, empty = [], np.ones(len(paths), dtype=bool), [], []
    for i, path in enumerate(paths):
        data = Path(path).read_bytes()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            not_utf8.append(Path(path))
        if not text.strip():
            keep[i] = False
            empty.append(Path(path))
            continue
        texts.append(text)
    warnings = []
    if not_utf8:
        warnings.append(f"{len(not_utf8)} file(s) are not UTF-8 and were read with replacement characters (U+FFFD) "
                        f"for the bytes that do not decode: {_named(not_utf8)}. Re-save them as UTF-8 to keep "
                        "every character.")
    if empty:
        warnings.append(f"{len(empty)} empty file(s) skipped: {_named(empty)}.")
    return texts, keep, warnings


def model_input_kinds(model: str | None) -> tuple[str, ...]:
    """The input kinds of the model body a ``model._target_`` names (none when not given)."""
    if not model:
        return ()
    from .contract import resolve_target  # noqa: PLC0415

    return tuple(getattr(resolve_target(model), "input_kinds", ()))


def resolve_encoding(encoding: str, model: str | None = None) -> str:
    """The encoding to use: ``auto`` gives integer sequences to a model that reads token ids and multi-hot
    n-grams to any other; an explicit encoding must suit the model."""
    if encoding not in ENCODINGS:
        raise DataError(f"task.encoding must be one of {', '.join(ENCODINGS)}, got '{encoding}'.")
    kinds = model_input_kinds(model)
    reads_ids = SEQUENCE_KIND in kinds and VECTOR_KIND not in kinds
    if encoding == "auto":
        return "int" if reads_ids else "multi_hot"
    if reads_ids and encoding != "int":
        raise DataError(f"The model reads token ids, but task.encoding={encoding} makes bag-of-words vectors: set "
                        "task.encoding=int (or auto), or choose a bag-of-words model (model=bow).")
    if kinds and not reads_ids and encoding == "int":
        raise DataError("task.encoding=int makes token-id sequences, which this model does not read: choose a "
                        "sequence model (model=bilstm or model=text_transformer), or task.encoding=multi_hot.")
    return encoding


def text_vectorizer(train_texts: Sequence[str], encoding: str, ngrams: int = 1, max_tokens: int = 20000,
                    sequence_length: int = 600):
    """``Input(string) -> TextVectorization`` adapted on ``train_texts``, marked to run in the input pipeline.

    ``int``: the ids of the first ``sequence_length`` tokens, padded with 0; ``multi_hot``, ``count``,
    ``tf_idf``: one slot per n-gram (n up to ``ngrams``) of the ``max_tokens`` most frequent, fewer when the
    training texts have fewer (as the book's layer, which is not padded to ``max_tokens``).
    """
    import keras  # noqa: PLC0415 - Keras only when the data is loaded
    import tensorflow as tf  # noqa: PLC0415

    if encoding == "int":
        settings = {"output_mode": "int", "output_sequence_length": sequence_length}
    else:
        settings = {"output_mode": encoding, "ngrams": ngrams if ngrams > 1 else None}
    adapted = keras.layers.TextVectorization(max_tokens=max_tokens, **settings)
    adapted.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(train_texts, dtype=object)).batch(512))
    # The adapted vocabulary is given to a fresh layer, which keeps it in its config: an adapted layer writes it
    # to a text file, one token per line, that reads back wrongly when a token holds a line separator such as
    # U+0085 (reviews hold some), and model.keras would not load.
    if encoding == "tf_idf":
        settings["idf_weights"] = adapted._lookup_layer.idf_weights.numpy()  # one per word, [UNK] first
    layer = keras.layers.TextVectorization(max_tokens=max_tokens, vocabulary=[str(w) for w in adapted.get_vocabulary()],
                                           name="text_vectorization", **settings)
    inputs = keras.Input(shape=(), dtype="string", name="text")
    return run_in_pipeline(keras.Model(inputs, layer(inputs), name="vectorizer"))


def check_settings(ngrams: int, max_tokens: int, sequence_length: int) -> None:
    """Refuse vectorizer settings that cannot work."""
    if ngrams < 1 or max_tokens < 3 or sequence_length < 1:
        raise DataError(f"task.ngrams must be at least 1, task.max_tokens at least 3 and task.sequence_length at "
                        f"least 1; got {ngrams}, {max_tokens} and {sequence_length}.")


def word_counts(texts: Sequence[str]) -> np.ndarray:
    """Words per text, split on whitespace."""
    return np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))


def text_splits(texts: dict[str, tuple[list[str], np.ndarray]], class_names: list[str], *, encoding: str,
                ngrams: int, max_tokens: int, sequence_length: int, info: dict, warnings: list[str],
                layers: bool = True) -> DataSplits:
    """DataSplits of raw texts (object arrays) and int32 labels from {split: (texts, labels)}, with the
    vectorizer adapted on the training texts (``layers=False``: without it, and without Keras)."""
    arrays = {split: (np.asarray(t, dtype=object), np.asarray(y, dtype=np.int32)) for split, (t, y) in texts.items()}
    x_train, y_train = arrays["train"]
    x_val, y_val = arrays.get("validation", (None, None))
    x_test, y_test = arrays.get("test", (None, None))
    lengths = word_counts(x_train)
    info = {**info, "texts": {split: len(y) for split, (_, y) in arrays.items()}, "encoding": encoding,
            "mean_words": float(lengths.mean()), f"share_longer_than_{sequence_length}_words":
            float(np.mean(lengths > sequence_length))}
    schema = {"kind": "text", "encoding": encoding, "ngrams": ngrams, "max_tokens": max_tokens,
              "sequence_length": sequence_length, "class_names": class_names}
    splits = DataSplits(x_train, y_train, x_test, y_test, info=info, x_val=x_val, y_val=y_val,
                        class_names=class_names, problem="classification", schema=schema, warnings=warnings)
    if layers:
        splits.preprocessing = text_vectorizer(x_train, encoding, ngrams, max_tokens, sequence_length)
        layer = splits.preprocessing.get_layer("text_vectorization")
        info["vocabulary_size"] = int(layer.vocabulary_size())
    return splits


def read_splits(files: dict[str, dict[str, list[Path]]], validation_size: float, test_size: float, seed: int,
                limit: int | None) -> tuple[dict[str, tuple[list[str], np.ndarray]], list[str], list[str]]:
    """({split: (texts, labels)}, class names, warnings) from {split: {class: files}}; a missing validation or
    test split is carved out of train (seeded, stratified)."""
    class_names = sorted(files["train"])
    texts, warnings = {}, []
    for split, classes in files.items():
        paths = [p for c in class_names for p in classes.get(c, [])[:limit]]
        labels = np.asarray([i for i, c in enumerate(class_names) for _ in classes.get(c, [])[:limit]], np.int32)
        read, keep, said = read_texts(paths)
        warnings += [f"{split}: {w}" for w in said]
        texts[split] = (read, labels[keep])
    train_texts, train_labels = texts.pop("train")
    if len(np.unique(train_labels)) < 2:
        raise DataError(f"The training files hold text of one class only ({len(train_texts)} non-empty files): "
                        "classification needs at least two classes with non-empty files.")
    rng = np.random.default_rng(seed)
    for split, size in (("test", test_size), ("validation", validation_size)):
        if split not in texts and size:
            kept, carved = stratified_carve(train_labels, size, rng, split)
            texts[split] = ([train_texts[i] for i in carved], train_labels[carved])
            train_texts, train_labels = [train_texts[i] for i in kept], train_labels[kept]
    texts["train"] = (train_texts, train_labels)
    return texts, class_names, warnings


def _folder(path) -> Path:
    if path in (None, ""):
        raise DataError("task=text_folder needs task.path=DIR, a folder with one subfolder of .txt files per class.")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"task.path '{root}' is not a folder of text files (it does not exist, or is a file).")
    return root


def load_text_folder(path: str | os.PathLike, encoding: str = "auto", ngrams: int = 2, max_tokens: int = 20000,
                     sequence_length: int = 600, classes: Sequence[str] | None = None, validation_size: float = 0.2,
                     test_size: float = 0.2, seed: int = 0, model: str | None = None, limit: int | None = None,
                     layers: bool = True) -> DataSplits:
    """A folder of text files: classes from the sorted subfolder names (or ``classes``), raw texts in, the
    vectorizer of ``encoding`` (``auto``: by what ``model``, a ``model._target_``, reads) adapted on train."""
    root = _folder(path)
    check_settings(ngrams, max_tokens, sequence_length)
    encoding = resolve_encoding(encoding, model)
    texts, class_names, warnings = read_splits(text_files(root, classes), validation_size, test_size, seed, limit)
    return text_splits(texts, class_names, encoding=encoding, ngrams=ngrams, max_tokens=max_tokens,
                       sequence_length=sequence_length, info={"source": "real", "path": str(root)},
                       warnings=warnings, layers=layers)


def describe_text_folder(path=None, classes=None, encoding: str = "auto", model: str | None = None,
                         ngrams: int = 2, max_tokens: int = 20000, sequence_length: int = 600, **_) -> list[str]:
    """What ``dlwp show`` says of the folder (classes and file counts per split, the encoding); ``dlwp run`` calls
    it before making a run folder, so a folder that cannot train, or an encoding the model cannot read, stops
    there."""
    root = _folder(path)
    check_settings(ngrams, max_tokens, sequence_length)
    chosen = resolve_encoding(encoding, model)
    lines = [f"  {split}: " + ", ".join(f"{name} {len(found)}" for name, found in classes_.items())
             for split, classes_ in text_files(root, classes).items()]
    shape = f"{sequence_length} token ids" if chosen == "int" else f"{ngrams}-gram {chosen}, up to {max_tokens}"
    return [*lines, f"  encoding: {shape}"]


load_text_folder.describe = describe_text_folder


def predict_inputs(texts: list[str], run_dir) -> tuple[list[str], np.ndarray]:
    """``dlwp predict`` on a text run: the texts as given, as the raw strings the saved model takes."""
    return list(texts), np.asarray(list(texts), dtype=object)
