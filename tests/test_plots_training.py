"""The training figures: downsampling, baseline, hover text, log axis, clipping line."""

from __future__ import annotations

import math

import numpy as np

from rnnviz.plots import training as P


def _points(n, f=lambda s: 4.0 - s * 1e-4):
    return [(s, f(s)) for s in range(1, n + 1)]


def test_downsample_keeps_short_histories_exact():
    pts = _points(50)
    s, v = P.downsample(pts)
    assert s.tolist() == list(range(1, 51))
    assert np.allclose(v, [p[1] for p in pts])


def test_downsample_long_history_bounded_ordered_and_mean_preserving():
    pts = _points(20_000, lambda s: float(s % 7))
    s, v = P.downsample(pts, 2_000)
    assert len(s) == len(v) == 2_000
    assert s[-1] == 20_000  # newest step always shown
    assert np.all(np.diff(s) > 0)
    assert math.isclose(float(np.mean(v)), np.mean([p[1] for p in pts]), rel_tol=1e-3)


def test_downsample_drops_non_finite_and_handles_empty():
    s, v = P.downsample([(1, 2.0), (2, float("nan")), (3, float("inf")), (4, 1.0)])
    assert s.tolist() == [1, 4] and v.tolist() == [2.0, 1.0]
    s, v = P.downsample([])
    assert len(s) == 0 and len(v) == 0


def test_loss_figure_traces_hover_and_baseline():
    base = math.log(84)
    fig = P.loss_figure(_points(5_000), [(0, 4.4), (100, 3.0), (200, 2.5)], base)
    names = [t.name for t in fig.data]
    assert names[0] == "training loss" and names[1] == "validation loss"
    assert "uniform guess" in names[2]
    assert len(fig.data[0].x) <= P.MAX_POINTS
    assert "step" in fig.data[0].hovertemplate and "loss" in fig.data[0].hovertemplate
    assert list(fig.data[2].y) == [base, base]
    assert fig.layout.uirevision == "loss"
    lo, hi = fig.layout.yaxis.range
    assert hi >= base and lo >= 0


def test_loss_figure_empty_histories():
    fig = P.loss_figure([], [], math.log(50))
    assert len(fig.data) == 3


def test_grad_figure_log_axis_and_clip_line():
    fig = P.grad_figure([(1, 10.0), (2, 0.5), (3, 0.0)], 5.0)
    assert fig.layout.yaxis.type == "log"
    assert list(fig.data[0].y) == [10.0, 0.5]  # zero cannot be drawn on a log axis
    assert "clipping threshold 5" in fig.data[1].name and list(fig.data[1].y) == [5.0, 5.0]
    assert len(P.grad_figure([(1, 1.0)], None).data) == 1


def test_log_ticks_are_written_out_and_cover_the_data():
    ticks = P.log_ticks([0.3, 4.0, 5.0])
    assert ticks[0] <= 0.3 and ticks[-1] >= 5.0
    assert 0.5 in ticks and 1.0 in ticks and 2.0 in ticks
    fig = P.grad_figure([(1, 0.3), (2, 4.0)], 5.0)
    assert "0.5" in fig.layout.yaxis.ticktext and "5" in fig.layout.yaxis.ticktext
    assert P.log_ticks([]) == [0.1, 1.0, 10.0]


def test_titles_sit_below_the_modebar():
    """The PNG export's modebar is on: the title goes just above the plot, under the modebar."""
    for fig in (P.loss_figure(_points(5), [], 4.0), P.grad_figure(_points(5), 5.0)):
        assert fig.layout.title.yref == "paper" and fig.layout.title.yanchor == "bottom"
        assert fig.layout.margin.t >= 60
