"""The hourly temperature series and how the lab cuts it into windows.

The data are the 2010 hourly temperatures (°F) of Seattle and San Francisco that the
``vega_datasets`` package ships as CSV files; we read them with ``csv`` (no pandas).
Both files have 8,759 rows for a year of 8,760 hours: the clock hour 03:00 on
14 March 2010 (the switch to summer time) is missing. ``load`` checks the spacing of
every row, inserts that hour as the mean of its neighbours and records what it did
in ``Series.notes``, so the page and the lesson can say so.

The year is split in time order (``split``): the first 70 % trains, the next 15 %
validates (early numbers while training), the last 15 % tests. A window is the last
``window`` hours (inputs) and the next ``horizon`` hours (targets); a window belongs
to a part only if all of its hours lie inside that part, so no hour is shared between
parts. Normalisation uses the mean and standard deviation of the training part only:
the validation and test hours never influence anything the models see.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import importlib.resources
from dataclasses import dataclass

import numpy as np

CITIES = {"seattle": ("Seattle", "seattle-temps.csv", "%Y/%m/%d %H:%M"),
          "sf": ("San Francisco", "sf-temps.csv", "%Y/%m/%d %H:%M:%S")}
FRACTIONS = (0.70, 0.15, 0.15)  # train, validation, test
PARTS = ("train", "val", "test")
HOUR = dt.timedelta(hours=1)
WEEK = 24 * 7  # hours


@dataclass(frozen=True)
class Series:
    city: str
    times: tuple[str, ...]  # "2010-01-01 00:00", one per hour
    temps: np.ndarray  # °F, float64, read-only
    notes: tuple[str, ...]  # what the checks found and what was done about it


def _fill(times: list[dt.datetime], temps: list[float]) -> tuple[list, list, list[str]]:
    """Insert missing hours (the mean of the hours around each gap, linearly); refuse
    duplicates or a clock that goes backwards."""
    out_t, out_v, notes = [times[0]], [temps[0]], []
    for t, v in zip(times[1:], temps[1:]):
        gap = round((t - out_t[-1]) / HOUR)
        if gap < 1:
            raise ValueError(f"The series is not in time order at {t:%Y-%m-%d %H:%M}.")
        for k in range(1, gap):
            out_t.append(out_t[-1] + HOUR)
            out_v.append(out_v[-1] + (v - out_v[-1]) / (gap - k + 1))
            notes.append(f"{out_t[-1]:%d %B %Y %H:%M} was missing; filled in between its neighbours.")
        out_t.append(t)
        out_v.append(v)
    return out_t, out_v, notes


@functools.lru_cache(maxsize=4)
def load(city: str = "seattle") -> Series:
    if city not in CITIES:
        raise ValueError(f"Unknown city {city!r}: use one of {', '.join(CITIES)}.")
    _, name, fmt = CITIES[city]
    path = importlib.resources.files("vega_datasets") / "_data" / name
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    times = [dt.datetime.strptime(r["date"], fmt) for r in rows]
    temps = [float(r["temp"]) for r in rows]
    times, temps, notes = _fill(times, temps)
    arr = np.asarray(temps, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < -60 or arr.max() > 130:
        raise ValueError(f"The {city} temperatures are outside any plausible °F range.")
    arr.setflags(write=False)
    notes = [f"{len(rows):,} rows read for {len(times):,} hours."] + notes
    return Series(city, tuple(f"{t:%Y-%m-%d %H:%M}" for t in times), arr, tuple(notes))


def bounds(n: int) -> dict[str, tuple[int, int]]:
    """{part: (first hour, one past the last hour)}: contiguous, in time order."""
    a = int(round(FRACTIONS[0] * n))
    b = a + int(round(FRACTIONS[1] * n))
    return {"train": (0, a), "val": (a, b), "test": (b, n)}


def test_weeks(city: str) -> int:
    """How many weeks (the last one maybe shorter) the test part spans."""
    lo, hi = bounds(len(load(city).temps))["test"]
    return -(-(hi - lo) // WEEK)


def origins(part: tuple[int, int], window: int, horizon: int) -> np.ndarray:
    """Forecast origins t of every window inside ``part``: inputs are hours
    [t - window, t), targets [t, t + horizon)."""
    lo, hi = part
    return np.arange(lo + window, hi - horizon + 1, dtype=np.int64)


@dataclass(frozen=True)
class Prepared:
    """A normalised series with its split and window origins for one (window, horizon)."""
    series: Series
    window: int
    horizon: int
    mean: float
    std: float
    x: np.ndarray  # normalised temperatures, float32
    bounds: dict
    idx: dict  # part -> origins

    def to_f(self, z):
        """Normalised values back to °F."""
        return np.asarray(z) * self.std + self.mean


def prepare(city: str, window: int, horizon: int) -> Prepared:
    s = load(city)
    b = bounds(len(s.temps))
    train = s.temps[b["train"][0]:b["train"][1]]
    mean, std = float(train.mean()), float(train.std())
    x = ((s.temps - mean) / std).astype(np.float32)
    idx = {p: origins(b[p], window, horizon) for p in PARTS}
    for p in PARTS:
        if len(idx[p]) == 0:
            raise ValueError(f"A {window} h window and {horizon} h horizon leave no {p} windows: shorten them.")
    return Prepared(s, window, horizon, mean, std, x, b, idx)


def windows(x: np.ndarray, t: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs [len(t), window], targets [len(t), horizon]) for origins ``t``."""
    t = np.asarray(t)[:, None]
    return x[t + np.arange(-window, 0)], x[t + np.arange(horizon)]
