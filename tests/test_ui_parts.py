"""The shared UI parts (rnnviz.ui.pickers / charts / page / present / links) in
small AppTest scripts: URL binding, the one unknown-character message, exports."""

import json

from conftest import apply_runner_config
from streamlit.testing.v1 import AppTest

apply_runner_config()


def _picker_script():
    import streamlit as st

    from rnnviz.plots import training
    from rnnviz.ui import charts, pickers

    choice = pickers.model_picker("t", default="shakespeare_lstm")
    if choice is not None:
        text = pickers.text_picker("t", choice, default_length=500)
        smp = pickers.sampling_controls("ts")
        layer = pickers.layer_picker("t", choice.config.layers)
        signal = pickers.signal_picker("t", choice.cell)
        unit = pickers.cell_stepper("t", choice.config.hidden)
        st.session_state["out"] = {
            "model": choice.key, "text": None if text is None else text.text, "source": None if text is None else text.source,
            "start": None if text is None else text.start, "temp": smp.temperature, "top_k": smp.top_k,
            "layer": layer, "signal": signal, "unit": unit}
        charts.chart(training.loss_figure([(0, 4.0), (10, 3.0)], [(10, 3.2)]), key="loss", name="Loss curve")


def _run(params=None, **state):
    at = AppTest.from_function(_picker_script, default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_defaults_without_a_query():
    out = _run().session_state["out"]
    assert out["model"] == "shakespeare_lstm" and out["source"] == "val" and 0 <= out["start"] < 300
    assert len(out["text"]) >= 400 and out["temp"] == 0.8 and out["top_k"] is None
    assert out["signal"] == "c" and out["unit"] == 0


def test_a_query_string_sets_every_shared_widget():
    at = _run({"t_offset": "1500", "t_len": "200", "ts_temp": "1.5", "ts_topk": "5", "t_layer": "layer 1",
               "t_signal": "forget gate f", "t_cell": "17"})
    out = at.session_state["out"]
    assert out["start"] >= 1500 and len(out["text"]) <= 260
    assert out["temp"] == 1.5 and out["top_k"] == 5
    assert out["layer"] == 0 and out["signal"] == "f" and out["unit"] == 17
    # the same view set by hand gives the same text
    by_hand = _run(t_offset=1500, t_len=200).session_state["out"]
    assert by_hand["text"] == out["text"]


def test_invalid_query_values_fall_back_to_defaults():
    out = _run({"t_model": "no_such_model", "t_signal": "zz", "ts_temp": "7"}).session_state["out"]
    assert out["model"] == "shakespeare_lstm" and out["signal"] == "c" and out["temp"] == 0.8


def test_pasted_text_with_unknown_characters_gets_the_one_message():
    at = _run({"t_source": "Paste", "t_paste": "Hello \u2603 world"})
    assert at.session_state["out"]["text"] is None
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "never seen" in errors[0] and "kept" in errors[0]
    assert at.text_area[0].value == "Hello \u2603 world"  # nothing lost


def test_a_fresh_sample_is_the_models_own_text_and_is_memoised():
    at = _run({"t_source": "Fresh sample", "t_s_len": "120", "t_s_seed": "3"})
    first = at.session_state["out"]["text"]
    assert len(first) >= 120
    at.run()
    assert at.session_state["out"]["text"] == first
    again = _run({"t_source": "Fresh sample", "t_s_len": "120", "t_s_seed": "3"}).session_state["out"]["text"]
    assert again == first  # same seed, same text


def test_cell_stepper_wraps_around():
    at = _run({"t_cell": "0"})
    at.button(key="t_cell_prev").click().run()
    hidden = at.session_state["out"]["unit"]
    assert hidden == 255  # shakespeare_lstm is 2x256


def test_chart_has_png_export_and_a_csv_download():
    at = _run()
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    config = json.loads(charts[0].proto.config)
    assert config["displayModeBar"] is True and config["toImageButtonOptions"]["format"] == "png"
    (csv,) = [b.proto for b in at.get("download_button") if b.proto.label == "CSV"]
    # deferred: the table is written when the button is pressed, never on a page run
    assert csv.deferred_file_id and not csv.url


def test_presenter_styling_scales_a_figure_once_however_often_it_is_shown(monkeypatch):
    """A live page shows one built figure on many polls: the fonts must grow once, not every time."""
    from rnnviz.plots import training
    from rnnviz.ui import present

    fig = training.loss_figure([(0, 4.0), (10, 3.0)], [(10, 3.2)])
    base = fig.layout.font.size
    monkeypatch.setattr(present, "presenting", lambda: True)
    for _ in range(3):
        present.style_figure(fig)
    assert fig.layout.font.size == base * present.FONT_SCALE
    monkeypatch.setattr(present, "presenting", lambda: False)
    plain = training.loss_figure([(0, 4.0), (10, 3.0)], [(10, 3.2)])
    assert present.style_figure(plain).layout.font.size == base


def test_the_toolbar_gets_room_above_subplot_titles_legends_and_titles():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from rnnviz.ui import charts

    fig = make_subplots(rows=1, cols=2, subplot_titles=["left", "right"])
    fig.update_layout(margin=dict(t=30), legend=dict(orientation="h", y=1.02))
    charts.room_for_modebar(fig)
    assert fig.layout.margin.t >= charts.MODEBAR_PX + 22 + 26
    plain = go.Figure(go.Scatter(y=[1, 2]))
    plain.update_layout(margin=dict(t=20))
    assert charts.room_for_modebar(plain).layout.margin.t == charts.MODEBAR_PX
    roomy = go.Figure(layout=dict(margin=dict(t=200)))
    assert charts.room_for_modebar(roomy).layout.margin.t == 200  # never shrinks a margin


def test_non_numeric_arrays_reach_plotly_as_lists_and_numbers_stay_typed():
    import numpy as np
    import plotly.graph_objects as go

    from rnnviz.ui import charts

    fig = go.Figure(go.Heatmap(z=np.ones((2, 3), np.float32), customdata=np.full((2, 3), "a", dtype=object),
                               text=np.array([["x", "y", "z"]] * 2)))
    fig.add_scatter(y=np.arange(3.0), marker=dict(color=np.array(["red", "blue", "red"], dtype=object)))
    fig.update_xaxes(tickvals=np.arange(3), ticktext=np.array(["a", "b", "c"]))
    charts.plain_arrays(fig)
    hm, sc = fig.data
    assert [list(r) for r in hm.customdata] == [["a"] * 3] * 2 and list(hm.text[1]) == ["x", "y", "z"]
    assert list(sc.marker.color) == ["red", "blue", "red"] and list(fig.layout.xaxis.ticktext) == ["a", "b", "c"]
    for v in (hm.customdata, hm.text, sc.marker.color, fig.layout.xaxis.ticktext):
        assert not isinstance(v, np.ndarray)
    for v in (hm.z, sc.y, fig.layout.xaxis.tickvals):  # numbers keep travelling as typed arrays
        assert isinstance(v, np.ndarray) and v.dtype.kind in charts.NUMERIC_KINDS


def test_no_array_of_a_shown_figure_outlives_its_serialisation(monkeypatch):
    """The gates-page memory creep: Plotly copies every array while serialising; with some
    orjson releases an object array's copy was never freed. Whatever orjson is installed,
    nothing Plotly copies for a chart shown through charts.chart may stay alive."""
    import gc
    import weakref

    import _plotly_utils.basevalidators as bv
    import _plotly_utils.utils as pu
    import numpy as np
    import plotly.io

    from rnnviz.plots import gates as gate_plots
    from rnnviz.ui import charts

    copies, real = [], bv.copy_to_readonly_numpy_array

    def tracked(*a, **k):
        out = real(*a, **k)
        if isinstance(out, np.ndarray):
            copies.append(weakref.ref(out))
        return out

    monkeypatch.setattr(bv, "copy_to_readonly_numpy_array", tracked)
    monkeypatch.setattr(pu, "copy_to_readonly_numpy_array", tracked)
    text = "to be, or not to be\n" * 6
    fig = gate_plots.gate_heatmap(np.random.rand(len(text), 64), text, gate=True)
    charts.plain_arrays(fig)
    copies.clear()
    for _ in range(3):
        plotly.io.to_json(fig, validate=False)  # what st.plotly_chart sends
    gc.collect()
    assert copies and not [r for r in copies if r() is not None]
