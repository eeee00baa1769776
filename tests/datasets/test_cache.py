"""Checksums, safe extraction and the array cache."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli.errors import DataError
from dlwp_tasks.datasets import boston, imdb, mnist, reuters
from dlwp_tasks.datasets.boston import load_boston
from dlwp_tasks.datasets.cache import (
    cache_root,
    cached_arrays,
    extract_tar_safely,
    sha256_of,
    verify,
)


def test_cache_root_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DLWP_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_root() == tmp_path / "explicit"
    monkeypatch.delenv("DLWP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "dlwp"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "dlwp"


def test_sha256_of_streams_and_notices_changes(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_of(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()
    path.write_bytes(b"changed")
    assert sha256_of(path) == hashlib.sha256(b"changed").hexdigest()


def test_verify_rejects_a_tampered_file(tmp_path: Path) -> None:
    path = tmp_path / "boston_housing.npz"
    path.write_bytes(b"not the real file")
    with pytest.raises(DataError, match="sha256") as err:
        verify(path, boston.KERAS_FILE.sha256, "Boston housing")
    assert str(path) in str(err.value) and "data_dir" in str(err.value)


def test_loader_rejects_a_tampered_data_dir_file(tmp_path: Path) -> None:
    (tmp_path / "boston").mkdir()
    (tmp_path / "boston" / "boston_housing.npz").write_bytes(b"tampered")
    with pytest.raises(DataError, match="f553886a1f8d5643"):
        load_boston(data_dir=tmp_path, download=False)


def test_known_checksums_match_sha256sums(shared_datasets: Path, require) -> None:
    sums = require("SHA256SUMS").read_text().split("\n")
    listed = {line.split()[1].removeprefix("./"): line.split()[0] for line in sums if line.strip()}
    declared = {**imdb.SHA256, **reuters.SHA256, **mnist.SHA256,
                f"{boston.KERAS_FILE.folder}/{boston.KERAS_FILE.fname}": boston.KERAS_FILE.sha256}
    assert {rel: listed.get(rel) for rel in declared} == declared  # each loader's own sums are the canonical ones


def _tar_with(path: Path, members: list[tarfile.TarInfo], payload: bytes = b"hello") -> None:
    with tarfile.open(path, "w") as tar:
        for info in members:
            if info.isfile():
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)


def test_extract_tar_safely_extracts_once(tmp_path: Path) -> None:
    archive = tmp_path / "ok.tar"
    _tar_with(archive, [tarfile.TarInfo("data/a.txt")])
    dest = tmp_path / "cache" / "toy" / sha256_of(archive)[:16]
    assert extract_tar_safely(archive, dest) == dest
    assert (dest / "data" / "a.txt").read_bytes() == b"hello"
    (dest / "data" / "a.txt").write_bytes(b"kept")
    extract_tar_safely(archive, dest)  # an existing extraction is reused
    assert (dest / "data" / "a.txt").read_bytes() == b"kept"
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]


@pytest.mark.parametrize("kind", ["dotdot", "absolute-link", "link-outside"])
def test_extract_tar_safely_rejects_escapes(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / "evil.tar"
    if kind == "dotdot":
        member = tarfile.TarInfo("../escaped.txt")
    else:
        member = tarfile.TarInfo("link")
        member.type = tarfile.SYMTYPE
        member.linkname = "/etc/passwd" if kind == "absolute-link" else "../../escaped.txt"
    _tar_with(archive, [tarfile.TarInfo("fine.txt"), member])
    dest = tmp_path / "cache" / "evil" / "0123456789abcdef"
    with pytest.raises(DataError, match="unsafe members"):
        extract_tar_safely(archive, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # the temporary folder is gone too
    assert not (tmp_path / "cache" / "evil" / "escaped.txt").exists()


def test_cached_arrays_builds_once(tmp_path: Path) -> None:
    calls = []

    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"a": np.arange(5, dtype=np.int32), "names": np.asarray(["x", "yz"])}

    first = cached_arrays(tmp_path / "key", "raw", build, version=1)
    second = cached_arrays(tmp_path / "key", "raw", lambda: pytest.fail("cache not used"), version=1)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["a"], second["a"])
    assert second["names"].tolist() == ["x", "yz"]
    assert [p.name for p in (tmp_path / "key").iterdir()] == ["raw-v1.npz"]  # no temp file left
    # A new parser version never reuses the old arrays.
    cached_arrays(tmp_path / "key", "raw", build, version=2)
    assert len(calls) == 2 and sorted(p.name for p in (tmp_path / "key").iterdir()) == ["raw-v1.npz", "raw-v2.npz"]


def test_cached_arrays_rebuilds_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "raw-v1.npz").write_bytes(b"garbage")
    arrays = cached_arrays(tmp_path, "raw", lambda: {"a": np.ones(3)}, version=1)
    again = cached_arrays(tmp_path, "raw", lambda: pytest.fail("cache not used"), version=1)
    np.testing.assert_array_equal(again["a"], arrays["a"])


def test_reuters_second_load_comes_from_cache(
    reuters_splits, use_session_cache: Path, shared_datasets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reuters, "rebuild_raw", lambda *_: pytest.fail("rebuilt despite cache"))
    again = reuters.load_reuters(data_dir=shared_datasets, download=False)
    np.testing.assert_array_equal(again.x_train.values, reuters_splits.x_train.values)
    np.testing.assert_array_equal(again.y_test, reuters_splits.y_test)
    assert list(use_session_cache.glob(f"reuters/*/raw-v{reuters.PARSER_VERSION}.npz"))


def test_imdb_second_load_comes_from_cache(
    imdb_splits, use_session_cache: Path, shared_datasets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imdb, "encode_archive", lambda *_: pytest.fail("re-encoded despite cache"))
    again = imdb.load_imdb(data_dir=shared_datasets, download=False)
    np.testing.assert_array_equal(again.x_test.offsets, imdb_splits.x_test.offsets)
    np.testing.assert_array_equal(again.y_train, imdb_splits.y_train)

