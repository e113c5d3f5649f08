"""Forecasting: a recurrent network against a causal 1D CNN on real hourly temperatures.

A GRU (or LSTM / plain RNN) and a dilated causal CNN train side by side in the
training workers on the same windows of the 2010 Seattle (or San Francisco) hourly
temperatures, and both are judged against forecasts that need no training:
persistence, the same hour yesterday and the training mean. Three views: the race
(validation error per step with the baselines as lines, and the test table), one
week of the test period with every forecast drawn over the real curve, and the
error by how many hours ahead the forecast reaches. Before training it shows the
freshly initialised models.
"""

import streamlit as st
import torch

from rnnviz import celltypes
from rnnviz.forecast import data
from rnnviz.forecast.baselines import BASELINES
from rnnviz.forecast.trainer import ForecastConfig, ForecastRace
from rnnviz.plots import forecast as plots
from rnnviz.ui import charts, live, page, present
from rnnviz.ui.pickers import bound

VIEWS = {"race": "The race", "forecast": "Forecast vs real", "horizon": "Error by horizon"}
WINDOWS = (24, 48, 72, 96, 168, 336)
SIZES = (8, 16, 32, 64)
LRS = (0.0003, 0.001, 0.003, 0.01, 0.03)
BATCHES = (16, 32, 64, 128)


def settings() -> ForecastConfig:
    c1, c4 = st.columns(2)
    c2, c3 = st.columns(2)
    city = bound(c1.segmented_control, "City", list(data.CITIES), default="seattle", required=True,
                 format_func=lambda k: data.CITIES[k][0], key="ts_city") or "seattle"
    window = bound(c2.select_slider, "Window (hours of history)", WINDOWS, value=48, key="ts_window")
    horizon = bound(c3.slider, "Horizon (hours ahead)", 1, 24, 24, key="ts_horizon")
    cell = bound(c4.segmented_control, "Recurrent cell", list(celltypes.CELL_TYPES), default="gru", required=True,
                 format_func=lambda k: celltypes.CELL_TYPES[k].label, key="ts_cell") or "gru"
    with present.controls("Model sizes and training"):
        d1, d2, d3, d4, d5 = st.columns(5)
        hidden = bound(d1.select_slider, "Recurrent units", SIZES, value=32, key="ts_hidden")
        channels = bound(d2.select_slider, "CNN channels", SIZES, value=32, key="ts_channels")
        lr = bound(d3.select_slider, "Learning rate (Adam)", LRS, value=0.003, key="ts_lr")
        batch = bound(d4.select_slider, "Batch (windows)", BATCHES, value=64, key="ts_batch")
        seed = bound(d5.number_input, "Seed", 0, 10_000, 0, key="ts_seed")
    return ForecastConfig(city=city, window=int(window), horizon=int(horizon), cell=cell, hidden=int(hidden),
                          channels=int(channels), lr=float(lr), batch=int(batch), seed=int(seed))


def readouts(race: ForecastRace, view: str, week: tuple[int, int]) -> dict:
    """What the views draw from a race (test scores, one week at one lead): call under the runner's lock."""
    return {"report": race.test_report(), "week": race.stretch(*week) if view == "forecast" else None}


@st.cache_data(max_entries=64, show_spinner=False)
def fresh(cfg: ForecastConfig, view: str, week: tuple[int, int]) -> dict:
    """The step-0 race for these settings (freshly initialised, not trained)."""
    torch.set_num_threads(1)
    race = ForecastRace(cfg)
    return {**readouts(race, view, week), "summary": race.summary(), "evals": list(race.eval_hist), "loss": [],
            "seconds": dict(race.seconds), "steps": 0}


def view_race(state, cfg):
    s = state["summary"]
    charts.chart(plots.race_figure(state["loss"], state["evals"], s["labels"], s["baselines"]),
                 key="ts_curves", name="forecast-race")
    rows = [{"forecaster": s["labels"][run], "test MAE (°F)": round(m["mae"], 2), "test RMSE (°F)": round(m["rmse"], 2),
             "training time (s)": round(state["seconds"][run], 1), "parameters": s["params"][run]}
            for run, m in state["report"].items()]
    rows += [{"forecaster": label, "test MAE (°F)": round(s["baselines"][k]["test"]["mae"], 2),
              "test RMSE (°F)": round(s["baselines"][k]["test"]["rmse"], 2), "training time (s)": 0.0,
              "parameters": 0} for k, label in BASELINES.items()]
    st.dataframe(rows, hide_index=True, width="stretch")
    a, b = s["test_span"]
    st.caption(f"Test part: {a} to {b} (the last 15 % of the year), scored after step {state['steps']:,}; the "
               f"validation curves use the 15 % before it. The CNN's receptive field is {s['receptive_field']} "
               f"hours, at least the {cfg.window}-hour window, so its last feature sees every input hour. Dashed "
               "lines: forecasts that need no training.")


def view_forecast(state, cfg):
    w = state["week"]
    charts.chart(plots.stretch_figure(w, state["summary"]["labels"], w["lead"]), key="ts_week_fig",
                 name="forecast-week")
    same = " At 24 hours ahead, persistence *is* the same hour yesterday: the two dashed lines coincide." \
        if w["lead"] == 24 else ""
    st.caption(f"Each coloured point is a forecast made {w['lead']} hour{'s' if w['lead'] > 1 else ''} before "
               f"that hour, from the {cfg.window} hours before it was made. The first forecasts of the test period "
               f"read hours from just before it (the known past; no test target is ever an input).{same}")


def view_horizon(state, cfg):
    charts.chart(plots.horizon_figure(state["report"], state["summary"]["baselines"], state["summary"]["labels"]),
                 key="ts_horizon_fig", name="error-by-horizon")
    st.caption("Test MAE for the first, second, … hour of each forecast. Persistence is worst about 12 hours "
               "ahead, on the opposite side of the daily cycle, and good again at 24 hours, where the last hour "
               "seen is the same clock hour a day earlier. The same hour yesterday does not care how far ahead "
               "it looks.")


def render(view, cfg, week):
    show = {"race": view_race, "forecast": view_forecast, "horizon": view_horizon}[view]

    def trained(runner, snap):
        with runner.lock:  # a read: the weights streamed from the worker must not change under us
            state = readouts(runner.trainer, view, week)
        state.update(summary=snap.extra, evals=snap.evals, loss=snap.loss, seconds=snap.seconds, steps=snap.steps)
        show(state, runner.trainer.config)

    live.lab_panel(ForecastRace, trained, lambda: show(fresh(cfg, view, week), cfg),
                   fresh_note="Freshly initialised models (step 0). Press **Train** to train both on the same windows.")


def main():
    page.header("Forecasting: RNN vs 1D CNN",
                "Forecast the next hours of a real temperature record with a recurrent network and a causal "
                "convolutional one, and check both against forecasts that need no learning at all.",
                lesson="forecast")
    lab = live.lab_controls("ts", settings, ForecastRace, what="both models", views=VIEWS)
    if lab is None:
        return
    cfg, view = lab
    week = (1, cfg.horizon)
    if view == "forecast":
        c1, c2 = st.columns(2)
        week = (bound(c1.slider, "Week of the test period", 1, data.test_weeks(cfg.city), 1, key="ts_week"),
                bound(c2.slider, "Hours ahead", 1, cfg.horizon, cfg.horizon, key="ts_lead",
                      help="Draw the forecasts made this many hours before each hour.")
                if cfg.horizon > 1 else 1)
    render(view, cfg, week)


main()
