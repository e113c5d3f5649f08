"""AppTest for the Long-range memory page: every view before training, the URL, live
training of the three cells in the workers, bad settings."""

import json
import os

import pytest
from conftest import ROOT, apply_runner_config, open_app_page, plotly_specs, wait_until
from streamlit.testing.v1 import AppTest

apply_runner_config()
PAGE = "pages/memory.py"
SMALL = {"mem_d": "4", "mem_extra": "2", "mem_hidden": "8"}


def open_page(**params) -> AppTest:
    return open_app_page(PAGE, params)


figs = plotly_specs


def values(y):
    if isinstance(y, dict):  # plotly's typed-array form
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    return list(y)


def accuracy(at):
    (fig,) = [f for f in figs(at) if f["layout"]["yaxis"].get("title", {}).get("text") == "held-out accuracy"]
    return {tr["name"]: values(tr["y"]) for tr in fig["data"]}


def test_default_view_shows_three_cells_near_chance_at_step_zero():
    at = open_page()
    acc = accuracy(at)
    assert set(acc) == {"Vanilla RNN", "LSTM", "GRU"} and all(len(v) == 40 for v in acc.values())
    assert all(0 < sum(v) / len(v) < 30 for v in acc.values())  # untrained: about 12.5 % (1 of 8)
    fig = figs(at)[0]
    assert any("chance (12.5 %)" in a.get("text", "") for a in fig["layout"]["annotations"])
    assert any("Step 0" in m.value for m in at.markdown)


@pytest.mark.parametrize("view", ["Race curves", "Why: gradients"])
def test_every_view_renders_before_training(view):
    at = open_page(mem_view=view, **SMALL)
    if view == "Race curves":
        assert any("Train for a few steps" in i.value for i in at.info)
    else:
        (fig,) = figs(at)
        assert fig["layout"]["yaxis"]["type"] == "log" and len(fig["data"]) == 3
        rnn = [g for g in values(fig["data"][0]["y"]) if g is not None]
        assert rnn[-1] < rnn[0]  # the vanilla RNN's gradient falls with the distance


def test_the_gradient_measure_comes_from_the_url():
    at = open_page(mem_view="Why: gradients", mem_grad="‖∂L/∂x‖ / ‖∂L/∂h_T‖", **SMALL)
    assert at.button_group(key="mem_grad").value == "gain"
    (fig,) = figs(at)
    assert fig["layout"]["yaxis"]["title"]["text"] == "‖∂L/∂x‖ / ‖∂L/∂h_T‖ at the symbol"
    at.button_group(key="mem_grad").set_value("grad").run()
    (raw,) = figs(at)
    assert raw["layout"]["yaxis"]["title"]["text"] == "‖∂L/∂x‖ at the symbol" and raw["data"] != fig["data"]


def test_a_query_string_sets_the_widgets_and_the_same_figure():
    at = open_page(mem_task="Recall the marked symbol", mem_d="6", mem_extra="3", mem_k="4", mem_seed="5",
                   mem_hidden="16")
    assert at.slider(key="mem_d").value == 6 and at.slider(key="mem_extra").value == 3
    assert at.number_input(key="mem_seed").value == 5 and at.select_slider(key="mem_k").value == 4
    by_url = accuracy(at)
    assert all(len(v) == 9 for v in by_url.values())
    by_hand = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    by_hand.run()
    by_hand.switch_page(PAGE).run()
    by_hand.button_group(key="mem_task").set_value("marked").run()
    by_hand.slider(key="mem_d").set_value(6).run()
    by_hand.slider(key="mem_extra").set_value(3).run()
    by_hand.select_slider(key="mem_k").set_value(4).run()
    by_hand.select_slider(key="mem_hidden").set_value(16).run()
    by_hand.number_input(key="mem_seed").set_value(5).run()
    assert accuracy(by_hand) == by_url
    assert any("chance (25.0 %)" in a.get("text", "") for a in figs(by_hand)[0]["layout"]["annotations"])


def test_training_runs_the_three_cells_in_the_workers():
    at = open_page(mem_d="3", mem_extra="1", mem_hidden="16", mem_lr="0.01")
    at.button(key="mem_step100").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 100" in c.value for c in a.info))
    assert any("Step 100." in m.value for m in at.markdown)
    acc = accuracy(at)
    assert max(sum(v[:3]) / 3 for v in acc.values()) > 40  # well above chance (12.5 %) on distances 1-3
    heat = [f for f in figs(at) if f["data"][0]["type"] == "heatmap"]
    assert heat and values(heat[0]["data"][0]["x"])[-1] == 100
    at.toggle(key="mem_latest").set_value(False).run()
    at.number_input(key="mem_at").set_value(0).run()
    assert any("Step 0." in m.value for m in at.markdown)
    at.button_group(key="mem_view").set_value("race").run()
    assert not at.exception
    curves = [f for f in figs(at) if "training loss" in json.dumps(f["layout"].get("annotations", []))]
    assert curves and len(curves[0]["data"]) == 9  # loss, accuracy and beyond-D accuracy of three cells
    at.button(key="mem_reset").click().run()
    assert any("Freshly initialised" in c.value for c in at.caption)


def test_a_bad_setting_gives_a_message_not_an_exception():
    at = open_page(mem_d="5", mem_dmin="9")
    assert any("Training distances" in e.value for e in at.error)
    assert not at.get("plotly_chart")
