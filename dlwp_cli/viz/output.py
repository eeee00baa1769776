"""Where ``dlwp viz`` writes: one folder per kind (``viz/<kind>/``) and a TensorBoard log of the same pictures,
each filled in a temporary folder and swapped in, so a repeated call replaces its own earlier output whole."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlwp_cli.errors import OutputError
from dlwp_cli.viz.pictures import save_png


@dataclass
class Rendered:
    """What one kind made: pictures by file name, JSON documents by file name, and lines to print."""

    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    documents: dict[str, dict] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def _fresh_folder(final: Path) -> Path:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    except OSError as err:
        raise OutputError(f"Cannot write '{final.parent}': {err.strerror or err}. Give a writable folder "
                          "(--output DIR).") from None


def _swap_in(temporary: Path, final: Path) -> None:
    """Put ``temporary`` at ``final``; an earlier ``final`` is moved aside first and then deleted."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
    os.rename(temporary, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_tensorboard(folder: Path, kind: str, pictures: dict[str, np.ndarray]) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for name, picture in pictures.items():
            image = picture[..., np.newaxis] if picture.ndim == 2 else picture
            tf.summary.image(f"{kind}/{Path(name).stem}", image[np.newaxis], step=0)
    writer.close()


def write_kind(rendered: Rendered, kind: str, folder: Path, tensorboard: Path | None) -> list[Path]:
    """Write ``rendered`` into ``folder`` (and its pictures into the TensorBoard log ``tensorboard``), replacing
    what an earlier call wrote there; the written files, in order."""
    staged = []
    try:
        files = _fresh_folder(folder)
        staged.append((files, folder))
        for name, picture in rendered.pictures.items():
            save_png(files / name, picture)
        for name, document in rendered.documents.items():
            (files / name).write_text(json.dumps(document, indent=2) + "\n")
        if tensorboard is not None:
            logs = _fresh_folder(tensorboard)
            staged.append((logs, tensorboard))
            _write_tensorboard(logs, kind, rendered.pictures)
        for temporary, final in staged:
            _swap_in(temporary, final)
    except BaseException:
        for temporary, _ in staged:
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    written = [folder / name for name in [*rendered.pictures, *rendered.documents]]
    if tensorboard is not None:
        written.append(tensorboard)
    return written
