"""Shared fixtures: an isolated cache and working directory, and the shared datasets folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("DLWP_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dlwp-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, session_cache):
    """Tests never download, and keep derived data in a per-session cache."""
    monkeypatch.setenv("DLWP_CACHE_DIR", str(session_cache))
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)


def shared_file(relpath: str) -> Path:
    """A file of the shared datasets folder, or skip the test naming what is missing."""
    path = SHARED_DATASETS / relpath
    if not path.is_file():
        pytest.skip(f"shared dataset file missing: {path}")
    return path
