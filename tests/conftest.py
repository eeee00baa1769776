"""Shared fixtures: an isolated dataset cache, and no downloads."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CHECKOUT = Path(__file__).resolve().parents[1]
PACKAGES = {"dlwp_cli": "dlwp_cli", "dlwp_tasks": "tasks", "dlwp_conf": "conf"}  # import name -> folder


def _use_the_checkout() -> Path:
    """Make this checkout's packages the ones imported, here and in every subprocess (PYTHONPATH), whatever
    copy is installed: a folder of links named as the packages are imported, first on the path."""
    links = Path(tempfile.mkdtemp(prefix="dlwp-checkout-"))
    atexit.register(shutil.rmtree, links, ignore_errors=True)
    for name, folder in PACKAGES.items():
        (links / name).symlink_to(CHECKOUT / folder, target_is_directory=True)
    sys.path.insert(0, str(links))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(links), os.environ.get("PYTHONPATH")]))
    return links


CHECKOUT_LINKS = _use_the_checkout()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dlwp-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, session_cache):
    """Tests never download, and keep derived data in a per-session cache."""
    monkeypatch.setenv("DLWP_CACHE_DIR", str(session_cache))
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)
