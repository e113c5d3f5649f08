"""Figures for the seq2seq lab: the attention map, accuracy by input length (dates) or
by output position (strings) and the "does attention explain the output?" test. Pure
functions returning Plotly figures; the race's curves are ``rnnviz.plots.race``'s.

Input characters come from typed text, so axis labels escape every character
(``html.escape``; Plotly reads a small HTML subset in labels) and show a space as
"␣". Axes are numeric with tick texts, so repeated characters stay separate columns.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from .race import PALETTE


def _label(c: str) -> str:
    return "␣" if c == " " else html.escape(c)


def attention_map(decoding, title: str = "Where the decoder looked") -> go.Figure:
    """Heatmap of output characters (rows) x input characters (columns) for a
    ``rnnviz.seq2seq.model.Decoding``; hover shows the weight and the top-5 guesses."""
    m = decoding.attention_matrix()
    if m is None:
        raise ValueError("This model has no attention, so there is no map to draw.")
    z = np.asarray(m, dtype=np.float32)
    hover = [[f"{_label(ch)} → {_label(s.char)}: {z[i, j]:.2f}<br>top 5: "
              + ", ".join(f"{_label(c)} {p:.0%}" for c, p in s.top5)
              for j, ch in enumerate(decoding.text)] for i, s in enumerate(decoding.steps)]
    fig = go.Figure(go.Heatmap(z=z, x=list(range(z.shape[1])), y=list(range(z.shape[0])), zmin=0, zmax=1,
                               colorscale="Blues", text=hover, hoverinfo="text",
                               colorbar=dict(title="weight")))
    fig.update_xaxes(tickvals=list(range(z.shape[1])), ticktext=[_label(c) for c in decoding.text],
                     title="input character", side="top")
    fig.update_yaxes(tickvals=list(range(z.shape[0])), ticktext=[_label(s.char) for s in decoding.steps],
                     title="output character", autorange="reversed")
    # the title sits above the input characters and their axis title (the x axis is on top)
    fig.update_layout(title=dict(text=title, y=0.98, yanchor="top"), height=380,
                      margin=dict(l=60, r=20, t=110, b=20), uirevision="attention")
    return fig


def accuracy_by_length(bins_by_model: dict) -> go.Figure:
    """Grouped bars: test exact match per input-length bin (``explain.LengthBin`` lists)."""
    fig = go.Figure()
    for label, bins in bins_by_model.items():
        fig.add_trace(go.Bar(x=[f"{b.lo}–{b.hi}" for b in bins], y=[100 * b.exact_match for b in bins],
                             name=html.escape(label), customdata=[b.n for b in bins],
                             hovertemplate="%{x} characters: %{y:.1f} % of %{customdata} dates<extra></extra>"))
    fig.update_layout(barmode="group", xaxis_title="input length (characters)",
                      yaxis_title="exact match on test (%)", yaxis_range=[0, 100], height=320,
                      margin=dict(l=60, r=20, t=30, b=40))
    return fig


def accuracy_by_position(curves: dict) -> go.Figure:
    """Test accuracy of each output character on its own, one line per model
    (``curves`` maps a label to ``explain.accuracy_by_position``), in the race's colours."""
    fig = go.Figure()
    for k, (label, acc) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=list(range(1, len(acc) + 1)), y=[100 * a for a in acc], name=html.escape(label),
                                 mode="lines+markers", line=dict(color=PALETTE[k % len(PALETTE)])))
    fig.update_layout(xaxis_title="output position", yaxis_title="characters right on test (%)",
                      yaxis_range=[0, 102], height=320, margin=dict(l=60, r=20, t=30, b=40),
                      legend=dict(orientation="h"))
    return fig


def attention_test(result, positions: str = "output position (yyyy-MM-dd)") -> go.Figure:
    """How often each output character changes when the most-attended input character
    (or a random one) is blanked (``explain.AttentionTest``)."""
    pos = [f"{i + 1}" for i in range(len(result.per_position))]
    fig = go.Figure([
        go.Bar(x=pos, y=[100 * v for v in result.per_position], name="most-attended character blanked"),
        go.Scatter(x=pos, y=[100 * result.changed_random] * len(pos), mode="lines",
                   name="random character blanked (mean)", line=dict(dash="dash", color="#7f7f7f")),
    ])
    fig.update_layout(xaxis_title=positions, yaxis_title="output changed (%)",
                      yaxis_range=[0, 100], height=320, margin=dict(l=60, r=20, t=30, b=40))
    return fig


def top5(step, title: str = "") -> go.Figure:
    """Horizontal bars of the decoder's five most likely next characters at one step
    (a ``rnnviz.seq2seq.model.DecodeStep``); the chosen one (greedy) first."""
    chars = [_label(c) for c, _ in step.top5][::-1]
    probs = [100 * p for _, p in step.top5][::-1]
    colors = ["#1f77b4" if i == len(chars) - 1 else "#9ecae1" for i in range(len(chars))]
    fig = go.Figure(go.Bar(x=probs, y=list(range(len(chars))), orientation="h", marker_color=colors,
                           text=[f"{p:.1f} %" for p in probs], textposition="auto",
                           hovertemplate="%{customdata}: %{x:.2f} %<extra></extra>", customdata=chars))
    fig.update_yaxes(tickvals=list(range(len(chars))), ticktext=chars, title="next character")
    fig.update_layout(title=title, xaxis_title="probability (%)", xaxis_range=[0, 100], height=260,
                      margin=dict(l=60, r=20, t=40 if title else 20, b=40), showlegend=False)
    return fig
