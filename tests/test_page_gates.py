"""AppTest for the LSTM gates page: every view, the step inspector, bad input, the
live saturation plot that follows a training run, and every view opened from a link
(query string) showing the same widgets and the same figure as set by hand."""

import json
import re

import numpy as np
import pytest
import torch
from conftest import wait_for

from rnnviz import checkpoint as ckpt
from rnnviz import corpora, gates, models, probes
from rnnviz.live import BackgroundTrainer, SlotLimiter
from rnnviz.train import TrainConfig, Trainer

PAGE = "pages/gates.py"


def _errors(at):
    return [e.value for e in at.exception] + [e.value for e in at.error]


def _figs(at):
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _view(at, view):
    at.segmented_control(key="gates_view").set_value(view).run()


@pytest.fixture
def at(app_test):
    a = app_test(PAGE)
    assert not a.exception, [e.value for e in a.exception]
    return a


def test_every_view_renders(at):
    assert at.segmented_control(key="gates_view").value == "text"
    assert not _errors(at)
    assert any("rnnviz-text" in h.value for h in at.html)  # per-character heat text
    assert any("1 (open)" in h.value for h in at.html)  # the gate colour legend
    figs = _figs(at)
    assert figs and all(f["data"][0]["type"] == "heatmap" for f in figs)
    lesson = next(m.value for m in at.markdown if r"c_t = f \odot c_{t-1}" in m.value)  # lesson equations
    assert r"h_t = o \odot \tanh(c_t)" in lesson and r"h_t = (1 - z_t)" in lesson

    _view(at, "belt")
    assert not _errors(at)
    assert any(len(f["data"]) >= 9 for f in _figs(at))  # c, f, i, kept share for 3 cells
    assert at.dataframe  # longest open runs

    _view(at, "saturation")
    assert not _errors(at)
    scatter = [f for f in _figs(at) if any(t.get("mode") == "markers" for t in f["data"])]
    assert len(scatter) == 2  # LSTM and GRU side by side


def _page_text(at, corpus: str) -> str:
    """The validation excerpt the page traced (same source, offset and length as its widgets)."""
    c = corpora.load(corpus)
    n, offset = at.select_slider(key="gates_len").value, at.number_input(key="gates_offset").value
    return probes.validation_excerpt(c, probes.language_for(c.name), int(n), int(offset)).text


def _shown_number(latex: str, name: str) -> float:
    m = re.search(name + r" &=.*?\\mathbf\{(-?[0-9.]+)\}", latex)
    assert m, latex
    return float(m.group(1))


def test_step_inspector_moves_and_shows_the_traced_numbers(at):
    _view(at, "inspector")
    assert not _errors(at)
    at.number_input(key="gates_cell").set_value(5).run()
    t0 = at.number_input(key="gates_t").set_value(20).run().number_input(key="gates_t").value
    at.button(key="gates_t_next").click().run()
    at.button(key="gates_t_next").click().run()
    assert at.number_input(key="gates_t").value == t0 + 2
    at.button(key="gates_t_prev").click().run()
    t = at.number_input(key="gates_t").value
    assert t == t0 + 1
    assert not _errors(at)

    from rnnviz.ui import state  # the page's cached model, never mutated

    cp = state.pretrained("shakespeare_lstm")
    text = _page_text(at, "shakespeare")
    with torch.inference_mode():
        tr = models.trace(cp.model, cp.vocab.encode(text))
    body = next(el.value for el in at.latex if "c_t &=" in el.value)
    layer = at.segmented_control(key="gates_layer").value - 1
    assert abs(_shown_number(body, "c_t") - float(tr.layers[layer]["c"][t, 5])) <= 5e-5
    assert abs(_shown_number(body, "h_t") - float(tr.layers[layer]["h"][t, 5])) <= 5e-5
    d = gates.inspect_step(cp.model, tr, layer, t, 5)
    assert abs(d["c"] - float(tr.layers[layer]["c"][t, 5])) < 1e-6


@pytest.mark.parametrize("name, marker", [("names_gru", r"h_t &= (1 - z_t)"),
                                          ("shakespeare_rnn", r"h_t &= \tanh(a_t)")])
def test_step_inspector_gru_and_rnn(at, name, marker):
    assert name in ckpt.pretrained_names(), f"the bundled model {name} is missing from pretrained/"
    _view(at, "inspector")
    at.selectbox(key="gates_model").set_value(name).run()
    assert not _errors(at), name
    assert any(marker in el.value for el in at.latex), name


def test_bad_pasted_text_gives_a_clear_error_and_is_kept(at):
    at.segmented_control(key="gates_source").set_value("paste").run()
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

    at.segmented_control(key="gates_source").set_value("sample").run()
    assert not _errors(at)
    first = at.session_state["gates_sample_memo"][1]
    at.number_input(key="gates_s_seed").set_value(1).run()  # another seed: another sample
    assert not _errors(at) and at.session_state["gates_sample_memo"][1] != first


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
        _view(at, "saturation")
        at.number_input(key="gates_live_every").set_value(30).run()
        assert not _errors(at)
        title0, before = _sat_points(at)
        assert "step 0" in title0
        runner.start()
        assert wait_for(lambda: runner.steps >= 60, poll=0.2)
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


# ------------------------------------------------------------------ links

# One link per view: URL values are what the widgets show (labels for select widgets).
LINKS = {
    "text": ({"gates_view": "Gates over text", "gates_model": "python_lstm", "gates_offset": "700",
              "gates_len": "1000", "gates_layer": "layer 1", "gates_signal": "input gate i", "gates_cells": "14",
              "gates_width": "200", "gates_start": "300", "gates_rows": "chosen cells", "gates_hm": "output gate o"},
             {"gates_view": "text", "gates_model": "python_lstm", "gates_offset": 700, "gates_len": 1000,
              "gates_layer": 1, "gates_signal": "i", "gates_cells": [14], "gates_width": 200, "gates_start": 300,
              "gates_rows": "chosen", "gates_hm": ["o"]}),
    "inspector": ({"gates_view": "Step inspector", "gates_model": "names_gru", "gates_t": "33", "gates_cell": "9",
                   "gates_push": "z (update gate)"},
                  {"gates_view": "inspector", "gates_model": "names_gru", "gates_t": 33, "gates_cell": 9,
                   "gates_push": "z"}),
    "belt": ({"gates_view": "Conveyor belt", "gates_model": "python_lstm", "gates_layer": "layer 2",
              "gates_belt_cells": "14", "gates_width": "300", "gates_start": "150", "gates_ret": "false"},
             {"gates_view": "belt", "gates_model": "python_lstm", "gates_layer": 2, "gates_belt_cells": [14],
              "gates_width": 300, "gates_start": 150, "gates_ret": False}),
    "saturation": ({"gates_view": "Saturation", "gates_sat_chars": "1,000 characters",
                    "gates_sat_lstm_model": "python_lstm"},
                   {"gates_view": "saturation", "gates_sat_chars": 1000, "gates_sat_lstm_model": "python_lstm"}),
}


def _open(app_test, params=None, state=None):
    from conftest import ROOT, apply_runner_config
    from streamlit.testing.v1 import AppTest

    apply_runner_config()
    at = AppTest.from_file(f"{ROOT}/app.py", default_timeout=240)
    at.run()
    for k, v in (params or {}).items():
        at.query_params[k] = v
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.switch_page(PAGE).run()
    assert not _errors(at), _errors(at)
    return at


def _strip(fig):
    fig["layout"].pop("template", None)
    return fig


@pytest.mark.parametrize("view", list(LINKS))
def test_a_link_opens_the_same_view(app_test, view):
    params, values = LINKS[view]
    linked = _open(app_test, params=params)
    for k, v in values.items():
        assert linked.session_state[k] == v, (k, linked.session_state[k], v)
    by_hand = _open(app_test, state=values)
    figs = [_strip(f) for f in _figs(linked)]
    assert figs and figs == [_strip(f) for f in _figs(by_hand)]
    assert [h.value for h in linked.html] == [h.value for h in by_hand.html]
    default = _open(app_test, params={"gates_view": params["gates_view"]})
    assert [_strip(f) for f in _figs(default)] != figs  # the link really changed what is on screen


def test_a_bad_link_falls_back_to_the_defaults(app_test):
    at = _open(app_test, params={"gates_view": "Nonsense", "gates_model": "no_such_model", "gates_cell": "99999",
                                 "gates_layer": "layer 7"})
    assert at.session_state["gates_view"] == "text" and at.session_state["gates_model"] == "shakespeare_lstm"
    assert at.get("plotly_chart")
