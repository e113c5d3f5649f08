"""Figures for the gradient-flow page (pure Plotly; inputs are NumPy arrays).

Gradient norms span many orders of magnitude, so every gradient axis is
logarithmic. Zeros and non-finite values (an overflow) are drawn as gaps rather
than dropped, so the x positions always match the characters. The connectivity
view is coloured text, built here as escaped HTML (``connectivity_html``).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..ui import html as H  # string builders only (no Streamlit)

LAYER_COLORS = ("#1f77b4", "#d62728", "#2ca02c")
CELL_COLORS = {"rnn": "#7f7f7f", "lstm": "#1f77b4", "gru": "#ff7f0e"}
RUN_COLORS = ("#d62728", "#2ca02c")  # without clipping, with clipping
FONT = dict(size=14)
TINY = float(np.finfo(np.float32).tiny)  # below this float32 loses precision (underflow)


def _log_safe(v) -> list:
    v = np.asarray(v, dtype=np.float64)
    return [float(x) if np.isfinite(x) and x >= TINY else None for x in v]


def _pad_log_range(fig: go.Figure, pad: float = 0.6) -> go.Figure:
    """Set every log y axis to the data's range plus ``pad`` decades on both ends: Plotly
    fits lines exactly, so a curve at its maximum ran along the top edge, as if clipped."""
    ys = [y for tr in fig.data for y in (tr.y or ()) if y is not None and y > 0]
    if ys:
        lo, hi = float(np.log10(min(ys))), float(np.log10(max(ys)))
        fig.update_yaxes(range=[lo - pad, hi + pad])
    return fig


def _char_label(ch: str) -> str:
    return {"\n": "\\n (newline)", " ": "space", "\t": "\\t (tab)"}.get(ch, ch)


def _hover_chars(text: str, steps: int) -> list:
    chars = list(text[:steps]) if text else []
    chars += [""] * (steps - len(chars))
    return [_char_label(c) for c in chars]


def _layout(fig, height, title=None, legend_below=False, top=None):
    """Shared look; ``top`` leaves room above subplot titles for the chart's toolbar (PNG export)."""
    legend = (dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0) if legend_below
              else dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    top = top or (60 if title else 40)
    fig.update_layout(
        height=height, margin=dict(l=60, r=20, t=top, b=130 if legend_below else 50), font=FONT, legend=legend,
        hovermode="closest", template="plotly_white", title=title,
    )
    return fig


def profile_traces(p, *, name: str, dash: str = "solid", show_c: bool = True, showlegend: bool = True,
                   opacity: float = 1.0) -> list:
    """One line per layer (h), plus dotted c lines for an LSTM."""
    x = p.offsets.tolist()
    chars = _hover_chars(p.text, p.steps)
    out = []
    for k in range(p.layers):
        color = LAYER_COLORS[k % len(LAYER_COLORS)]
        out.append(go.Scatter(
            x=x, y=_log_safe(p.h[k]), mode="lines", name=f"{name}: layer {k + 1} h",
            line=dict(color=color, dash=dash, width=2.2), opacity=opacity, customdata=chars,
            showlegend=showlegend, legendgroup=f"{name}{k}",
            hovertemplate="%{x} steps: read %{customdata}<br>||dL/dh|| = %{y:.3g}<extra>" + f"{name}, layer {k + 1} h</extra>",
        ))
        if show_c and p.c is not None:
            out.append(go.Scatter(
                x=x, y=_log_safe(p.c[k]), mode="lines", name=f"{name}: layer {k + 1} c",
                line=dict(color=color, dash="dot", width=1.8), opacity=opacity, customdata=chars,
                showlegend=showlegend, legendgroup=f"{name}{k}c",
                hovertemplate="%{x} steps: read %{customdata}<br>||dL/dc|| = %{y:.3g}<extra>" + f"{name}, layer {k + 1} c</extra>",
            ))
    return out


def comparison_figure(panels: list, *, show_c: bool = True, height: int = 540) -> go.Figure:
    """Side-by-side log plots; ``panels`` = [(title, trained_profile | None, init_profile | None)]."""
    n = max(1, len(panels))
    fig = make_subplots(rows=1, cols=n, shared_yaxes=True, subplot_titles=[t for t, *_ in panels],
                        horizontal_spacing=0.03)
    seen = set()
    for i, (_title, trained, init) in enumerate(panels):
        for p, dash, label, op in ((trained, "solid", "trained", 1.0), (init, "dash", "at init", 0.8)):
            if p is None:
                continue
            for tr in profile_traces(p, name=label, dash=dash, show_c=show_c, opacity=op):
                tr.showlegend = tr.name not in seen  # one legend entry per line style
                seen.add(tr.name)
                fig.add_trace(tr, row=1, col=i + 1)
        fig.update_xaxes(title_text="t - T (steps before the loss)", row=1, col=i + 1)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1, title_text="gradient norm")
    fig.update_yaxes(type="log", exponentformat="power")
    return _layout(_pad_log_range(fig), height, legend_below=True, top=95)


def break_figure(p, *, bound: np.ndarray | None = None, reference=None, height: int = 520) -> go.Figure:
    """One model's profile (+ the unmodified model faded, + the (beta_W beta_h)^(T-t) bound)."""
    fig = go.Figure()
    if reference is not None:
        for tr in profile_traces(reference, name="unchanged", dash="dash", opacity=0.45):
            fig.add_trace(tr)
    for tr in profile_traces(p, name="modified"):
        fig.add_trace(tr)
    if bound is not None:
        fig.add_trace(go.Scatter(
            x=p.offsets.tolist(), y=_log_safe(bound), mode="lines", name="bound (beta_W beta_h)^(T-t), top layer",
            line=dict(color="black", dash="dashdot", width=1.6),
            hovertemplate="%{x} steps<br>bound = %{y:.3g}<extra>bound</extra>",
        ))
    fig.update_xaxes(title_text="t - T (steps before the loss)")
    fig.update_yaxes(type="log", exponentformat="power", title_text="||dL_T / dh_t||")
    return _layout(_pad_log_range(fig), height, legend_below=True)  # a legend on top would run under the toolbar


def clip_figure(runs: list, height: int = 480) -> go.Figure:
    """Loss and gradient norm for the runs of the clipping demo, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss (nats/char)", "gradient norm before clipping"),
                        horizontal_spacing=0.08)
    for i, r in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        steps = [s for s, _ in r.loss]
        fig.add_trace(go.Scatter(x=steps, y=[v for _, v in r.loss], mode="lines", name=r.label,
                                 line=dict(color=color, width=2), legendgroup=r.label,
                                 hovertemplate="step %{x}<br>loss %{y:.3f}<extra>" + r.label + "</extra>"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=[s for s, _ in r.grad], y=_log_safe([v for _, v in r.grad]), mode="lines",
                                 name=r.label, line=dict(color=color, width=2), legendgroup=r.label, showlegend=False,
                                 hovertemplate="step %{x}<br>norm %{y:.3g}<extra>" + r.label + "</extra>"),
                      row=1, col=2)
        if r.diverged_at is not None:
            what, value = r.blowup or ("loss", float("nan"))
            shown = f"{value:,.1f}" if np.isfinite(value) else str(value)
            for col in (1, 2):
                fig.add_vline(x=r.diverged_at, line=dict(color=color, dash="dot", width=2), row=1, col=col)
            finite = [v for _, v in r.loss if np.isfinite(v)]
            # a NaN cannot be plotted: mark the step at the last finite loss instead
            y_mark = value if np.isfinite(value) else (finite[-1] if finite else None)
            if what == "loss" and y_mark is not None:
                fig.add_trace(go.Scatter(x=[r.diverged_at], y=[y_mark], mode="markers", showlegend=False,
                                         marker=dict(symbol="x", size=14, color=color),
                                         hovertemplate=f"step %{{x}}: loss {shown} - stopped<extra></extra>"),
                              row=1, col=1)
            fig.add_annotation(x=r.diverged_at, y=0.98, yref="y domain", xref="x",
                               text=f"blew up at step {r.diverged_at}: {what} = {shown}", showarrow=False,
                               xanchor="left", yanchor="top", font=dict(color=color, size=13),
                               bgcolor="rgba(255,255,255,0.85)")
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=2)
    return _layout(fig, height, legend_below=True, top=80)


def batch_heatmap(h: np.ndarray, windows_text: list, height: int | None = None) -> go.Figure:
    """[B, T] gradient norms of one layer as log10 colours; hover shows the character."""
    B, T = h.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(h > 0, np.log10(h), np.nan).astype(np.float32)
    text = [[_char_label(w[t]) if t < len(w) else "" for t in range(T)] for w in windows_text]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(T)), y=[f"seq {b + 1}" for b in range(B)], colorscale="Viridis", customdata=text,
        colorbar=dict(title="log10 ||dL/dh_t||"),
        hovertemplate="%{y}, step %{x} (read %{customdata})<br>log10 norm = %{z:.2f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="time step t within the training window")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, height or max(240, 60 + 34 * B))


def batch_lines(mean: np.ndarray, height: int = 320) -> go.Figure:
    """Batch-mean ||dL/dh_t|| per layer against t."""
    fig = go.Figure()
    for k in range(mean.shape[0]):
        fig.add_trace(go.Scatter(x=list(range(mean.shape[1])), y=_log_safe(mean[k]), mode="lines+markers",
                                 name=f"layer {k + 1}", line=dict(color=LAYER_COLORS[k % 3], width=2),
                                 marker=dict(size=4),
                                 hovertemplate="step %{x}<br>mean norm %{y:.3g}<extra>layer " + str(k + 1) + "</extra>"))
    fig.update_xaxes(title_text="time step t within the training window")
    fig.update_yaxes(type="log", exponentformat="power", title_text="batch mean ||dL/dh_t||")
    return _layout(fig, height)


def strength_unit(values, decades: float = 3.0) -> np.ndarray:
    """Map positive values to [0, 1] on a log scale: the maximum -> 1, ``decades`` below it -> 0."""
    v = np.asarray(values, dtype=np.float64)
    top = np.nanmax(v) if v.size and np.isfinite(v).any() else 0.0
    if not top > 0:
        return np.zeros_like(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = 1.0 + np.log10(np.where(v > 0, v, np.nan) / top) / decades
    return np.clip(np.nan_to_num(u, nan=0.0), 0.0, 1.0)


def strength_rgb(u: float) -> tuple[int, int, int]:
    """0 -> white, 1 -> deep purple (one-sided scale: gradient strength has no sign)."""
    u = float(min(1.0, max(0.0, u)))
    return (int(255 - 120 * u), int(255 - 170 * u), int(255 - 45 * u))


CONNECTIVITY_WINDOW = 600  # characters shown before the explained one
TARGET_RGB = (255, 214, 0)  # the explained character


def connectivity_html(text: str, position: int, values, prob: float, decades: float,
                      *, window: int = CONNECTIVITY_WINDOW, max_height: int = 380) -> str:
    """Characters before ``position`` coloured by gradient strength; the explained one in bold yellow.

    ``values[k]`` is the gradient reaching character k (k < position), ``prob`` the
    model's p(text[position]). Every character is escaped by ``html.char_spans``.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) != position or not 1 <= position < len(text):
        raise ValueError("connectivity_html needs one value per character before the position.")
    u = strength_unit(values, decades)
    start = max(0, position - int(window))
    target = text[position]
    colors = [strength_rgb(x) for x in u[start:]] + [TARGET_RGB]
    titles = [f"{H.describe_char(ch)}  gradient {v:.2e}" for ch, v in zip(text[start:position], values[start:])]
    titles.append(f"{H.describe_char(target)}  (the predicted character, p = {prob:.3f})")
    chars = list(text[start:position + 1])
    bold = [False] * (len(chars) - 1) + [True]
    return H.char_spans(chars, colors, titles, bold=bold, max_height=max_height)


def strength_legend(decades: float) -> str:
    """The colour bar of the connectivity view (static HTML from our own numbers)."""
    stops = ", ".join(f"rgb{strength_rgb(u)}" for u in (0.0, 0.5, 1.0))
    bar = ("width:180px;height:12px;border-radius:3px;border:1px solid #ccc;"
           f"background:linear-gradient(to right, {stops});")
    return (f'<div style="display:flex;align-items:center;gap:8px;font-size:12px;color:#444;">'
            f"<span>{decades:g} powers of ten weaker than the strongest (or less)</span>"
            f'<div style="{bar}"></div><span>strongest gradient (per model)</span></div>')
