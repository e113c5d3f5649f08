"""Figures for the Train & sample page: loss curves and gradient norms.

Histories arrive as lists of ``(step, value)`` pairs from ``Trainer`` ring buffers
(up to 20,000 points). A browser redrawing that many points every second while 30
students train would crawl, so long histories are reduced to at most
``MAX_POINTS`` by averaging equal runs of consecutive steps (which also smooths
the noisy per-batch loss). Every figure keeps a constant ``uirevision`` so a
student's zoom survives the live refresh.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

MAX_POINTS = 2_000
TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#d62728"
BASE_COLOR = "#7f7f7f"
GRAD_COLOR = "#2ca02c"
CLIP_COLOR = "#ff7f0e"
FONT_SIZE, TITLE_SIZE = 13, 15


def as_arrays(points) -> tuple[np.ndarray, np.ndarray]:
    """``[(step, value), ...]`` -> (steps int64, values float64); non-finite values dropped."""
    if points is None or len(points) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    keep = np.isfinite(arr[:, 1])
    return arr[keep, 0].astype(np.int64), arr[keep, 1]


def downsample(points, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` (step, mean value) pairs, in order.

    Consecutive points are grouped into equal-sized runs; each run becomes its
    last step and its mean value, so the final point always shows the newest step.
    """
    steps, values = as_arrays(points)
    n = len(steps)
    if n <= max_points:
        return steps, values
    edges = np.linspace(0, n, max_points + 1).astype(np.int64)
    sums = np.add.reduceat(values, edges[:-1])
    counts = np.diff(edges)
    return steps[edges[1:] - 1], sums / counts


def _mode(x) -> str:
    return "lines+markers" if len(x) < 30 else "lines"  # single points need a marker to show


def log_ticks(values) -> list[float]:
    """1-2-5 ticks covering ``values`` (positive), written out in full (0.2, not 2)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) == 0:
        return [0.1, 1.0, 10.0]
    lo, hi = math.floor(math.log10(values.min())), math.ceil(math.log10(values.max()))
    ticks = [m * 10.0 ** e for e in range(lo, hi + 1) for m in (1, 2, 5)]
    inside = [t for t in ticks if values.min() / 2.5 <= t <= values.max() * 2.5]
    return [float(f"{t:.3g}") for t in inside] or [float(f"{values.min():.3g}")]


def _layout(fig: go.Figure, *, title: str, ytitle: str, height: int, revision: str):
    fig.update_layout(
        # The title sits just above the plot and the modebar (PNG export) above the title:
        # in a half-width chart at 1280 px the two would otherwise overlap.
        title=dict(text=title, x=0.0, xanchor="left", y=1.0, yref="paper", yanchor="bottom", pad=dict(b=8),
                   font=dict(size=TITLE_SIZE)),
        height=height,
        margin=dict(l=10, r=10, t=66, b=10),
        hovermode="x unified",
        uirevision=revision,
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0.0),
        plot_bgcolor="white",
        font=dict(size=FONT_SIZE),
        # One update call: a page polling during training rebuilds these every 1.5 s.
        xaxis=dict(title_text="training step", gridcolor="#eeeeee", zeroline=False, rangemode="tozero"),
        yaxis=dict(title_text=ytitle, gridcolor="#eeeeee", zeroline=False),
    )


def loss_figure(loss, val=(), baseline: float | None = None, *, max_points: int = MAX_POINTS,
                height: int = 360) -> go.Figure:
    """Training loss (per batch, averaged when long), validation loss, and the
    uniform-guess baseline ln|V|, all in nats per character."""
    fig = go.Figure()
    s, v = downsample(loss, max_points)
    fig.add_trace(go.Scatter(
        x=s, y=v, mode=_mode(s), name="training loss", line=dict(color=TRAIN_COLOR, width=1.6),
        hovertemplate="step %{x:,}<br>training loss %{y:.3f}<extra></extra>",
    ))
    vs, vv = downsample(val, max_points)
    fig.add_trace(go.Scatter(
        x=vs, y=vv, mode="lines+markers", name="validation loss",
        line=dict(color=VAL_COLOR, width=2), marker=dict(size=6),
        hovertemplate="step %{x:,}<br>validation loss %{y:.3f}<extra></extra>",
    ))
    top = None
    if baseline is not None and math.isfinite(baseline):
        last = int(max(s[-1] if len(s) else 0, vs[-1] if len(vs) else 0, 1))
        fig.add_trace(go.Scatter(
            x=[0, last], y=[baseline, baseline], mode="lines",
            name=f"uniform guess ln|V| = {baseline:.2f}",
            line=dict(color=BASE_COLOR, dash="dash", width=1.5),
            hovertemplate=f"uniform guess: ln|V| = {baseline:.3f}<extra></extra>",
        ))
        top = baseline * 1.15
    _layout(fig, title="Loss (nats per character)", ytitle="loss (nats/char)", height=height,
            revision="loss")
    if top is not None:
        vals = np.concatenate([v, vv]) if len(v) or len(vv) else np.zeros(0)
        lo = float(np.min(vals)) if len(vals) else 0.0
        hi = max(top, float(np.max(vals)) * 1.05 if len(vals) else top)
        fig.update_yaxes(range=[max(0.0, min(lo * 0.9, baseline * 0.2)), hi])
    return fig


def grad_figure(grad, clip_value: float | None = None, *, max_points: int = MAX_POINTS,
                height: int = 360) -> go.Figure:
    """Gradient norm before clipping, on a log axis, with the clipping threshold."""
    fig = go.Figure()
    s, v = downsample(grad, max_points)
    pos = v > 0
    fig.add_trace(go.Scatter(
        x=s[pos], y=v[pos], mode=_mode(s[pos]), name="gradient norm",
        line=dict(color=GRAD_COLOR, width=1.4),
        hovertemplate="step %{x:,}<br>gradient norm %{y:.3g}<extra></extra>",
    ))
    if clip_value is not None and math.isfinite(clip_value) and clip_value > 0:
        last = int(max(s[-1] if len(s) else 0, 1))
        fig.add_trace(go.Scatter(
            x=[0, last], y=[clip_value, clip_value], mode="lines",
            name=f"clipping threshold {clip_value:g}",
            line=dict(color=CLIP_COLOR, dash="dash", width=1.5),
            hovertemplate=f"clipping threshold {clip_value:g}<extra></extra>",
        ))
    _layout(fig, title="Gradient norm (before clipping)", ytitle="‖gradient‖ (log scale)",
            height=height, revision="grad")
    ticks = log_ticks(np.concatenate([v[pos], [clip_value] if clip_value else []]))
    fig.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    return fig


def live_figures(snap, vocab_size: int, clip_value: float | None = None) -> dict[str, go.Figure]:
    """The two curves of a live run (a ``BackgroundTrainer`` snapshot), by file name."""
    return {"loss": loss_figure(snap.loss, snap.val, math.log(vocab_size)),
            "gradient_norm": grad_figure(snap.grad, clip_value)}
