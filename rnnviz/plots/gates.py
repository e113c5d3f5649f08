"""Plotly figures for the gates page: cells x time heatmaps, saturation scatter
plots (Karpathy et al. 2015, Fig. 3 style), the conveyor-belt view of c_t with its
forget and input gates, and a one-unit strip around the inspected step.

Colour conventions follow the text renderer: gates (values in [0, 1]) go from
white (0, closed) to blue (1, open); signed signals use red (negative) - white -
blue (positive), centred on 0.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import COLORSCALES

UNIT_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
LAYER_COLORS = ["#1f77b4", "#d62728", "#2ca02c"]
MAX_TICK_CHARS = 160  # beyond this, characters are only in the hover text


def tick_label(ch: str) -> str:
    if ch == "\n":
        return "\u21b5"
    if ch == " ":
        return "\u2423"
    if ch == "\t":
        return "\u2192"
    if ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0:
        return "?"
    return ch


def _char_axis(fig, chars, start, row=None, col=None):
    """Characters as x tick labels when the window is short enough to read them."""
    kw = {} if row is None else {"row": row, "col": col}
    if len(chars) <= MAX_TICK_CHARS:
        fig.update_xaxes(tickmode="array", tickvals=list(range(start, start + len(chars))),
                         ticktext=[tick_label(c) for c in chars], tickangle=0,
                         tickfont={"family": "monospace", "size": 11}, **kw)


def gate_heatmap(values, chars, *, start: int = 0, units=None, title: str = "", gate: bool = True,
                 scale: float = 1.0, height: int | None = None) -> go.Figure:
    """Cells (rows) x time (columns) heatmap of one signal over a window.

    ``values`` is [T, K] for the K shown ``units`` (all units when None); ``gate``
    selects the 0..1 white-blue scale, otherwise -scale..+scale red-white-blue.
    """
    v = np.asarray(values, dtype=np.float32)
    T, K = v.shape
    units = list(range(K)) if units is None else [int(u) for u in units]
    x = np.arange(start, start + T)
    hover = [f"{tick_label(c)}" for c in chars]
    small = K * T <= 60_000
    fig = go.Figure(go.Heatmap(
        z=np.ascontiguousarray(v.T), x=x, y=[f"cell {u}" for u in units],
        colorscale=COLORSCALES["gate" if gate else "signed"],
        zmin=0.0 if gate else -scale, zmax=1.0 if gate else scale,
        customdata=[hover] * K if small else None,  # lists: see charts.plain_arrays
        hovertemplate=("t=%{x} '%{customdata}'<br>" if small else "t=%{x}<br>")
        + "%{y}<br>value %{z:.3f}<extra></extra>",
        colorbar={"thickness": 12, "len": 0.9},
    ))
    fig.update_yaxes(autorange="reversed", showticklabels=K <= 40, title="cells" if K > 40 else None)
    fig.update_xaxes(title="position in the text")
    _char_axis(fig, chars, start)
    fig.update_layout(title=title, height=height or int(min(700, max(220, 120 + 9 * K))),
                      margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return fig


def saturation_figure(sat, *, compare=None, title: str = "", now_label: str = "now",
                      before_label: str = "before", height: int | None = None) -> go.Figure:
    """One scatter panel per gate (columns) and layer (rows).

    ``sat`` (and the optional ``compare``, drawn in grey underneath) has
    ``gates``, ``layers``, ``left[(layer, gate)]`` and ``right[(layer, gate)]``:
    per-unit fractions of time below ``low`` (x) and above ``high`` (y).
    """
    gates, L = list(sat.gates), int(sat.layers)
    names = {"i": "input i", "f": "forget f", "o": "output o", "r": "reset r", "z": "update z"}
    fig = make_subplots(rows=L, cols=len(gates), horizontal_spacing=0.08, vertical_spacing=0.14,
                        subplot_titles=[f"layer {k + 1} · {names.get(g, g)}" for k in range(L) for g in gates])
    for k in range(L):
        for j, g in enumerate(gates):
            r, c = k + 1, j + 1
            fig.add_trace(go.Scatter(x=[0, 1], y=[1, 0], mode="lines", hoverinfo="skip", showlegend=False,
                                     line={"color": "rgba(120,120,120,0.5)", "dash": "dot", "width": 1}),
                          row=r, col=c)
            if compare is not None and (k, g) in compare.left:
                fig.add_trace(go.Scatter(
                    x=np.asarray(compare.left[(k, g)], dtype=np.float32),
                    y=np.asarray(compare.right[(k, g)], dtype=np.float32),
                    mode="markers", name=before_label, legendgroup="before",
                    showlegend=(k == 0 and j == 0),
                    marker={"size": 6, "color": "rgba(140,140,140,0.45)"},
                    hovertemplate=f"{before_label}<br>cell %{{pointNumber}}<br>closed %{{x:.0%}} · open %{{y:.0%}}"
                                  "<extra></extra>",
                ), row=r, col=c)
            fig.add_trace(go.Scatter(
                x=np.asarray(sat.left[(k, g)], dtype=np.float32),
                y=np.asarray(sat.right[(k, g)], dtype=np.float32),
                mode="markers", name=now_label, legendgroup="now", showlegend=(k == 0 and j == 0),
                marker={"size": 6, "color": LAYER_COLORS[k % len(LAYER_COLORS)], "opacity": 0.6,
                        "line": {"width": 0}},
                hovertemplate=f"{now_label}<br>cell %{{pointNumber}}<br>closed %{{x:.0%}} · open %{{y:.0%}}"
                              "<extra></extra>",
            ), row=r, col=c)
            ticks = dict(tickmode="array", tickvals=[0, 0.5, 1], ticktext=["0", "50", "100"])
            fig.update_xaxes(range=[-0.03, 1.03], row=r, col=c, **ticks,
                             title={"text": f"% of time < {sat.low:g}", "font": {"size": 11}} if k == L - 1 else None)
            fig.update_yaxes(range=[-0.03, 1.03], row=r, col=c, **ticks,
                             title={"text": f"% of time > {sat.high:g}", "font": {"size": 11}} if j == 0 else None)
    fig.update_annotations(font_size=12)
    fig.update_layout(title=title, height=height or 90 + 230 * L, showlegend=compare is not None,
                      legend={"orientation": "h", "y": -0.12 if L > 1 else -0.25},
                      margin={"l": 50, "r": 10, "t": 70, "b": 40})
    return fig


def conveyor_figure(chars, *, start: int, memory, keep, write, units, retention=None,
                    memory_label: str = "cell state c", keep_label: str = "forget gate f",
                    write_label: str = "input gate i", height: int | None = None) -> go.Figure:
    """c_t traces of chosen cells with their forget and input gates beneath.

    ``memory``/``keep``/``write`` (and the optional ``retention``) are [T, K]
    arrays for the K ``units``; rows share the x axis (the text window).
    """
    rows = [memory_label, keep_label, write_label] + (["share of old content kept"] if retention is not None else [])
    heights = [0.4, 0.2, 0.2, 0.2][: len(rows)]
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        row_heights=heights, subplot_titles=rows)
    x = np.arange(start, start + len(chars))
    hover = [tick_label(c) for c in chars]
    series = [memory, keep, write] + ([retention] if retention is not None else [])
    for r, data in enumerate(series, start=1):
        data = np.asarray(data, dtype=np.float32)
        for j, u in enumerate(units):
            fig.add_trace(go.Scatter(
                x=x, y=data[:, j], mode="lines", name=f"cell {u}", legendgroup=f"u{u}", showlegend=r == 1,
                line={"color": UNIT_COLORS[j % len(UNIT_COLORS)], "width": 2 if r == 1 else 1.5,
                      "shape": "hv" if r > 1 else "linear"},
                customdata=hover, hovertemplate=f"cell {u}<br>t=%{{x}} '%{{customdata}}'<br>%{{y:.3f}}<extra></extra>",
            ), row=r, col=1)
        if r > 1:
            fig.update_yaxes(range=[-0.05, 1.05], dtick=0.5, row=r, col=1)
    fig.add_hline(y=0, line={"color": "rgba(0,0,0,0.3)", "width": 1}, row=1, col=1)
    _char_axis(fig, chars, start, row=len(rows), col=1)
    fig.update_annotations(font_size=12, x=0.0, xanchor="left")
    fig.update_layout(height=height or 620, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.06, "x": 1, "xanchor": "right"},
                      margin={"l": 50, "r": 10, "t": 60, "b": 40})
    return fig


def unit_strip(chars, *, start: int, series: dict, mark: int, height: int = 300) -> go.Figure:
    """Several signals of one unit over a window, with the inspected step marked."""
    x = np.arange(start, start + len(chars))
    hover = [tick_label(c) for c in chars]
    fig = go.Figure()
    for j, (name, values) in enumerate(series.items()):
        fig.add_trace(go.Scatter(
            x=x, y=np.asarray(values, dtype=np.float32), mode="lines+markers", name=name,
            marker={"size": 4}, line={"color": UNIT_COLORS[j % len(UNIT_COLORS)], "width": 1.5},
            customdata=hover, hovertemplate=f"{name}<br>t=%{{x}} '%{{customdata}}'<br>%{{y:.3f}}<extra></extra>",
        ))
    fig.add_vline(x=mark, line={"color": "rgba(0,0,0,0.5)", "dash": "dash", "width": 1})
    fig.add_hline(y=0, line={"color": "rgba(0,0,0,0.2)", "width": 1})
    _char_axis(fig, chars, start)
    fig.update_layout(height=height, hovermode="x unified", margin={"l": 40, "r": 10, "t": 30, "b": 30},
                      legend={"orientation": "h", "y": 1.12})
    return fig
