"""The Jena climate task: the synthetic file in the original format (`dlwp data synth-jena`), where the loader looks
for the file, splits computed from the row count, the synthetic label that keeps a run away from the book's figures,
and the parameter counts of the chapter-10 models."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from dlwp_cli import pipeline
from dlwp_cli.config import catalog
from dlwp_cli.config.compose import compose_validated
from dlwp_cli.main import main
from dlwp_tasks.datasets import jena, synth_jena
from dlwp_tasks.errors import DataError

REAL_FIRST_ROW = [996.52, -8.02, 265.40, -8.90, 93.30, 3.33, 3.11, 0.22, 1.94, 3.12, 1307.75, 1.03, 1.75, 152.30]
SMALL = 7000      # rows: enough for one book window and its target in every split (book_windows cuts the test)


@pytest.fixture(scope="module")
def full_file(tmp_path_factory):
    """The default 420,551-row file, written once (and timed)."""
    folder = tmp_path_factory.mktemp("jena_full")
    started = time.perf_counter()
    path = synth_jena.write_synthetic_jena(folder)
    return path, time.perf_counter() - started


def test_the_synthetic_file_has_the_original_format(full_file):
    path, _ = full_file
    data = path.read_bytes()
    assert not data.endswith(b"\n") and b"\r" not in data
    text = data.decode("ascii")
    lines = text.split("\n")
    assert len(lines) == 1 + 420551
    assert lines[0] == ('"Date Time","p (mbar)","T (degC)","Tpot (K)","Tdew (degC)","rh (%)","VPmax (mbar)",'
                        '"VPact (mbar)","VPdef (mbar)","sh (g/kg)","H2OC (mmol/mol)","rho (g/m**3)","wv (m/s)",'
                        '"max. wv (m/s)","wd (deg)"')
    first = lines[1].split(",")
    assert first[0] == "01.01.2009 00:10:00" and lines[2].startswith("01.01.2009 00:20:00,")
    assert lines[-1].startswith("30.12.2016 11:50:00,")
    np.testing.assert_allclose([float(v) for v in first[1:]], REAL_FIRST_ROW, atol=0.11)
    assert all(len(v.split(".")[1]) == 2 for v in first[1:]) and " " not in lines[1000].split(",", 1)[1]
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, 15))
    glitches = (values[:, 11] == -9999.0) | (values[:, 12] == -9999.0)
    assert 3 <= glitches.sum() <= 10
    clean = values[~glitches]
    temperature, humidity = clean[:, 1], clean[:, 4]
    assert 8 < temperature.mean() < 11 and humidity.min() >= 15 and humidity.max() <= 100
    assert (clean[:, 12] >= clean[:, 11]).all() and (clean[:, 13] < 360).all()
    marker = json.loads(synth_jena.marker_path(path).read_text())
    assert marker["synthetic"] and marker["rows"] == 420551


def test_the_splits_come_from_the_row_count(full_file):
    path, _ = full_file
    splits = jena.load_jena(path=str(path), layers=False)
    assert splits.info["split_rows"] == {"train": 210275, "validation": 105137, "test": 105139}
    assert splits.info["source"] == "synthetic" and splits.schema["target_index"] == 1
    assert splits.schema["windows"] == {"train": 210275 - 714, "validation": 105137 - 714,
                                        "test": 105139 - 858 - 714}
    assert 2.2 < splits.schema["naive"]["validation"] < 2.7     # about the book's 2.44: a fair comparison


def test_synth_jena_command_and_its_help(tmp_path, capsys):
    assert main(["data", "synth-jena", str(tmp_path / "out"), "--rows", "1500", "--seed", "3"]) == 0
    written = tmp_path / "out" / synth_jena.FILENAME
    assert written.read_text().count("\n") == 1500 and "data_dir=" in capsys.readouterr().out
    assert synth_jena.marker_path(written).is_file()
    assert main(["data", "synth-jena", str(tmp_path / "x"), "--rows", "0"]) == 2
    code = ("import sys\nfrom dlwp_cli.main import main\ntry:\n    main(['data', 'synth-jena', '--help'])\n"
            "except SystemExit:\n    pass\nprint('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "OUT_DIR [--rows N] [--seed S]" in result.stdout and result.stdout.strip().endswith("False")


def test_the_loader_looks_in_the_data_dir_then_the_keras_cache(tmp_path, monkeypatch):
    import zipfile

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DataError) as missing:
        jena.find_jena(data_dir=tmp_path / "data", download=False)
    said = str(missing.value)
    for part in (f"{tmp_path / 'data' / 'jena_climate' / synth_jena.FILENAME}", "jena_climate_2009_2016.csv.zip",
                 f"{tmp_path / 'keras' / 'datasets'}", "download=true", "dlwp data synth-jena"):
        assert part in said
    cached = synth_jena.write_synthetic_jena(tmp_path / "keras" / "datasets", rows=50)
    assert jena.find_jena(data_dir=tmp_path / "data", download=False) == cached
    in_root = synth_jena.write_synthetic_jena(tmp_path / "data", rows=50)
    assert jena.find_jena(data_dir=tmp_path / "data", download=False) == in_root
    archive = tmp_path / "data" / "jena_climate" / jena.ZIP
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr(synth_jena.FILENAME, synth_jena.csv_text(synth_jena.jena_values(SMALL, 1)))
    assert jena.find_jena(data_dir=tmp_path / "data", download=False) == archive
    splits = jena.load_jena(data_dir=tmp_path / "data", download=False, layers=False)
    assert splits.info["source"] == "real" and "synthetic_marker" not in splits.info   # no marker beside the zip
    assert splits.info["rows"] == SMALL


def test_a_marked_file_makes_every_number_synthetic(tmp_path):
    synth_jena.write_synthetic_jena(tmp_path / "data", rows=SMALL)
    cfg = compose_validated(["experiment=ch10/jena_lstm_reversed", f"data_dir={tmp_path / 'data'}", "download=false",
                             "epochs=1", "trainer.limit_batches=2", "output.console=false",
                             "output.tensorboard=false"])
    metrics = pipeline.run(cfg, tmp_path / "run", choices={})
    assert metrics["data"]["source"] == "synthetic" and any("synthetic" in w for w in metrics["warnings"])
    assert metrics["parameters"] == 2001
    assert all(check["comparison"] == "n/a (synthetic)" and check["in_band"] is None for check in metrics["targets"])
    assert (tmp_path / "run" / "model.keras").is_file() and (tmp_path / "run" / "forecast.png").is_file()
    from dlwp_cli.commands.report import rows

    assert all(row["in band"] == "n/a (synthetic)" for row in rows([tmp_path / "run"]))


TRAINED = [e for e in catalog.options("experiment") if e.startswith("ch10/") and e != "ch10/jena_naive_baseline"]


@pytest.mark.parametrize("experiment", TRAINED)
def test_parameter_counts_are_the_books(experiment):
    from dlwp_cli.training.modeling import heads, model_body

    cfg = compose_validated([f"experiment={experiment}"])
    expected = next(t.book for t in cfg.targets if t.metric == "parameters")
    body = model_body(cfg.model).build((int(cfg.task.sequence_length), 14), heads(cfg.task))
    assert body.count_params() == expected


def test_every_chapter_10_experiment_is_there():
    assert {e for e in catalog.options("experiment") if e.startswith("ch10/")} == {
        f"ch10/jena_{v}" for v in ("naive_baseline", "dense", "conv1d", "lstm", "lstm_dropout",
                                   "stacked_gru_dropout", "lstm_reversed", "bidirectional_lstm")}
