"""Dataset names -> loaders, and ``load_dataset`` for real or synthetic data."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from dlwp_cli.errors import DataError

from .base import DataSplits
from .boston import load_boston
from .digits import load_digits
from .imdb import load_imdb
from .mnist import load_mnist
from .reuters import load_reuters
from .synthetic import MAKERS, synthetic_like

LOADERS: dict[str, Callable[..., DataSplits]] = {
    "mnist": load_mnist,
    "imdb": load_imdb,
    "reuters": load_reuters,
    "boston": load_boston,
    "digits": load_digits,
}
SOURCES = ("real", "synthetic")


def load_dataset(
    name: str,
    source: str = "real",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    **params: Any,
) -> DataSplits:
    """Load ``name`` from its real files, or random data shaped like it.

    With ``source="synthetic"``, loader-only parameters (e.g. ``maxlen``) are
    ignored and ``n_train``, ``n_test``, ``seed`` and shape arguments apply.
    """
    if name not in LOADERS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(LOADERS)}.")
    if source not in SOURCES:
        raise DataError(f"unknown source {source!r} for {name}; use one of: {', '.join(SOURCES)}.")
    loader_args = set(inspect.signature(LOADERS[name]).parameters) - {"data_dir", "download"}
    if source == "synthetic":
        accepted = {"n_train", "n_test", "seed"}
        accepted |= set(inspect.signature(MAKERS[name]).parameters) - {"rng", "n"}
        unknown = set(params) - accepted - loader_args
    else:
        accepted = loader_args
        unknown = set(params) - accepted
    if unknown:
        raise DataError(
            f"dataset {name} ({source}) does not take {', '.join(sorted(unknown))}; "
            f"it takes: {', '.join(sorted(accepted)) or 'no parameters'}."
        )
    kept = {key: value for key, value in params.items() if key in accepted}
    if source == "synthetic":
        return synthetic_like(name, **kept)
    if "data_dir" in inspect.signature(LOADERS[name]).parameters:
        kept.update(data_dir=data_dir, download=download)
    return LOADERS[name](**kept)
