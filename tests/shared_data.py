"""Where the tests find the shared copies of the book's datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("DLWP_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def shared_file(relpath: str) -> Path:
    """A file of the shared datasets folder, or skip the test naming what is missing."""
    path = SHARED_DATASETS / relpath
    if not path.is_file():
        pytest.skip(f"shared dataset file missing: {path}")
    return path
