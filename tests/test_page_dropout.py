"""AppTest for the Stacking & dropout page: every view before training, the URL,
live training of the race in the workers, bad settings."""

import os

import numpy as np
from conftest import ROOT, apply_runner_config, open_app_page, plotly_specs, wait_until
from streamlit.testing.v1 import AppTest

apply_runner_config()
PAGE = "pages/dropout.py"
SMALL = {"dr_hidden": "32", "dr_seq": "16", "dr_three": "false", "dr_chars": "5000"}


def open_page(**params) -> AppTest:
    return open_app_page(PAGE, params)


def array(z):
    """A heatmap's z from the figure spec (plotly's typed-array form or lists)."""
    if isinstance(z, dict):
        import base64

        shape = [int(n) for n in z["shape"].split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.asarray(z)


figs = plotly_specs


def bars(at):
    (fig,) = [f for f in figs(at) if f["data"][0]["type"] == "bar"]
    return {tr["name"]: tr["text"] for tr in fig["data"]}


def test_the_default_view_shows_the_untrained_race():
    at = open_page(**SMALL)
    b = bars(at)
    assert set(b) == {"training set", "validation"} and len(b["validation"]) == 2
    assert all(3.9 < float(v) < 4.9 for v in b["validation"] + b["training set"])  # about ln 84 before training
    assert any("Untrained runs" in c.value for c in at.caption)


def test_the_masks_view_draws_confetti_and_stripes():
    at = open_page(**SMALL, dr_view="The masks", dr_a_mode="between layers", dr_b_mode="recurrent (variational)",
                   dr_mstep="7")
    assert at.number_input(key="dr_mstep").value == 7
    (fig,) = figs(at)
    heat = [array(tr["z"]) for tr in fig["data"]]
    assert len(heat) == 4 and heat[0].shape == (32, 16)  # two runs x (output, recurrent); units x time
    a_out, a_rec, b_out, b_rec = heat
    assert len({tuple(col) for col in a_out.T}) > 10  # a fresh mask at every step
    assert len({tuple(col) for col in b_out.T}) == 1 and len({tuple(col) for col in b_rec.T}) == 1  # one per sequence
    assert 0 < b_rec.sum() < b_rec.size and (a_rec == 1).all()  # between-layer dropout leaves the recurrence alone
    assert "step 7" in fig["layout"]["title"]["text"]


def test_without_any_dropout_the_masks_view_says_so():
    at = open_page(**SMALL, dr_view="The masks", dr_b_mode="no dropout")
    assert any("None of the runs uses dropout" in i.value for i in at.info)


def test_the_samples_view_renders_before_training():
    at = open_page(**SMALL, dr_view="Samples")
    assert len(at.html) >= 2 and "A: 2 layers, no dropout" in at.html[0].value


def test_a_query_string_sets_the_widgets_and_the_same_figure():
    params = {**SMALL, "dr_cell": "GRU", "dr_a_layers": "1", "dr_b_p": "0.5", "dr_seed": "3"}
    at = open_page(**params)
    assert at.button_group(key="dr_cell").value == "gru" and at.button_group(key="dr_a_layers").value == 1
    assert at.select_slider(key="dr_b_p").value == 0.5 and at.number_input(key="dr_seed").value == 3
    by_url = bars(at)
    by_hand = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    by_hand.run()
    by_hand.switch_page(PAGE).run()
    by_hand.select_slider(key="dr_hidden").set_value(32).run()
    by_hand.select_slider(key="dr_seq").set_value(16).run()
    by_hand.toggle(key="dr_three").set_value(False).run()
    by_hand.select_slider(key="dr_chars").set_value(5000).run()
    by_hand.button_group(key="dr_cell").set_value("gru").run()
    by_hand.button_group(key="dr_a_layers").set_value(1).run()
    by_hand.select_slider(key="dr_b_p").set_value(0.5).run()
    by_hand.number_input(key="dr_seed").set_value(3).run()
    assert bars(by_hand) == by_url


def test_step_100_trains_the_race_in_the_workers_and_the_views_show_it():
    at = open_page(**SMALL, dr_lr="0.02", dr_a_layers="1", dr_b_layers="1")
    before = bars(at)["validation"]
    at.button(key="dr_step100").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 100" in i.value for i in a.info))
    after = bars(at)["validation"]
    assert all(float(x) < float(y) - 0.8 for x, y in zip(after, before))  # trained, not a step-0 picture
    curves = [f for f in figs(at) if any(tr["type"] == "scatter" for tr in f["data"])]
    assert len(curves) == 1 and {"A: training set", "B: training set"} <= {tr["name"] for tr in curves[0]["data"]}
    assert any("Training time" in c.value for c in at.caption)
    at.button_group(key="dr_view").set_value("samples").run()
    assert not at.exception
    assert any("longest passage copied from the training text" in h.value and "(step 100)" in h.value
               for h in at.html)


def test_an_invalid_url_value_is_dropped_not_a_crash():
    at = open_page(**SMALL, dr_lr="5", dr_a_mode="zoneout")
    assert at.select_slider(key="dr_lr").value == 0.01 and at.selectbox(key="dr_a_mode").value == "none"


def test_bad_settings_give_a_message(monkeypatch):
    from rnnviz.dropout import race

    monkeypatch.setattr(race, "MAX_LAYERS", 1)  # as if 2 layers were out of range
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and any("1 to 1 layers" in e.value for e in at.error)
