"""Naive forecasts, computed from the series, never trained: the bar a model must clear.

- *persistence*: every future hour equals the last hour seen;
- *seasonal naive*: each future hour equals the same clock hour one day earlier
  (the daily cycle is the strongest pattern in hourly temperatures);
- *training mean*: the mean temperature of the training part, always.

A learned forecaster that cannot beat these has learnt nothing useful, however
low its loss looks. ``metrics`` scores any forecast in °F, for models and
baselines alike.
"""

from __future__ import annotations

import numpy as np

from .data import Prepared

SEASON = 24  # hours in the daily cycle
BASELINES = {"persistence": "Persistence (last hour)", "seasonal": "Seasonal naive (same hour yesterday)",
             "mean": "Training mean"}


def predict(name: str, prep: Prepared, t) -> np.ndarray:
    """°F forecasts [len(t), horizon] of baseline ``name`` from origins ``t``."""
    temps, t = prep.series.temps, np.asarray(t)[:, None]
    k = np.arange(prep.horizon)
    if name == "persistence":
        return np.repeat(temps[t - 1], prep.horizon, axis=1)
    if name == "seasonal":
        # lead k (0-based) copies hour t + k - 24, always inside the input window (window >= 24 >= horizon)
        return temps[t + k - SEASON * (1 + k // SEASON)]
    if name == "mean":
        return np.full((len(t), prep.horizon), prep.mean)
    raise ValueError(f"Unknown baseline {name!r}: use one of {', '.join(BASELINES)}.")


def truth(prep: Prepared, t) -> np.ndarray:
    """The real °F temperatures [len(t), horizon] after origins ``t``."""
    return prep.series.temps[np.asarray(t)[:, None] + np.arange(prep.horizon)]


def metrics(pred_f, true_f) -> dict:
    """MAE and RMSE in °F over every window and lead, and the MAE of each lead (1 .. h hours ahead)."""
    err = np.asarray(pred_f, dtype=np.float64) - np.asarray(true_f, dtype=np.float64)
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean())),
            "by_h": [float(v) for v in np.abs(err).mean(axis=0)]}


def scores(prep: Prepared) -> dict:
    """{baseline: {"val": metrics, "test": metrics}}."""
    return {name: {p: metrics(predict(name, prep, prep.idx[p]), truth(prep, prep.idx[p])) for p in ("val", "test")}
            for name in BASELINES}
