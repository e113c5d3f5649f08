"""Figures for the "Hello, RNN" lesson: tiny annotated heatmaps and bars.

Everything here is small (a few dozen numbers), so values go into the figure as
plain float64 lists: the numbers a student hovers over are exactly the numbers
the model computed (the page tests read them back). Colours follow the app's
convention: negative red, zero white, positive blue.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import COLORSCALES

HIGHLIGHT = "#f39c12"
TARGET = "#27ae60"
MUTED = "#95a5a6"
SAMPLED = "#8e44ad"
FONT = dict(family="Inter, 'Source Sans Pro', sans-serif", size=13)


def _layout(fig: go.Figure, title: str, height: int, **kw) -> go.Figure:
    kw.setdefault("margin", dict(l=10, r=10, t=40, b=10))
    fig.update_layout(title=dict(text=title, x=0.02, xanchor="left", font=dict(size=14)), height=height,
                      font=FONT, plot_bgcolor="white", paper_bgcolor="white", **kw)
    return fig


def _lim(values) -> float:
    v = np.abs(np.asarray(values, dtype=np.float64))
    m = float(v.max()) if v.size else 1.0
    return max(m, 1e-9)


def _letter(ch: str) -> str:
    """A vocabulary symbol as figure text: a space shows as ␣, HTML is escaped
    (Plotly renders a few tags in titles and labels)."""
    return "␣" if ch == " " else html.escape(ch)


def _vec_trace(values, row_labels, *, onehot: bool = False, fmt: str = "{:+.3f}",
               vmax: float | None = None) -> go.Heatmap:
    v = [float(x) for x in np.asarray(values, dtype=np.float64).reshape(-1)]
    lim = 1.0 if onehot else (vmax if vmax is not None else max(_lim(v), 1.0))
    return go.Heatmap(
        z=[[x] for x in v], y=list(row_labels), x=[""], text=[[(f"{x:g}" if onehot else fmt.format(x))] for x in v],
        texttemplate="%{text}", textfont=dict(size=13), colorscale=COLORSCALES["onehot" if onehot else "signed"],
        zmin=0.0 if onehot else -lim, zmax=1.0 if onehot else lim, showscale=False, xgap=2, ygap=2,
        hovertemplate="%{y}: %{z:.6f}<extra></extra>")


def _mat_trace(W, row_labels, col_labels, *, fmt: str = "{:+.2f}") -> go.Heatmap:
    W = np.asarray(W, dtype=np.float64)
    z = W.tolist()
    text = [[fmt.format(x) for x in row] for row in z]
    lim = max(_lim(W), 1.0)
    return go.Heatmap(
        z=z, y=list(row_labels), x=list(col_labels), text=text, texttemplate="%{text}", textfont=dict(size=12),
        colorscale=COLORSCALES["signed"], zmin=-lim, zmax=lim, showscale=False, xgap=2, ygap=2,
        hovertemplate="row %{y}, column %{x}: %{z:.6f}<extra></extra>")


def vector_heatmap(values, row_labels, title: str, *, highlight_row: int | None = None, onehot: bool = False,
                   vmax: float | None = None, fmt: str = "{:+.3f}", height: int | None = None) -> go.Figure:
    """A column vector as a one-column heatmap with every entry written on it."""
    fig = go.Figure(_vec_trace(values, row_labels, onehot=onehot, fmt=fmt, vmax=vmax))
    n = len(fig.data[0].z)
    if highlight_row is not None:
        fig.add_shape(type="rect", x0=-0.5, x1=0.5, y0=highlight_row - 0.5, y1=highlight_row + 0.5,
                      line=dict(color=HIGHLIGHT, width=3))
    fig.update_yaxes(autorange="reversed", type="category", tickfont=dict(size=13))
    fig.update_xaxes(showticklabels=False)
    return _layout(fig, title, height or (70 + 34 * n))


def matrix_heatmap(W, row_labels, col_labels, title: str, *, highlight_col: int | None = None,
                   fmt: str = "{:+.2f}", height: int | None = None) -> go.Figure:
    """A weight matrix with its entries written on it; ``highlight_col`` is boxed."""
    W = np.asarray(W, dtype=np.float64)
    fig = go.Figure(_mat_trace(W, row_labels, col_labels, fmt=fmt))
    if highlight_col is not None:
        fig.add_shape(type="rect", x0=highlight_col - 0.5, x1=highlight_col + 0.5, y0=-0.5,
                      y1=W.shape[0] - 0.5, line=dict(color=HIGHLIGHT, width=4))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    fig.update_layout(title_y=0.98, title_yanchor="top")
    return _layout(fig, title, height or (110 + 34 * W.shape[0]), margin=dict(l=10, r=10, t=78, b=10))


def forward_step(p, t: int, *, height: int | None = None) -> go.Figure:
    """One forward step of a ``hello.Pass`` as one figure, left to right: the one-hot
    input x, W_xh with the column it picks boxed, the state before and after, the
    logits and the softmax with the target letter in green.

    Traces in that order (``data[0]`` … ``data[5]``); the first shape is the box
    on W_xh's column. Titles are two short lines so that narrow panels never cut
    them."""
    t = int(t)
    vocab = [_letter(c) for c in p.vocab]
    V, H = len(vocab), p.hs.shape[1]
    n, x_ch, y_ch = t + 1, vocab[p.inputs[t]], vocab[p.targets[t]]
    v_labels = [f"'{c}'" for c in vocab]
    h_labels = [f"h[{i}]" for i in range(H)]
    titles = [f"x{n}<br>one-hot '{x_ch}'", f"W_xh<br>column '{x_ch}' boxed", f"h{t}<br>before",
              f"h{n}<br>after", f"y{n}<br>logits", f"p{n} = softmax(y{n})<br>target '{y_ch}' in green"]
    # Up to six letters everything fits in one row; a longer vocabulary puts the
    # output (logits, softmax) on a second row so no panel gets too narrow.
    one_row = V <= 6
    if one_row:
        cells = [(1, c) for c in range(1, 7)]
        fig = make_subplots(rows=1, cols=6, column_widths=[1.0, max(V, 2) * 0.9, 1.0, 1.0, 1.0, max(2.2, V * 0.6)],
                            horizontal_spacing=0.06, subplot_titles=titles)
    else:
        cells = [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2)]
        fig = make_subplots(rows=2, cols=4, column_widths=[1.0, V * 0.9, 1.0, 1.0], horizontal_spacing=0.06,
                            vertical_spacing=0.16, row_heights=[max(V, H), V], subplot_titles=titles,
                            specs=[[{}, {}, {}, {}], [{}, {"colspan": 3}, None, None]])
    fig.add_trace(_vec_trace(p.xs[t], v_labels, onehot=True), *cells[0])
    fig.add_trace(_mat_trace(p.params["W_xh"], h_labels, v_labels), *cells[1])
    for cell, vec, labels in ((cells[2], p.h_prev[t], h_labels), (cells[3], p.hs[t], h_labels),
                              (cells[4], p.logits[t], v_labels)):
        fig.add_trace(_vec_trace(vec, labels), *cell)
    probs = [float(x) for x in p.probs[t]]
    colors = [MUTED] * V
    colors[p.targets[t]] = TARGET
    fig.add_trace(go.Bar(x=v_labels, y=probs, marker_color=colors, text=[f"{x:.3f}" for x in probs],
                         textposition="outside", cliponaxis=False, showlegend=False,
                         hovertemplate="p(%{x}) = %{y:.6f}<extra></extra>"), *cells[5])
    fig.add_shape(type="rect", x0=p.inputs[t] - 0.5, x1=p.inputs[t] + 0.5, y0=-0.5, y1=H - 0.5,
                  line=dict(color=HIGHLIGHT, width=4), row=cells[1][0], col=cells[1][1])
    fig.add_shape(type="rect", x0=-0.5, x1=0.5, y0=p.inputs[t] - 0.5, y1=p.inputs[t] + 0.5,
                  line=dict(color=HIGHLIGHT, width=3), row=cells[0][0], col=cells[0][1])
    for i, (r, c) in enumerate(cells[:5]):
        fig.update_yaxes(autorange="reversed", type="category", row=r, col=c)
        fig.update_xaxes(type="category", showticklabels=i == 1, side="top", row=r, col=c)
    fig.update_yaxes(range=[0, 1.18], tickvals=[0, 0.5, 1], gridcolor="#eee", row=cells[5][0], col=cells[5][1])
    fig.update_xaxes(type="category", row=cells[5][0], col=cells[5][1])
    fig.update_annotations(font=dict(size=13), yshift=30)  # above W_xh's letter ticks
    rows = max(V, H) if one_row else max(V, H) + V + 3
    return _layout(fig, "", height or (165 + 36 * rows), margin=dict(l=10, r=10, t=95, b=10))


def loss_curve(steps, losses, *, baseline: float | None = None, height: int = 300) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(steps), y=[float(v) for v in losses], mode="lines+markers",
                               marker=dict(size=4), line=dict(color="#2166ac", width=2), name="loss",
                               hovertemplate="step %{x}: loss %{y:.4f}<extra></extra>"))
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color=MUTED, dash="dot"),
                      annotation_text="uniform guessing", annotation_position="top right")
    fig.update_xaxes(title_text="training step", gridcolor="#eee", rangemode="tozero")
    fig.update_yaxes(title_text="loss (sum over the word, nats)", gridcolor="#eee", rangemode="tozero")
    return _layout(fig, "Loss while training", height, showlegend=False)


def pcorrect_lines(steps, P, labels, *, height: int = 300) -> go.Figure:
    """One line per position: probability the model gives the correct next letter."""
    P = np.asarray(P, dtype=np.float64)
    fig = go.Figure()
    palette = ["#2166ac", "#c0392b", "#27ae60", "#8e44ad", "#f39c12", "#16a085", "#d35400", "#2c3e50"]
    for j, lab in enumerate(labels):
        fig.add_trace(go.Scatter(x=list(steps), y=P[:, j].tolist(), mode="lines", name=lab,
                                 line=dict(width=2, color=palette[j % len(palette)]),
                                 hovertemplate=f"{lab}<br>step %{{x}}: p = %{{y:.4f}}<extra></extra>"))
    fig.update_xaxes(title_text="training step", gridcolor="#eee", rangemode="tozero")
    fig.update_yaxes(title_text="p(correct next letter)", range=[0, 1.02], gridcolor="#eee")
    return _layout(fig, "Probability of the correct next letter, per position", height + 40,
                   legend=dict(orientation="h", y=-0.38, x=0.0), margin=dict(l=10, r=10, t=40, b=20))


def reach_bars(values, labels, title: str, *, color: str = "#2166ac", height: int = 280,
               ytitle: str = "gradient norm") -> go.Figure:
    v = [float(x) for x in np.asarray(values, dtype=np.float64).reshape(-1)]
    fig = go.Figure(go.Bar(x=list(labels), y=v, marker_color=color, text=[f"{x:.4f}" for x in v],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: %{y:.6f}<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=ytitle, gridcolor="#eee", rangemode="tozero")
    return _layout(fig, title, height)


def clip_bars(labels, raw, elementwise, norm, limit: float, *, height: int = 340) -> go.Figure:
    """The same gradient three ways: raw, each entry clipped to ±limit, and rescaled."""
    fig = go.Figure()
    for name, vals, color in (("raw gradient", raw, MUTED), (f"elementwise clip ±{limit:g}", elementwise,
                                                             "#c0392b"),
                              (f"norm clip to {limit:g}", norm, "#2166ac")):
        fig.add_trace(go.Bar(x=list(labels), y=[float(x) for x in vals], name=name, marker_color=color,
                             hovertemplate="%{x}: %{y:.6f}<extra>" + name + "</extra>"))
    top = 1.15 * max(_lim(raw), 1e-6)
    if limit <= top:
        for y in (limit, -limit):
            fig.add_hline(y=y, line=dict(color="#c0392b", dash="dot", width=1))
    else:
        fig.add_annotation(x=0.5, y=0.98, xref="paper", yref="paper", showarrow=False,
                           text=f"±{limit:g} lies outside this range: no entry reaches it",
                           font=dict(size=12, color="#c0392b"))
    fig.update_xaxes(type="category", tickangle=-60, tickfont=dict(size=10))
    fig.update_yaxes(title_text="gradient entry", gridcolor="#eee", zerolinecolor="#999", range=[-top, top])
    return _layout(fig, "One gradient, two ways to clip it", height, barmode="group",
                   legend=dict(orientation="h", y=1.12, x=0.35))


def chain_figure(chain, vocab, *, per_row: int = 6) -> go.Figure:
    """Sampling as a chain: one small bar chart per step, the drawn letter in purple."""
    n = len(chain)
    rows = (n + per_row - 1) // per_row
    cols = min(n, per_row)
    titles = [f"t={s.t + 1}: in '{s.input}' → '{s.sampled}'" for s in chain]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.03,
                        vertical_spacing=0.22 if rows > 1 else 0.1, shared_yaxes=True)
    for i, s in enumerate(chain):
        r, c = i // per_row + 1, i % per_row + 1
        colors = [SAMPLED if v == s.sampled else MUTED for v in vocab]
        fig.add_trace(go.Bar(x=[f"'{v}'" for v in vocab], y=[float(x) for x in s.probs], marker_color=colors,
                             text=[f"{x:.2f}" for x in s.probs], textposition="outside", cliponaxis=False,
                             showlegend=False, hovertemplate="p(%{x}) = %{y:.6f}<extra></extra>"),
                      row=r, col=c)
        fig.update_yaxes(range=[0, 1.2], tickvals=[0, 0.5, 1], showgrid=True, gridcolor="#eee", row=r, col=c)
    fig.update_annotations(font=dict(size=12))
    return _layout(fig, "", 60 + 210 * rows, margin=dict(l=10, r=10, t=30, b=10))


def tbptt_diagram(text: str, k: int, t: int, reach_truncated, *, height: int = 300) -> go.Figure:
    """The stream as boxes, cut into chunks of k. Forward arrows carry h everywhere;
    the backward (gradient) arrows of the loss at step ``t`` stop at its chunk start."""
    inputs = text[:-1]
    T = len(inputs)
    fig = go.Figure()
    shapes, ann = [], []
    y_box = 1.0
    start = (t // k) * k
    reach = np.asarray(reach_truncated, dtype=np.float64)
    for s0 in range(0, T, k):
        s1 = min(s0 + k, T)
        shapes.append(dict(type="rect", x0=s0 - 0.45, x1=s1 - 0.55, y0=0.45, y1=1.55,
                           line=dict(color="#7f8c8d", width=1, dash="dot"),
                           fillcolor="rgba(33,102,172,0.07)" if s0 == start else "rgba(0,0,0,0.02)"))
        ann.append(dict(x=(s0 + s1 - 1) / 2, y=1.72, text=f"chunk {s0 // k + 1}", showarrow=False,
                        font=dict(size=11, color="#555")))
        if s0 > 0:
            shapes.append(dict(type="line", x0=s0 - 0.5, x1=s0 - 0.5, y0=-0.45, y1=1.6,
                               line=dict(color="#c0392b", width=2)))
            ann.append(dict(x=s0 - 0.5, y=-0.55, text="✂", showarrow=False, font=dict(size=13, color="#c0392b")))
    xs, ys, colors, texts, hover = [], [], [], [], []
    for s, ch in enumerate(inputs):
        xs.append(s)
        ys.append(y_box)
        if s == t:
            colors.append(HIGHLIGHT)
        elif start <= s < t:
            colors.append("#a9cce3")
        else:
            colors.append("#ecf0f1")
        texts.append(ch)
        g = reach[s] if s < len(reach) else 0.0
        hover.append(f"step {s + 1}, input '{ch}'" + (f"<br>||dL_{t + 1}/dh_{s + 1}|| = {g:.6f}" if s <= t else ""))
    # Boxes in data units (not fixed-size markers), so a long stream shrinks them
    # instead of letting neighbours overlap at a narrow width.
    shapes += [dict(type="rect", x0=s - 0.42, x1=s + 0.42, y0=y_box - 0.25, y1=y_box + 0.25, fillcolor=c,
                    line=dict(color="#555", width=1), layer="below") for s, c in zip(xs, colors)]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=texts, textposition="middle center",
                             marker=dict(symbol="square", size=18, color="rgba(0,0,0,0)"),
                             textfont=dict(size=14, family="monospace"), hovertext=hover, hoverinfo="text",
                             showlegend=False))
    # forward: state carried along the whole stream (also across borders)
    for s in range(T - 1):
        across = (s + 1) % k == 0
        ann.append(dict(x=s + 0.72, y=0.62, ax=s + 0.28, ay=0.62, xref="x", yref="y", axref="x", ayref="y",
                        showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=2.2 if across else 1.2,
                        arrowcolor="#2166ac", text=""))
    # backward from the loss at t to the start of its chunk
    for s in range(t, start, -1):
        ann.append(dict(x=s - 0.72, y=1.38, ax=s - 0.28, ay=1.38, xref="x", yref="y", axref="x", ayref="y",
                        showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=2, arrowcolor="#c0392b", text=""))
    ann.append(dict(x=t, y=0.05, text=f"loss L{t + 1}", showarrow=False, font=dict(size=11, color="#b9770e")))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="#2166ac", width=2),
                             name="forward: h carried to the next step (always)"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="#c0392b", width=2),
                             name=f"backward: gradient of L{t + 1} (only inside its chunk)"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="#c0392b", width=2),
                             name="✂ chunk border: h passes, gradient stops"))
    fig.update_layout(shapes=shapes, annotations=ann)
    fig.update_xaxes(visible=False, range=[-0.8, T - 0.2])
    fig.update_yaxes(visible=False, range=[-0.8, 1.9])
    return _layout(fig, f"Truncated BPTT with chunks of k = {k}", height,
                   legend=dict(orientation="h", y=-0.02, x=0.0))


def reach_compare(full, truncated, labels, t: int, chunk_start: int, *, height: int = 300) -> go.Figure:
    """||dL_t/dh_s|| for s <= t: full backprop through time vs truncated."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=list(labels), y=[float(v) for v in full], name="full BPTT", marker_color=MUTED,
                         hovertemplate="%{x}: %{y:.6f}<extra>full</extra>"))
    fig.add_trace(go.Bar(x=list(labels), y=[float(v) for v in truncated], name="truncated", marker_color="#c0392b",
                         hovertemplate="%{x}: %{y:.6f}<extra>truncated</extra>"))
    if chunk_start > 0:
        fig.add_vline(x=chunk_start - 0.5, line=dict(color="#c0392b", width=2, dash="dot"))
    fig.update_xaxes(type="category", tickfont=dict(size=10))
    fig.update_yaxes(title_text=f"||dL{t + 1} / dh_s||", gridcolor="#eee")
    return _layout(fig, f"How far back the gradient of L{t + 1} reaches", height, barmode="group",
                   legend=dict(orientation="h", y=1.12, x=0.5))


def copy_curves(runs, *, height: int = 320) -> go.Figure:
    """Accuracy on the letter that needs memory, while training, one line per k."""
    fig = go.Figure()
    palette = ["#c0392b", "#2166ac", "#27ae60", "#8e44ad"]
    for i, r in enumerate(runs):
        fig.add_trace(go.Scatter(x=list(r.steps), y=[float(a) for a in r.acc_dependent], mode="lines+markers",
                                 name=f"k = {r.k}", line=dict(width=2.5, color=palette[i % len(palette)]),
                                 hovertemplate=f"k = {r.k}<br>%{{x}} chars: accuracy %{{y:.3f}}<extra></extra>"))
    fig.add_hline(y=0.5, line=dict(color=MUTED, dash="dot"), annotation_text="coin flip",
                  annotation_position="bottom right")
    fig.update_xaxes(title_text="training characters per stream", gridcolor="#eee")
    fig.update_yaxes(title_text="accuracy on the repeated letter", range=[0, 1.05], gridcolor="#eee")
    return _layout(fig, "Can it remember across the gap?", height, legend=dict(orientation="h", y=1.12, x=0.5))


# ------------------------------------------------- figures straight from the model's objects

def training_figures(model, p) -> tuple[go.Figure, go.Figure]:
    """The loss curve (with the uniform-guessing line) and the per-position
    p(correct) lines of a ``hello.HelloModel`` whose current pass is ``p``."""
    from ..hello import position_labels

    steps, losses = zip(*model.loss_hist)
    psteps, P = zip(*model.pcorrect_hist)
    return (loss_curve(steps, losses, baseline=p.steps * np.log(len(p.vocab))),
            pcorrect_lines(psteps, P, position_labels(p)))


def last_loss_reach(p) -> go.Figure:
    """||dL_T/dh_t|| for every t of a pass: how much of the last loss reaches each state."""
    T = p.steps
    return reach_bars(p.reach_last, [f"h{i + 1}" for i in range(T)],
                      f"How much of the last loss reaches h_t: ‖∂L{T}/∂h_t‖")


def grad_heatmaps(p) -> dict[str, go.Figure]:
    """∂L/∂W_xh, ∂L/∂W_hh and ∂L/∂W_hy of a pass, each with its entries written on it."""
    hs = [f"h[{i}]" for i in range(p.hs.shape[1])]
    letters = [f"'{_letter(c)}'" for c in p.vocab]
    axes = {"W_xh": (hs, letters), "W_hh": (hs, hs), "W_hy": (letters, hs)}
    return {name: matrix_heatmap(p.grads[name], rows, cols, f"∂L/∂{name}", fmt="{:+.3f}")
            for name, (rows, cols) in axes.items()}


def clip_comparison(cmp) -> go.Figure:
    """``clip_bars`` for a ``hello.ClipComparison``."""
    return clip_bars(cmp.labels, cmp.raw, cmp.elementwise, cmp.norm, cmp.limit)


def reach_figure(reach) -> go.Figure:
    """``reach_compare`` for a ``bptt.Reach``: full vs truncated, bars labelled by step and input."""
    labels = [f"{i + 1} '{_letter(reach.text[i])}'" for i in range(reach.t + 1)]
    return reach_compare(reach.full, reach.truncated, labels, reach.t, reach.chunk_start)
