"""Figures of the word2vec lab (pure: data in, figure out; no Streamlit).

The pipeline on one sentence (the window and its pairs, CBOW's average, one-hot x W),
the two tricks (subsampling's keep curve, the noise distribution and drawn
negatives), training (loss, the rank of an analogy's answer) and the geometry
(a 2-D projection with pair and analogy arrows, for word2vec, GloVe or a
character model's embedding table).

Words come from users' text and from vector files, so every label is
HTML-escaped before it goes into a figure (Plotly interprets a few tags such as
<a>, <b> and <br> in text).
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..words.pairs import CENTRE, CONTEXT
from . import COLORSCALES
from .training import downsample

CENTRE_COLOR = "#f28e2b"
CONTEXT_COLOR = "#4e79a7"
OUTSIDE_COLOR = "#e6e6e6"
ROLE_COLOR = {CENTRE: CENTRE_COLOR, CONTEXT: CONTEXT_COLOR, "": OUTSIDE_COLOR}
ROLE_FILL = {CENTRE: CENTRE_COLOR, CONTEXT: "#b9d2ee", "": "white"}
# Lighter versions for the background of coloured text (ui.html.char_spans).
ROLE_RGB = {CENTRE: (252, 196, 140), CONTEXT: (178, 204, 235)}
UNIGRAM_COLOR = "#9c9c9c"
NOISE_COLOR = "#59a14f"
HIT_COLOR = "#e15759"
ANSWER_COLOR = "#b07aa1"
ONEHOT = [[0.0, "#ffffff"], [1.0, CENTRE_COLOR]]
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f")


def _e(text) -> str:
    # Quotes stay as they are (harmless in Plotly text, and "o'er" reads better in the CSV).
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, title: str, height: int, **kw) -> go.Figure:
    kw.setdefault("margin", dict(l=10, r=10, t=44, b=10))
    fig.update_layout(title=dict(text=title, x=0.0, xanchor="left", font=dict(size=15)), height=height,
                      plot_bgcolor="white", paper_bgcolor="white", font=dict(size=13), **kw)
    return fig


def _hide_axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)


# ------------------------------------------------------------------ the pipeline


def word_positions(words, gap: float = 1.2) -> np.ndarray:
    """x centre of each word box: boxes as wide as their word (min 3 letters), ``gap`` apart."""
    widths = np.maximum(3, [len(w) for w in words]).astype(np.float64)
    right = np.cumsum(widths + gap)
    return right - widths / 2 - gap, widths


def window_figure(words, roles, pairs, *, height: int = 300) -> go.Figure:
    """The sentence as a row of word boxes: the centre orange, its window blue, and one
    arc from the centre to each context word, labelled with the pair it makes."""
    x, widths = word_positions(words)
    fig = go.Figure()
    for xi, wi, role in zip(x, widths, roles):
        fig.add_shape(type="rect", x0=xi - wi / 2, x1=xi + wi / 2, y0=-0.4, y1=0.4,
                      line=dict(color=ROLE_COLOR[role] if role else "#bbbbbb", width=2),
                      fillcolor=ROLE_FILL[role], layer="below")
    labels = [_e(w) for w in words]
    fig.add_trace(go.Scatter(
        x=x, y=np.zeros(len(words)), mode="text", text=labels, name="words",
        textfont=dict(size=15, color=["white" if r == CENTRE else "#111111" for r in roles]),
        customdata=[[i + 1, r or "outside the window"] for i, r in enumerate(roles)],
        hovertemplate="word %{customdata[0]}: %{text}<br>%{customdata[1]}<extra></extra>",
    ))
    c = roles.index(CENTRE) if CENTRE in roles else None
    ax, ay, at = [], [], []
    for j, role in enumerate(roles):
        if role != CONTEXT or c is None:
            continue
        dist = abs(j - c)
        h = 0.8 + 0.45 * dist
        t = np.linspace(0, 1, 30)
        xs = (1 - t) ** 2 * x[c] + 2 * (1 - t) * t * (x[c] + x[j]) / 2 + t ** 2 * x[j]
        ys = 0.4 + 2 * (1 - t) * t * h
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=CONTEXT_COLOR, width=2),
                                 hoverinfo="skip", showlegend=False))
        ax.append((x[c] + x[j]) / 2)
        ay.append(0.4 + h / 2 + 0.12)
        at.append(f"({_e(words[c])}, {_e(words[j])})")
    fig.add_trace(go.Scatter(x=ax, y=ay, mode="text", text=at, name="pairs", textfont=dict(size=12),
                             hovertemplate="training pair %{text}<extra></extra>"))
    fig.update_layout(showlegend=False)
    _hide_axes(fig)
    top = max(ay, default=1.0) + 0.4
    fig.update_yaxes(range=[-0.6, top])
    fig.update_xaxes(range=[-0.5, float(x[-1] + widths[-1] / 2 + 0.5)] if len(words) else None)
    n = len(pairs)
    return _layout(fig, f"Skip-gram: {n} pair{'s' * (n != 1)} with this centre", height)


def cbow_figure(context_words, centre_word, rows: np.ndarray, *, height: int | None = None) -> go.Figure:
    """CBOW's hidden layer: the context words' embeddings (rows of W) and their average h,
    which is what predicts the centre word."""
    rows = np.asarray(rows, dtype=np.float64)
    h = rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1])
    z = np.vstack([rows, h[None, :]])
    labels = [f"W[{_e(w)}]" for w in context_words] + ["h = average"]
    lim = max(float(np.abs(z).max()) if z.size else 1.0, 1e-9)
    fig = go.Figure(go.Heatmap(
        z=z, y=labels, x=[f"d{k + 1}" for k in range(z.shape[1])], colorscale=COLORSCALES["signed"], zmin=-lim,
        zmax=lim, text=[[f"{v:+.2f}" for v in r] for r in z], texttemplate="%{text}", showscale=False,
        xgap=2, ygap=2, hovertemplate="%{y}, %{x}: %{z:.4f}<extra></extra>",
    ))
    fig.add_shape(type="rect", x0=-0.5, x1=z.shape[1] - 0.5, y0=len(rows) - 0.5, y1=len(rows) + 0.5,
                  line=dict(color=CENTRE_COLOR, width=3))
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, f"CBOW: the average of {len(rows)} context vectors predicts \u201c{_e(centre_word)}\u201d",
                   height or 110 + 34 * len(z))


def onehot_figure(words, W: np.ndarray, index: int, *, height: int | None = None) -> go.Figure:
    """x (one-hot) times W picks out one row of W: the three side by side, the row boxed."""
    W = np.asarray(W, dtype=np.float64)
    V, d = W.shape
    x = np.zeros(V)
    x[index] = 1.0
    labels = [_e(w) for w in words]
    dims = [f"d{k + 1}" for k in range(d)]
    fig = make_subplots(rows=1, cols=3, column_widths=[0.18, 0.55, 0.27], horizontal_spacing=0.08,
                        subplot_titles=("one-hot x", "W (one row per word)", "x \u00b7 W"))
    lim = max(float(np.abs(W).max()), 1e-9)
    fig.add_trace(go.Heatmap(z=x[:, None], y=labels, x=[""], colorscale=ONEHOT, zmin=0, zmax=1, showscale=False,
                             text=[[f"{v:g}"] for v in x], texttemplate="%{text}", xgap=2, ygap=2,
                             hovertemplate="x[%{y}] = %{z}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(z=W, y=labels, x=dims, colorscale=COLORSCALES["signed"], zmin=-lim, zmax=lim, showscale=False,
                             text=[[f"{v:+.2f}" for v in r] for r in W], texttemplate="%{text}", xgap=2,
                             ygap=2, hovertemplate="W[%{y}, %{x}] = %{z:.4f}<extra></extra>"), 1, 2)
    # The product sits on the selected word's row, so the eye reads it as "that row".
    prod = np.full((V, d), np.nan)
    prod[index] = x @ W
    fig.add_trace(go.Heatmap(z=prod, y=labels, x=dims, colorscale=COLORSCALES["signed"], zmin=-lim, zmax=lim, showscale=False,
                             text=[[f"{v:+.2f}" if i == index else "" for v in r] for i, r in enumerate(prod)],
                             texttemplate="%{text}", xgap=2, ygap=2, hoverongaps=False,
                             hovertemplate="(x\u00b7W)[%{x}] = %{z:.4f}<extra></extra>"), 1, 3)
    fig.add_shape(type="rect", x0=-0.5, x1=d - 0.5, y0=index - 0.5, y1=index + 0.5,
                  line=dict(color=CENTRE_COLOR, width=3), row=1, col=2)
    for col in (1, 2, 3):
        fig.update_yaxes(autorange="reversed", type="category", row=1, col=col)
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.update_yaxes(showticklabels=False, row=1, col=3)
    return _layout(fig, f"One-hot \u00d7 W = row \u201c{labels[index]}\u201d of W", height or max(260, 110 + 28 * V),
                   margin=dict(l=10, r=10, t=70, b=10))


# ------------------------------------------------------------------ the two tricks


def keep_figure(z_range, sample: float, marks, *, height: int = 400) -> go.Figure:
    """The deck's P(keep) = (sqrt(z/s) + 1) s / z over word frequency z (log axis),
    with the given words (``marks``: (word, z, p)) on the curve."""
    lo, hi = z_range
    z = np.logspace(math.log10(lo), math.log10(hi), 200)
    p = (np.sqrt(z / sample) + 1.0) * sample / z
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=z, y=p, mode="lines", name="P(keep), the formula",
                             line=dict(color=CONTEXT_COLOR, width=2.5),
                             hovertemplate="z = %{x:.2e}<br>P(keep) = %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[1, 1], mode="lines", name="1 (always kept above this line)",
                             line=dict(color="#999999", dash="dash"), hoverinfo="skip"))
    mw, mz, mp = zip(*marks) if marks else ((), (), ())
    fig.add_trace(go.Scatter(
        x=list(mz), y=list(mp), mode="markers+text", name="the corpus's most frequent words",
        text=[_e(w) for w in mw], marker=dict(color=CENTRE_COLOR, size=9),
        textposition=["top center" if i % 2 == 0 else "bottom center" for i in range(len(mw))],
        hovertemplate="%{text}<br>z = %{x:.4f}<br>P(keep) = %{y:.3f}<extra></extra>",
    ))
    fig.update_xaxes(type="log", title_text="z(w): the word's share of all words (log scale)", gridcolor="#eeeeee")
    fig.update_yaxes(title_text="P(keep)", range=[0, 1.6], gridcolor="#eeeeee")
    return _layout(fig, f"Subsampling with s = {sample:g}", height,
                   legend=dict(orientation="h", yanchor="top", y=-0.2, x=0.0))


def survivors_figure(words, counts, keep, *, height: int = 360) -> go.Figure:
    """Each word's count before subsampling and the count expected to survive it."""
    counts = np.asarray(counts, dtype=np.float64)
    labels = [_e(w) for w in words]
    fig = go.Figure([
        go.Bar(x=labels, y=counts, name="in the text", marker_color=UNIGRAM_COLOR,
               hovertemplate="%{x}: %{y:,.0f} times in the text<extra></extra>"),
        go.Bar(x=labels, y=counts * np.asarray(keep), name="kept (expected)", marker_color=CONTEXT_COLOR,
               hovertemplate="%{x}: %{y:,.0f} kept on average<extra></extra>"),
    ])
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="top", y=-0.25, x=0.0))
    fig.update_yaxes(title_text="occurrences", gridcolor="#eeeeee")
    fig.update_xaxes(type="category")
    return _layout(fig, "What subsampling keeps of the most frequent words", height)


def noise_figure(words, unigram, noise, empirical=None, *, log: bool = False, height: int = 400) -> go.Figure:
    """unigram vs unigram^0.75 for the given words (and, if given, the share of each in
    many drawn negatives)."""
    labels = [_e(w) for w in words]
    bars = [go.Bar(x=labels, y=unigram, name="unigram P(w)", marker_color=UNIGRAM_COLOR,
                   hovertemplate="%{x}: unigram %{y:.5f}<extra></extra>"),
            go.Bar(x=labels, y=noise, name="unigram^0.75 (normalised)", marker_color=NOISE_COLOR,
                   hovertemplate="%{x}: noise %{y:.5f}<extra></extra>")]
    fig = go.Figure(bars)
    if empirical is not None:
        fig.add_trace(go.Scatter(x=labels, y=empirical, mode="markers", name="share among drawn negatives",
                                 marker=dict(symbol="diamond", size=9, color="#111111"),
                                 hovertemplate="%{x}: drawn %{y:.5f}<extra></extra>"))
    fig.update_layout(barmode="group", legend=dict(orientation="h", yanchor="top", y=-0.25, x=0.0))
    fig.update_yaxes(title_text="probability" + (" (log scale)" if log else ""), type="log" if log else "linear",
                     gridcolor="#eeeeee")
    fig.update_xaxes(type="category")
    return _layout(fig, "The noise distribution: frequent words lose, rare words gain", height)


def negatives_figure(words, probs, hits, context: str, *, height: int = 320) -> go.Figure:
    """The k negatives drawn for one pair, bar height = their noise probability; a
    negative that happens to be the true context word is red."""
    x = [f"{i + 1}. {_e(w)}" for i, w in enumerate(words)]
    fig = go.Figure(go.Bar(
        x=x, y=probs, marker_color=[HIT_COLOR if h else NOISE_COLOR for h in hits], name="drawn negatives",
        customdata=[["the true context word!" if h else "a negative"] for h in hits],
        hovertemplate="%{x}<br>noise probability %{y:.5f}<br>%{customdata[0]}<extra></extra>",
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="noise probability", gridcolor="#eeeeee")
    n_hit = int(sum(hits))
    note = f" ({n_hit} of them is the true context \u201c{_e(context)}\u201d)" if n_hit else ""
    return _layout(fig, f"{len(words)} negatives drawn{note}", height)


# ------------------------------------------------------------------ training


def loss_figure(points, baseline: float | None = None, *, height: int = 320) -> go.Figure:
    """Loss per training example over steps (averaged when long), with the loss of the
    untrained model."""
    s, v = downsample(points)
    fig = go.Figure(go.Scatter(x=s, y=v, mode="lines+markers" if len(s) < 30 else "lines", name="training loss",
                               line=dict(color=CONTEXT_COLOR, width=1.6),
                               hovertemplate="step %{x:,}<br>loss %{y:.3f}<extra></extra>"))
    if baseline is not None:
        last = int(max(s[-1] if len(s) else 0, 1))
        fig.add_trace(go.Scatter(x=[0, last], y=[baseline, baseline], mode="lines", name="untrained model",
                                 line=dict(color="#999999", dash="dash"),
                                 hovertemplate=f"untrained: {baseline:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="training step", gridcolor="#eeeeee", rangemode="tozero")
    fig.update_yaxes(title_text="loss (nats per example)", gridcolor="#eeeeee", rangemode="tozero")
    return _layout(fig, "Loss", height, uirevision="w2v-loss",
                   legend=dict(orientation="h", yanchor="top", y=-0.25, x=0.0))


def rank_figure(points, label: str, *, height: int = 300) -> go.Figure:
    """The rank of an analogy's expected answer over training (1 = top answer; log axis)."""
    s = [p[0] for p in points]
    r = [p[1] for p in points]
    fig = go.Figure(go.Scatter(x=s, y=r, mode="lines+markers", name="rank", line=dict(color=ANSWER_COLOR),
                               hovertemplate="step %{x:,}<br>rank %{y:,}<extra></extra>"))
    fig.update_xaxes(title_text="training step", gridcolor="#eeeeee", rangemode="tozero")
    fig.update_yaxes(title_text="rank (1 = top answer)", type="log", autorange="reversed", gridcolor="#eeeeee")
    return _layout(fig, f"Rank of the expected answer: {_e(label)}", height, uirevision="w2v-rank")


# ------------------------------------------------------------------ geometry


def projection_figure(proj, *, title: str, arrows=(), groups=None, labels=None, height: int = 480) -> go.Figure:
    """Words on their two main directions (``vectors.Projection``).

    ``arrows`` are (from, to) word pairs drawn as arrows (each pair its own colour);
    ``groups`` maps words to a group name (one colour per group); ``labels`` maps
    words to the text shown (default: the word). Extra points (an analogy's
    a - b + c) are stars.
    """
    fig = go.Figure()
    names = list(proj.words)
    group_of = groups or {}
    order = list(dict.fromkeys(group_of.get(w, "words") for w in names))
    for k, g in enumerate(order):
        idx = [i for i, w in enumerate(names) if group_of.get(w, "words") == g]
        fig.add_trace(go.Scatter(
            x=proj.coords[idx, 0], y=proj.coords[idx, 1], mode="markers+text", name=_e(g),
            text=[_e((labels or {}).get(names[i], names[i])) for i in idx], textposition="top center",
            marker=dict(size=9, color=PALETTE[k % len(PALETTE)]),
            hovertemplate="%{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        ))
    if len(proj.extra):
        fig.add_trace(go.Scatter(
            x=proj.extra_coords[:, 0], y=proj.extra_coords[:, 1], mode="markers+text", name="computed point",
            text=[_e(n) for n in proj.extra], textposition="bottom center",
            marker=dict(size=15, symbol="star", color=ANSWER_COLOR),
            hovertemplate="%{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        ))
    for k, (a, b) in enumerate(arrows):
        (x0, y0), (x1, y1) = proj.point(a), proj.point(b)
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=3, arrowsize=1.3, arrowwidth=2,
                           arrowcolor=PALETTE[(k + 2) % len(PALETTE)], opacity=0.8)
    e1, e2 = proj.explained
    fig.update_xaxes(title_text=f"first direction ({e1:.0%} of the variance)", gridcolor="#eeeeee",
                     zeroline=False)
    fig.update_yaxes(title_text=f"second direction ({e2:.0%})", gridcolor="#eeeeee", zeroline=False,
                     scaleanchor="x", scaleratio=1)
    return _layout(fig, title, height, legend=dict(orientation="h", yanchor="top", y=-0.18, x=0.0))
