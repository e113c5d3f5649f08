"""Figures for the cell explorer: cells x time heatmap and the r histogram.

Pure Plotly from NumPy arrays. The heatmap is meant for box selection in
Streamlit (a heatmap click returns nothing there), so its drag mode is "select"
and its spec depends only on the data passed in: the caller keeps it stable
while a selection should persist.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import COLORSCALES

MAX_HOVER_CELLS = 40_000  # above this many z values, hover text would bloat the spec


def char_label(ch: str) -> str:
    if ch == "\n":
        return "\u21b5 newline"
    if ch == " ":
        return "space"
    if ch == "\t":
        return "tab"
    if ord(ch) < 32:
        return f"\\x{ord(ch):02x}"
    return ch


def cells_time_heatmap(values, chars, cell_ids, *, x0: int = 0, vmax: float = 1.0,
                       signal_label: str = "value", title: str | None = None) -> go.Figure:
    """Rows = cells (in the given order, first at the top), columns = characters.

    ``values`` is [T, n] (one column per cell in ``cell_ids``); ``x0`` is the
    offset of the first character in the text, so x values are text positions.
    """
    v = np.asarray(values, dtype=np.float32)
    T, n = v.shape
    if len(chars) != T or len(cell_ids) != n:
        raise ValueError("One character per row of values and one cell id per column are needed.")
    z = np.ascontiguousarray(v.T)  # [n, T] float32
    x = np.arange(x0, x0 + T)
    y = np.arange(n)
    vmax = float(vmax) if np.isfinite(vmax) and vmax > 0 else 1.0
    labels = [f"cell {int(c)}" for c in cell_ids]
    kw = {}
    if n * T <= MAX_HOVER_CELLS:
        shown = [char_label(c) for c in chars]
        kw["customdata"] = [[f"{labels[i]} · {shown[t]}" for t in range(T)] for i in range(n)]
        kw["hovertemplate"] = "%{customdata}<br>position %{x}<br>" + signal_label + " = %{z:.3f}<extra></extra>"
    else:
        kw["hovertemplate"] = "row %{y}<br>position %{x}<br>" + signal_label + " = %{z:.3f}<extra></extra>"
    fig = go.Figure(go.Heatmap(
        z=z, x=x, y=y, zmin=-vmax, zmax=vmax, colorscale=COLORSCALES["signed"],
        colorbar=dict(title=dict(text=signal_label, side="right"), thickness=12), **kw,
    ))
    tick = dict(tickmode="array", tickvals=list(y), ticktext=labels) if n <= 48 else dict(title="row (see order)")
    fig.update_layout(
        title=title, dragmode="select", height=int(min(640, max(260, 16 * n + 110))),
        margin=dict(l=10, r=10, t=40 if title else 10, b=40), plot_bgcolor="white",
        xaxis=dict(title="position in the text", showgrid=False),
        yaxis=dict(autorange="reversed", showgrid=False, **tick),
    )
    return fig


def r_histogram(r, *, highlight: float | None = None, label: str = "") -> go.Figure:
    """How many cells have each correlation: most are near 0, a few stand out."""
    r = np.asarray(r, dtype=np.float64)
    fig = go.Figure(go.Histogram(x=r, xbins=dict(start=-1.0, end=1.0, size=0.05),
                                 marker_color="rgb(120,140,200)",
                                 hovertemplate="r in %{x}<br>%{y} cells<extra></extra>"))
    if highlight is not None and np.isfinite(highlight):
        fig.add_vline(x=float(highlight), line=dict(color="rgb(220,50,50)", width=2, dash="dash"),
                      annotation_text=f"best r = {highlight:+.2f}", annotation_position="top")
    fig.update_layout(height=230, margin=dict(l=10, r=10, t=30, b=40), bargap=0.05,
                      xaxis=dict(title=f"Pearson r with {label}" if label else "Pearson r", range=[-1, 1]),
                      yaxis=dict(title="cells", type="log"), showlegend=False)
    return fig


def robust_scale(values, q: float = 99.0) -> float:
    """A colour range for a heatmap: the q-th percentile of |values|, at least 1, so one
    outlier does not wash out every other cell."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    return max(1.0, float(np.percentile(v, q))) if v.size else 1.0


def cells_window(block, order, text: str, *, rows: int, start: int, width: int, signal_label: str = "value"):
    """The cells x time heatmap of the first ``rows`` cells of ``order`` over ``width``
    characters from ``start``; returns (figure, the cell number of each row)."""
    ids = [int(u) for u in order[:rows]]
    sub = np.asarray(block)[start : start + width][:, ids]
    fig = cells_time_heatmap(sub, list(text[start : start + width]), ids, x0=start, vmax=robust_scale(sub),
                             signal_label=signal_label)
    return fig, ids


# ------------------------------------------------------------------ coloured text (escaped HTML, rnnviz.ui.html)


def cell_legend(label: str, *, gate: bool, vmax: float = 1.0) -> str:
    """The colour legend of one cell's coloured text: 0..1 for a gate, ±vmax otherwise."""
    from ..ui import html as H

    if gate:
        return H.legend("gate", f"{label}. Hover a character for its value.")
    why = " (this cell's largest |value|)" if vmax > 1 else ""
    return H.legend("diverging", f"{label}: white = 0, full colour at ±{vmax:.2f}{why}. Hover a character for its value.",
                    ends=(f"{-vmax:.2f}", f"+{vmax:.2f}"))


def span_fragment(text: str, a: int, b: int, *, pad: int = 40, values=None, caption: str = "",
                  max_height: int = 160) -> str:
    """Characters [a, b) in bold with ``pad`` characters around, coloured by ``values``
    (one per character of ``text``, e.g. the mean of some cells) when given."""
    from ..ui import html as H

    s0, s1 = max(0, a - pad), min(len(text), b + pad)
    chars = text[s0:s1]
    colors = titles = None
    if values is not None:
        v = np.asarray(values, dtype=np.float64)[s0:s1]
        m = max(1.0, float(np.abs(v).max()) if v.size else 1.0)
        colors = [H.diverging_rgb(float(x), -m, m) for x in v]
        titles = [f"{H.describe_char(ch)}  mean = {float(x):+.3f}" for ch, x in zip(chars, v)]
    return H.char_spans(list(chars), colors, titles, bold=[a <= j < b for j in range(s0, s1)],
                        max_height=max_height, caption=caption)
