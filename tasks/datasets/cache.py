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


def file_record(path: str | os.PathLike, expected_sha256: str) -> dict:
    """What ``data.files`` records of a file: its path, its sha256, and whether that differs from the
    canonical file's (a different version or a local edit: used as it is, with a warning)."""
    actual = sha256_of(path)
    return {"path": str(path), "sha256": actual, "non_canonical": actual != expected_sha256}


def non_canonical_warnings(title: str, records: list[dict]) -> list[str]:
    """One warning per non-canonical file, naming it and its hash."""
    return [f"{title}: {r['path']} is not the canonical file (its sha256 is {r['sha256']}); it is used as it "
            "is, and data.files in metrics.json marks it non_canonical." for r in records if r["non_canonical"]]


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
    key_dir: str | os.PathLike, name: str, build_fn: Callable[[], dict[str, np.ndarray]], version: int
) -> dict[str, np.ndarray]:
    """Load ``<key_dir>/<name>-v<version>.npz``, or build it with ``build_fn`` and save it atomically.

    ``key_dir`` is keyed by the source files' hashes and ``version`` is the parser's: bump it whenever
    ``build_fn`` changes what it builds, so no stale arrays are reused. An unreadable cache file is rebuilt.
    Arrays must not need pickling.
    """
    key_dir = Path(key_dir)
    path = key_dir / f"{name}-v{version}.npz"
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
