"""Shared fixtures: an isolated dataset cache, and no downloads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dlwp-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, session_cache):
    """Tests never download, and keep derived data in a per-session cache."""
    monkeypatch.setenv("DLWP_CACHE_DIR", str(session_cache))
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)
