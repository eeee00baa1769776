"""Checksums, safe extraction and the on-disk cache of derived arrays.

The cache root is ``$DLWP_CACHE_DIR``, else ``$XDG_CACHE_HOME/dlwp``, else
``~/.cache/dlwp``. Entries live under ``<root>/<dataset>/<sha256[:16]>/``, keyed
by the source file's hash, so a stale entry is never reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dlwp_tasks.errors import DataError

ENV_CACHE_DIR = "DLWP_CACHE_DIR"

# Public sha256 checksums of the canonical files, as in the shared folder's SHA256SUMS.
KNOWN_SHA256 = {
    "boston/boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    "cats_vs_dogs/dogs_vs_cats_first2500_200px.tar": "1a34ffccf3d74c34c6044ebdabbf6b2c0f1869aa12ee057156cfb3a92a2ebafd",
    "celeba/img_align_celeba_first32.tar": "1cad397873e1795f07d4fec1fd89c043ceb4c81e4f6cbef663699ad35c97f3ee",
    "imdb/aclImdb_labeled.tar.gz": "b7666e167690cd4b615a5a720fa5062cd886ff1ca9762da660d09597e1122678",
    "imdb/imdb_word_index.json": "027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6",
    "mnist/t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "mnist/t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
    "mnist/train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "mnist/train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "oxford_pets/oxford_pets_3breeds_60.tar.gz": "9e2a5cfae99cd81a4c7a7617c3adac86a76976fd8dbed1bf68ab870100bca013",
    "reuters/reuters21578.tar.gz": "006ad520a6d911d0c88ed32daa374858c21debcc67329d3ffdbb0a1cd4098d12",
    "spa_eng/spa-eng.zip": "0c4fd7825d3d872488d38c157f784e035edab4f2ff0df25a2a208790ecb5b58f",
}

_SHA256_MEMO: dict[tuple[str, int, int], str] = {}


def cache_root() -> Path:
    """Root folder of the dlwp cache (not created here)."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "dlwp"


def dataset_cache_dir(dataset: str, sha256: str) -> Path:
    """``<cache root>/<dataset>/<sha256[:16]>`` (not created here)."""
    return cache_root() / dataset / sha256[:16]


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, streamed; memoized per (path, size, mtime) in this process."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256_MEMO:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _SHA256_MEMO[key] = digest.hexdigest()
    return _SHA256_MEMO[key]


def verify(path: str | os.PathLike, expected_sha256: str, name: str) -> str:
    """Return the file's sha256, or raise DataError when it differs from ``expected_sha256``."""
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise DataError(
            f"{name}: {path} has sha256 {actual}, but {expected_sha256} was expected, so the "
            "file is corrupt, truncated or a different version. Replace it with the canonical "
            "file, or point the data_dir setting (or DLWP_DATA_DIR) at a good copy."
        )
    return actual


def extract_tar_safely(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract ``archive`` into ``dest`` (e.g. ``dataset_cache_dir(...)``) and return ``dest``.

    Members are checked by tarfile's ``data`` filter, which rejects absolute
    links, ``..`` paths and links leading outside. Extraction goes to a temporary
    sibling folder that is renamed into place, so ``dest`` is complete or absent.
    An existing ``dest`` is reused as it is.
    """
    dest = Path(dest)
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        os.rename(tmp, dest)
    except (tarfile.TarError, OSError, EOFError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if dest.is_dir():  # another process finished the same extraction first
            return dest
        raise DataError(
            f"cannot extract {archive} into {dest}: {exc}. The archive is corrupt or holds "
            "unsafe members (absolute paths, '..' or links leading outside); replace it with "
            "the canonical file, or point data_dir (or DLWP_DATA_DIR) at a good copy."
        ) from exc
    return dest


def cached_arrays(
    key_dir: str | os.PathLike, name: str, build_fn: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Load ``<key_dir>/<name>.npz``, or build it with ``build_fn`` and save it atomically.

    An unreadable cache file is rebuilt. Arrays must not need pickling.
    """
    key_dir = Path(key_dir)
    path = key_dir / f"{name}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass
    arrays = build_fn()
    key_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".npz.tmp", dir=key_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return arrays
