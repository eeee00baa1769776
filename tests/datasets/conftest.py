"""Fixtures for the dataset tests: the shared datasets folder and isolated caches.

The shared folder is ``../shared/datasets`` from the repository root, or
``$DLWP_SHARED_DATASETS``. Tests that need a missing file skip, naming it.
Every test gets its own ``DLWP_CACHE_DIR`` and ``KERAS_HOME``; the expensive
IMDB and Reuters builds share one session cache, so each is built once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dlwp_tasks.datasets.base import DataSplits
from dlwp_tasks.datasets.imdb import load_imdb
from dlwp_tasks.datasets.reuters import load_reuters

REPO_ROOT = Path(__file__).resolve().parents[2]


def _shared_root() -> Path:
    return Path(os.environ.get("DLWP_SHARED_DATASETS") or REPO_ROOT.parent / "shared" / "datasets")


def _require(relpath: str) -> Path:
    path = _shared_root() / relpath
    if not path.is_file():
        pytest.skip(f"shared dataset file not found: {path} (set DLWP_SHARED_DATASETS)")
    return path


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The shared datasets folder, or skip naming it."""
    root = _shared_root()
    if not root.is_dir():
        pytest.skip(f"shared datasets folder not found: {root} (set DLWP_SHARED_DATASETS)")
    return root


@pytest.fixture(scope="session")
def require() -> Callable[[str], Path]:
    """``require(relpath)``: the shared file's path, or skip the test naming the file."""
    return _require


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh cache and Keras home per test; no data directory from the environment."""
    monkeypatch.setenv("DLWP_CACHE_DIR", str(tmp_path / "dlwp-cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dlwp-session-cache")


@pytest.fixture
def use_session_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point this test's DLWP_CACHE_DIR at the session cache."""
    monkeypatch.setenv("DLWP_CACHE_DIR", str(session_cache))
    return session_cache


def _build_once(session_cache: Path, load: Callable[..., DataSplits], data_dir: Path) -> DataSplits:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLWP_CACHE_DIR", str(session_cache))
        mp.setenv("KERAS_HOME", str(session_cache / "keras-home"))
        return load(data_dir=data_dir, download=False)


@pytest.fixture(scope="session")
def reuters_splits(shared_datasets: Path, session_cache: Path) -> DataSplits:
    _require("reuters/reuters21578.tar.gz")
    return _build_once(session_cache, load_reuters, shared_datasets)


@pytest.fixture(scope="session")
def imdb_splits(shared_datasets: Path, session_cache: Path) -> DataSplits:
    _require("imdb/aclImdb_labeled.tar.gz")
    _require("imdb/imdb_word_index.json")
    return _build_once(session_cache, load_imdb, shared_datasets)
