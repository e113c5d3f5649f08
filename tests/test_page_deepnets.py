"""AppTest for the Deep nets page: every view before training, the URL, live training
in the workers (both networks on the same batches), bad settings."""

import json
import os

import pytest
from conftest import ROOT, apply_runner_config, open_app_page, wait_until
from streamlit.testing.v1 import AppTest

apply_runner_config()
PAGE = "pages/deepnets.py"


def open_page(**params) -> AppTest:
    return open_app_page(PAGE, params)


def figs(at):
    return {el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def profile(at):
    (fig,) = [f for f in figs(at).values() if f["layout"]["yaxis"].get("title", {}).get("text") == "mean |∂L/∂W|"]
    return {tr["name"][0]: tr["y"] for tr in fig["data"]}


def values(y):
    if isinstance(y, dict):  # plotly's typed-array form
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    return list(y)


def test_default_view_shows_vanishing_gradients_at_step_zero():
    at = open_page()
    p = {k: values(v) for k, v in profile(at).items()}
    assert len(p["A"]) == 21  # 20 hidden layers + output
    # sigmoid + N(0,1): the first layer gets orders of magnitude less than the output; ReLU + He does not
    assert p["A"][0] / p["A"][-1] < 1e-2
    assert p["B"][0] / p["B"][-1] > 1e-1
    assert any("Step 0" in m.value for m in at.markdown)


@pytest.mark.parametrize("view", ["Activations", "Update ratio", "Decision boundary"])
def test_every_view_renders_before_training(view):
    at = open_page(dn_view=view)
    if view == "Update ratio":
        assert any("Train for a few steps" in i.value for i in at.info)
    else:
        assert figs(at)


def test_a_query_string_sets_the_widgets_and_the_same_figure():
    at = open_page(dn_depth="6", dn_a_act="tanh", dn_a_init="Xavier (Glorot)", dn_b_res="true", dn_seed="3")
    assert at.slider(key="dn_depth").value == 6 and at.toggle(key="dn_b_res").value is True
    assert at.number_input(key="dn_seed").value == 3
    by_url = profile(at)
    by_hand = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    by_hand.run()
    by_hand.switch_page(PAGE).run()
    by_hand.slider(key="dn_depth").set_value(6).run()
    by_hand.button_group(key="dn_a_act").set_value("tanh").run()
    by_hand.button_group(key="dn_a_init").set_value("xavier").run()
    by_hand.toggle(key="dn_b_res").set_value(True).run()
    by_hand.number_input(key="dn_seed").set_value(3).run()
    assert profile(by_hand) == by_url


def test_training_runs_both_networks_in_the_workers_and_reset_forgets_them():
    at = open_page(dn_depth="4")
    at.button(key="dn_step100").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 100" in c.value for c in a.info))
    assert any(f["layout"].get("annotations") and "training loss" in json.dumps(f["layout"]["annotations"])
               for f in figs(at).values())
    heat = [f for f in figs(at).values() if f["data"][0]["type"] == "heatmap"]
    assert heat and len(values(heat[0]["data"][0]["x"])) == 11  # steps 0, 10, ..., 100
    at.button(key="dn_reset").click().run()
    assert any("Freshly initialised" in c.value for c in at.caption)


def test_changed_settings_ask_for_a_reset():
    at = open_page(dn_depth="3")
    at.button(key="dn_step1").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 1," in c.value for c in a.info))
    at.slider(key="dn_depth").set_value(5).run()
    assert any("press **Reset**" in c.value for c in at.caption)
