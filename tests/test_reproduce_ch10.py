"""Chapter 10 in the slow tier (``pytest -m slow``): a real weather series no one here wrote, through
``task=timeseries`` with its defaults; every ch10 experiment completing on a full-length synthetic Jena file, marked
synthetic; and, where a data directory holds the real Jena file, the book's figures."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose_validated
from dlwp_tasks.datasets import synth_jena

from shared_data import SHARED_DATASETS

pytestmark = pytest.mark.slow

QUIET = ["output.console=false", "output.tensorboard=false", "output.save_model=false"]
SEEDS = (1, 2, 3)
CH10 = [e for e in catalog.options("experiment") if e.startswith("ch10/")]


def seattle_weather() -> Path:
    """vega_datasets' seattle-weather.csv: daily weather in Seattle, 2012-2015 (NOAA data, as the package ships it)."""
    vega_datasets = pytest.importorskip("vega_datasets")
    path = Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not shipped with this vega_datasets")
    return path


def test_a_real_daily_weather_series_trains_near_its_naive_baseline(tmp_path):
    path = seattle_weather()
    ratios = []
    for seed in SEEDS:
        cfg = compose_validated(["task=timeseries", f"task.path={path}", "task.target=temp_max", f"seed={seed}",
                                 *QUIET])
        metrics = pipeline.run(cfg, tmp_path / f"seed{seed}", choices={})
        naive = metrics["baselines"]["naive"]
        assert metrics["data"]["split_rows"] == {"train": 730, "validation": 365, "test": 366}
        assert (tmp_path / f"seed{seed}" / "forecast.png").is_file()
        ratios.append(metrics["test"]["mae"] / naive["test"])
    assert statistics.median(ratios) <= 1.5, ratios


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("jena_synthetic")
    synth_jena.write_synthetic_jena(folder)
    return folder


@pytest.mark.parametrize("experiment", CH10)
def test_every_experiment_completes_on_the_full_synthetic_file(synthetic_dir, tmp_path, experiment):
    cfg = compose_validated([f"experiment={experiment}", f"data_dir={synthetic_dir}", "download=false", "epochs=1",
                             *QUIET])
    metrics = pipeline.run(cfg, tmp_path / "run", choices={})
    assert metrics["status"] == "completed" and metrics["data"]["source"] == "synthetic"
    assert metrics["data"]["split_rows"] == {"train": 210275, "validation": 105137, "test": 105139}
    assert set(metrics["baselines"]["naive"]) == {"validation", "test"} and metrics["test"]["mae"] > 0
    assert all(check.get("comparison") == "n/a (synthetic)" for check in metrics["targets"])
    book = {t.metric: t.book for t in cfg.targets}
    if "parameters" in book:
        assert metrics["parameters"] == book["parameters"]


def real_jena_dir() -> Path:
    for folder in (SHARED_DATASETS / "jena_climate", SHARED_DATASETS):
        for name in (synth_jena.FILENAME, synth_jena.FILENAME + ".zip"):
            if (folder / name).is_file() and not synth_jena.marker_path(folder / name).is_file():
                return SHARED_DATASETS
    pytest.skip(f"no real Jena climate file under {SHARED_DATASETS} (jena_climate/{synth_jena.FILENAME})")


@pytest.mark.parametrize("experiment", ["ch10/jena_naive_baseline", "ch10/jena_lstm"])
def test_the_books_figures_on_the_real_file(tmp_path, experiment):
    data_dir = real_jena_dir()
    seeds = SEEDS[:1] if experiment.endswith("naive_baseline") else SEEDS
    runs = [pipeline.run(compose_validated([f"experiment={experiment}", f"data_dir={data_dir}", "download=false",
                                            f"seed={seed}", *QUIET]), tmp_path / f"seed{seed}", choices={})
            for seed in seeds]
    misses = []
    for i, target in enumerate(runs[0]["targets"]):
        median = float(np.median([run["targets"][i]["measured"] for run in runs]))
        low, high = target["band"]
        if not low <= median <= high:
            misses.append(f"{target['metric']}: median {median:.4g} outside {low}-{high}")
    assert not misses, "; ".join(misses)
