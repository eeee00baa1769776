"""Loaders against the shared datasets (skipped when absent) and synthetic fixtures."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli.errors import DataError
from dlwp_tasks.datasets import synthetic
from dlwp_tasks.datasets.base import Sequences
from dlwp_tasks.datasets.boston import KERAS_FILE as boston_file
from dlwp_tasks.datasets.boston import load_boston
from dlwp_tasks.datasets.digits import load_digits
from dlwp_tasks.datasets.imdb import encode_review, load_imdb, load_word_index
from dlwp_tasks.datasets.contract import call_dataset
from dlwp_tasks.datasets.mnist import load_mnist
from dlwp_tasks.datasets.reuters import load_reuters, reuters_label_names
from dlwp_tasks.datasets.text import apply_keras_conventions, rank_by_frequency, tokenize

MNIST_FILES = [
    "mnist/train-images-idx3-ubyte.gz",
    "mnist/train-labels-idx1-ubyte.gz",
    "mnist/t10k-images-idx3-ubyte.gz",
    "mnist/t10k-labels-idx1-ubyte.gz",
]


# --- containers and text helpers -------------------------------------------------------


def test_sequences_round_trip_and_take() -> None:
    lists = [[5, 6, 7], [], [8], [9, 10]]
    seqs = Sequences.from_lists(lists)
    assert len(seqs) == 4 and seqs.values.dtype == np.int32 and seqs.offsets.dtype == np.int64
    assert seqs.to_lists() == lists
    assert seqs.lengths().tolist() == [3, 0, 1, 2]
    assert seqs[-1].tolist() == [9, 10]
    assert seqs.take([3, 0, 3]).to_lists() == [[9, 10], [5, 6, 7], [9, 10]]
    assert seqs.take([]).to_lists() == []
    with pytest.raises(IndexError):
        seqs[4]
    with pytest.raises(ValueError):
        Sequences(np.arange(3), np.array([0, 2]))


def test_tokenize_keeps_apostrophes_and_drops_punctuation() -> None:
    assert tokenize("It's <br />GREAT!\tA\n10/10 -- isn't it?") == [
        "it's", "br", "great", "a", "10", "10", "isn't", "it",
    ]
    assert tokenize("a\xa0b") == ["a\xa0b"]  # only spaces split, as Keras's Tokenizer did


def test_rank_by_frequency_breaks_ties_by_first_occurrence() -> None:
    assert rank_by_frequency([["b", "a", "c"], ["a", "c", "d"]]) == {"a": 1, "c": 2, "b": 3, "d": 4}


def _keras_reference(parts, seed, num_words, skip_top, maxlen):
    """The arithmetic of keras.datasets.imdb.load_data, on plain lists."""
    rng = np.random.RandomState(seed)
    shuffled = []
    for xs, ys in parts:
        order = np.arange(len(xs))
        rng.shuffle(order)
        xs = [[1] + [w + 3 for w in xs[i]] for i in order]
        ys = [ys[i] for i in order]
        if maxlen:
            kept = [(x, y) for x, y in zip(xs, ys) if len(x) < maxlen]
            xs, ys = [x for x, _ in kept], [y for _, y in kept]
        shuffled.append((xs, ys))
    if not num_words:
        num_words = max(max(x) for xs, _ in shuffled for x in xs)
    return [
        ([[w if skip_top <= w < num_words else 2 for w in x] for x in xs], ys)
        for xs, ys in shuffled
    ]


@pytest.mark.parametrize(
    "num_words,skip_top,maxlen", [(None, 0, None), (50, 0, None), (30, 5, 12), (None, 2, 8)]
)
def test_apply_keras_conventions_matches_keras_arithmetic(num_words, skip_top, maxlen) -> None:
    rng = np.random.default_rng(0)
    parts = [
        ([rng.integers(1, 60, size=rng.integers(0, 20)).tolist() for _ in range(n)],
         rng.integers(0, 2, size=n).tolist())
        for n in (40, 30)
    ]
    got = apply_keras_conventions(
        [(Sequences.from_lists(xs), np.asarray(ys)) for xs, ys in parts],
        seed=113, num_words=num_words, skip_top=skip_top, maxlen=maxlen,
    )
    want = _keras_reference(parts, 113, num_words, skip_top, maxlen)
    for (x, y), (xs, ys) in zip(got, want):
        assert x.to_lists() == xs
        assert y.tolist() == ys and y.dtype == np.int64


# --- MNIST -------------------------------------------------------------------------------


def test_mnist_real(shared_datasets: Path, require) -> None:
    for rel in MNIST_FILES:
        require(rel)
    data = load_mnist(data_dir=shared_datasets, download=False)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert data.x_train.dtype == data.y_train.dtype == np.uint8
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(data.y_train)[:3].tolist() == [5923, 6742, 5958]
    assert data.info["source"] == "data_dir"


def _write_idx(path: Path, magic: int, dims: tuple[int, ...], payload: bytes) -> None:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as fh:
        fh.write(header + payload)


def _tiny_mnist(root: Path, n: int = 3) -> None:
    for split in ("train", "t10k"):
        _write_idx(root / f"mnist/{split}-images-idx3-ubyte.gz", 2051, (n, 28, 28), bytes(n * 784))
        _write_idx(root / f"mnist/{split}-labels-idx1-ubyte.gz", 2049, (n,), bytes(range(n)))


def test_mnist_idx_parser_on_synthetic_files(tmp_path: Path) -> None:
    _tiny_mnist(tmp_path)
    data = load_mnist(data_dir=tmp_path, download=False)
    assert data.x_train.shape == (3, 28, 28) and data.y_test.tolist() == [0, 1, 2]


def test_a_valid_file_of_another_version_is_used_with_a_warning(tmp_path: Path) -> None:
    """Files in the right format whose sha256 is not the canonical one: used, named in a warning with their
    hash, and flagged non_canonical in data.files."""
    _tiny_mnist(tmp_path)
    data = load_mnist(data_dir=tmp_path, download=False)
    assert len(data.info["files"]) == 4 and all(f["non_canonical"] for f in data.info["files"])
    labels = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    record = next(f for f in data.info["files"] if f["path"] == str(labels))
    assert record["sha256"] == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert any(str(labels) in w and record["sha256"] in w for w in data.warnings)


def test_canonical_files_carry_no_warning(shared_datasets: Path, require) -> None:
    for rel in MNIST_FILES:
        require(rel)
    data = load_mnist(data_dir=shared_datasets, download=False)
    assert not data.warnings and not any(f["non_canonical"] for f in data.info["files"])


@pytest.mark.parametrize("damage", ["magic", "truncated", "not-gzip"])
def test_mnist_rejects_corrupt_idx(tmp_path: Path, damage: str) -> None:
    _tiny_mnist(tmp_path)
    labels = tmp_path / "mnist/train-labels-idx1-ubyte.gz"
    if damage == "magic":
        _write_idx(labels, 2051, (3,), bytes(3))
    elif damage == "truncated":
        _write_idx(labels, 2049, (3,), bytes(2))
    else:
        labels.write_bytes(b"plain bytes")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        load_mnist(data_dir=tmp_path, download=False)


def test_missing_files_offline_name_file_and_settings(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_mnist(data_dir=tmp_path, download=False)
    message = str(err.value)
    for part in ("mnist/train-images-idx3-ubyte.gz", "mnist.npz", str(tmp_path),
                 "DLWP_DATA_DIR", "data_dir", "download=false", "keras-home"):
        assert part in message
    with pytest.raises(DataError, match="none is set.*DLWP_DATA_DIR"):
        load_imdb(download=False)


def _fake_keras(get_file) -> types.SimpleNamespace:
    """A stand-in ``keras`` module whose ``utils.get_file`` is ``get_file`` (no network, no TF)."""
    return types.SimpleNamespace(utils=types.SimpleNamespace(get_file=get_file))


def test_failed_download_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(fname, origin, file_hash, cache_dir):
        raise OSError("Name or service not known")

    monkeypatch.setitem(sys.modules, "keras", _fake_keras(offline))
    with pytest.raises(DataError, match="boston_housing.npz failed: Name or service not known"):
        load_boston(download=True)


def test_download_path_uses_get_file_with_keras_hash(
    require, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = require("boston/boston_housing.npz")

    def fake_get_file(fname, origin, file_hash, cache_dir):
        assert (fname, file_hash) == ("boston_housing.npz", boston_file.sha256)
        assert origin.endswith("/tf-keras-datasets/boston_housing.npz")
        target = Path(cache_dir) / "datasets" / fname
        target.parent.mkdir(parents=True)
        return shutil.copy(source, target)

    monkeypatch.setitem(sys.modules, "keras", _fake_keras(fake_get_file))
    data = load_boston(download=True)
    assert data.info["source"] == "download" and len(data.y_train) == 404


# --- Boston ------------------------------------------------------------------------------


def test_boston_real_via_env_data_dir(
    shared_datasets: Path, require, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("boston/boston_housing.npz")
    monkeypatch.setenv("DLWP_DATA_DIR", str(shared_datasets))
    data = load_boston(download=False)
    assert data.x_train.shape == (404, 13) and data.x_test.shape == (102, 13)
    assert data.x_train.dtype == data.y_train.dtype == np.float64
    np.testing.assert_allclose(data.y_train[:3], [15.2, 42.3, 50.0])
    np.testing.assert_allclose(data.y_train[-3:], [19.4, 19.4, 29.1])
    np.testing.assert_allclose(data.x_train[0][:3], [1.23247, 0.0, 8.14])
    assert data.info["source"] == "data_dir"


def test_boston_from_the_keras_cache(require, tmp_path: Path) -> None:
    keras_datasets = tmp_path / "keras-home" / "datasets"  # KERAS_HOME from the conftest
    keras_datasets.mkdir(parents=True)
    shutil.copy(require("boston/boston_housing.npz"), keras_datasets)
    data = load_boston(download=False)
    assert data.info["source"] == "keras-cache" and len(data.y_test) == 102


# --- Reuters -----------------------------------------------------------------------------


def test_reuters_rebuild(reuters_splits) -> None:
    data = reuters_splits
    assert isinstance(data.x_train, Sequences)
    assert (len(data.x_train), len(data.x_test)) == (8982, 2246)
    assert data.y_train.dtype == np.int64 and set(np.unique(data.y_train)) == set(range(46))
    assert data.y_train[0] == 3 and data.y_train[10] == 3
    assert len(data.x_train[10]) == 31
    assert data.x_train[10][:7].tolist() == [1, 245, 273, 207, 156, 53, 74]
    for x in (data.x_train, data.x_test):
        assert x.values.max() < 10000 and np.all(x.values[x.offsets[:-1]] == 1)


def test_reuters_label_names(reuters_splits, shared_datasets: Path, use_session_cache) -> None:
    names = reuters_label_names(data_dir=shared_datasets)
    assert len(names) == 46 and names[:5] == ["cocoa", "grain", "veg-oil", "earn", "acq"]


def test_reuters_options(reuters_splits, shared_datasets: Path, use_session_cache) -> None:
    data = load_reuters(
        data_dir=shared_datasets, download=False,
        num_words=None, maxlen=100, skip_top=10, test_split=0.5,
    )
    lengths = np.concatenate([data.x_train.lengths(), data.x_test.lengths()])
    assert lengths.max() < 100 and abs(len(data.x_train) - len(data.x_test)) <= 1
    assert data.x_train.values.min() == 2  # start_char 1 and ids below 10 became OOV


# --- IMDB --------------------------------------------------------------------------------


def _read_review(archive: Path, name: str) -> str:
    with tarfile.open(archive, "r|gz") as tar:
        for member in tar:
            if member.name == name:
                return tar.extractfile(member).read().decode("utf-8")
    raise AssertionError(f"{name} not in {archive}")


def test_imdb_counts_and_labels(imdb_splits) -> None:
    data = imdb_splits
    assert (len(data.x_train), len(data.x_test)) == (25000, 25000)
    assert data.y_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [12500, 12500]
    assert np.bincount(data.y_test).tolist() == [12500, 12500]
    for x in (data.x_train, data.x_test):
        assert x.values.max() < 10000 and np.all(x.values[x.offsets[:-1]] == 1)


def test_imdb_encodes_576_10_like_the_book(imdb_splits, require) -> None:
    archive = require("imdb/aclImdb_labeled.tar.gz")
    word_index = load_word_index(require("imdb/imdb_word_index.json"))
    ids = [1] + [rank + 3 for rank in encode_review(_read_review(archive, "aclImdb/train/pos/576_10.txt"), word_index)]
    assert len(ids) == 218
    assert ids[:12] == [1, 14, 22, 16, 43, 530, 973, 1622, 1385, 65, 458, 4468]
    book_form = [i if i < 10000 else 2 for i in ids]
    # Sorted names, pos then neg, and Keras's shuffle put this review first, as in the book.
    assert imdb_splits.x_train[0].tolist() == book_form and imdb_splits.y_train[0] == 1


# --- digits, synthetic, registry ---------------------------------------------------------


def test_digits_stratified_and_deterministic() -> None:
    data = load_digits()
    assert data.x_train.shape == (1347, 8, 8) and data.x_test.shape == (450, 8, 8)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    per_class = np.bincount(np.concatenate([data.y_train, data.y_test]))
    assert np.abs(np.bincount(data.y_test) - 0.25 * per_class).max() <= 1  # stratified
    np.testing.assert_array_equal(load_digits().y_train, data.y_train)


SYNTHETIC = {"mnist": synthetic.mnist_like, "boston": synthetic.boston_like, "digits": synthetic.digits_like,
             "imdb": lambda **kw: synthetic.word_ids_like(num_classes=2, **kw),
             "reuters": lambda **kw: synthetic.word_ids_like(num_classes=46, **kw)}


@pytest.mark.parametrize(
    "kind,x_shape,x_dtype,y_dtype,classes",
    [
        ("mnist", (28, 28), np.uint8, np.uint8, 10),
        ("boston", (13,), np.float64, np.float64, None),
        ("digits", (8, 8), np.float32, np.int64, 10),
        ("imdb", None, np.int32, np.int64, 2),
        ("reuters", None, np.int32, np.int64, 46),
    ],
)
def test_synthetic_like_matches_real_shapes(kind, x_shape, x_dtype, y_dtype, classes) -> None:
    data = SYNTHETIC[kind](n_train=50, n_test=20, seed=1)
    assert (len(data.x_train), len(data.x_test), len(data.y_train), len(data.y_test)) == (50, 20, 50, 20)
    if x_shape is None:
        x = data.x_train
        assert isinstance(x, Sequences) and x.values.dtype == x_dtype
        assert np.all(x.values[x.offsets[:-1]] == 1) and x.values.max() < 10000
        assert 20 <= x.lengths().min() and x.lengths().max() <= 200
    else:
        assert data.x_train.shape[1:] == x_shape and data.x_train.dtype == x_dtype
    assert data.y_train.dtype == y_dtype
    if classes:
        assert set(np.unique(np.concatenate([data.y_train, data.y_test]))) <= set(range(classes))
    else:
        assert 5 <= data.y_train.min() and data.y_train.max() <= 50
    again = SYNTHETIC[kind](n_train=50, n_test=20, seed=1)
    np.testing.assert_array_equal(again.y_train, data.y_train)


def test_dataset_contract_errors_and_context_arguments(tmp_path) -> None:
    with pytest.raises(DataError, match="'dlwp_tasks.datasets.cifar10.load' cannot be imported"):
        call_dataset({"_target_": "dlwp_tasks.datasets.cifar10.load"})
    with pytest.raises(DataError, match="does not take n_train; it takes: maxlen, num_words"):
        call_dataset({"_target_": "dlwp_tasks.datasets.imdb.load_imdb", "n_train": 5}, data_dir="/nowhere")
    # Context arguments go only where the signature names them: word_ids_like takes seed, not data_dir.
    data = call_dataset({"_target_": "dlwp_tasks.datasets.synthetic.word_ids_like", "num_words": 500,
                         "n_train": 8, "n_test": 4}, seed=3, data_dir="/nowhere", download=False)
    assert len(data.x_train) == 8 and data.x_train.values.max() < 500 and data.info["seed"] == 3
    # Keras's nested-tuple return form is accepted.
    module = tmp_path / "keras_style_data.py"
    module.write_text("import numpy as np\n"
                      "def load(n=6):\n"
                      "    x = np.arange(n * 2, dtype='float32').reshape(n, 2)\n"
                      "    return (x, np.zeros(n)), (x[:2], np.ones(2))\n")
    import sys
    sys.path.insert(0, str(tmp_path))
    try:
        data = call_dataset({"_target_": "keras_style_data.load", "n": 4})
    finally:
        sys.path.remove(str(tmp_path))
    assert data.x_train.shape == (4, 2) and list(data.y_test) == [1.0, 1.0]


def test_importing_the_datasets_package_stays_light() -> None:
    modules = ["contract", "base", "cache", "text", "synthetic", "mnist", "boston", "imdb", "reuters", "digits"]
    code = (
        "import sys\n"
        + "".join(f"import dlwp_tasks.datasets.{m}\n" for m in modules)
        + "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'sklearn'})\n"
        + "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
