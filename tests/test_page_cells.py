"""AppTest for the cell explorer page: default view, flipping cells/layers/signals,
the finder with its linear probe, pattern selection, intervention and bad input."""

import html
import json
import re

import pytest

PAGE = "pages/cells.py"


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
    assert at.radio(key="cx_source").value == "val"
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
    at.button(key="cx_next").click().run()
    assert at.slider(key="cx_pos").value == 1
    second = _headline(at)
    assert second != first and "position 1" in second
    at.button(key="cx_prev").click().run()
    at.button(key="cx_prev").click().run()
    assert at.slider(key="cx_pos").value == 255  # wraps around
    at.selectbox(key="cx_order").set_value("number").run()
    at.slider(key="cx_pos").set_value(17).run()
    assert "cell 17**" in _headline(at)
    at.selectbox(key="cx_layer").set_value(1).run()
    at.selectbox(key="cx_signal").set_value("h").run()
    head = _headline(at)
    assert head.startswith("**Layer 2 · hidden state h · cell 17**")
    assert not _errors(at)


def test_cell_finder_ranks_and_probes(at):
    at.selectbox(key="cx_hyp_python").set_value("string").run()
    at.button_group(key="cx_view").set_value("Cell finder").run()
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
    assert at.button_group(key="cx_view").value == "Heatmap"
    assert f"cell {int(top['cell'])}**" in _headline(at)


def test_regex_hypothesis_and_bad_regex(at):
    at.selectbox(key="cx_hyp_python").set_value("regex").run()
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
    at.button_group(key="cx_view").set_value("Select a pattern").run()
    assert not _errors(at)
    a, b = at.slider(key="cx_lv_range_0").value
    assert b > a
    match = [t for t in _texts(at) if "cell(s) match:**" in t]
    assert match and not any(t.startswith("No cell") for t in _texts(at))
    n = int(re.search(r"\*\*(\d+) cell\(s\) match", match[0]).group(1))
    assert n >= 1
    assert at.button(key="cx_lv_open").label.startswith("Inspect cell ")


def test_select_a_pattern_says_why_nothing_matched(at):
    at.button_group(key="cx_view").set_value("Select a pattern").run()
    at.slider(key="cx_lv_theta_False").set_value(1.0).run()  # h never reaches 1: nothing can match
    assert not _errors(at)
    info = " ".join(i.value for i in at.info)
    assert "No cell of layer 1 · hidden state h matches this selection" in info
    assert "No cell stays at or above θ = 1.00" in info and "Lower θ" in info
    assert not any("cell(s) match:**" in t for t in _texts(at))


def test_heatmap_legend_states_the_scale_used(at):
    head = _headline(at)
    unit = int(re.search(r"cell (\d+)\*\*", head).group(1))
    layer = int(re.search(r"\*\*Layer (\d+)", head).group(1)) - 1
    cm = at.session_state["cx_trace"]["cm"]
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
    assert at.button_group(key="cx_view").value == "Select a pattern"
    assert at.slider(key="cx_lv_range_1").value == (40, 52)


def test_intervention_cell_and_whole_layer(at):
    at.button_group(key="cx_view").set_value("Intervene").run()
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
    at.radio(key="cx_source").set_value("paste").run()
    assert not _errors(at) and _heat(at)
    at.text_area(key="cx_paste").set_value("x = 1\ny = '\u20ac \U0001F600'\n").run()
    err = " ".join(_errors(at))
    assert "never saw" in err and "'\u20ac'" in err and "kept in the box" in err
    assert not _heat(at)
    at.text_area(key="cx_paste").set_value("").run()
    assert any("Paste some text" in i.value for i in at.info)
    hostile = '<script>alert(1)</script>\n<img src=x onerror="alert(2)">\n'
    at.text_area(key="cx_paste").set_value(hostile).run()
    assert not _errors(at)
    heat = _heat(at)[0]
    assert "<script" not in heat and "<img" not in heat
    assert "&lt;" in heat and "&gt;" in heat and "&quot;" in heat
    visible = html.unescape(re.sub(r"<[^>]+>", "", heat))  # the characters a reader sees
    assert "<script>alert(1)</script>" in visible and '<img src=x onerror="alert(2)">' in visible


def test_fresh_sample_source(at):
    at.radio(key="cx_source").set_value("sample").run()
    at.number_input(key="cx_s_len").set_value(300).run()
    assert not _errors(at)
    first = at.session_state["cx_sample"]["text"]
    assert len(first) >= 300 and _heat(at)
    at.number_input(key="cx_s_seed").set_value(5).run()
    assert at.session_state["cx_sample"]["text"] != first


def test_intervene_scores_with_the_hypothesis_the_cell_was_found_with(at):
    at.selectbox(key="cx_hyp_python").set_value("string").run()
    at.button_group(key="cx_view").set_value("Cell finder").run()
    at.button(key="cx_open_0").click().run()  # found with "Inside a string literal"
    at.selectbox(key="cx_hyp_python").set_value("indent").run()  # another hypothesis selected now
    at.button_group(key="cx_view").set_value("Intervene").run()
    at.number_input(key="cx_iv_len").set_value(60).run()
    at.button(key="cx_iv_go").click().run()
    assert not _errors(at)
    labels = [m.label for m in at.metric]
    assert labels == ["Inside a string literal, without clamp", "Inside a string literal, with clamp"]
    assert any("the hypothesis this cell was found with" in c.value for c in at.caption)


def test_intervene_on_a_saturated_cell_changes_the_text(at):
    """python_lstm's best string cell (layer 2, c, cell 14) has tanh(c) = -1 almost everywhere;
    the old suggestion (its 95th percentile, about -4.8) changed 0 of 300 characters."""
    at.session_state["cx_layer"] = 1
    at.session_state["cx_signal"] = "c"
    at.session_state["cx_order"] = "number"
    at.session_state["cx_pos"] = 14
    at.run()
    at.button_group(key="cx_view").set_value("Intervene").run()
    assert any("is saturated" in w.value for w in at.warning)
    value = at.number_input(key="cx_iv_value_1_c_14_cell").value
    assert 0 < value <= 1.84  # the other side of tanh, where h moves
    at.button(key="cx_iv_go").click().run()
    assert not _errors(at)
    done = next(m.value for m in at.markdown if "written characters differ" in m.value)
    n_diff = int(re.search(r"\*\*(\d+)\*\* of 300 written characters differ", done).group(1))
    assert n_diff > 0


def test_finder_can_skip_saturated_cells(at):
    at.selectbox(key="cx_hyp_python").set_value("string").run()
    at.button_group(key="cx_view").set_value("Cell finder").run()
    flagged = at.dataframe[0].value
    assert flagged["saturated"].str.startswith("yes").any()  # python_lstm's best string cell is saturated
    at.toggle(key="cx_skip_sat").set_value(True).run()
    assert not _errors(at)
    ranking = at.dataframe[0].value
    assert len(ranking) == 6 and ranking["saturated"].str.startswith("no").all()
    r = ranking["r"].abs().tolist()
    assert r == sorted(r, reverse=True)
