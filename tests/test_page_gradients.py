"""AppTest for the Gradient flow page: every view renders, bad text gives a clear
error, the clipping demo runs end to end and reports the NaN instead of raising,
the live-training view works with a session's runner, every view opens from a
link (query string) with the same widgets and the same figure, and the page's
lesson moments reach their widgets."""

from __future__ import annotations

import json

import pytest

PAGE = "pages/gradients.py"
VIEW = {"distance": "Gradient vs distance", "break": "Break it", "clip": "Clipping", "live": "During training",
        "connect": "Connectivity"}  # bound widgets carry their labels in the URL


def _open(app_test, view=None, query=None, state=None):
    """The page as a fresh browser opens it: app.py first, then the page with a query string."""
    at = app_test()
    at.switch_page(PAGE)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    for k, v in dict(query or {}, **({"grad_view": VIEW[view]} if view else {})).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _switch(at, view):
    at.segmented_control(key="grad_view").set_value(view).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shape(z):
    """Shape of a heatmap's z, whether Plotly sent nested lists or typed-array bytes."""
    if isinstance(z, dict):
        return tuple(int(v) for v in z["shape"].split(","))
    return (len(z), len(z[0]))


def _figs(at):
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _same_figures(a, b):
    fa, fb = _figs(a), _figs(b)
    assert fa and [f["data"] for f in fa] == [f["data"] for f in fb]
    assert [f["layout"] for f in fa] == [f["layout"] for f in fb]


def test_distance_view_plots_three_cells_trained_and_init(app_test):
    at = _open(app_test)
    assert at.title[0].value == "Gradient flow through time"
    figs = _figs(at)
    assert len(figs) == 1
    names = {t["name"] for t in figs[0]["data"]}
    assert {"trained: layer 1 h", "at init: layer 2 h", "trained: layer 2 c"} <= names
    titles = [a["text"] for a in figs[0]["layout"]["annotations"]]
    assert any("Vanilla RNN" in t for t in titles) and any("LSTM" in t for t in titles) and any("GRU" in t for t in titles)
    assert len(titles) == 3  # the chosen model (vanilla RNN) is one of the three, not a fourth panel
    assert figs[0]["layout"]["yaxis"]["type"] == "log"
    assert any("p(last character)" in m.value for m in at.markdown)
    at.multiselect(key="grad_kinds").set_value([]).run()
    assert not at.get("plotly_chart") and any("Pick at least one" in i.value for i in at.info)


@pytest.mark.parametrize("bad, words", [("x", "at least 2"), ("Hello \u2603 world", "never seen")])
def test_bad_text_gives_a_clear_error_on_every_text_view(app_test, bad, words):
    at = _open(app_test)
    at.text_area(key="grad_paste").set_value(bad).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")
    for view in ("break", "connect"):
        _switch(at, view)
        assert any(words in e.value for e in at.error) and not at.get("plotly_chart") and not at.html
    at.text_area(key="grad_paste").set_value("To be, or not to be").run()  # recovers, nothing lost
    assert not at.error and not at.exception and at.html


def test_empty_text_asks_for_some(app_test):
    at = _open(app_test, "break")
    at.text_area(key="grad_paste").set_value("").run()
    assert not at.exception and not at.get("plotly_chart")
    assert any("Paste or type" in i.value for i in at.info)


def test_break_it_linear_orthogonal_explodes_with_bound(app_test):
    at = _open(app_test, "break")
    assert len(at.get("plotly_chart")) == 1
    at.radio(key="grad_brk_act").set_value("linear").run()
    at.checkbox(key="grad_brk_orth").check().run()
    at.slider(key="grad_brk_sigma").set_value(1.5).run()
    at.slider(key="grad_brk_len").set_value(40).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layer 2: beta_W of W_hh"] == "1.50"
    fig = _figs(at)[0]
    names = [t["name"] for t in fig["data"]]
    assert any(n.startswith("bound") for n in names)
    top = next(t for t in fig["data"] if t["name"] == "modified: layer 2 h")
    assert len(top["y"]) == 40 and top["y"][0] > top["y"][-1] * 1e3  # grows going back in time
    at.slider(key="grad_brk_sigma").set_value(0.5).run()
    top = next(t for t in _figs(at)[0]["data"] if t["name"] == "modified: layer 2 h")
    assert top["y"][0] < top["y"][-1] * 1e-6  # vanishes
    at.selectbox(key="grad_model").set_value("shakespeare_lstm").run()  # gated cell: no bound, no crash
    assert not at.exception
    assert at.radio(key="grad_brk_act").disabled and at.checkbox(key="grad_brk_orth").disabled
    assert not any(t["name"].startswith("bound") for t in _figs(at)[0]["data"])
    at.radio(key="grad_brk_layers").set_value("2").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layer 2: beta_W of W_hh"] == "0.50" and metrics["Layer 1: beta_W of W_hh"] != "0.50"


def test_clipping_demo_reports_nan_instead_of_raising(app_test):
    at = _open(app_test, "clip")
    assert any("Run the demo" in i.value for i in at.info)
    at.number_input(key="grad_clip_steps").set_value(30)
    at.button(key="grad_clip_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("Training stopped at step" in e and "clipping" in e for e in errors), errors
    assert any("Trained all 30 steps" in s.value for s in at.success)
    fig = _figs(at)[0]
    assert {t.get("name") for t in fig["data"] if t.get("name")} == {"without clipping", "with clipping (threshold 0.05)"}
    assert any(t.get("marker", {}).get("symbol") == "x" for t in fig["data"])  # the blow-up is marked
    assert any("blew up at step" in a["text"] for a in fig["layout"]["annotations"])
    at.run()  # the result persists across reruns
    assert _figs(at)
    # a link with the same settings shows the same result at once; other settings ask for a run
    same = _open(app_test, "clip", {"grad_clip_steps": "30"})
    assert same.number_input(key="grad_clip_steps").value == 30
    _same_figures(at, same)
    other = _open(app_test, "clip", {"grad_clip_steps": "30", "grad_clip_seed": "7"})
    assert other.number_input(key="grad_clip_seed").value == 7
    assert not other.get("plotly_chart") and any("Run the demo" in i.value for i in other.info)


def test_during_training_without_and_with_a_live_model(app_test):
    at = _open(app_test, "live")
    assert any("No model is training" in i.value for i in at.info)

    from rnnviz import corpora
    from rnnviz.live import BackgroundTrainer
    from rnnviz.train import TrainConfig, Trainer

    corpus = corpora.from_text("the cat sat on the mat. " * 60, name="tiny")
    tr = Trainer(corpus, TrainConfig(cell="gru", layers=2, hidden=16, embed=8, seq_len=24, batch_size=4,
                                     eval_chars=256, sample_len=10, milestones=()))
    tr.step(3)
    runner = BackgroundTrainer(tr, max_steps=10)
    try:
        at.session_state["rnnviz_runner"] = runner
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        figs = _figs(at)
        assert len(figs) == 2
        heat = figs[0]["data"][0]
        assert heat["type"] == "heatmap" and _shape(heat["z"]) == (4, 24)
        assert any("step 3" in m.value for m in at.markdown)
        at.slider(key="grad_live_batch").set_value(2).run()
        assert _shape(_figs(at)[0]["data"][0]["z"]) == (2, 24)
        # the same view from a link, in a session that has this runner
        linked = _open(app_test, "live", {"grad_live_batch": "2", "grad_live_layer": "layer 1"},
                       state={"rnnviz_runner": runner})
        assert linked.slider(key="grad_live_batch").value == 2
        assert linked.segmented_control(key="grad_live_layer").value == 1
        at.segmented_control(key="grad_live_layer").set_value(1).run()
        _same_figures(at, linked)
        # the distance view shows the live model, when chosen, as a fourth panel
        _switch(at, "distance")
        at.selectbox(key="grad_model").set_value("live").run()
        at.text_area(key="grad_paste").set_value("the cat sat on the mat").run()
        assert not at.exception
        titles = [a["text"] for a in _figs(at)[0]["layout"]["annotations"]]
        assert len(titles) == 4 and any("Your live model" in t for t in titles)
    finally:
        runner.stop()


def test_connectivity_and_lesson(app_test):
    at = _open(app_test, "connect")
    blocks = [h.value for h in at.html if "rnnviz-text" in h.value]
    assert len(blocks) == 3 and len(at.html) >= 4  # three models + legend
    at.slider(key="grad_conn_pos").set_value(20).run()
    assert not at.exception
    blocks = [h.value for h in at.html if "rnnviz-text" in h.value]
    assert len(blocks) == 3 and all(b.count("<span") >= 21 for b in blocks)
    # '<' is not in the Shakespeare vocabulary: a clear error, no slider, no crash
    at.text_area(key="grad_paste").set_value("<b>x</b> said the <script> tag").run()
    assert not at.exception and any("never seen" in e.value and "<" in e.value for e in at.error)
    assert not [s for s in at.slider if s.key == "grad_conn_pos"]
    # characters that are special in HTML are escaped one by one
    at.text_area(key="grad_paste").set_value('Tom &amp; "Jerry" & \'Puck\' said so.').run()
    at.slider(key="grad_conn_pos").set_value(30).run()
    blocks = [h.value for h in at.html if "rnnviz-text" in h.value]
    assert len(blocks) == 3
    assert all(">&amp;</span>" in b and ">&quot;</span>" in b and ">&#x27;</span>" in b for b in blocks)
    lesson = next(e for e in at.expander if "Lesson" in e.label)
    text = " ".join(m.value for m in lesson.markdown)
    assert "Try this" in text and text.count("$$") >= 6 and "clip_grad_norm_" in text


# ------------------------------------------------------------------ links: same widgets, same figure


def test_break_view_from_a_link_matches_the_same_settings_by_hand(app_test):
    query = {"grad_model": "shakespeare_gru", "grad_brk_sigma": "0.6", "grad_brk_len": "60",
             "grad_brk_kind": "at initialisation", "grad_brk_layers": "layer 1"}
    linked = _open(app_test, "break", query)
    assert linked.selectbox(key="grad_model").value == "shakespeare_gru"
    assert linked.slider(key="grad_brk_sigma").value == 0.6 and linked.slider(key="grad_brk_len").value == 60
    assert linked.radio(key="grad_brk_kind").value == "init" and linked.radio(key="grad_brk_layers").value == "1"
    hand = _switch(_open(app_test), "break")
    hand.selectbox(key="grad_model").set_value("shakespeare_gru").run()
    hand.slider(key="grad_brk_sigma").set_value(0.6).run()
    hand.slider(key="grad_brk_len").set_value(60).run()
    hand.radio(key="grad_brk_kind").set_value("init").run()
    hand.radio(key="grad_brk_layers").set_value("1").run()
    _same_figures(linked, hand)
    top = next(t for t in _figs(linked)[0]["data"] if t["name"] == "modified: layer 1 h")
    assert len(top["y"]) == 60
    assert not any(t["name"].startswith("bound") for t in _figs(linked)[0]["data"])  # GRU: gated


def test_distance_and_connectivity_from_a_link(app_test):
    query = {"grad_source": "Validation text", "grad_len": "150", "grad_offset": "2000", "grad_kinds": "trained",
             "grad_show_c": "false"}
    linked = _open(app_test, "distance", query)
    assert linked.segmented_control(key="grad_source").value == "val"
    assert linked.select_slider(key="grad_len").value == 150 and linked.number_input(key="grad_offset").value == 2000
    assert linked.multiselect(key="grad_kinds").value == ["trained"] and not linked.checkbox(key="grad_show_c").value
    names = {t["name"] for t in _figs(linked)[0]["data"]}
    assert "trained: layer 1 h" in names and not any("init" in n or n.endswith(" c") for n in names)
    hand = _open(app_test)
    hand.segmented_control(key="grad_source").set_value("val").run()
    hand.select_slider(key="grad_len").set_value(150).run()
    hand.number_input(key="grad_offset").set_value(2000).run()
    hand.multiselect(key="grad_kinds").set_value(["trained"]).run()
    hand.checkbox(key="grad_show_c").uncheck().run()
    _same_figures(linked, hand)

    text = "To be, or not to be: that is the question."
    linked = _open(app_test, "connect", {"grad_paste": text, "grad_conn_pos": "30", "grad_conn_dec": "2",
                                         "grad_conn_kind": "at initialisation"})
    assert linked.text_area(key="grad_paste").value == text and linked.slider(key="grad_conn_pos").value == 30
    assert linked.select_slider(key="grad_conn_dec").value == 2 and linked.radio(key="grad_conn_kind").value == "init"
    hand = _switch(_open(app_test), "connect")
    hand.text_area(key="grad_paste").set_value(text).run()
    hand.slider(key="grad_conn_pos").set_value(30).run()
    hand.select_slider(key="grad_conn_dec").set_value(2).run()
    hand.radio(key="grad_conn_kind").set_value("init").run()
    shown = [h.value for h in linked.html]
    assert shown == [h.value for h in hand.html] and "2 powers of ten" in shown[-1]


def test_presenter_mode_tucks_settings_away(app_test):
    at = _open(app_test, "break", {"present": "true"})
    labels = [e.label for e in at.expander]
    assert any("Settings" in lb for lb in labels) and "About this view" in labels
    assert any("Model and text" in lb for lb in labels)
    assert at.get("plotly_chart") and at.slider(key="grad_brk_sigma").value == 0.9


def test_gradient_moments_reach_their_widgets(app_test):
    from rnnviz.moments import MOMENTS

    mine = [m for m in MOMENTS if m.page == PAGE]
    assert 2 <= len(mine) <= 4
    for m in mine:
        at = _open(app_test, query=m.params)
        for k, v in m.params.items():
            assert k in at.session_state, (m.title, k)
            assert at.query_params.get(k) == v, (m.title, k, at.query_params.get(k))  # kept: valid, not default
    exploding = next(m for m in mine if m.params.get("grad_brk_sigma") == "1.1")
    at = _open(app_test, query=exploding.params)
    assert {x.label: x.value for x in at.metric}["Observed change per step back"] == "x 1.100"
