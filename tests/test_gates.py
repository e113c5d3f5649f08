"""Gate statistics, the step inspector's arithmetic and the gate figures."""

import numpy as np
import pytest
import torch

from rnnviz import gates as G
from rnnviz import models
from rnnviz.plots import gates as P

torch.set_num_threads(1)
H = 24


def _model(cell, layers=2, **kw):
    return models.build(cell, vocab_size=17, layers=layers, hidden=H, embed=8, seed=3, **kw)


def _ids(n=50, seed=0):
    return np.random.RandomState(seed).randint(0, 17, n)


def _random_state(m):
    g = torch.Generator().manual_seed(5)
    h = torch.randn(m.config.layers, 1, H, generator=g) * 0.5
    return (h, torch.randn(m.config.layers, 1, H, generator=g)) if m.config.cell == "lstm" else h


@pytest.mark.parametrize("cell,kw", [("lstm", {}), ("gru", {}), ("rnn", {}), ("rnn", {"nonlinearity": "relu"})])
@pytest.mark.parametrize("with_state", [False, True])
def test_inspector_reproduces_trace(cell, kw, with_state):
    m = _model(cell, **kw)
    state = _random_state(m) if with_state else None
    with torch.inference_mode():
        tr = models.trace(m, _ids(), state)
    worst = 0.0
    for layer in range(2):
        for t in (0, 1, 17, 49):
            for unit in (0, 7, H - 1):
                d = G.inspect_step(m, tr, layer, t, unit)
                worst = max(worst, abs(d["h"] - float(tr.layers[layer]["h"][t, unit])))
                if cell == "lstm":
                    worst = max(worst, abs(d["c"] - float(tr.layers[layer]["c"][t, unit])))
                    for g in "ifgo":
                        assert abs(d["parts"][g]["value"] - float(tr.layers[layer][g][t, unit])) < 1e-6
                    assert d["c"] == pytest.approx(d["keep"] + d["write"], abs=1e-12)
                if cell == "gru":
                    for g in "rzn":
                        assert abs(d["parts"][g]["value"] - float(tr.layers[layer][g][t, unit])) < 1e-6
                if cell == "rnn":
                    assert abs(d["parts"]["a"]["pre"] - float(tr.layers[layer]["pre"][t, unit])) < 1e-5
                for q in d["parts"].values():  # the displayed addends sum to the pre-activation
                    assert q["x"] + q["rec"] + q["bias"] == pytest.approx(q["pre"], abs=1e-9)
    assert worst < 1e-6


def test_inspector_uses_previous_state_and_input():
    m = _model("lstm")
    state = _random_state(m)
    with torch.inference_mode():
        tr = models.trace(m, _ids(10), state)
    d = G.inspect_step(m, tr, 1, 0, 4)
    assert d["h_prev"] == pytest.approx(float(state[0][1, 0, 4]))
    assert d["c_prev"] == pytest.approx(float(state[1][1, 0, 4]))
    d = G.inspect_step(m, tr, 1, 5, 4)
    assert d["c_prev"] == pytest.approx(float(tr.layers[1]["c"][4, 4]))
    np.testing.assert_allclose(d["x"], tr.numpy(0, "h")[5], atol=1e-7)  # layer 2 reads layer 1's h


def test_inspector_rejects_bad_positions():
    m = _model("gru", layers=1)
    with torch.inference_mode():
        tr = models.trace(m, _ids(5))
    for args in ((1, 0, 0), (0, 5, 0), (0, -1, 0), (0, 0, H)):
        with pytest.raises(ValueError):
            G.inspect_step(m, tr, *args)


def _set_block_bias(m, cell, block, value):
    k = G.BLOCKS[cell].index(block)
    with torch.no_grad():
        for layer in range(m.config.layers):
            w = models.layer_weights(m, layer)
            w.b_ih[k * H : (k + 1) * H] = value
            w.b_hh[k * H : (k + 1) * H] = 0.0


def test_saturation_follows_hand_set_biases():
    m = _model("lstm")
    _set_block_bias(m, "lstm", "f", 25.0)  # forget gates forced open
    _set_block_bias(m, "lstm", "i", -25.0)  # input gates forced shut
    sat = G.saturation(m, _ids(200))
    assert sat.gates == ("i", "f", "o") and sat.layers == 2 and sat.chars == 200
    for layer in range(2):
        np.testing.assert_array_equal(sat.right[(layer, "f")], 1.0)
        np.testing.assert_array_equal(sat.left[(layer, "f")], 0.0)
        np.testing.assert_array_equal(sat.left[(layer, "i")], 1.0)
        np.testing.assert_array_equal(sat.right[(layer, "i")], 0.0)
        o = sat.right[(layer, "o")] + sat.left[(layer, "o")]
        assert o.max() < 0.5  # untouched output gates stay mostly in the middle
    summary = sat.summary()
    assert summary[(0, "f")] == (0.0, 1.0) and summary[(1, "i")] == (1.0, 0.0)


def test_saturation_of_untrained_model_is_in_the_middle_and_gru_works():
    m = _model("gru")
    sat = G.saturation(m, _ids(200))
    assert sat.gates == ("r", "z")
    for key in sat.left:
        assert sat.left[key].shape == (H,) and sat.left[key].dtype == np.float32
        assert float(sat.left[key].max()) < 0.3 and float(sat.right[key].max()) < 0.3
    _set_block_bias(m, "gru", "z", 30.0)
    assert float(G.saturation(m, _ids(100)).right[(1, "z")].min()) == 1.0


def test_saturation_rejects_vanilla_rnn_and_bad_thresholds():
    with pytest.raises(ValueError, match="no gates"):
        G.saturation(_model("rnn"), _ids())
    with torch.inference_mode():
        tr = models.trace(_model("lstm"), _ids())
    with pytest.raises(ValueError):
        G.saturation_from_trace(tr, low=0.9, high=0.1)


def test_corpus_sample():
    ids = np.arange(10_000)
    s = G.corpus_sample(ids, 1000, pieces=4)
    assert len(s) == 1000 and s[0] == 0 and s[-1] == 9999
    assert len(G.corpus_sample(ids[:50], 1000)) == 50
    with pytest.raises(ValueError):
        G.corpus_sample(ids, 0)


def test_open_runs_and_retention():
    f = np.array([[0.95, 0.2], [0.95, 0.95], [0.5, 0.95], [0.99, 0.95], [0.99, 0.1]])
    length, start = G.open_runs(f)
    assert list(length) == [2, 3] and list(start) == [0, 1]
    assert G.rank_memory_cells(f, count=2) == [1, 0]
    r = G.retention(f, start=1)
    assert r[0].tolist() == [0, 0] and r[1].tolist() == [1, 1]
    np.testing.assert_allclose(r[4], [0.5 * 0.99 * 0.99, 0.95 * 0.95 * 0.1])
    with pytest.raises(ValueError):
        G.retention(f, start=5)


def test_signal_scale():
    assert G.signal_scale([0.2, -0.7]) == 1.0
    assert G.signal_scale(np.linspace(-8, 8, 1001), quantile=1.0) == 8.0


def test_figures():
    m = _model("lstm")
    sat = G.saturation(m, _ids(100))
    fig = P.saturation_figure(sat)
    pts = [t for t in fig.data if t.mode == "markers"]
    assert len(pts) == 2 * 3  # one scatter per layer and gate
    np.testing.assert_allclose(pts[0].x, sat.left[(0, "i")])
    fig2 = P.saturation_figure(sat, compare=sat, before_label="step 0")
    assert len([t for t in fig2.data if t.mode == "markers"]) == 12

    text = "hello <b>world</b>\n" * 3
    v = np.random.rand(len(text), 5)
    hm = P.gate_heatmap(v, text, start=10, units=[1, 2, 3, 4, 9])
    assert hm.data[0].z.dtype == np.float32 and hm.data[0].z.shape == (5, len(text))
    assert list(hm.layout.xaxis.ticktext[:2]) == ["h", "e"] and hm.data[0].x[0] == 10
    cf = P.conveyor_figure(text, start=0, memory=v[:, :2], keep=v[:, :2], write=v[:, :2], units=[3, 4],
                           retention=v[:, :2])
    assert len(cf.data) == 8
    us = P.unit_strip(text, start=0, series={"f": v[:, 0], "c": v[:, 1]}, mark=4)
    assert len(us.data) == 2
