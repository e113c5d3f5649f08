"""Figures of the forecasting lab (``pages/forecast.py``): the race with the naive
baselines as horizontal lines, one test week with every forecast over the real
temperatures, and the error by hours ahead.

Learned models keep the race colours (``run_colour``); the baselines follow them
in the same palette and are always dashed, so "dashed = not trained" holds on
every figure.
"""

from __future__ import annotations

import plotly.graph_objects as go

from ..forecast.baselines import BASELINES
from .race import curves_figure, layout, run_colour
from .training import log_ticks


def _colour(labels: dict, name: str) -> str:
    return run_colour([*labels, *BASELINES], name)


def race_figure(loss_hist, eval_hist, labels: dict, baselines: dict, height: int = 460) -> go.Figure:
    """Training loss and validation MAE (°F, log axes) per step, with every baseline's
    validation MAE as a dashed line across the steps trained so far."""
    fig = curves_figure(loss_hist, eval_hist, labels, metric="val_mae", metric_title="validation MAE (°F)",
                        height=height)
    last = max([item[0] for item in eval_hist] + [1])
    for name, label in BASELINES.items():
        y = baselines[name]["val"]["mae"]
        fig.add_trace(go.Scatter(x=[0, last], y=[y, y], name=label, mode="lines", hoverinfo="name+y",
                                 line=dict(color=_colour(labels, name), dash="dash", width=1.5)), row=1, col=2)
    for col in (1, 2):  # 1-2-5 ticks written out (0.2, not a bare "2" between decades)
        ys = [y for tr in fig.select_traces(col=col) for y in (tr.y or ()) if y is not None]
        ticks = log_ticks(ys)
        fig.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], row=1, col=col)
    return fig


def stretch_figure(week: dict, labels: dict, lead: int, height: int = 420) -> go.Figure:
    """The real temperatures of one test week and each forecast of every hour, made ``lead`` h before."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=week["times"], y=week["real"], name="real temperature",
                             line=dict(color="black", width=2.5)))
    for run, ys in week["runs"].items():
        fig.add_trace(go.Scatter(x=week["times"], y=ys, name=labels[run], line=dict(color=_colour(labels, run))))
    for name, ys in week["baselines"].items():
        fig.add_trace(go.Scatter(x=week["times"], y=ys, name=BASELINES[name],
                                 line=dict(color=_colour(labels, name), dash="dash", width=1.5)))
    fig.update_xaxes(title_text="hour (2010, local time)")
    fig.update_yaxes(title_text=f"°F (forecast {lead} h ahead)")
    return layout(fig, height)


def horizon_figure(report: dict, baselines: dict, labels: dict, height: int = 380) -> go.Figure:
    """Test MAE (°F) for each lead, 1 .. horizon hours ahead, of every model and baseline."""
    fig = go.Figure()
    for run, m in report.items():
        fig.add_trace(go.Scatter(x=list(range(1, len(m["by_h"]) + 1)), y=m["by_h"], name=labels[run],
                                 mode="lines+markers", line=dict(color=_colour(labels, run))))
    for name, label in BASELINES.items():
        ys = baselines[name]["test"]["by_h"]
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, name=label, mode="lines+markers",
                                 line=dict(color=_colour(labels, name), dash="dash"), marker=dict(size=5)))
    fig.update_xaxes(title_text="hours ahead", dtick=1 if len(ys) <= 12 else 2)
    fig.update_yaxes(title_text="test MAE (°F)", type="log")
    return layout(fig, height)
