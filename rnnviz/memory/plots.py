"""Figures of the memory lab: accuracy against distance (the main one), the gradient
that reaches the symbol against distance, and accuracy over distance × training
step. Every run keeps its race colour (``rnnviz.plots.race.run_colour``)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..plots import COLORSCALES
from ..plots.race import curves_figure, layout, run_colour


def _train_band(fig: go.Figure, lo: int, hi: int) -> None:
    fig.add_vrect(x0=lo - 0.5, x1=hi + 0.5, fillcolor="#999999", opacity=0.10, line_width=0, layer="below",
                  annotation_text="training distances", annotation_position="top left")


def accuracy_figure(acc: dict[str, list[float]], labels: dict[str, str], *, chance: float, lo: int, hi: int,
                    height: int = 420) -> go.Figure:
    """Held-out accuracy (%) at distances 1 … len(curve) for every run; chance as a dashed
    line, the training range shaded."""
    runs = list(labels)
    fig = go.Figure()
    for run in runs:
        if run not in acc:
            continue
        ys = [100 * a for a in acc[run]]
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, name=labels[run], mode="lines+markers",
                                 marker=dict(size=5), line=dict(color=run_colour(runs, run), width=2.5)))
    fig.add_hline(y=100 * chance, line_dash="dash", line_color="#555555",
                  annotation_text=f"chance ({100 * chance:.1f} %)", annotation_position="bottom right")
    _train_band(fig, lo, hi)
    fig.update_xaxes(title_text="distance (tokens between the symbol and the question)")
    fig.update_yaxes(title_text="held-out accuracy", ticksuffix=" %", range=[0, 112], tickvals=[0, 20, 40, 60, 80, 100])
    return layout(fig, height)


def gradient_figure(grad: dict[str, list[float]], labels: dict[str, str], *, lo: int, hi: int,
                    title: str = "‖∂L/∂x‖ at the symbol", height: int = 420) -> go.Figure:
    """Mean ‖∂L/∂x_s‖ (or the gain, see ``trainer.input_gradients``) against distance on a log axis. Exact zeros (the gradient
    underflowed) cannot be drawn on a log axis and are left out of the line."""
    runs = list(labels)
    fig = go.Figure()
    for run in runs:
        if run not in grad:
            continue
        ys = [g if g > 0 and math.isfinite(g) else None for g in grad[run]]
        fig.add_trace(go.Scatter(x=list(range(1, len(ys) + 1)), y=ys, name=labels[run], mode="lines+markers",
                                 marker=dict(size=5), line=dict(color=run_colour(runs, run), width=2.5)))
    _train_band(fig, lo, hi)
    fig.update_xaxes(title_text="distance (tokens between the symbol and the question)")
    fig.update_yaxes(title_text=title, type="log", exponentformat="power")
    return layout(fig, height)


def history_figure(steps: list[int], grids: dict[str, list[list[float]]], labels: dict[str, str],
                   height: int = 300) -> go.Figure:
    """Accuracy (%) by distance (rows) and training step (columns), one panel per run:
    how the memory reaches further as training goes on."""
    runs = [r for r in labels if r in grids]
    fig = make_subplots(rows=1, cols=len(runs), subplot_titles=[labels[r] for r in runs], shared_yaxes=True,
                        horizontal_spacing=0.04)
    for i, run in enumerate(runs, 1):
        z = [[100 * v for v in row] for row in grids[run]]
        fig.add_trace(go.Heatmap(x=steps, y=list(range(1, len(z) + 1)), z=z, zmin=0, zmax=100,
                                 colorscale=COLORSCALES["probability"], showscale=i == len(runs),
                                 colorbar=dict(title="acc %"),
                                 hovertemplate="step %{x}<br>distance %{y}<br>%{z:.0f} %<extra>" + labels[run]
                                 + "</extra>"), row=1, col=i)
        fig.update_xaxes(title_text="training step", row=1, col=i)
    fig.update_yaxes(title_text="distance", row=1, col=1)
    return layout(fig, height)


def race_figure(loss_hist, eval_hist, labels: dict[str, str], *, beyond: bool) -> go.Figure:
    """The shared race curves (``plots.race.curves_figure``): training loss, and held-out
    accuracy over the training distances (dotted: beyond them). Three runs with a
    dotted twin each make a two-row legend, so it gets more room above the panels."""
    fig = curves_figure(loss_hist, eval_hist, labels, metric="acc", percent=True,
                        metric_title="held-out accuracy" + (" (dotted: beyond D)" if beyond else ""),
                        extra=("far", "beyond D") if beyond else None)
    fig.update_layout(height=380, margin=dict(t=120), legend=dict(y=1.16))
    return fig
