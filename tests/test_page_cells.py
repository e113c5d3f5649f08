"""AppTest for the cell explorer page: default view, flipping cells/layers/signals,
the finder with its linear probe, pattern selection, intervention and bad input, and
opening the page from a link (every choice on screen is in the URL)."""

import base64
import html
import json
import os
import re

import numpy as np
import pytest

PAGE = "pages/cells.py"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _errors(at):
    return [e.value for e in at.exception] + [e.value for e in at.error]


def _figs(at):
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _heat(at):
    return [h.value for h in at.html if "rnnviz-text" in h.value]


def _headline(at):
    return next(m.value for m in at.markdown if m.value.startswith("**Layer "))


@pytest.fixture
def at(app_test):
    a = app_test(PAGE)
    assert not a.exception, [e.value for e in a.exception]
    a.select_slider(key="cx_len").set_value(1000).run()  # keep the traces small
    assert not _errors(a)
    return a


def test_default_view_renders(at):
    assert at.button_group(key="cx_source").value == "val"
    assert at.selectbox(key="cx_model").value == "python_lstm"
    heat = _heat(at)
    assert heat and heat[0].count("<span") > 900  # one span per character of the excerpt
    assert "title=" in heat[0] and "rgb(" in heat[0]  # hover values and colours
    fig = _figs(at)[0]
    assert fig["data"][0]["type"] == "heatmap" and fig["layout"]["dragmode"] == "select"
    assert len(fig["layout"]["yaxis"]["ticktext"]) == 32  # first 32 cells in the chosen order
    assert "r with indentation depth" in _headline(at)


def test_flip_cells_layers_and_signals(at):
    first = _headline(at)
    at.button(key="cx_cell_next").click().run()
    assert at.number_input(key="cx_cell").value == 1
    second = _headline(at)
    assert second != first and "position 1" in second
    at.button(key="cx_cell_prev").click().run()
    at.button(key="cx_cell_prev").click().run()
    assert at.number_input(key="cx_cell").value == 255  # wraps around
    at.selectbox(key="cx_order").set_value("number").run()
    at.number_input(key="cx_cell").set_value(17).run()
    assert "cell 17**" in _headline(at)
    at.button_group(key="cx_layer").set_value(2).run()
    at.selectbox(key="cx_signal").set_value("h").run()
    head = _headline(at)
    assert head.startswith("**Layer 2 · hidden state h · cell 17**")
    assert not _errors(at)


def test_cell_finder_ranks_and_probes(at):
    at.selectbox(key="cx_hyp").set_value("string").run()
    at.button_group(key="cx_view").set_value("finder").run()
    assert not _errors(at)
    ranking, probe = at.dataframe[0].value, at.dataframe[1].value
    assert len(ranking) == 6
    r = ranking["r"].abs().tolist()
    assert r == sorted(r, reverse=True) and r[0] > 0
    assert list(probe["layer"]) == [1, 2] and "probe accuracy" in probe.columns
    assert all(v.startswith(("yes (", "no (")) for v in ranking["saturated"])
    assert len(_heat(at)) == 6  # hypothesis + top 5 cells side by side
    # "Inspect" opens the cell in the heatmap view
    top = ranking.iloc[0]
    at.button(key="cx_open_0").click().run()
    assert at.button_group(key="cx_view").value == "heatmap"
    assert f"cell {int(top['cell'])}**" in _headline(at)


def test_regex_hypothesis_and_bad_regex(at):
    at.selectbox(key="cx_hyp").set_value("regex").run()
    assert not _errors(at)
    at.text_input(key="cx_regex").set_value("(unclosed").run()
    assert any("not valid" in e for e in _errors(at))
    at.text_input(key="cx_regex").set_value(r"\bself\b").run()
    assert not _errors(at)


def _texts(at):
    return [m.value for m in at.markdown] + [i.value for i in at.info] + [w.value for w in at.warning]


def test_select_a_pattern_defaults_find_cells(at):
    """With the page's defaults (python_lstm, its validation text, the first hypothesis) the
    pre-selected range has matching cells: the first thing a student tries works."""
    at.button_group(key="cx_view").set_value("pattern").run()
    assert not _errors(at)
    a, b = at.slider(key="cx_lv_range").value
    assert b > a
    match = [t for t in _texts(at) if "cell(s) match:**" in t]
    assert match and not any(t.startswith("No cell") for t in _texts(at))
    n = int(re.search(r"\*\*(\d+) cell\(s\) match", match[0]).group(1))
    assert n >= 1
    assert at.button(key="cx_lv_open").label.startswith("Inspect cell ")


def test_select_a_pattern_says_why_nothing_matched(at):
    at.button_group(key="cx_view").set_value("pattern").run()
    at.slider(key="cx_lv_theta").set_value(1.0).run()  # h never reaches 1: nothing can match
    assert not _errors(at)
    info = " ".join(i.value for i in at.info)
    assert "No cell of layer 1 · hidden state h matches this selection" in info
    assert "No cell stays at or above θ = 1.00" in info and "Lower θ" in info
    assert not any("cell(s) match:**" in t for t in _texts(at))


def test_heatmap_legend_states_the_scale_used(at):
    head = _headline(at)
    unit = int(re.search(r"cell (\d+)\*\*", head).group(1))
    layer = int(re.search(r"\*\*Layer (\d+)", head).group(1)) - 1
    cm = at.session_state["cx_trace"]["value"]
    vmax = max(1.0, float(abs(cm.block(layer, "c")[:, unit]).max()))
    legend = next(h.value for h in at.html if "linear-gradient" in h.value and "full colour" in h.value)
    assert f"<span>{-vmax:.2f}</span>" in legend and f"<span>+{vmax:.2f}</span>" in legend
    assert f"full colour at ±{vmax:.2f}" in legend
    assert "<span>-1</span>" not in legend or vmax == 1.0


def test_box_selection_feeds_inspection_and_pattern(at):
    # a plotly box selection cannot be dragged in AppTest: put what the callback stores
    at.session_state["cx_pick"] = {"a": 40, "b": 52, "cells": [3, 9, 12], "layer": 0, "signal": "c"}
    at.run()
    assert any(m.value.startswith("**Box:** characters 40 to 52, 3 cell(s)") for m in at.markdown)
    at.button(key="cx_pick_9").click().run()
    assert "cell 9**" in _headline(at)
    at.session_state["cx_pick"] = {"a": 40, "b": 52, "cells": [3], "layer": 0, "signal": "c"}
    at.run()
    at.button(key="cx_pick_lv").click().run()
    assert at.button_group(key="cx_view").value == "pattern"
    assert at.slider(key="cx_lv_range").value == (40, 52)


def test_intervention_cell_and_whole_layer(at):
    at.button_group(key="cx_view").set_value("intervene").run()
    at.number_input(key="cx_iv_len").set_value(60).run()
    at.button(key="cx_iv_go").click().run()
    assert not _errors(at)
    assert any("written characters differ" in m.value for m in at.markdown)
    assert len([h for h in at.html if "with the clamp" in h.value]) == 1
    at.radio(key="cx_iv_target").set_value("layer").run()
    at.radio(key="cx_iv_mode").set_value("zero").run()
    at.button(key="cx_iv_go").click().run()
    assert not _errors(at)
    done = next(m.value for m in at.markdown if "written characters differ" in m.value)
    assert "all 256 cells of layer 1" in done and "+0.00" in done


def test_pasted_text_bad_characters_and_escaping(at):
    at.button_group(key="cx_source").set_value("paste").run()
    assert not _errors(at) and _heat(at)
    at.text_area(key="cx_paste").set_value("x = 1\ny = '\u20ac \U0001F600'\n").run()
    err = " ".join(_errors(at))
    assert "never seen" in err and "'\u20ac'" in err and "is kept" in err
    assert not _heat(at)
    at.text_area(key="cx_paste").set_value("").run()
    assert any("Paste or type some text" in i.value for i in at.info)
    hostile = '<script>alert(1)</script>\n<img src=x onerror="alert(2)">\n'
    at.text_area(key="cx_paste").set_value(hostile).run()
    assert not _errors(at)
    heat = _heat(at)[0]
    assert "<script" not in heat and "<img" not in heat
    assert "&lt;" in heat and "&gt;" in heat and "&quot;" in heat
    visible = html.unescape(re.sub(r"<[^>]+>", "", heat))  # the characters a reader sees
    assert "<script>alert(1)</script>" in visible and '<img src=x onerror="alert(2)">' in visible


def test_fresh_sample_source(at):
    at.button_group(key="cx_source").set_value("sample").run()
    at.number_input(key="cx_s_len").set_value(300).run()
    assert not _errors(at)
    first = at.session_state["cx_sample_memo"][1]
    assert len(first) >= 300 and _heat(at)
    at.number_input(key="cx_s_seed").set_value(5).run()
    assert at.session_state["cx_sample_memo"][1] != first


def test_intervene_scores_with_the_hypothesis_the_cell_was_found_with(at):
    at.selectbox(key="cx_hyp").set_value("string").run()
    at.button_group(key="cx_view").set_value("finder").run()
    at.button(key="cx_open_0").click().run()  # found with "Inside a string literal"
    at.selectbox(key="cx_hyp").set_value("indent").run()  # another hypothesis selected now
    at.button_group(key="cx_view").set_value("intervene").run()
    at.number_input(key="cx_iv_len").set_value(60).run()
    at.button(key="cx_iv_go").click().run()
    assert not _errors(at)
    labels = [m.label for m in at.metric]
    assert labels == ["Inside a string literal, without clamp", "Inside a string literal, with clamp"]
    assert any("the hypothesis this cell was found with" in c.value for c in at.caption)


def test_intervene_on_a_saturated_cell_changes_the_text(at):
    """python_lstm's best string cell (layer 2, c, cell 14) has tanh(c) = -1 almost everywhere;
    the old suggestion (its 95th percentile, about -4.8) changed 0 of 300 characters."""
    at.session_state["cx_layer"] = 2  # layers are counted from 1 on screen and in the URL
    at.session_state["cx_signal"] = "c"
    at.session_state["cx_order"] = "number"
    at.session_state["cx_cell"] = 14
    at.run()
    at.button_group(key="cx_view").set_value("intervene").run()
    assert any("is saturated" in w.value for w in at.warning)
    value = at.number_input(key="cx_iv_value").value
    assert 0 < value <= 1.84  # the other side of tanh, where h moves
    at.button(key="cx_iv_go").click().run()
    assert not _errors(at)
    done = next(m.value for m in at.markdown if "written characters differ" in m.value)
    n_diff = int(re.search(r"\*\*(\d+)\*\* of 300 written characters differ", done).group(1))
    assert n_diff > 0


def test_finder_can_skip_saturated_cells(at):
    at.selectbox(key="cx_hyp").set_value("string").run()
    at.button_group(key="cx_view").set_value("finder").run()
    flagged = at.dataframe[0].value
    assert flagged["saturated"].str.startswith("yes").any()  # python_lstm's best string cell is saturated
    at.toggle(key="cx_skip_sat").set_value(True).run()
    assert not _errors(at)
    ranking = at.dataframe[0].value
    assert len(ranking) == 6 and ranking["saturated"].str.startswith("no").all()
    r = ranking["r"].abs().tolist()
    assert r == sorted(r, reverse=True)


# ------------------------------------------------------------------ links (issue 13)

def _from_link(params):
    """The page opened from a query string, the way a copied link opens it (fresh session)."""
    from conftest import apply_runner_config
    from streamlit.testing.v1 import AppTest

    apply_runner_config()
    a = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    a.run()
    for k, v in params.items():
        a.query_params[k] = v
    a.switch_page(PAGE).run()
    assert not _errors(a), _errors(a)
    return a


HEATMAP_LINK = {"cx_len": "1000", "cx_offset": "3000", "cx_hyp": "Inside a string literal", "cx_layer": "layer 2",
                "cx_signal": "hidden state h", "cx_order": "by cell number", "cx_cell": "17", "cx_rows": "first 16 cells",
                "cx_hwidth": "100", "cx_hstart": "200"}


def test_a_link_opens_the_same_heatmap(app_test):
    linked = _from_link(HEATMAP_LINK)
    assert linked.select_slider(key="cx_len").value == 1000
    assert linked.number_input(key="cx_offset").value == 3000
    assert linked.selectbox(key="cx_hyp").value == "string"
    assert linked.button_group(key="cx_layer").value == 2 and linked.selectbox(key="cx_signal").value == "h"
    assert linked.selectbox(key="cx_order").value == "number" and linked.number_input(key="cx_cell").value == 17
    assert linked.selectbox(key="cx_rows").value == 16 and linked.slider(key="cx_hstart").value == 200
    assert _headline(linked).startswith("**Layer 2 · hidden state h · cell 17**")
    by_hand = app_test(PAGE)
    by_hand.select_slider(key="cx_len").set_value(1000).run()
    by_hand.number_input(key="cx_offset").set_value(3000).run()
    by_hand.selectbox(key="cx_hyp").set_value("string").run()
    by_hand.button_group(key="cx_layer").set_value(2).run()
    by_hand.selectbox(key="cx_signal").set_value("h").run()
    by_hand.selectbox(key="cx_order").set_value("number").run()
    by_hand.number_input(key="cx_cell").set_value(17).run()
    by_hand.selectbox(key="cx_rows").set_value(16).run()
    by_hand.selectbox(key="cx_hwidth").set_value(100).run()
    by_hand.slider(key="cx_hstart").set_value(200).run()
    fig = _figs(linked)[0]
    x = fig["data"][0]["x"]  # a typed array in the spec
    assert fig["data"] == _figs(by_hand)[0]["data"] and np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"])[0] == 200
    assert len(fig["layout"]["yaxis"]["ticktext"]) == 16
    assert _heat(linked) == _heat(by_hand) and _headline(linked) == _headline(by_hand)


def test_a_link_opens_the_same_finder_and_regex(app_test):
    params = {"cx_len": "1000", "cx_view": "Cell finder", "cx_hyp": "Your regular expression", "cx_regex": r"\bif\b",
              "cx_topk": "3", "cx_fsig": "cell state c"}
    linked = _from_link(params)
    assert linked.button_group(key="cx_view").value == "finder"
    assert linked.text_input(key="cx_regex").value == r"\bif\b" and linked.multiselect(key="cx_fsig").value == ["c"]
    ranking = linked.dataframe[0].value
    assert len(ranking) == 3 and set(ranking["signal"]) == {"cell state c"}
    by_hand = app_test(PAGE)
    by_hand.select_slider(key="cx_len").set_value(1000).run()
    by_hand.selectbox(key="cx_hyp").set_value("regex").run()
    by_hand.text_input(key="cx_regex").set_value(r"\bif\b").run()
    by_hand.button_group(key="cx_view").set_value("finder").run()
    by_hand.number_input(key="cx_topk").set_value(3).run()
    by_hand.multiselect(key="cx_fsig").set_value(["c"]).run()
    assert ranking.equals(by_hand.dataframe[0].value)
    assert _figs(linked)[0]["data"] == _figs(by_hand)[0]["data"]  # the r histogram


def test_a_link_opens_the_same_pattern_and_intervene_settings():
    linked = _from_link({"cx_len": "1000", "cx_view": "Select a pattern", "cx_lv_range": ["40", "52"], "cx_lv_theta": "0.5"})
    assert linked.slider(key="cx_lv_range").value == (40, 52) and linked.slider(key="cx_lv_theta").value == 0.5
    iv = _from_link({"cx_len": "1000", "cx_view": "Intervene", "cx_iv_target": "every cell of a layer",
                     "cx_iv_mode": "zero (switch off)", "cx_iv_len": "60", "cx_iv_seed": "4", "cx_iv_temp": "0.5"})
    assert iv.radio(key="cx_iv_target").value == "layer" and iv.radio(key="cx_iv_mode").value == "zero"
    assert iv.number_input(key="cx_iv_len").value == 60 and iv.number_input(key="cx_iv_seed").value == 4
    iv.button(key="cx_iv_go").click().run()
    done = next(m.value for m in iv.markdown if "written characters differ" in m.value)
    assert "all 256 cells of layer 1" in done and " of 60 written characters" in done


def test_a_link_with_bad_values_falls_back_to_defaults():
    linked = _from_link({"cx_len": "1000", "cx_view": "No such view", "cx_hyp": "Nonsense", "cx_cell": "99999",
                         "cx_layer": "layer 9"})
    assert linked.button_group(key="cx_view").value == "heatmap"
    assert linked.selectbox(key="cx_hyp").value == "indent" and linked.button_group(key="cx_layer").value == 1
    assert _headline(linked).startswith("**Layer 1 ")


@pytest.mark.parametrize("present, layer_share", [(None, 0.2), ("true", 0.5)])
def test_presenter_type_puts_the_cell_choice_on_two_rows(present, layer_share):
    """At 1280 x 720 in presenter mode the four controls in one row cut "layer 2", the
    order "by |r| (hypothesis)" and the stepper's arrows: there they take two rows."""
    from conftest import open_app_page

    at = open_app_page(PAGE, {"present": present} if present else {})
    (col,) = [c for c in at.columns if any(w.key == "cx_layer" for w in c.get("button_group"))]
    assert col.weight == pytest.approx(layer_share)
