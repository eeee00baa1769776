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


# Test scopes (a module, or a class in one) that take longest, slowest first, by measured time on two cores.
# pytest-xdist hands out whole scopes (--dist loadscope) in collection order (--no-loadscope-reorder): starting
# the long ones first leaves short ones to fill the end, so no worker waits idle on another's last long test.
# A scope missing here only runs later; the order never changes what a test checks.
SLOWEST_SCOPES = (
    "tests/test_smoke.py::TestChapters10And11",
    "tests/test_distributed.py",
    "tests/test_smoke.py::TestChapters8And9",
    "tests/test_sweeps.py",
    "tests/test_smoke.py::TestChapters12To14",
    "tests/test_cli.py",
    "tests/test_smoke.py::TestChapters2To7",
    "tests/test_resilience.py",
    "tests/test_examples.py",
    "tests/test_keras_apis.py",
    "tests/test_pipeline.py",
    "tests/test_tune.py",
    "tests/test_backbones.py",
    "tests/test_loops.py",
    "tests/test_export.py",
    "tests/test_text.py",
    "tests/test_translation.py",
    "tests/test_viz.py",
    "tests/test_generative.py",
    "tests/test_csv_task.py",
)


def scope_rank(nodeid: str) -> int:
    scope = nodeid.rsplit("::", 1)[0]  # as pytest-xdist's loadscope groups tests
    return next((rank for rank, slow in enumerate(SLOWEST_SCOPES) if scope == slow), len(SLOWEST_SCOPES))


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: scope_rank(item.nodeid))  # stable: tests keep their order within a scope
