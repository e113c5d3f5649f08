"""Figures of the dropout lab: the generalisation gap of each run and the masks
its dropout used (units x time: confetti for standard dropout, stripes for
recurrent dropout, whose mask is drawn once per sequence)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import COLORSCALES
from .race import layout, run_colour

PLACES = (("output", "h<sub>t</sub> on its way up (to the next layer / the output)"),
          ("recurrent", "h<sub>t−1</sub> into W<sub>hh</sub> (the recurrent connection)"))


def gap_figure(latest: dict, labels: dict, height: int = 320) -> go.Figure:
    """Training-set and validation loss of each run now, side by side (the gap between them)."""
    runs = [r for r in labels if r in latest]
    names = [f"{r}: {labels[r]}" for r in runs]
    fig = go.Figure()
    for metric, title, pattern in (("train_loss", "training set", "/"), ("val_loss", "validation", "")):
        fig.add_trace(go.Bar(x=names, y=[latest[r][metric] for r in runs], name=title,
                             marker=dict(color=[run_colour(labels, r) for r in runs], pattern_shape=pattern,
                                         opacity=0.55 if pattern else 1.0),
                             text=[f"{latest[r][metric]:.3f}" for r in runs], textposition="outside"))
    for x, r in zip(names, runs):
        fig.add_annotation(x=x, y=max(latest[r]["val_loss"], latest[r]["train_loss"]), yshift=48,
                           text=f"gap {round(latest[r]['gap'], 3) + 0.0:+.3f}", showarrow=False, font=dict(size=13))
    top = max([max(latest[r]["val_loss"], latest[r]["train_loss"]) for r in runs] or [1.0])
    fig.update_layout(barmode="group", yaxis=dict(title="loss (nats / character)", range=[0, top * 1.4]))
    return layout(fig, height)


def masks_figure(masks: dict, labels: dict, *, step: int, units: int = 64, height: int | None = None) -> go.Figure:
    """``masks`` = {run: {"output": (T, units), "recurrent": (T, units) or None}} (0 = dropped):
    one row of panels per run, the first ``units`` units down, time steps across; blue = kept,
    white = dropped."""
    runs = list(masks)
    shown = min(units, masks[runs[0]]["output"].shape[1])
    fig = make_subplots(rows=len(runs), cols=2, horizontal_spacing=0.06, vertical_spacing=0.16,
                        subplot_titles=[f"{r}: {labels[r]} — {title}" for r in runs for _, title in PLACES])
    for i, run in enumerate(runs, start=1):
        for j, (place, _) in enumerate(PLACES, start=1):
            m = masks[run][place]
            if m is None:
                T = masks[run]["output"].shape[0]
                z = np.ones((shown, T), dtype=np.uint8)
                fig.add_annotation(text="nothing dropped here", showarrow=False, font=dict(size=14), x=(T - 1) / 2,
                                   y=(shown - 1) / 2, bgcolor="rgba(255,255,255,0.85)", row=i, col=j)
            else:
                z = (np.asarray(m)[:, :shown].T > 0).astype(np.uint8)
            fig.add_trace(go.Heatmap(z=z, zmin=0, zmax=1, colorscale=COLORSCALES["gate"], showscale=False,
                                     hovertemplate="step %{x}, unit %{y}: %{z} (1 kept, 0 dropped)<extra></extra>"),
                          row=i, col=j)
            fig.update_xaxes(title_text="time step t", row=i, col=j)
            fig.update_yaxes(title_text=f"hidden unit (first {shown})" if j == 1 else None, autorange="reversed", row=i, col=j)
    fig.update_annotations(font_size=12)
    fig = layout(fig, height or 60 + 300 * len(runs),
                 title=f"Sequence 1 of the batch at training step {step + 1:,}: blue = kept, white = dropped")
    return fig
