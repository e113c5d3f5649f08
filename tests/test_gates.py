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
    assert list(hm.data[0].customdata[0][:2]) == ["h", "e"]
    # The hover labels are plain lists, never an object array (orjson leaks those: charts.plain_arrays)
    assert not isinstance(hm.data[0].customdata, np.ndarray)
    cf = P.conveyor_figure(text, start=0, memory=v[:, :2], keep=v[:, :2], write=v[:, :2], units=[3, 4],
                           retention=v[:, :2])
    assert len(cf.data) == 8
    us = P.unit_strip(text, start=0, series={"f": v[:, 0], "c": v[:, 1]}, mark=4)
    assert len(us.data) == 2


# ------------------------------------------------------------------ page analysis moved to the library

import re  # noqa: E402

from rnnviz import cell_equations as E  # noqa: E402
from rnnviz.celltypes import CELL_TYPES  # noqa: E402


def _bold(latex: str, name: str) -> float:
    m = re.search(name + r" &=.*?\\mathbf\{(-?[0-9.]+)\}", latex)
    assert m, latex
    return float(m.group(1))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_equations_show_the_traced_numbers(cell):
    m = _model(cell)
    with torch.inference_mode():
        tr = models.trace(m, _ids(30))
    d = G.inspect_step(m, tr, 1, 12, 5)
    body = CELL_TYPES[cell].equations(d)  # the registry's builder
    assert body == E.aligned(getattr(E, f"{cell}_lines")(d))
    assert body.startswith(r"\begin{aligned}") and body.endswith(r"\end{aligned}")
    assert abs(_bold(body, "h_t") - float(tr.layers[1]["h"][12, 5])) <= 5e-5
    if cell == "lstm":
        assert abs(_bold(body, "c_t") - float(tr.layers[1]["c"][12, 5])) <= 5e-5
        for g in "ifog":  # every gate line ends with its value
            assert f"{g}_t &=" in body and f"= {d['parts'][g]['value']:.4f}" in body
    if cell == "gru":
        assert r"h_t &= (1 - z_t)" in body and "n_t &=" in body
    if cell == "rnn":
        assert r"h_t &= \tanh(a_t)" in body


def test_equation_numbers_bracket_negatives():
    assert E.num(-0.5) == "(-0.5000)" and E.num(0.25) == "0.2500" and E.num(1.23456, 2) == "1.23"


def test_relu_rnn_equation():
    m = _model("rnn", nonlinearity="relu")
    with torch.inference_mode():
        tr = models.trace(m, _ids(10))
    assert r"\operatorname{relu}" in E.rnn(G.inspect_step(m, tr, 0, 3, 1))


def test_part_and_push_rows():
    m = _model("lstm")
    with torch.inference_mode():
        tr = models.trace(m, _ids(20))
    d = G.inspect_step(m, tr, 1, 7, 3, top=4)
    rows = G.part_rows(d)
    assert [r["block"] for r in rows] == ["i: input gate", "f: forget gate", "g: candidate", "o: output gate"]
    for r in rows:
        assert r["from x_t"] + r["from h_{t-1}"] + r["bias"] == pytest.approx(r["pre-activation"], abs=3e-4)
    push = G.push_rows(d, "f")
    assert len(push) == 4
    sizes = [abs(r["weight × h"]) for r in push]
    assert sizes == sorted(sizes, reverse=True)
    w_hh = models.layer_weights(m, 1).w_hh.detach().double().numpy()
    h_prev = tr.numpy(1, "h")[6]
    j = push[0]["cell j"]
    assert push[0]["weight × h"] == pytest.approx(w_hh[H + 3, j] * h_prev[j], abs=1e-4)  # f rows come second
    assert sizes[0] == pytest.approx(np.abs(w_hh[H + 3] * h_prev).max(), abs=1e-4)
    with pytest.raises(ValueError, match="no block"):
        G.push_rows(d, "z")


def test_step_check():
    m = _model("lstm")
    with torch.inference_mode():
        tr = models.trace(m, _ids(20))
    ref, diff = G.step_check(tr, G.inspect_step(m, tr, 0, 4, 2))
    assert set(ref) == {"c", "h"} and ref["h"] == float(tr.layers[0]["h"][4, 2]) and diff < 1e-6
    mg = _model("gru")
    with torch.inference_mode():
        trg = models.trace(mg, _ids(20))
    ref, _ = G.step_check(trg, G.inspect_step(mg, trg, 0, 4, 2))
    assert set(ref) == {"h"}


def test_saturation_rows():
    m = _model("lstm")
    _set_block_bias(m, "lstm", "f", 25.0)
    _set_block_bias(m, "lstm", "i", -25.0)
    rows = G.saturation_rows(G.saturation(m, _ids(200)))
    assert len(rows) == 2 * 3
    f1 = next(r for r in rows if r["layer"] == 1 and r["gate"] == "f")
    i2 = next(r for r in rows if r["layer"] == 2 and r["gate"] == "i")
    assert (f1["closed"], f1["open"], f1["in between"]) == ("0%", "100%", "0%")
    assert (i2["closed"], i2["open"]) == ("100%", "0%")
    o1 = next(r for r in rows if r["layer"] == 1 and r["gate"] == "o")
    assert o1["open"] == "0%" and o1["in between"] != "0%"  # untouched gates stay in the middle


def test_open_run_rows_and_top_units():
    text = "ab\ncdefg"
    f = np.full((8, 3), 0.5)
    f[2:7, 1] = 0.99  # cell 1 open from t=2 for 5 characters ("\ncdef")
    f[0:2, 2] = 0.95
    rows = G.open_run_rows(text, f, count=2)
    assert rows[0] == {"cell": 1, "open for (chars)": 5, "from t": 2, "text": " ↵ cdef"}
    assert rows[1]["cell"] == 2 and rows[1]["text"] == "ab"
    assert G.open_run_rows("x" * 100, np.full((100, 1), 0.99), width=10)[0]["text"] == "x" * 10 + " …"
    v = np.zeros((10, 4))
    v[:, 2] = np.arange(10)
    v[::2, 0] = 1.0
    assert G.top_varying_units(v, 2) == [2, 0]
    assert G.clamp(500, 0, 120) == 120 and G.clamp(-3, 0, 9) == 0 and G.clamp("7", 0, 9) == 7


def test_step0_saturation_uses_the_initial_weights_and_leaves_the_model_alone():
    fresh = _model("lstm")
    initial = {k: v.clone() for k, v in fresh.state_dict().items()}
    trained = _model("lstm")
    _set_block_bias(trained, "lstm", "f", 25.0)
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    ids = _ids(150)
    s0 = G.step0_saturation(trained, initial, ids)
    ref = G.saturation(fresh, ids)
    assert s0.step == 0
    for key in ref.left:
        np.testing.assert_array_equal(s0.left[key], ref.left[key])
        np.testing.assert_array_equal(s0.right[key], ref.right[key])
    for k, v in trained.state_dict().items():
        assert torch.equal(v, before[k])
    assert G.step0_saturation(trained, None, ids) is None
    assert G.step0_saturation(trained, _model("lstm", layers=1).state_dict(), ids) is None  # wrong shape


def test_saturation_history():
    m = _model("gru", layers=1)
    initial = {k: v.clone() for k, v in m.state_dict().items()}
    ids = _ids(100)
    hist = G.SaturationHistory("run-1", 1000, keep=4)
    assert hist.matches("run-1", 1000) and not hist.matches("run-2", 1000) and not hist.matches("run-1", 2000)
    assert hist.due(0, 100, running=True)
    hist.measure(m, ids, 0, initial)
    assert [s.step for s in hist.items] == [0]  # at step 0 the first measurement is step 0 itself
    assert not hist.due(50, 100, running=True) and hist.due(100, 100, running=True)
    assert hist.due(50, 100, running=False) and not hist.due(0, 100, running=False)
    assert hist.compared("first") is None
    for step in (100, 200, 300, 400):
        hist.measure(m, ids, step, initial)
    assert [s.step for s in hist.items] == [0, 200, 300, 400]  # first kept, then the latest
    assert hist.compared("first").step == 0 and hist.compared("previous").step == 300
    assert hist.compared("none") is None
    with pytest.raises(ValueError):
        hist.compared("last week")

    late = G.SaturationHistory("run-1", 1000)  # opened after training started
    late.measure(m, ids, 250, initial)
    assert [s.step for s in late.items] == [0, 250]
    unknown = G.SaturationHistory("run-1", 1000)
    unknown.measure(m, ids, 250, None)
    assert [s.step for s in unknown.items] == [250]


def test_trace_memo_is_bounded_by_bytes():
    m = _model("lstm")
    made = []

    def make(n):
        def go():
            made.append(n)
            with torch.inference_mode():
                return models.trace(m, _ids(n))
        return go

    one = G.trace_nbytes(models.trace(m, _ids(100)))
    assert one == 100 * (2 * H * 7 + 17 + 8) * 4  # signals of 2 layers, logits, embeddings (float32)
    memo = G.TraceMemo(budget=3 * one)
    a = memo.get("a", make(100))
    assert memo.get("a", make(100)) is a and made == [100]  # a hit does not trace again
    for k in "bcdef":
        memo.get(k, make(100))
        assert memo.nbytes <= 3 * one
    assert len(memo) == 3 and memo.nbytes == 3 * one
    memo.get("d", make(100))  # recently used: survives the next insertion
    memo.get("g", make(100))
    memo.get("d", make(100))
    assert made.count(100) == 7
    big = memo.get("big", make(1000))  # larger than the budget: kept alone, as the newest entry
    assert len(memo) == 1 and memo.get("big", make(1000)) is big


def test_belt():
    for cell in ("lstm", "gru"):
        m = _model(cell)
        with torch.inference_mode():
            tr = models.trace(m, _ids(30))
        b = G.belt(tr, 1)
        spec = G.BELTS[cell]
        np.testing.assert_array_equal(b.memory, tr.numpy(1, spec.memory))
        np.testing.assert_array_equal(b.keep, tr.numpy(1, spec.keep))
        write = tr.numpy(1, "i") if cell == "lstm" else 1.0 - tr.numpy(1, "z")
        np.testing.assert_allclose(b.write, write)
        assert set(b.labels) == {"memory_label", "keep_label", "write_label"}
    with torch.inference_mode():
        assert G.belt(models.trace(_model("rnn"), _ids(10)), 0) is None


def test_step_notes():
    assert G.step_notes("lstm", 0) == []
    assert len(G.step_notes("gru", 1)) == 1 and "reset gate" in G.step_notes("gru", 0)[0]
    assert len(G.step_notes("rnn", 0)) == 1 and G.step_notes("rnn", 1) == []


def test_measured_ids():
    from types import SimpleNamespace

    long = SimpleNamespace(val_ids=np.arange(300), ids=np.arange(3000))
    short = SimpleNamespace(val_ids=np.arange(50), ids=np.arange(500))
    assert len(G.measured_ids(long)) == 300 and len(G.measured_ids(short)) == 500


def test_keep_gate():
    assert (G.keep_gate("lstm"), G.keep_gate("gru"), G.keep_gate("rnn")) == ("f", "z", None)


def test_corpus_saturation_and_measure_run():
    from types import SimpleNamespace

    m = _model("lstm", layers=1)
    corpus = SimpleNamespace(val_ids=_ids(400), ids=_ids(4000))
    sat = G.corpus_saturation(m, corpus, 200, step=7)
    ref = G.saturation(m, G.corpus_sample(corpus.val_ids, 200))
    assert sat.step == 7 and sat.chars == 200
    np.testing.assert_array_equal(sat.right[(0, "f")], ref.right[(0, "f")])
    with pytest.raises(ValueError, match="built-in text"):
        G.corpus_saturation(m, None, 200)
    trainer = SimpleNamespace(corpus=corpus, initial_weights={k: v.clone() for k, v in m.state_dict().items()})
    hist = G.SaturationHistory.kept({}, "h", "run", 200)
    hist.measure_run(SimpleNamespace(model=m, card={"steps": 40}), trainer)
    assert [s.step for s in hist.items] == [0, 40]
    store = {}
    a = G.SaturationHistory.kept(store, "h", "run", 200)
    assert G.SaturationHistory.kept(store, "h", "run", 200) is a
    assert G.SaturationHistory.kept(store, "h", "other run", 200) is not a
