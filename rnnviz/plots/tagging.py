"""Figures of the Bidirectional RNNs lab (``rnnviz.tagging``): what each tagger says
under every character of a sentence, its hidden states as units x characters,
and held-out accuracy by position in the word.

Characters sit on a numeric x axis (0..T-1) with the characters as tick labels,
since a sentence repeats letters and a categorical axis would merge them.
Spaces show as "␣". Every run keeps its colour from ``plots.race.run_colour``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import COLORSCALES
from .race import layout, run_colour

SPACE = "\u2423"


def _ticks(sentence: str) -> dict:
    return dict(tickmode="array", tickvals=list(range(len(sentence))),
                ticktext=[SPACE if c == " " else c for c in sentence], tickangle=0, showgrid=False,
                tickfont=dict(size=15, family="monospace"))


def prob_figure(sentence: str, tags, probs: dict, labels: dict, height: int = 250) -> go.Figure:
    """Rows: the true tag, then each run's probability of tag 1, under every character."""
    rows = ["true tag"] + [labels[r] for r in probs]
    z = np.vstack([np.asarray(tags, dtype=np.float32)] + [np.asarray(p, dtype=np.float32) for p in probs.values()])
    text = [[f"{v:.2f}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z[::-1], y=rows[::-1], x=list(range(len(sentence))), zmin=0, zmax=1,
                               colorscale=COLORSCALES["probability"], text=text[::-1],
                               colorbar=dict(title="p(tag 1)", len=0.9),
                               hovertemplate="char %{x}: %{y} = %{text}<extra></extra>"))
    fig.update_xaxes(**_ticks(sentence))
    layout(fig, height)
    fig.update_layout(margin=dict(l=120, r=20, t=30, b=40))
    return fig


def states_figure(sentence: str, states: dict, labels: dict, height_per_unit: int = 9) -> go.Figure:
    """Hidden states (units x characters): for each run its forward states, and the
    backward ones where it has them. ``states`` = {run: {"forward": [T, H], ...}}."""
    panels = [(run, d, s) for run, st in states.items() for d, s in st.items()]
    titles = [f"{labels[run]}: {'forward states (read left → right)' if d == 'forward' else 'backward states (read right → left)'}"
              f" · {s.shape[1]} units" for run, d, s in panels]
    units = [s.shape[1] for _, _, s in panels]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, subplot_titles=titles,
                        row_heights=[u / sum(units) for u in units], vertical_spacing=0.09)
    for i, (run, d, s) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=np.asarray(s, dtype=np.float32).T, x=list(range(len(sentence))), zmin=-1, zmax=1,
                                 colorscale=COLORSCALES["signed"], showscale=i == 1,
                                 colorbar=dict(title="h", len=0.5, y=1, yanchor="top"),
                                 hovertemplate=f"char %{{x}} · unit %{{y}}: %{{z:.2f}}<extra>{labels[run]} {d}</extra>"),
                      row=i, col=1)
        fig.update_yaxes(title_text="unit", row=i, col=1, autorange="reversed")
    fig.update_xaxes(**_ticks(sentence), showticklabels=True)  # the characters under every panel
    layout(fig, 120 + height_per_unit * sum(units) + 70 * len(panels))
    fig.update_layout(margin=dict(l=60, r=20, t=40, b=40), showlegend=False)
    for ann in fig.layout.annotations:  # subplot titles: left-aligned, for long labels
        ann.update(x=0, xanchor="left", font=dict(size=13))
    return fig


def position_figure(latest: dict, labels: dict, positions: dict, baseline: dict | None = None,
                    height: int = 340) -> go.Figure:
    """Held-out accuracy at each position in the word (``positions`` = {metric key:
    label}), one bar per run, the always-the-common-tag baseline as a marker."""
    runs = list(labels)
    keys = [k for k in positions if any(f"acc_{k}" in latest.get(r, {}) for r in runs)]
    fig = go.Figure()
    for run in runs:
        ys = [100 * latest.get(run, {}).get(f"acc_{k}", float("nan")) for k in keys]
        fig.add_trace(go.Bar(x=[positions[k] for k in keys], y=ys, name=labels[run],
                             marker_color=run_colour(runs, run), text=[f"{y:.0f} %" for y in ys],
                             textposition="outside"))
    if baseline:
        fig.add_trace(go.Scatter(x=[positions[k] for k in keys], y=[100 * baseline.get(f"acc_{k}", 0) for k in keys],
                                 mode="markers", name="always the common tag",
                                 marker=dict(symbol="line-ew-open", size=36, color="#333", line=dict(width=3))))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="held-out accuracy", ticksuffix=" %", range=[0, 112])
    return layout(fig, height)
