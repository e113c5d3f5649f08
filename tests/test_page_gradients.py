"""AppTest for the Gradient flow page: every tab renders, bad text gives a clear
error, the clipping demo runs end to end and reports the NaN instead of raising,
and the live-training view works with a session's runner."""

from __future__ import annotations

import json

import pytest

PAGE = "pages/gradients.py"


def _open(app_test, tab=None):
    at = app_test(PAGE)
    if tab:
        at.session_state["grad_tab"] = tab
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shape(z):
    """Shape of a heatmap's z, whether Plotly sent nested lists or typed-array bytes."""
    if isinstance(z, dict):
        return tuple(int(v) for v in z["shape"].split(","))
    return (len(z), len(z[0]))


def _figs(at):
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def test_distance_tab_plots_three_cells_trained_and_init(app_test):
    at = _open(app_test)
    assert at.title[0].value == "Gradient flow through time"
    figs = _figs(at)
    assert len(figs) == 1
    names = {t["name"] for t in figs[0]["data"]}
    assert {"trained: layer 1 h", "at init: layer 2 h", "trained: layer 2 c"} <= names
    titles = [a["text"] for a in figs[0]["layout"]["annotations"]]
    assert any("Vanilla RNN" in t for t in titles) and any("LSTM" in t for t in titles) and any("GRU" in t for t in titles)
    assert figs[0]["layout"]["yaxis"]["type"] == "log"
    assert any("p(last character)" in m.value for m in at.markdown)
    at.multiselect(key="grad_kinds").set_value([]).run()
    assert not at.get("plotly_chart") and any("Pick at least one" in i.value for i in at.info)


@pytest.mark.parametrize("bad, words", [("", "empty"), ("x", "at least 2"), ("Hello \u2603 world", "never seen")])
def test_bad_text_gives_a_clear_error_on_every_text_tab(app_test, bad, words):
    at = _open(app_test)
    at.text_area(key="grad_text").set_value(bad).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")
    for tab in ("Break it", "Connectivity"):
        at.session_state["grad_tab"] = tab
        at.run()
        assert not at.exception and any(words in e.value for e in at.error)
    at.text_area(key="grad_text").set_value("To be, or not to be").run()  # recovers, nothing lost
    assert not at.error and not at.exception


def test_break_it_linear_orthogonal_explodes_with_bound(app_test):
    at = _open(app_test, "Break it")
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
    at.radio(key="grad_brk_cell").set_value("lstm").run()  # gated cell: no bound, no crash
    assert not at.exception
    assert not any(t["name"].startswith("bound") for t in _figs(at)[0]["data"])


def test_clipping_demo_reports_nan_instead_of_raising(app_test):
    at = _open(app_test, "Clipping")
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


def test_during_training_without_and_with_a_live_model(app_test):
    at = _open(app_test, "During training")
    assert any("no model training" in i.value for i in at.info)

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
        # the distance tab now shows the live model as a fourth panel
        at.session_state["grad_tab"] = "Gradient vs distance"
        at.text_area(key="grad_text").set_value("the cat sat on the mat").run()
        assert not at.exception
        titles = [a["text"] for a in _figs(at)[0]["layout"]["annotations"]]
        assert any("Your live model" in t for t in titles)
    finally:
        runner.stop()


def test_connectivity_and_lesson(app_test):
    at = _open(app_test, "Connectivity")
    html = [h.value for h in at.html]
    assert len(html) >= 4  # three models + legend
    at.slider(key="grad_conn_pos").set_value(20).run()
    assert not at.exception
    blocks = [h.value for h in at.html if "rnnviz-text" in h.value]
    assert len(blocks) == 3 and all(b.count("<span") >= 21 for b in blocks)
    # '<' is not in the Shakespeare vocabulary: a clear error, no slider, no crash
    at.text_area(key="grad_text").set_value("<b>x</b> said the <script> tag").run()
    assert not at.exception and any("never seen" in e.value and "'<'" in e.value for e in at.error)
    # characters that are special in HTML are escaped one by one
    at.text_area(key="grad_text").set_value('Tom &amp; "Jerry" & \'Puck\' said so.').run()
    at.slider(key="grad_conn_pos").set_value(30).run()
    blocks = [h.value for h in at.html if "rnnviz-text" in h.value]
    assert len(blocks) == 3
    assert all(">&amp;</span>" in b and ">&quot;</span>" in b and ">&#x27;</span>" in b for b in blocks)
    at.session_state["grad_tab"] = "Lesson"
    at.run()
    assert not at.exception
    assert len(at.latex) >= 3 and at.code
    assert any("Try this" in s.value for s in at.subheader)
