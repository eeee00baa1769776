"""Sentence pairs for translation (§11.5): the book's English-Spanish file (``task=spa_eng``), or any UTF-8 file
of ``source<TAB>target`` lines (``task=text_pairs task.path=FILE``).

The recipe is the book's (listings 11.26-11.27): each target sentence becomes ``[start] ... [end]``; the pairs
are shuffled (``random.Random(split_seed)``: the book's shuffle is unseeded) and split into training,
validation and test blocks (``int(0.15 * N)`` each for the last two: 83,276 / 17,844 / 17,844 for spa-eng);
``max_pairs`` keeps the first training pairs only. Both vocabularies (``vocab_size`` tokens each) are adapted
on the training pairs, and every split is vectorised once: source ids ``sequence_length`` long, target ids one
longer, so the decoder reads ``target[:-1]`` and learns ``target[1:]``.

The splits are unbatched ``tf.data.Dataset``s of ``({source_name: ids, target_name: ids}, next_ids)``. The
raw pairs and the ids stay on the :class:`PairSplits` for the run's reports; the vocabularies go to the run's
``schema.json``, which ``dlwp predict`` reads.

Lines: blank lines are skipped; a column after the second (Anki's attribution) is ignored; a line with no tab
or an empty side is malformed: skipped with a warning naming its line number, and more than
:data:`MAX_MALFORMED` of them stop the run (the file is probably not a pairs file).
"""

from __future__ import annotations

import os
import random
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, KerasFile, fetch_keras_file
from .cache import dataset_cache_dir, file_record, non_canonical_warnings, sha256_of

TITLE = "English-Spanish sentence pairs (spa-eng)"
ORIGIN = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
MEMBER = "spa-eng/spa.txt"
SPLIT_SEED = 1337
MAX_MALFORMED = 0.01        # share of the non-blank lines that may be malformed (skipped) before the run stops
SHOWN_LINES = 10            # malformed line numbers a message names


@dataclass(frozen=True)
class _SpaEngZip(KerasFile):
    """The book's archive: found in the data directory or Keras's cache, else downloaded from its own origin."""

    @property
    def origin(self) -> str:
        return ORIGIN


SPA_ENG_ZIP = _SpaEngZip("spa-eng.zip", "0c4fd7825d3d872488d38c157f784e035edab4f2ff0df25a2a208790ecb5b58f",
                         "spa_eng")


@dataclass(eq=False)
class PairSplits(DataSplits):
    """:class:`DataSplits` of a translation task, with each split's raw ``(source, target)`` pairs and ids
    (``(source_ids, target_ids)``, the target's one longer) for the reports that decode and score them."""

    texts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    ids: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def codec(self):
        from dlwp_tasks.translation.codec import PairCodec

        return PairCodec.from_schema(self.schema)


# ----------------------------------------------------------------------------- reading

@dataclass
class PairFile:
    """A pairs file read: the pairs, the (1-based) line of each, and the malformed and undecodable lines."""

    path: Path
    pairs: list[tuple[str, str]]
    lines: list[int]
    malformed: list[int]
    undecodable: list[int]

    @property
    def counted(self) -> int:
        """Non-blank lines: the pairs and the malformed lines."""
        return len(self.pairs) + len(self.malformed)


def _numbers(lines: list[int]) -> str:
    """``line 7`` or ``lines 3, 9, ...`` (the first :data:`SHOWN_LINES`, then how many more)."""
    shown = ", ".join(map(str, lines[:SHOWN_LINES]))
    more = f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def read_pair_file(path: str | os.PathLike) -> PairFile:
    """The ``source<TAB>target`` lines of a file (see the module docstring); DataError for a missing, empty or
    mostly malformed file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"Sentence pairs: {path} does not exist or is not a file. Give a UTF-8 text file of "
                        "'source<TAB>target' lines with task.path=FILE.")
    pairs, lines, malformed, undecodable = [], [], [], []
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("utf-8", errors="replace")
            undecodable.append(number)
        line = line.rstrip("\r")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2 or not columns[0].strip() or not columns[1].strip():
            malformed.append(number)
            continue
        pairs.append((columns[0].strip(), columns[1].strip()))
        lines.append(number)
    found = PairFile(path, pairs, lines, malformed, undecodable)
    _check_malformed(found)
    return found


def _check_malformed(found: PairFile) -> None:
    if found.counted == 0:
        raise DataError(f"Sentence pairs: {found.path} holds no lines. Give a file of 'source<TAB>target' lines, "
                        "one pair per line.")
    share = len(found.malformed) / found.counted
    if share > MAX_MALFORMED:
        raise DataError(
            f"Sentence pairs: {len(found.malformed)} of the {found.counted} lines of {found.path} ({share:.1%}) are "
            f"not 'source<TAB>target' pairs (no tab, or an empty side): {_numbers(found.malformed)}. More "
            f"than {MAX_MALFORMED:.0%} malformed lines means the file is probably not a pairs file, or separates "
            "its columns with something other than a tab. Fix or remove those lines, then run again.")


def pair_warnings(found: PairFile) -> list[str]:
    """Warnings for the skipped malformed lines and the lines that were not valid UTF-8."""
    warnings = []
    if found.malformed:
        warnings.append(f"{found.path.name}: {len(found.malformed)} malformed line(s) skipped (no tab, or an empty "
                        f"side): {_numbers(found.malformed)}.")
    if found.undecodable:
        warnings.append(f"{found.path.name}: {len(found.undecodable)} line(s) are not valid UTF-8 and were read with "
                        f"replacement characters: {_numbers(found.undecodable)}.")
    return warnings


def split_pairs(pairs: list, validation_size: float, test_size: float, seed: int) -> dict[str, list]:
    """The book's split: shuffle with ``random.Random(seed)``, then the training block, ``int(validation_size
    * N)`` validation pairs and ``int(test_size * N)`` test pairs, in that order."""
    for name, share in (("validation_size", validation_size), ("test_size", test_size)):
        if not 0 <= share < 1:
            raise DataError(f"Sentence pairs: task.{name}={share} is not a fraction in [0, 1) of the pairs.")
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    n = len(shuffled)
    n_val, n_test = int(validation_size * n), int(test_size * n)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataError(f"Sentence pairs: {n} pairs leave no training pairs after the validation and test splits; "
                        "add pairs, or lower task.validation_size and task.test_size.")
    return {"train": shuffled[:n_train], "validation": shuffled[n_train : n_train + n_val],
            "test": shuffled[n_train + n_val :]}


# ----------------------------------------------------------------------------- splits

def pair_splits(texts: dict[str, list[tuple[str, str]]], codec, source_name: str, target_name: str,
                info: dict, warnings: list[str], schema: dict) -> PairSplits:
    """Vectorise every split with ``codec`` into unbatched datasets of ``(inputs, next target ids)``."""
    import tensorflow as tf

    from dlwp_tasks.translation.codec import wrap_target

    if source_name == target_name:
        raise DataError(f"Sentence pairs: the source and target inputs need two names, both are '{source_name}' "
                        "(task.source_name, task.target_name).")
    ids = {split: (codec.source_ids([s for s, _ in pairs]), codec.target_ids([wrap_target(t) for _, t in pairs]))
           for split, pairs in texts.items()}

    def dataset(split: str):
        source, target = ids[split]
        if not len(source):
            return None
        return tf.data.Dataset.from_tensor_slices(({source_name: source, target_name: target[:, :-1]}, target[:, 1:]))

    schema = {"task": "translation", "source_name": source_name, "target_name": target_name, **schema,
              "pairs": {split: len(pairs) for split, pairs in texts.items()}, **codec.to_schema()}
    return PairSplits(dataset("train"), None, dataset("test"), None, x_val=dataset("validation"), info=info,
                      schema=schema, warnings=warnings, texts=texts, ids=ids)


def vectorised_pairs(texts: dict[str, list[tuple[str, str]]], vocab_size: int, sequence_length: int, **rest
                     ) -> PairSplits:
    """:func:`pair_splits` with both vocabularies adapted on the training pairs."""
    from dlwp_tasks.translation.codec import PairCodec, adapted_vocabulary, wrap_target

    train = texts["train"]
    codec = PairCodec(adapted_vocabulary([s for s, _ in train], vocab_size, target=False),
                      adapted_vocabulary([wrap_target(t) for _, t in train], vocab_size, target=True),
                      sequence_length, vocab_size)
    return pair_splits(texts, codec, **rest)


def _check_sizes(vocab_size: int, sequence_length: int, max_pairs: int | None) -> None:
    if vocab_size < 4:
        raise DataError(f"Sentence pairs: task.vocab_size={vocab_size} is too small; it counts the padding, "
                        "[UNK], [start] and [end] tokens (the book uses 15000).")
    if sequence_length < 1:
        raise DataError(f"Sentence pairs: task.sequence_length={sequence_length} must be at least 1 (the book: 20).")
    if max_pairs is not None and max_pairs < 1:
        raise DataError(f"Sentence pairs: task.max_pairs={max_pairs} must be at least 1, or null for all pairs.")


def _subset(texts: dict[str, list], max_pairs: int | None, limit: int | None) -> dict[str, list]:
    if max_pairs is not None:
        texts = {**texts, "train": texts["train"][:max_pairs]}
    if limit is not None:
        texts = {split: pairs[:limit] for split, pairs in texts.items()}
    return texts


def load_text_pairs(path: str, source_name: str = "source", target_name: str = "target", vocab_size: int = 15000,
                    sequence_length: int = 20, max_pairs: int | None = None, validation_size: float = 0.15,
                    test_size: float = 0.15, split_seed: int = SPLIT_SEED, limit: int | None = None) -> PairSplits:
    """A file of ``source<TAB>target`` lines as translation splits (see the module docstring). ``limit``: at
    most this many pairs per split (smoke runs)."""
    if path is None or not str(path).strip():
        raise DataError("No sentence-pairs file given: set task.path to a file of 'source<TAB>target' lines.")
    _check_sizes(vocab_size, sequence_length, max_pairs)
    found = read_pair_file(path)
    texts = _subset(split_pairs(found.pairs, validation_size, test_size, split_seed), max_pairs, limit)
    info = {"source": "real", "files": [{"path": str(found.path), "sha256": sha256_of(found.path)}],
            "malformed_lines": len(found.malformed)}
    return vectorised_pairs(texts, vocab_size, sequence_length, source_name=source_name, target_name=target_name,
                            info=info, warnings=pair_warnings(found), schema={"file": str(found.path)})


def describe_text_pairs(path: str, max_pairs: int | None = None, validation_size: float = 0.15,
                        test_size: float = 0.15, split_seed: int = SPLIT_SEED, **_) -> list[str]:
    """``dlwp show``'s lines for a pairs file (read without Keras): the pairs per split, and the warnings. A
    mostly malformed file stops here, before any run folder is made."""
    found = read_pair_file(path)
    texts = _subset(split_pairs(found.pairs, validation_size, test_size, split_seed), max_pairs, None)
    lines = [f"pairs: {len(texts['train'])} train, {len(texts['validation'])} validation, {len(texts['test'])} test"
             + (f" (first {max_pairs} training pairs kept)" if max_pairs is not None else "")]
    return lines + [f"warning: {warning}" for warning in pair_warnings(found)]


load_text_pairs.describe = describe_text_pairs


# ----------------------------------------------------------------------------- spa-eng

def spa_eng_file(data_dir: str | None, download: bool) -> tuple[Path, dict, list[str]]:
    """``spa.txt`` extracted from the book's ``spa-eng.zip`` (data directory, Keras cache or download) into the
    dlwp cache: (its path, the archive's record for metrics.json, warnings)."""
    archive, _ = fetch_keras_file(TITLE, SPA_ENG_ZIP, [f"{SPA_ENG_ZIP.folder}/{SPA_ENG_ZIP.fname}"], data_dir,
                                  download)
    record = file_record(archive, SPA_ENG_ZIP.sha256)
    target = dataset_cache_dir("spa_eng", record["sha256"]) / "spa.txt"
    if not target.is_file():
        _extract_member(archive, MEMBER, target)
    return target, record, non_canonical_warnings(TITLE, [record])


def _extract_member(archive: Path, member: str, target: Path) -> None:
    """One member of a zip archive written atomically to ``target``."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            data = zipped.read(member)
    except KeyError:
        raise DataError(f"{TITLE}: {archive} holds no {member}. Replace it with the book's spa-eng.zip "
                        f"({ORIGIN}).") from None
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"{TITLE}: {archive} cannot be read as a zip archive ({err}). Replace it with the book's "
                        f"spa-eng.zip ({ORIGIN}).") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".spa-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_spa_eng(data_dir: str | None = None, download: bool = True, source_name: str = "english",
                 target_name: str = "spanish", vocab_size: int = 15000, sequence_length: int = 20,
                 max_pairs: int | None = None, validation_size: float = 0.15, test_size: float = 0.15,
                 split_seed: int = SPLIT_SEED) -> PairSplits:
    """The book's English-Spanish pairs (the archive as :func:`spa_eng_file` finds it), split and vectorised
    as :func:`load_text_pairs` does."""
    text_file, record, warnings = spa_eng_file(data_dir, download)
    _check_sizes(vocab_size, sequence_length, max_pairs)
    found = read_pair_file(text_file)
    texts = _subset(split_pairs(found.pairs, validation_size, test_size, split_seed), max_pairs, None)
    info = {"source": "real", "files": [record], "malformed_lines": len(found.malformed)}
    return vectorised_pairs(texts, vocab_size, sequence_length, source_name=source_name, target_name=target_name,
                            info=info, warnings=warnings + pair_warnings(found), schema={"file": MEMBER})


# ----------------------------------------------------------------------------- synthetic

def synthetic_pairs(n_train: int = 16, n_val: int = 8, n_test: int = 8, source_name: str = "english",
                    target_name: str = "spanish", vocab_size: int = 15000, sequence_length: int = 20,
                    seed: int = 0) -> PairSplits:
    """Random sentence pairs over made-up vocabularies of exactly ``vocab_size`` tokens each (so smoke runs
    have the real shapes), 3 to ``sequence_length - 2`` words long."""
    from dlwp_tasks.translation.codec import END, OOV, PADDING, START, PairCodec

    rng = np.random.default_rng(seed)
    source_words = [f"s{i}" for i in range(vocab_size - 2)]
    target_words = [f"t{i}" for i in range(vocab_size - 4)]
    codec = PairCodec([PADDING, OOV, *source_words], [PADDING, OOV, START, END, *target_words], sequence_length,
                      vocab_size)
    longest = max(3, sequence_length - 2)

    def sentence(words: list[str]) -> str:
        return " ".join(words[i] for i in rng.integers(0, min(len(words), 200), rng.integers(3, longest + 1)))

    texts = {split: [(sentence(source_words), sentence(target_words)) for _ in range(n)]
             for split, n in (("train", n_train), ("validation", n_val), ("test", n_test))}
    return pair_splits(texts, codec, source_name, target_name, info={"source": "synthetic"}, warnings=[],
                       schema={"file": None})
