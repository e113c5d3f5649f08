"""AppTest for the LSTM gates page: every view, the step inspector, bad input and
the live saturation plot that follows a training run."""

import json
import re
import time

import numpy as np
import pytest
import torch

from rnnviz import checkpoint as ckpt
from rnnviz import corpora, gates, models
from rnnviz.live import BackgroundTrainer, SlotLimiter
from rnnviz.train import TrainConfig, Trainer

PAGE = "pages/gates.py"


def _errors(at):
    return [e.value for e in at.exception] + [e.value for e in at.error]


def _figs(at):
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


@pytest.fixture
def at(app_test):
    a = app_test(PAGE)
    assert not a.exception, [e.value for e in a.exception]
    return a


def test_every_view_renders(at):
    assert at.radio(key="gates_view").value == "Gates over text"
    assert not _errors(at)
    assert any("rnnviz-text" in h.value for h in at.html)  # per-character heat text
    assert any("1 (open)" in h.value for h in at.html)  # the gate colour legend
    figs = _figs(at)
    assert figs and all(f["data"][0]["type"] == "heatmap" for f in figs)
    assert len(at.latex) >= 3  # lesson equations

    at.radio(key="gates_view").set_value("Conveyor belt").run()
    assert not _errors(at)
    assert any(len(f["data"]) >= 9 for f in _figs(at))  # c, f, i, kept share for 3 cells
    assert at.dataframe  # longest open runs

    at.radio(key="gates_view").set_value("Saturation").run()
    assert not _errors(at)
    scatter = [f for f in _figs(at) if any(t.get("mode") == "markers" for t in f["data"])]
    assert len(scatter) == 2  # LSTM and GRU side by side


def _shown_number(latex: str, name: str) -> float:
    m = re.search(name + r" &=.*?\\mathbf\{(-?[0-9.]+)\}", latex)
    assert m, latex
    return float(m.group(1))


def test_step_inspector_moves_and_shows_the_traced_numbers(at):
    at.radio(key="gates_view").set_value("Step inspector").run()
    assert not _errors(at)
    at.number_input(key="gates_unit").set_value(5).run()
    t0 = at.number_input(key="gates_t").value
    at.button(key="gates_fwd").click().run()
    at.button(key="gates_fwd").click().run()
    assert at.number_input(key="gates_t").value == t0 + 2
    at.button(key="gates_back").click().run()
    t = at.number_input(key="gates_t").value
    assert t == t0 + 1
    assert not _errors(at)

    from rnnviz.ui import state  # the page's cached model, never mutated

    cp = state.pretrained("shakespeare_lstm")
    text = corpora.load("shakespeare").val_text[:600]
    with torch.inference_mode():
        tr = models.trace(cp.model, cp.vocab.encode(text))
    body = next(el.value for el in at.latex if "c_t &=" in el.value)
    assert abs(_shown_number(body, "c_t") - float(tr.layers[0]["c"][t, 5])) <= 5e-5
    assert abs(_shown_number(body, "h_t") - float(tr.layers[0]["h"][t, 5])) <= 5e-5
    d = gates.inspect_step(cp.model, tr, 0, t, 5)
    assert abs(d["c"] - float(tr.layers[0]["c"][t, 5])) < 1e-6


@pytest.mark.parametrize("name, marker", [("names_gru", r"h_t &= (1 - z_t)"),
                                          ("shakespeare_rnn", r"h_t &= \tanh(a_t)")])
def test_step_inspector_gru_and_rnn(at, name, marker):
    assert name in ckpt.pretrained_names(), f"the bundled model {name} is missing from pretrained/"
    at.radio(key="gates_view").set_value("Step inspector").run()
    at.selectbox(key="gates_model").set_value(name).run()
    assert not _errors(at), name
    assert any(marker in el.value for el in at.latex), name


def test_bad_pasted_text_gives_a_clear_error_and_is_kept(at):
    at.radio(key="gates_source").set_value("Your own text").run()
    assert not _errors(at)
    bad = "To be or not \u2603 to be <script>alert(1)</script> \u00e9\u00e9"
    at.text_area(key="gates_paste").input(bad).run()
    assert not at.exception
    msgs = [e.value for e in at.error]
    assert msgs and "never seen" in msgs[0] and "'\u2603'" in msgs[0]
    assert at.text_area(key="gates_paste").value == bad
    at.text_area(key="gates_paste").input("To be, or not to be, that is the question.").run()
    assert not _errors(at)
    assert any("that is the question" in re.sub(r"<[^>]+>", "", h.value) for h in at.html)

    at.radio(key="gates_source").set_value("A sample from the model").run()
    assert not _errors(at)
    first = at.session_state["gates_sample_text"]
    at.button(key="gates_resample_btn").click().run()
    assert not _errors(at) and at.session_state["gates_sample_text"] != first


def _sat_points(at):
    figs = [f for f in _figs(at) if "at step" in json.dumps(f["layout"].get("title", ""))]
    assert len(figs) == 1
    pts = [t for t in figs[0]["data"] if t.get("mode") == "markers" and t.get("legendgroup") == "now"]
    return figs[0]["layout"]["title"]["text"], np.concatenate([np.r_[_decode(p["x"]), _decode(p["y"])] for p in pts])


def _decode(v):
    if isinstance(v, dict):  # plotly's typed-array encoding
        import base64
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v, dtype=float)


def test_live_saturation_follows_training(at):
    corpus = corpora.load("names")
    cfg = TrainConfig(cell="lstm", layers=1, hidden=16, embed=8, seq_len=32, batch_size=16, lr=1e-2,
                      eval_every=10_000, sample_len=20)
    runner = BackgroundTrainer(Trainer(corpus, cfg), threads=1, limiter=SlotLimiter(1), chunk=5)
    try:
        at.session_state["rnnviz_runner"] = runner
        at.radio(key="gates_view").set_value("Saturation").run()
        at.number_input(key="gates_live_every").set_value(30).run()
        assert not _errors(at)
        title0, before = _sat_points(at)
        assert "step 0" in title0
        runner.start()
        deadline = time.time() + 240  # generous: the machine may be busy
        while runner.steps < 60 and time.time() < deadline:
            time.sleep(0.2)
        assert runner.steps >= 60
        at.run()
        assert not _errors(at)
        title1, after = _sat_points(at)
        assert title1 != title0
        assert before.shape == after.shape and not np.allclose(before, after)
        greys = [t for f in _figs(at) for t in f["data"] if t.get("legendgroup") == "before"]
        assert greys and greys[0]["name"] == "step 0"  # the first measurement is kept for comparison

        # Opening the page only after training started still compares with step 0.
        del at.session_state["gates_live_hist"]
        at.run()
        assert not _errors(at)
        greys = [t for f in _figs(at) for t in f["data"] if t.get("legendgroup") == "before"]
        assert greys and greys[0]["name"] == "step 0"
        np.testing.assert_allclose(np.r_[_decode(greys[0]["x"]), _decode(greys[0]["y"])],
                                   before[: 2 * 16], atol=1e-6)  # step-0 weights reproduce step 0
    finally:
        runner.stop()
