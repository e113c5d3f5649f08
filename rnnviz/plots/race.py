"""Figures shared by every side-by-side lab (``rnnviz.race``): one colour per run,
the training loss and one held-out metric over steps.

Runs keep their colour on every figure of a lab (``run_colour``), so a student
who learnt "red is the forward-only tagger" reads every plot of that page alike.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..race import series, smooth

PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def run_colour(runs, run: str) -> str:
    """The colour of ``run`` among ``runs`` (its position in the race)."""
    runs = list(runs)
    return PALETTE[runs.index(run) % len(PALETTE)] if run in runs else "#555555"


def layout(fig: go.Figure, height: int, title: str | None = None, *, legend_below: bool = False) -> go.Figure:
    """The labs' common layout: white template, the legend above the plot, or below it
    (``legend_below``, for side-by-side panels: above, a legend of several runs wrapped
    onto the panels' titles), clear of the x-axis title."""
    legend = (dict(orientation="h", y=-0.3, yanchor="top", x=0, xanchor="left") if legend_below
              else dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    fig.update_layout(height=height, margin=dict(l=60, r=20, t=90 if title else 60, b=130 if legend_below else 50),
                      title=title, legend=legend, template="plotly_white")
    return fig


def curves_figure(loss_hist, eval_hist, labels: dict, *, metric: str, metric_title: str,
                  percent: bool = False, extra: tuple[str, str] | None = None, window: int = 25,
                  height: int = 420) -> go.Figure:
    """Training loss of every run (left, smoothed over ``window`` steps) and one held-out
    metric (right). ``extra = (metric, dash label)`` draws a second metric of each run
    dashed on the right panel (e.g. the training-set loss beside the validation loss)."""
    runs = list(labels)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["training loss (moving average)", metric_title])
    losses = series(loss_hist)
    evals = series(eval_hist, metric)
    extras = series(eval_hist, extra[0]) if extra else {}
    for run in runs:
        c = run_colour(runs, run)
        name = f"{run}: {labels[run]}"
        if run in losses:
            xs, ys = losses[run]
            fig.add_trace(go.Scatter(x=xs, y=smooth(ys, window), name=name, legendgroup=run,
                                     line=dict(color=c)), row=1, col=1)
        if run in evals:
            xs, ys = evals[run]
            ys = [100 * y for y in ys] if percent else ys
            fig.add_trace(go.Scatter(x=xs, y=ys, name=name, legendgroup=run, showlegend=run not in losses,
                                     mode="lines+markers", marker=dict(size=4), line=dict(color=c)), row=1, col=2)
        if run in extras:
            xs, ys = extras[run]
            ys = [100 * y for y in ys] if percent else ys
            fig.add_trace(go.Scatter(x=xs, y=ys, name=f"{run}: {extra[1]}", legendgroup=run,
                                     line=dict(color=c, dash="dot")), row=1, col=2)
    fig.update_xaxes(title_text="training step")
    if percent:
        fig.update_yaxes(ticksuffix=" %", row=1, col=2)
    return layout(fig, height, legend_below=True)
