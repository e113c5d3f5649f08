"""AppTest for pages/learn_hello.py: every view renders, the numbers the page shows
equal an independent NumPy pass, the buttons train, sampling works, bad input gets
a clear message, and a link (query string) opens the same view with the same model."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from conftest import ROOT, apply_runner_config
from streamlit.testing.v1 import AppTest
from test_hello import TOL, matrices, numpy_reference

from rnnviz import equations, hello

PAGE = "pages/learn_hello.py"
VIEW_CHARTS = {
    "forward": ("hello_fig_forward",),
    "train": ("hello_fig_loss", "hello_fig_pcorrect"),
    "sample": ("hello_fig_chain",),
    "backward": ("hello_fig_reach", "hello_fig_grad_W_xh", "hello_fig_grad_W_hh", "hello_fig_grad_W_hy",
                 "hello_fig_clip"),
    "tbptt": ("hello_fig_tbptt", "hello_fig_reach_tbptt"),
}


def fig(at, key: str) -> dict:
    for el in at.get("plotly_chart"):
        if el.proto.id.endswith("-" + key):
            return json.loads(el.proto.spec)
    raise AssertionError(f"chart {key} not on the page")


def zcol(trace) -> np.ndarray:
    return np.array(trace["z"], dtype=np.float64).reshape(-1)


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


def view(at, name: str):
    at.button_group(key="hello_view").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def reference(at) -> dict:
    m = at.session_state["hello_model"]
    ids = hello.encode(m.word, m.vocab)
    return numpy_reference(hello.params_numpy(m.params), ids[:-1], ids[1:])


def check_forward(at, ref, t: int):
    m = at.session_state["hello_model"]
    ids = hello.encode(m.word, m.vocab)
    x, wxh, hprev, h, logits, probs = fig(at, "hello_fig_forward")["data"]
    np.testing.assert_allclose(zcol(x), ref["xs"][t], atol=0)
    np.testing.assert_allclose(np.array(wxh["z"]), hello.params_numpy(m.params)["W_xh"], atol=TOL)
    box = fig(at, "hello_fig_forward")["layout"]["shapes"][0]
    assert box["x0"] == ids[t] - 0.5 and box["x1"] == ids[t] + 0.5  # the selected column is boxed
    np.testing.assert_allclose(zcol(hprev), ref["h_prev"][t], atol=TOL)
    np.testing.assert_allclose(zcol(h), ref["hs"][t], atol=TOL)
    np.testing.assert_allclose(zcol(logits), ref["logits"][t], atol=TOL)
    np.testing.assert_allclose(probs["y"], ref["probs"][t], atol=TOL)
    assert probs["marker"]["color"][ids[t + 1]] == "#27ae60"  # target letter highlighted
    assert float(metric(at, f"Loss at step {t + 1}")) == pytest.approx(ref["losses"][t], abs=6e-5)
    assert float(metric(at, "Loss of the whole word")) == pytest.approx(ref["loss"], abs=6e-5)
    # the equation is filled in with the same numbers
    tex = " ".join(el.value for el in at.latex)
    for v in ref["hs"][t]:
        assert f"{v:+.3f}" in tex
    assert f"{ref['losses'][t]:.4f}" in tex


def check_backward(at, ref, t: int):
    """Gradient reaching each h_t, the Jacobian factors, every parameter gradient and
    the backward step's equations."""
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
    lines = [el.value for el in at.latex]
    assert len(lines) == 5
    np.testing.assert_allclose(matrices(lines[2])[-1][:, 0], ref["dh"][t], atol=5e-4)
    np.testing.assert_allclose(matrices(lines[3])[-1][:, 0], ref["da"][t], atol=5e-4)


@pytest.fixture
def at(app_test):
    a = app_test(PAGE)
    assert not a.exception, a.exception
    return a


def test_every_view_renders(at):
    assert not at.error
    assert at.button_group(key="hello_view").value == "forward"
    for name, keys in VIEW_CHARTS.items():
        view(at, name)
        assert not at.error, [e.value for e in at.error]
        for key in keys:
            fig(at, key)
    view(at, "forward")
    assert len(at.latex) == 5
    lesson = " ".join(md.value for md in at.markdown)
    assert lesson.count("**Try this**") == 5  # the lesson's five sections, one per view
    assert metric(at, "Training steps") == "0"
    assert at.session_state["hello_model"].vocab == ["h", "e", "l", "o"]


def test_numbers_on_screen_equal_numpy_at_every_step(at):
    ref = reference(at)
    for t in at.radio(key="hello_step").options:
        at.radio(key="hello_step").set_value(int(t) - 1).run()
        assert not at.exception
        check_forward(at, ref, int(t) - 1)
    view(at, "backward")
    assert at.radio(key="hello_step").value == 3  # the step stays chosen across views
    for t in range(4):
        at.radio(key="hello_step").set_value(t).run()
        check_backward(at, ref, t)


def test_buttons_train_and_numbers_follow(at):
    loss0 = float(metric(at, "Loss (sum"))
    view(at, "train")
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
    view(at, "forward")
    check_forward(at, reference(at), 0)
    # switching optimiser and training again
    view(at, "train")
    at.selectbox(key="hello_opt").set_value("adam")
    at.number_input(key="hello_lr").set_value(0.01)
    at.button(key="hello_train10").click().run()
    m = at.session_state["hello_model"]
    assert m.optimizer == "adam" and m.lr == 0.01 and m.steps == 121
    # the training history is part of the link
    assert at.query_params["hello_train"] == "adagrad:0.1:elementwise:5.0:111,adam:0.01:elementwise:5.0:10"
    assert at.text_input(key="hello_train").value == at.query_params["hello_train"]
    at.button(key="hello_reset").click().run()
    assert metric(at, "Training steps") == "0"
    assert "hello_train" not in at.query_params


def test_sampling_chain(at):
    view(at, "train")
    at.button(key="hello_train100").click().run()
    view(at, "sample")
    at.toggle(key="hello_greedy").set_value(True).run()
    chain = df(at, "hello_chain_table")
    assert "".join(chain["drawn"]) == "ello"
    assert list(chain["fed in"]) == ["h", "e", "l", "l"]
    shown = re.sub(r"<[^>]+>", "", at.html[0].value)  # the sampled text as the student reads it
    assert "hello" in shown
    at.toggle(key="hello_greedy").set_value(False)
    at.select_slider(key="hello_temp").set_value(2.0)
    at.number_input(key="hello_len").set_value(12).run()
    assert not at.exception
    chain = df(at, "hello_chain_table")
    m = at.session_state["hello_model"]
    expect = hello.sample_chain(m.params, m.vocab, "h", 12, temperature=2.0, seed=0)
    assert list(chain["drawn"]) == [s.sampled for s in expect]
    bars = fig(at, "hello_fig_chain")["data"]
    assert len(bars) == 12
    # probabilities on screen: softmax(logits / T) for the letters actually fed in
    Wxh, Whh, bh, Why, by = (hello.params_numpy(m.params)[k] for k in hello.PARAM_NAMES)
    h = np.zeros(Whh.shape[0])
    fed = [m.vocab.index("h")] + [m.vocab.index(s.sampled) for s in expect[:-1]]
    for i, x in enumerate(fed):
        h = np.tanh(Wxh[:, x] + Whh @ h + bh)
        y = (Why @ h + by) / 2.0
        p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
        np.testing.assert_allclose(bars[i]["y"], p, atol=TOL)
    at.button(key="hello_resample").click().run()
    assert at.number_input(key="hello_seed").value == 1
    assert list(df(at, "hello_chain_table")["drawn"]) == [
        s.sampled for s in hello.sample_chain(m.params, m.vocab, "h", 12, temperature=2.0, seed=1)]


def test_bad_input_gets_clear_messages_and_keeps_the_model(at):
    view(at, "train")
    at.button(key="hello_train10").click().run()
    at.number_input(key="hello_lr").set_value(0.0)
    at.button(key="hello_train1").click().run()
    assert not at.exception
    assert any("learning rate must be a positive number" in e.value for e in at.error)
    assert metric(at, "Training steps") == "10"
    view(at, "backward")
    at.number_input(key="hello_bw_limit").set_value(0.0).run()
    assert any("clipping limit must be a positive number" in e.value for e in at.error)
    at.text_input(key="hello_word").input("a<b>")
    at.button(key="FormSubmitter:hello_setup-Build a new model").click().run()
    assert not at.exception
    assert any("may only contain" in e.value and "kept" in e.value for e in at.error)
    assert at.session_state["hello_model"].word == "hello"
    assert at.session_state["hello_model"].steps == 10
    # a valid new word builds a fresh model whose numbers still match NumPy
    at.number_input(key="hello_bw_limit").set_value(5.0)
    at.text_input(key="hello_word").input("banana")
    at.number_input(key="hello_hidden").set_value(5)
    at.button(key="FormSubmitter:hello_setup-Build a new model").click().run()
    assert not at.exception and not at.error
    m = at.session_state["hello_model"]
    assert m.word == "banana" and m.hidden == 5 and m.steps == 0
    assert "hello_train" not in at.query_params
    at.radio(key="hello_step").set_value(2).run()
    check_backward(at, reference(at), 2)
    view(at, "forward")
    check_forward(at, reference(at), 2)


def test_tbptt_view_diagram_and_comparison(at):
    view(at, "tbptt")
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


# ---------------------------------------------------------------- links

def open_with(params: dict) -> AppTest:
    apply_runner_config()
    a = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    a.run()
    for k, v in params.items():
        a.query_params[k] = v
    a.switch_page(PAGE).run()
    assert not a.exception, [e.value for e in a.exception]
    return a


def test_a_link_opens_the_same_view_with_the_same_model(at):
    # by hand: a 4-unit model, trained with two settings, backward view, step 2, limit 0.5
    at.text_input(key="hello_word").input("hello")
    at.number_input(key="hello_hidden").set_value(4)
    at.number_input(key="hello_init_seed").set_value(2)
    at.button(key="FormSubmitter:hello_setup-Build a new model").click().run()
    view(at, "train")
    at.button(key="hello_train10").click().run()
    at.selectbox(key="hello_opt").set_value("adam")
    at.selectbox(key="hello_clip").set_value("norm")
    at.button(key="hello_train10").click().run()
    view(at, "backward")
    at.radio(key="hello_step").set_value(1)
    at.number_input(key="hello_bw_limit").set_value(0.5).run()
    # the link spells widget values as their labels (AppTest does not track the bound
    # widgets' URL, so it is written out here; the history is the page's own parameter)
    params = {"hello_hidden": "4", "hello_init_seed": "2", "hello_view": "Backward step", "hello_step": "2",
              "hello_bw_limit": "0.5", "hello_opt": "Adam", "hello_clip": "whole norm",
              "hello_train": "adagrad:0.1:elementwise:5.0:10,adam:0.1:norm:5.0:10"}
    assert at.query_params["hello_train"] == params["hello_train"]
    linked = open_with(params)
    assert linked.button_group(key="hello_view").value == "backward"
    assert linked.radio(key="hello_step").value == 1
    assert linked.number_input(key="hello_hidden").value == 4
    assert linked.number_input(key="hello_bw_limit").value == 0.5
    assert linked.text_input(key="hello_train").value == params["hello_train"]
    mine, theirs = at.session_state["hello_model"], linked.session_state["hello_model"]
    assert theirs.steps == 20 and theirs.history == mine.history
    for k in hello.PARAM_NAMES:
        assert np.array_equal(hello.params_numpy(theirs.params)[k], hello.params_numpy(mine.params)[k]), k
    for key in VIEW_CHARTS["backward"]:
        assert fig(linked, key) == fig(at, key), key
    assert [el.value for el in linked.latex] == [el.value for el in at.latex]
    assert [el.value.strip("$\n") for el in at.latex] == equations.hello_backward(mine.forward(), 1)


def test_a_broken_link_falls_back_with_a_note():
    linked = open_with({"hello_train": "adam:0.1:norm:5:99999", "hello_view": "Forward step"})
    assert any("at most 2000" in w.value and "untrained" in w.value for w in linked.warning)
    assert linked.session_state["hello_model"].steps == 0
    fig(linked, "hello_fig_forward")
