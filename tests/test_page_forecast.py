"""AppTest for the forecasting page: every view before training, the URL, live training
of both models in the workers, bad links."""

import json

import pytest
from conftest import apply_runner_config, open_app_page, plotly_specs, wait_until
from streamlit.testing.v1 import AppTest

apply_runner_config()
PAGE = "pages/forecast.py"
SMALL = {"ts_window": "24", "ts_horizon": "6", "ts_hidden": "8", "ts_channels": "8"}


def open_page(**params) -> AppTest:
    return open_app_page(PAGE, params)


figs = plotly_specs


def table(at):
    (df,) = [d.value for d in at.dataframe]
    return {row["forecaster"]: row for row in df.to_dict("records")}


@pytest.mark.parametrize("view, title", [("The race", "validation MAE (°F)"), ("Forecast vs real", "real temperature"),
                                         ("Error by horizon", "hours ahead")])
def test_every_view_renders_before_training(view, title):
    at = open_page(ts_view=view)
    (fig,) = figs(at)
    assert title in json.dumps(fig, ensure_ascii=False)
    assert any("Freshly initialised" in c.value for c in at.caption)
    if view == "The race":
        rows = table(at)
        assert len(rows) == 5 and rows["Persistence (last hour)"]["parameters"] == 0
        assert rows["GRU, 32 units"]["training time (s)"] == 0


def test_a_query_string_sets_the_widgets_and_the_same_figure():
    at = open_page(ts_view="Error by horizon", ts_city="San Francisco", ts_window="72", ts_horizon="6",
                   ts_cell="LSTM", ts_seed="3")
    assert at.slider(key="ts_horizon").value == 6 and at.select_slider(key="ts_window").value == 72
    assert at.button_group(key="ts_city").value == "sf" and at.button_group(key="ts_cell").value == "lstm"
    assert at.number_input(key="ts_seed").value == 3
    by_url = figs(at)
    assert [tr["name"] for tr in by_url[0]["data"]][0] == "LSTM, 32 units"
    by_hand = open_page(ts_view="Error by horizon")
    by_hand.button_group(key="ts_city").set_value("sf").run()
    by_hand.select_slider(key="ts_window").set_value(72).run()
    by_hand.slider(key="ts_horizon").set_value(6).run()
    by_hand.button_group(key="ts_cell").set_value("lstm").run()
    by_hand.number_input(key="ts_seed").set_value(3).run()
    assert figs(by_hand) == by_url


def test_the_week_and_the_lead_come_from_the_url():
    at = open_page(ts_view="Forecast vs real", ts_week="3", ts_lead="6")
    assert at.slider(key="ts_week").value == 3 and at.slider(key="ts_lead").value == 6
    (fig,) = figs(at)
    assert fig["data"][0]["x"][0] == "2010-11-21 06:00"  # the test part starts at hour 7,446 (7 Nov 06:00)
    assert fig["layout"]["yaxis"]["title"]["text"] == "°F (forecast 6 h ahead)"


def test_training_runs_both_models_in_the_workers_and_reset_forgets_them():
    at = open_page(**SMALL)
    before = table(at)
    at.button(key="ts_step100").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 100" in i.value for i in a.info))
    after = table(at)
    for label in ("GRU, 8 units", "causal CNN, 4 layers × 8 channels"):
        assert after[label]["training time (s)"] > 0
        assert after[label]["test MAE (°F)"] < before[label]["test MAE (°F)"]
    (fig,) = figs(at)
    steps = [tr["x"] for tr in fig["data"] if tr.get("mode") == "lines+markers"]
    assert steps and json.dumps(steps[0]).count(",") >= 4  # evaluations at steps 0, 25, 50, 75, 100
    at.button(key="ts_reset").click().run()
    assert any("Freshly initialised" in c.value for c in at.caption)


def test_changed_settings_ask_for_a_reset():
    at = open_page(**SMALL)
    at.button(key="ts_step1").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 1," in i.value for i in a.info))
    at.slider(key="ts_horizon").set_value(3).run()
    assert any("press **Reset**" in c.value for c in at.caption)


def test_a_bad_link_falls_back_to_the_defaults_without_an_error():
    at = open_page(ts_window="12", ts_horizon="99", ts_cell="transformer", ts_view="Nonsense")
    assert at.select_slider(key="ts_window").value == 48 and at.slider(key="ts_horizon").value == 24
    assert at.button_group(key="ts_cell").value == "gru" and figs(at)
