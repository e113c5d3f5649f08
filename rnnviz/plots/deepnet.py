"""Figures for the deep-net lab: gradients by layer, activations, decision boundaries.

The per-layer gradient profile uses the axes of the Gradient flow page's
gradient-vs-time plot (log y, "distance from the loss" on x), so an unrolled RNN
and a deep feed-forward net can be compared on sight.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import COLORSCALES
from .race import PALETTE
from .race import layout as _layout  # the labs' common layout, legend above the plot

RUN_COLOURS = {"A": PALETTE[0], "B": PALETTE[1]}  # the race colours, as on the loss curves


def layer_names(n_layers: int) -> list[str]:
    """Hidden layers 1..L (1 next to the input), then the output layer."""
    return [f"layer {i + 1}" for i in range(n_layers - 1)] + ["output"]


def profile_figure(profiles: dict, labels: dict, *, title: str = "Mean |∂L/∂W| per layer, now",
                   height: int = 380) -> go.Figure:
    """One line per run: mean |∂L/∂W| against the layer's distance from the loss."""
    fig = go.Figure()
    for run, values in profiles.items():
        v = np.asarray(values, dtype=float)
        names = layer_names(len(v))
        dist = np.arange(len(v))[::-1]  # the output layer is 0 steps from the loss
        fig.add_trace(go.Scatter(x=dist, y=np.maximum(v, 1e-30), mode="lines+markers", name=f"{run}: {labels[run]}",
                                 line=dict(color=RUN_COLOURS.get(run)), text=names,
                                 hovertemplate="%{text}: %{y:.2e}<extra></extra>"))
    fig.update_xaxes(title_text="layers between this weight and the loss (0 = output layer)", autorange="reversed")
    fig.update_yaxes(type="log", exponentformat="power", title_text="mean |∂L/∂W|")
    return _layout(fig, height, title)


def heatmap_figure(steps, grids: dict, labels: dict, *, what: str = "mean |∂L/∂W|", log: bool = True,
                   height: int = 420) -> go.Figure:
    """Layer × step heatmaps side by side (one per run), on one shared colour range."""
    runs = list(grids)
    fig = make_subplots(rows=1, cols=len(runs), shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[f"{r}: {labels[r]}" for r in runs])
    zs = {r: np.log10(np.maximum(np.asarray(g, float), 1e-30)) if log else np.asarray(g, float) for r, g in grids.items()}
    finite = np.concatenate([z[np.isfinite(z)].ravel() for z in zs.values()]) if zs else np.zeros(1)
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if not log:
        lo, hi = 0.0, 1.0
    for i, r in enumerate(runs, start=1):
        z = zs[r]
        fig.add_trace(go.Heatmap(
            z=z.astype(np.float32), x=list(map(int, steps)), y=layer_names(z.shape[0]), zmin=lo, zmax=hi,
            colorscale=COLORSCALES["gradient"] if log else COLORSCALES["gate"], showscale=i == len(runs),
            colorbar=dict(title="log₁₀" if log else "", len=0.9),
            hovertemplate="%{y}, step %{x}: " + ("10^%{z:.2f}" if log else "%{z:.2f}") + "<extra></extra>"),
            row=1, col=i)
        fig.update_xaxes(title_text="training step", row=1, col=i)
    fig.update_yaxes(title_text=what, row=1, col=1)
    return _layout(fig, height)


def activations_figure(latest: dict, labels: dict, saturated: dict, *, height: int | None = None) -> go.Figure:
    """Per-layer activation histograms of both runs (rows: layers, 1 at the top); the
    share of flat (saturated or dead) units is in each row's label."""
    runs = list(latest)
    depth = len(latest[runs[0]]["hist"])
    fig = make_subplots(rows=1, cols=len(runs), subplot_titles=[f"{r}: {labels[r]}" for r in runs],
                        horizontal_spacing=0.14)
    for i, r in enumerate(runs, start=1):
        hist = np.asarray(latest[r]["hist"], dtype=float)
        edges = np.asarray(latest[r]["edges"], dtype=float)
        sat = list(saturated.get(r, [0.0] * depth))
        rows = [f"layer {k + 1} · {sat[k]:.0%} flat" for k in range(depth)]
        fig.add_trace(go.Heatmap(
            z=hist.astype(np.float32), x=(edges[:-1] + edges[1:]) / 2, y=rows, zmin=0, zmax=1,
            colorscale=COLORSCALES["probability"], showscale=i == len(runs), colorbar=dict(title="share"),
            hovertemplate="%{y}<br>value ≈ %{x:.2f}: %{z:.0%} of the units<extra></extra>"), row=1, col=i)
        fig.update_xaxes(title_text="activation value g(a)", row=1, col=i)
        fig.update_yaxes(autorange="reversed", row=1, col=i)
    return _layout(fig, height or max(320, 20 * depth + 130))


def boundary_figure(grids: dict, X, y, labels: dict, *, height: int = 420) -> go.Figure:
    """Each run's predicted class over the plane (shaded by confidence) with the points on top."""
    runs = list(grids)
    fig = make_subplots(rows=1, cols=len(runs), subplot_titles=[f"{r}: {labels[r]}" for r in runs],
                        horizontal_spacing=0.06)
    X, y = np.asarray(X), np.asarray(y)
    palette = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]
    for i, r in enumerate(runs, start=1):
        axis, probs = grids[r]
        # signed confidence for two classes, the winning class's probability otherwise
        z = probs[..., 1] - probs[..., 0] if probs.shape[-1] == 2 else probs.argmax(-1) + probs.max(-1) * 0.5
        fig.add_trace(go.Heatmap(z=z.astype(np.float32), x=axis, y=axis, showscale=False, zmin=-1, zmax=1,
                                 colorscale=COLORSCALES["signed"], opacity=0.55, hoverinfo="skip"), row=1, col=i)
        for k in np.unique(y):
            m = y == k
            fig.add_trace(go.Scatter(x=X[m, 0], y=X[m, 1], mode="markers", name=f"arm {k + 1}", showlegend=i == 1,
                                     marker=dict(size=5, color=palette[int(k) % len(palette)],
                                                 line=dict(width=0.5, color="white"))), row=1, col=i)
        fig.update_xaxes(range=[axis[0], axis[-1]], row=1, col=i, constrain="domain")
        fig.update_yaxes(range=[axis[0], axis[-1]], row=1, col=i, scaleanchor=f"x{i if i > 1 else ''}")
    return _layout(fig, height)
