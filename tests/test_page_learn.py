"""AppTest for pages/learn_hello.py: every panel renders, the numbers the page shows
equal an independent NumPy pass, the buttons train, sampling works and bad input
gets a clear message."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_hello import TOL, numpy_reference

from rnnviz import hello

PAGE = "pages/learn_hello.py"
CHARTS = ("hello_fig_x", "hello_fig_wxh", "hello_fig_hprev", "hello_fig_h", "hello_fig_logits", "hello_fig_probs",
          "hello_fig_loss", "hello_fig_pcorrect", "hello_fig_chain", "hello_fig_reach", "hello_fig_grad_W_xh",
          "hello_fig_grad_W_hh", "hello_fig_grad_W_hy", "hello_fig_clip", "hello_fig_tbptt",
          "hello_fig_reach_tbptt")


def fig(at, key: str) -> dict:
    for el in at.get("plotly_chart"):
        if el.proto.id.endswith("-" + key):
            return json.loads(el.proto.spec)
    raise AssertionError(f"chart {key} not on the page")


def zcol(spec) -> np.ndarray:
    return np.array(spec["data"][0]["z"], dtype=np.float64).reshape(-1)


def metric(at, label_start: str) -> str:
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric {label_start!r}")


DF_COLUMNS = {"hello_reach_table": "from all L", "hello_chain_table": "fed in",
              "hello_copy_table": "chunk length k", "hello_train_table": "p(target)"}


def df(at, key: str):
    """The dataframe identified by a column only it has (dataframe protos carry no key)."""
    for d in at.dataframe:
        v = d.value
        if DF_COLUMNS[key] in v.columns:
            return v
    raise AssertionError(f"dataframe {key} not on the page")


def reference(at) -> dict:
    m = at.session_state["hello_model"]
    ids = hello.encode(m.word, m.vocab)
    return numpy_reference(hello.params_numpy(m.params), ids[:-1], ids[1:])


def check_screen_matches(at, ref, t: int):
    m = at.session_state["hello_model"]
    ids = hello.encode(m.word, m.vocab)
    np.testing.assert_allclose(zcol(fig(at, "hello_fig_x")), ref["xs"][t], atol=0)
    wxh = fig(at, "hello_fig_wxh")
    np.testing.assert_allclose(np.array(wxh["data"][0]["z"]), hello.params_numpy(m.params)["W_xh"], atol=TOL)
    box = wxh["layout"]["shapes"][0]
    assert box["x0"] == ids[t] - 0.5 and box["x1"] == ids[t] + 0.5  # the selected column is boxed
    np.testing.assert_allclose(zcol(fig(at, "hello_fig_hprev")), ref["h_prev"][t], atol=TOL)
    np.testing.assert_allclose(zcol(fig(at, "hello_fig_h")), ref["hs"][t], atol=TOL)
    np.testing.assert_allclose(zcol(fig(at, "hello_fig_logits")), ref["logits"][t], atol=TOL)
    bars = fig(at, "hello_fig_probs")["data"][0]
    np.testing.assert_allclose(bars["y"], ref["probs"][t], atol=TOL)
    assert bars["marker"]["color"][ids[t + 1]] == "#27ae60"  # target letter highlighted
    assert float(metric(at, f"Loss at step {t + 1}")) == pytest.approx(ref["losses"][t], abs=6e-5)
    assert float(metric(at, "Loss of the whole word")) == pytest.approx(ref["loss"], abs=6e-5)
    # the equation is filled in with the same numbers
    tex = " ".join(el.value for el in at.latex)
    for v in ref["hs"][t]:
        assert f"{v:+.3f}" in tex
    assert f"{ref['losses'][t]:.4f}" in tex
    # backward panel: gradient reaching each h_t, the Jacobian factors and every parameter gradient
    np.testing.assert_allclose(fig(at, "hello_fig_reach")["data"][0]["y"], ref["reach_last"], atol=TOL)
    table = df(at, "hello_reach_table")
    np.testing.assert_allclose(table.iloc[:, 1].to_numpy(float), ref["reach_last"], atol=TOL)
    np.testing.assert_allclose(table.iloc[:, 2].to_numpy(float), ref["reach_total"], atol=TOL)
    # σ_max is shown as text with 5 decimals; t = 1 has no step back (h0 is the fixed
    # zero start state): a dash, explained in the caption, never "None"
    np.testing.assert_allclose(table.iloc[1:, 3].to_numpy(float), ref["jac"][1:], atol=5e-6)
    assert table.iloc[0, 3] == "—" and table.iloc[:, 3].map(lambda v: isinstance(v, str)).all()
    assert any("At t = 1 it shows —" in c.value and "start state h0" in c.value for c in at.caption)
    for name in ("W_xh", "W_hh", "W_hy"):
        np.testing.assert_allclose(np.array(fig(at, f"hello_fig_grad_{name}")["data"][0]["z"]), ref["grads"][name],
                                   atol=TOL, err_msg=name)
    clip = fig(at, "hello_fig_clip")["data"]
    raw = np.concatenate([ref["grads"][k].reshape(-1) for k in hello.PARAM_NAMES])
    np.testing.assert_allclose(clip[0]["y"], raw, atol=TOL)


@pytest.fixture
def at(app_test):
    a = app_test(PAGE)
    assert not a.exception, a.exception
    return a


def test_every_panel_renders(at):
    assert not at.error
    for key in CHARTS:
        fig(at, key)
    assert len(at.latex) >= 4
    assert sum("Try this" in md.value for md in at.markdown) == 5
    assert metric(at, "Training steps") == "0"
    assert at.session_state["hello_model"].vocab == ["h", "e", "l", "o"]


def test_numbers_on_screen_equal_numpy_at_every_step(at):
    ref = reference(at)
    radio = at.radio(key="hello_step")
    for t, label in enumerate(radio.options):
        at.radio(key="hello_step").set_value(label).run()
        assert not at.exception
        check_screen_matches(at, ref, t)


def test_buttons_train_and_numbers_follow(at):
    loss0 = float(metric(at, "Loss (sum"))
    at.button(key="hello_train1").click().run()
    assert metric(at, "Training steps") == "1"
    at.button(key="hello_train10").click().run()
    assert metric(at, "Training steps") == "11"
    assert len(fig(at, "hello_fig_loss")["data"][0]["x"]) == 12
    at.button(key="hello_train100").click().run()
    assert not at.exception and not at.error
    assert metric(at, "Training steps") == "111"
    assert float(metric(at, "Loss (sum")) < loss0 / 10
    assert metric(at, "Greedy continuation") == "hello"
    p_hist = fig(at, "hello_fig_pcorrect")["data"]
    assert len(p_hist) == 4 and all(tr["y"][-1] > 0.9 for tr in p_hist)
    check_screen_matches(at, reference(at), 0)
    # switching optimiser and training again
    at.selectbox(key="hello_opt").set_value("adam")
    at.number_input(key="hello_lr").set_value(0.01)
    at.button(key="hello_train10").click().run()
    m = at.session_state["hello_model"]
    assert m.optimizer == "adam" and m.lr == 0.01 and m.steps == 121
    at.button(key="hello_reset").click().run()
    assert metric(at, "Training steps") == "0"


def test_sampling_chain(at):
    at.button(key="hello_train100").click().run()
    at.toggle(key="hello_greedy").set_value(True).run()
    chain = df(at, "hello_chain_table")
    assert "".join(chain["drawn"]) == "ello"
    assert list(chain["fed in"]) == ["h", "e", "l", "l"]
    shown = re.sub(r"<[^>]+>", "", at.html[0].value)  # the sampled text as the student reads it
    assert "hello" in shown
    at.toggle(key="hello_greedy").set_value(False)
    at.slider(key="hello_temp").set_value(2.5)
    at.number_input(key="hello_len").set_value(12).run()
    assert not at.exception
    chain = df(at, "hello_chain_table")
    m = at.session_state["hello_model"]
    expect = hello.sample_chain(m.params, m.vocab, "h", 12, temperature=2.5, seed=0)
    assert list(chain["drawn"]) == [s.sampled for s in expect]
    bars = fig(at, "hello_fig_chain")["data"]
    assert len(bars) == 12
    # probabilities on screen: softmax(logits / T) for the letters actually fed in
    Wxh, Whh, bh, Why, by = (hello.params_numpy(m.params)[k] for k in hello.PARAM_NAMES)
    h = np.zeros(Whh.shape[0])
    fed = [m.vocab.index("h")] + [m.vocab.index(s.sampled) for s in expect[:-1]]
    for i, x in enumerate(fed):
        h = np.tanh(Wxh[:, x] + Whh @ h + bh)
        y = (Why @ h + by) / 2.5
        p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
        np.testing.assert_allclose(bars[i]["y"], p, atol=TOL)
    at.button(key="hello_resample").click().run()
    assert at.number_input(key="hello_sample_seed").value == 1
    assert list(df(at, "hello_chain_table")["drawn"]) == [
        s.sampled for s in hello.sample_chain(m.params, m.vocab, "h", 12, temperature=2.5, seed=1)]


def test_bad_input_gets_clear_messages_and_keeps_the_model(at):
    at.button(key="hello_train10").click().run()
    at.number_input(key="hello_lr").set_value(0.0)
    at.button(key="hello_train1").click().run()
    assert not at.exception
    assert any("learning rate must be a positive number" in e.value for e in at.error)
    assert metric(at, "Training steps") == "10"
    at.number_input(key="hello_bw_limit").set_value(0.0).run()
    assert any("clipping limit must be a positive number" in e.value for e in at.error)
    at.text_input(key="hello_word").input("a<b>")
    at.button(key="FormSubmitter:hello_setup-Build a new model").click().run()
    assert not at.exception
    assert any("may only contain" in e.value and "kept" in e.value for e in at.error)
    assert at.session_state["hello_model"].word == "hello"
    assert at.session_state["hello_model"].steps == 10
    # a valid new word builds a fresh model whose numbers still match NumPy
    at.number_input(key="hello_lr").set_value(0.1)
    at.number_input(key="hello_bw_limit").set_value(5.0)
    at.text_input(key="hello_word").input("banana")
    at.number_input(key="hello_hidden").set_value(5)
    at.button(key="FormSubmitter:hello_setup-Build a new model").click().run()
    assert not at.exception and not at.error
    m = at.session_state["hello_model"]
    assert m.word == "banana" and m.hidden == 5 and m.steps == 0
    at.radio(key="hello_step").set_value(at.radio(key="hello_step").options[2]).run()
    check_screen_matches(at, reference(at), 2)


def test_tbptt_panel_diagram_and_comparison(at):
    spec = fig(at, "hello_fig_reach_tbptt")["data"]
    full, trunc = np.array(spec[0]["y"]), np.array(spec[1]["y"])
    t = len(full) - 1
    start = (t // 4) * 4
    assert np.all(trunc[:start] == 0) and np.all(full[:start] > 0)
    np.testing.assert_allclose(trunc[start:], full[start:], atol=TOL)
    at.button(key="hello_copy_run").click().run()
    assert not at.exception and not at.error
    table = df(at, "hello_copy_table")
    assert list(table["chunk length k"]) == [4, 9]
    acc = list(table["accuracy on the repeated letter"])
    assert acc[1] > 0.9 and acc[0] < 0.7
    assert len(fig(at, "hello_fig_copy")["data"]) == 2
    assert any("trained with k = 9" in c.value for c in at.caption)
