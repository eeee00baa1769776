"""Boston housing, split as ``keras.datasets.boston_housing.load_data()`` does.

Ethics note: column 11 (0-based, ``B``) is derived from the proportion of Black
residents by town; scikit-learn removed this dataset for that reason. It is kept
only to reproduce the book's K-fold regression example.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from dlwp_tasks.errors import DataError

from .base import DataSplits, KerasFile, fetch_keras_file
from .cache import file_record, non_canonical_warnings

KERAS_FILE = KerasFile(
    "boston_housing.npz",
    "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    "boston",
)


def load_boston(
    data_dir: str | os.PathLike | None = None, download: bool = True, seed: int = 113
) -> DataSplits:
    """404 train and 102 test rows: float64 (N, 13) features and float64 prices in k$."""
    expected = [f"{KERAS_FILE.folder}/{KERAS_FILE.fname}"]
    path, source = fetch_keras_file("Boston housing", KERAS_FILE, expected, data_dir, download)
    records = [file_record(path, KERAS_FILE.sha256)]
    try:
        with np.load(path, allow_pickle=False) as npz:
            x, y = npz["x"], npz["y"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"Boston housing: {path} is not a readable boston_housing.npz ({err}). Its sha256 is "
                        f"{records[0]['sha256']}; the canonical file's is {KERAS_FILE.sha256}. Replace it, or "
                        "point data_dir (or DLWP_DATA_DIR) at a good copy.") from None
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * 0.8)
    return DataSplits(x[:cut], y[:cut], x[cut:], y[cut:], info={"source": source, "files": records},
                      warnings=non_canonical_warnings("Boston housing", records))
