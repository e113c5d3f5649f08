"""Plotly figures of the names lab (pure: data in, figure out; no Streamlit).

Every text that comes from data or a checkpoint (letters, class names) is
HTML-escaped before it goes into a figure, because Plotly interprets a few tags
(<a>, <b>, <br>) in labels.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from ..names.metrics import Evaluation
from ..names.shapes import Shape
from .training import loss_figure

# above the plot: below it, the legend covered the letters on the x axis
LEGEND_ABOVE = dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#00a087", "#637939", "#a55194", "#6b6ecf",
           "#8c6d31", "#111111")  # 18 hues a class keeps everywhere; no two reds side by side


def _e(text) -> str:
    return html.escape(str(text))


def _color(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def shape_figure(shape: Shape, current: int | None = None) -> go.Figure:
    """One RNN shape unrolled: inputs (bottom), states (middle), outputs (top); active
    boxes filled, inactive ones faded; state boxes shaded by ||h_t||. With ``current``
    the forward pass is shown up to that step (later steps not yet taken, the current
    one outlined)."""
    fig = go.Figure()
    T = len(shape.steps)
    top = max((s.state for s in shape.steps), default=1.0) or 1.0
    for t, s in enumerate(shape.steps):
        if current is not None and t > current:
            continue
        rows = ((0, s.input, "#cfe2f3"), (1, f"{s.state:.1f}", None), (2, s.output, "#d9ead3"))
        if current == t:
            fig.add_shape(type="rect", x0=t - 0.48, x1=t + 0.48, y0=-0.4, y1=2.4, line=dict(color="#d62728", width=2))
        for y, label, fill in rows:
            active = label is not None
            if y == 1:
                fill = f"rgba(230, 145, 56, {0.25 + 0.75 * s.state / top:.2f})"
            fig.add_shape(type="rect", x0=t - 0.4, x1=t + 0.4, y0=y - 0.3, y1=y + 0.3,
                          line=dict(color="#444" if active else "#ccc", dash="solid" if active else "dot"),
                          fillcolor=fill if active else "rgba(0,0,0,0)")
            if active:
                fig.add_annotation(x=t, y=y, text=_e(label), showarrow=False, font=dict(color="#111111"))  # dark on orange
        if s.input is not None:
            fig.add_annotation(x=t, y=0.7, ax=t, ay=0.3, xref="x", yref="y", axref="x", ayref="y", text="",
                               arrowhead=2)
        if s.output is not None:
            fig.add_annotation(x=t, y=1.7, ax=t, ay=1.3, xref="x", yref="y", axref="x", ayref="y", text="",
                               arrowhead=2)
        if t and s.part == shape.steps[t - 1].part:
            fig.add_annotation(x=t - 0.4, y=1, ax=t - 0.6, ay=1, xref="x", yref="y", axref="x", ayref="y",
                               text="", arrowhead=2)
    fig.update_xaxes(visible=False, range=[-0.6, max(T, 8) - 0.4])  # a short pass keeps box-sized boxes
    fig.update_yaxes(tickvals=[0, 1, 2], ticktext=["input", "state h_t", "output"], range=[-0.5, 2.5])
    fig.update_layout(title=_e(shape.title), height=240, margin=dict(l=70, r=10, t=40, b=10),
                      plot_bgcolor="white")
    return fig


def letter_probs_figure(letters, classes, probs: np.ndarray, top: int = 5) -> go.Figure:
    """The probability of each class after every letter (lines), letters on the x axis."""
    probs = np.asarray(probs)
    keep = np.argsort(-probs.max(axis=0))[:top]
    x = list(range(len(letters)))
    fig = go.Figure()
    for k in keep:
        fig.add_trace(go.Scatter(x=x, y=probs[:, k], mode="lines+markers", name=_e(classes[k]),
                                 line=dict(color=_color(int(k)))))
    fig.update_xaxes(tickvals=x, ticktext=[_e(c) if c != " " else "␣" for c in letters], title="after reading")
    fig.update_yaxes(range=[0, 1], title="probability")
    fig.update_layout(height=320, margin=dict(l=50, r=10, t=20, b=40), legend=LEGEND_ABOVE)
    return fig


def confusion_figure(ev: Evaluation, normalise: bool = True) -> go.Figure:
    """Main class (rows) against predicted class (columns) on held-out names."""
    cm = ev.confusion.astype(np.float64)
    z = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalise else cm
    labels = [_e(c) for c in ev.classes]
    fig = go.Figure(go.Heatmap(z=z.astype(np.float32), x=labels, y=labels, colorscale="Blues",
                               zmin=0, zmax=1 if normalise else None, customdata=cm.astype(np.int64),
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} names<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="true class")
    fig.update_xaxes(title="predicted")
    fig.update_layout(height=480, margin=dict(l=90, r=10, t=20, b=90))
    return fig


def accuracy_by_length_figure(evals: dict[str, Evaluation]) -> go.Figure:
    """Held-out accuracy against name length, one line per model (e.g. RNN and naive Bayes)."""
    fig = go.Figure()
    for i, (label, ev) in enumerate(evals.items()):
        Ls = sorted(ev.by_length)
        fig.add_trace(go.Scatter(x=Ls, y=[ev.by_length[L][1] for L in Ls], mode="lines+markers", name=_e(label),
                                 customdata=[ev.by_length[L][0] for L in Ls], line=dict(color=_color(i)),
                                 hovertemplate="%{x} letters: %{y:.0%} of %{customdata} names<extra></extra>"))
    fig.update_xaxes(title="name length (letters)")
    fig.update_yaxes(range=[0, 1], title="accuracy", tickformat=".0%")
    fig.update_layout(height=320, margin=dict(l=50, r=10, t=20, b=40))
    return fig


def trajectory_figure(tr, color_by: str = "class", upto: int | None = None) -> go.Figure:
    """h_t of each name in PCA space, points joined in reading order; each point is
    coloured by the most likely class at that step ("class") or one colour per name
    ("name"). ``upto`` shows only the first ``upto`` letters of every name (step by step);
    the axes stay those of the whole trajectory, so points do not jump as it grows."""
    fig = go.Figure()
    for i, (name, letters, pts, probs) in enumerate(zip(tr.names, tr.letters, tr.points, tr.probs)):
        n = len(letters) if upto is None else max(1, min(int(upto), len(letters)))
        pts, probs, letters = pts[:n], probs[:n], letters[:n]
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines", line=dict(color="#aaa", width=1),
                                 showlegend=False, hoverinfo="skip"))
        best = probs.argmax(axis=1)
        colors = [_color(int(k)) for k in best] if color_by == "class" else _color(i)
        hover = [f"{_e(name)}: after {_e(''.join(letters[: t + 1]))}<br>likeliest: {_e(tr.classes[k])} "
                 f"{probs[t, k]:.0%}" for t, k in enumerate(best)] if tr.classes else None
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers+text", name=_e(name),
                                 text=[_e(c) if c != " " else "␣" for c in letters], textposition="top center",
                                 marker=dict(color=colors, size=10, line=dict(color=_color(i), width=2)),
                                 hovertext=hover, hoverinfo="text" if hover else None))
    if color_by == "class" and tr.classes:  # a key to the fill colours: the classes that occur
        seen = sorted({int(k) for pr, L in zip(tr.probs, tr.letters)
                       for k in pr[: len(L) if upto is None else max(1, int(upto))].argmax(axis=1)})
        for k in seen:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"likeliest: {_e(tr.classes[k])}",
                                     marker=dict(color=_color(k), size=10), hoverinfo="skip"))
    every = np.concatenate(tr.points) if tr.points else np.zeros((1, 2))
    pad = 0.08 * (np.ptp(every, axis=0) + 1e-6)
    ex = tr.pca.explained
    fig.update_xaxes(title=f"PC 1 ({ex[0]:.0%} of variance)", range=[every[:, 0].min() - pad[0],
                                                                      every[:, 0].max() + pad[0]])
    fig.update_yaxes(title=f"PC 2 ({ex[1]:.0%})", range=[every[:, 1].min() - pad[1], every[:, 1].max() + pad[1]])
    fig.update_layout(height=460, margin=dict(l=50, r=10, t=20, b=40), legend=LEGEND_ABOVE)
    return fig


def curves_figure(series: dict, *, ytitle: str, percent: bool = True, height: int = 320) -> go.Figure:
    """Lines over training steps: ``{label: [(step, value), ...]}``; labels ending in
    "(balanced)" are dashed in the colour of the line before them."""
    fig = go.Figure()
    k = -1
    for label, pts in series.items():
        dashed = label.endswith("(balanced)")
        k += 0 if dashed else 1
        xs = [p[0] for p in pts]
        fig.add_trace(go.Scatter(x=xs, y=[p[1] for p in pts], mode="lines+markers" if len(xs) < 60 else "lines",
                                 name=_e(label), line=dict(color=_color(k), dash="dash" if dashed else "solid")))
    fig.update_xaxes(title="training step")
    fig.update_yaxes(title=_e(ytitle), **(dict(range=[0, 1], tickformat=".0%") if percent else {}))
    fig.update_layout(height=height, margin=dict(l=50, r=10, t=20, b=40), legend=LEGEND_ABOVE,
                      uirevision="curves")
    return fig


def class_counts_figure(counts: dict[str, float]) -> go.Figure:
    """Names per class (the imbalance)."""
    labels = [_e(c) for c in counts]
    fig = go.Figure(go.Bar(x=labels, y=list(counts.values()), marker_color=[_color(i) for i in range(len(counts))]))
    fig.update_yaxes(title="names")
    fig.update_layout(height=300, margin=dict(l=50, r=10, t=20, b=80))
    return fig


def step_distribution_figure(g, vocab_chars, top: int = 8) -> go.Figure:
    """The generator's distribution at every step: the ``top`` likeliest letters per
    step as a heatmap, with the chosen letter's probability on hover."""
    probs = np.asarray(g.probs)
    keep = np.argsort(-probs.max(axis=0))[:top]
    ylab = [("⏎" if vocab_chars[k] == "\n" else _e(vocab_chars[k])) for k in keep]
    xlab = [f"{t + 1}: {'⏎' if c == chr(10) else _e(c)}" for t, c in enumerate(g.letters)]
    fig = go.Figure(go.Heatmap(z=probs[:, keep].T.astype(np.float32), x=xlab, y=ylab, colorscale="Greens",
                               zmin=0, zmax=1, hovertemplate="step %{x}<br>%{y}: %{z:.1%}<extra></extra>"))
    fig.update_xaxes(title="step: letter drawn")
    fig.update_layout(height=320, margin=dict(l=50, r=10, t=20, b=60))
    return fig


def training_loss_figure(loss, val, kind: str, n_classes: int, n_symbols: int) -> go.Figure:
    """The training page's loss figure in this lab's units: a classifier's loss is per
    name and its uniform guess is ln K over K classes; a generator's is per letter."""
    # the legend a little lower than the training page's: in presenter mode's larger
    # fonts it sat on the x axis title
    if kind != "classifier":
        return loss_figure(loss, val, baseline=float(np.log(n_symbols))).update_layout(legend_y=-0.3)
    base = float(np.log(n_classes))
    fig = loss_figure(loss, val, baseline=base).update_layout(legend_y=-0.3)
    fig.update_layout(title="Loss (nats per name)")
    fig.update_yaxes(title_text="loss (nats per name)")
    fig.update_traces(selector=dict(mode="lines", name=f"uniform guess ln|V| = {base:.2f}"),
                      name=f"uniform guess ln K = {base:.2f} ({n_classes} classes)",
                      hovertemplate=f"uniform guess over {n_classes} classes: ln K = {base:.3f}<extra></extra>")
    return fig
