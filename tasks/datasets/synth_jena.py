"""A synthetic stand-in for the Jena climate file, in exactly the original format.

``jena_climate_2009_2016.csv`` is a reading every 10 minutes from 01.01.2009 00:10:00, with a quoted header of 15
names and unquoted rows of a ``DD.MM.YYYY HH:MM:SS`` time and 14 values with two decimals, and no newline after
the last row. Here temperature is a yearly cycle, a daily cycle, slowly correlated "weather" (an AR(1) process of
about 3.5 °C over two days) and a little white noise; pressure and humidity are slow noise around their usual
levels; the other columns follow from them by the physical formulas (potential temperature, the Magnus formula
for vapour pressure, dew point, specific humidity, density of moist air). A handful of rows carry the real file's
``-9999.00`` wind glitches. The first row reproduces the real file's first row to within about 0.1.

Every file written here gets a marker beside it (``<file>.synthetic.json``): a run that reads a marked file labels
every number synthetic and never compares it with the book. Imports NumPy and SciPy only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FILENAME = "jena_climate_2009_2016.csv"
HEADER = ("Date Time", "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)", "VPmax (mbar)",
          "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)", "rho (g/m**3)", "wv (m/s)",
          "max. wv (m/s)", "wd (deg)")
COLUMNS = HEADER[1:]            # the 14 values of a row, in file order
ROWS = 420551                   # the row count datasets/README.md section 4 gives the real file
SEED = 2009
FIRST = np.datetime64("2009-01-01T00:10:00")
STEP = np.timedelta64(10, "m")
STEPS_PER_DAY = 144
MARKER_SUFFIX = ".synthetic.json"
GLITCH = -9999.0
# The real file's first row: p, T, rh and the wind columns start from it (the rest follow by the formulas).
FIRST_ROW = {"p (mbar)": 996.52, "T (degC)": -8.02, "rh (%)": 93.30, "wv (m/s)": 1.03, "max. wv (m/s)": 1.75,
             "wd (deg)": 152.30}


def marker_path(path: str | Path) -> Path:
    """Where the synthetic marker of a data file lies: ``<file>.synthetic.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + MARKER_SUFFIX)


def _ar1(rng: np.random.Generator, rows: int, tau_steps: float, std: float, start: float) -> np.ndarray:
    """An AR(1) series of stationary ``std`` whose correlation decays over ``tau_steps`` rows, from ``start``."""
    from scipy.signal import lfilter  # noqa: PLC0415 - SciPy comes with scikit-learn

    phi = float(np.exp(-1.0 / tau_steps))
    shocks = rng.normal(0.0, std * np.sqrt(1.0 - phi * phi), size=rows)
    shocks[0] = start
    return lfilter([1.0], [1.0, -phi], shocks)


def _cycles(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(yearly phase, daily phase) in radians of each row: 0 at mid-January and at 15:00."""
    minutes = 10.0 * (np.arange(rows, dtype=np.float64) + 1)          # since 01.01.2009 00:00
    days = minutes / 1440.0
    yearly = 2 * np.pi * (days - 15.0) / 365.25
    daily = 2 * np.pi * ((minutes % 1440.0) / 60.0 - 15.0) / 24.0
    return yearly, daily


def jena_values(rows: int = ROWS, seed: int = SEED) -> np.ndarray:
    """The 14 columns (float64, file order, not yet rounded) of ``rows`` synthetic readings."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng(seed)
    yearly, daily = _cycles(rows)
    climate = 9.5 - 9.0 * np.cos(yearly) + (3.5 - 1.0 * np.cos(yearly)) * np.cos(daily)
    temperature = climate + _ar1(rng, rows, 2 * STEPS_PER_DAY, 3.5, FIRST_ROW["T (degC)"] - climate[0])
    temperature[1:] += rng.normal(0.0, 0.15, size=rows - 1)
    pressure = 989.0 + _ar1(rng, rows, 2 * STEPS_PER_DAY, 8.0, FIRST_ROW["p (mbar)"] - 989.0)
    humid_day = 75.0 - 15.0 * np.cos(daily)                         # lowest mid-afternoon
    humidity = np.clip(humid_day + _ar1(rng, rows, STEPS_PER_DAY, 10.0, FIRST_ROW["rh (%)"] - humid_day[0]),
                       15.0, 100.0)

    vp_max = 6.1078 * np.exp(17.27 * temperature / (temperature + 237.3))
    vp_act = vp_max * humidity / 100.0
    magnus = np.log(vp_act / 6.1078)
    kelvin = temperature + 273.15
    wind_log = _ar1(rng, rows, STEPS_PER_DAY / 2, 0.6, np.log(FIRST_ROW["wv (m/s)"]) - np.log(1.7))
    wind = 1.7 * np.exp(wind_log)                                   # mean about 2 m/s
    gust = wind * (1.3 + 0.4 * np.abs(rng.normal(size=rows))) + 0.2
    gust[0] = FIRST_ROW["max. wv (m/s)"]
    direction = _ar1(rng, rows, STEPS_PER_DAY, 90.0, FIRST_ROW["wd (deg)"] - 200.0)
    direction = np.mod(np.round(200.0 + direction, 2), 360.0)       # in [0, 360) once written with two decimals
    values = np.column_stack([
        pressure, temperature, kelvin * (1000.0 / pressure) ** 0.286, 237.3 * magnus / (17.27 - magnus), humidity,
        vp_max, vp_act, vp_max - vp_act, 622.0 * vp_act / (pressure - 0.378 * vp_act), 1000.0 * vp_act / pressure,
        1e5 * ((pressure - vp_act) / 287.05 + vp_act / 461.5) / kelvin, wind, gust, direction,
    ])
    _add_glitches(values, rng)
    return values


def _add_glitches(values: np.ndarray, rng: np.random.Generator) -> None:
    """A handful of rows (one per 80,000 or so, at least one in a file of 1,000 rows) get -9999.00 in ``wv``,
    ``max. wv`` or both, as the real file has."""
    rows = len(values)
    if rows < 1000:
        return
    wv, gust = COLUMNS.index("wv (m/s)"), COLUMNS.index("max. wv (m/s)")
    picked = rng.choice(np.arange(1, rows), size=max(1, rows // 80000), replace=False)
    for k, row in enumerate(sorted(picked)):
        columns = [(wv, gust), (wv,), (gust,)][k % 3]
        values[row, list(columns)] = GLITCH


def timestamps(rows: int) -> list[str]:
    """``DD.MM.YYYY HH:MM:SS`` of each row: 10-minute steps from 01.01.2009 00:10:00."""
    iso = np.datetime_as_string(FIRST + STEP * np.arange(rows), unit="s")
    return [f"{t[8:10]}.{t[5:7]}.{t[0:4]} {t[11:19]}" for t in iso]


def csv_text(values: np.ndarray) -> str:
    """The file's text: the quoted header, then one unquoted row per reading, two decimals, no final newline."""
    rounded = np.round(values, 2) + 0.0                              # + 0.0 turns -0.00 into 0.00
    row_format = "%s," + ",".join(["%.2f"] * values.shape[1])
    header = ",".join(f'"{name}"' for name in HEADER)
    rows = (row_format % (stamp, *numbers) for stamp, numbers in zip(timestamps(len(values)), rounded.tolist()))
    return header + "\n" + "\n".join(rows)


def write_synthetic_jena(out_dir: str | Path, rows: int = ROWS, seed: int = SEED) -> Path:
    """Write ``<out_dir>/jena_climate_2009_2016.csv`` and its marker; return the CSV's path."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be a whole number of at least 1, got {rows!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / FILENAME
    text = csv_text(jena_values(rows, seed))
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(text.encode("ascii"))
    partial.replace(path)
    marker = {"synthetic": True, "generator": "dlwp data synth-jena", "rows": rows, "seed": seed,
              "note": "synthetic readings in the format of the Jena climate file: every number from it is "
                      "labelled synthetic and never compared with the book"}
    marker_path(path).write_text(json.dumps(marker, indent=2) + "\n")
    return path
