"""AppTest for the Bidirectional RNNs page: every view before training, the URL,
live training of both taggers in the workers, typed text that cannot be read."""

import base64
import os

import numpy as np
import pytest
from conftest import ROOT, apply_runner_config, open_app_page, plotly_specs, wait_until
from streamlit.testing.v1 import AppTest

from rnnviz.tagging import text

apply_runner_config()
PAGE = "pages/bidirectional.py"


def open_page(**params) -> AppTest:
    return open_app_page(PAGE, params)


figs = plotly_specs


def values(y):
    if isinstance(y, dict):  # plotly's typed-array form
        shape = [int(n) for n in str(y.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).reshape(shape).tolist()
    return list(y)


def heatmaps(fig) -> list[dict]:
    return [t for t in fig["data"] if t["type"] == "heatmap"]


def f1(at, run: str) -> float:
    df = at.dataframe[0].value
    return float(df[df["model"].str.startswith(run)]["F1 of tag 1"].iloc[0])


def test_race_view_before_training_shows_step_zero_and_the_lazy_baseline():
    at = open_page()
    assert any("Freshly initialised" in c.value for c in at.caption)
    df = at.dataframe[0].value
    assert list(df["model"].str.split(" [(]", regex=True).str[0]) == ["forward only", "bidirectional",
                                                                      "always answering 0"]
    assert df["accuracy"].iloc[2].startswith("81.")  # about one character in five ends a word
    assert int(df["parameters"].iloc[1].replace(",", "")) > int(df["parameters"].iloc[0].replace(",", ""))
    assert not figs(at)  # the curves appear after the first step


@pytest.mark.parametrize("view", ["Under each character", "By position in the word"])
def test_every_view_renders_before_training(view):
    at = open_page(bi_view=view)
    fs = figs(at)
    if view == "Under each character":
        prob, states = fs
        sentence = text.excerpts(text.shakespeare(), n=12)[0]
        assert heatmaps(prob)[0]["y"] == ["bidirectional", "forward only", "true tag"]
        assert len(values(heatmaps(prob)[0]["z"])[0]) == len(sentence)
        # the bidirectional model's forward and backward states, then the forward-only model's
        names = [a["text"] for a in states["layout"]["annotations"]]
        assert [n.split(":")[0] for n in names] == ["bidirectional", "bidirectional", "forward only"]
        assert "backward" in names[1] and len(heatmaps(states)) == 3
    else:
        bars = [t for t in fs[0]["data"] if t["type"] == "bar"]
        assert [b["name"] for b in bars] == ["forward only", "bidirectional"]
        assert "last letter" in bars[0]["x"]


def prob_rows(at) -> dict:
    fig = figs(at)[0]
    hm = heatmaps(fig)[0]
    return dict(zip(hm["y"], values(hm["z"])))


def test_a_query_string_sets_the_widgets_and_the_same_figure():
    q = {"bi_view": "Under each character", "bi_task": "Letters of long words", "bi_k": "4", "bi_cell": "GRU",
         "bi_hidden": "16", "bi_source": "Type your own", "bi_text": "the fairest creatures"}
    at = open_page(**q)
    assert at.selectbox(key="bi_task").value == "long" and at.slider(key="bi_k").value == 4
    assert at.text_input(key="bi_text").value == "the fairest creatures"
    by_url = prob_rows(at)
    assert by_url["true tag"] == [0, 0, 0, 0] + [1] * 7 + [0] + [1] * 9
    by_hand = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
    by_hand.run()
    by_hand.switch_page(PAGE).run()
    by_hand.selectbox(key="bi_task").set_value("long").run()
    by_hand.slider(key="bi_k").set_value(4).run()
    by_hand.button_group(key="bi_cell").set_value("gru").run()
    by_hand.select_slider(key="bi_hidden").set_value(16).run()
    by_hand.button_group(key="bi_view").set_value("chars").run()
    by_hand.button_group(key="bi_source").set_value("type").run()
    by_hand.text_input(key="bi_text").set_value("the fairest creatures").run()
    assert prob_rows(by_hand) == by_url


def test_typed_text_that_cannot_be_read_gets_a_message_and_long_text_a_note():
    at = open_page(bi_view="Under each character", bi_source="Type your own", bi_text="año <b>1600</b>")
    assert not figs(at)
    assert any("never seen" in e.value and "Your text is kept" in e.value for e in at.error)
    at.text_input(key="bi_text").set_value("Hark! " * 50).run()
    assert not at.exception and not at.error
    assert any("capital letters became small ones" in c.value for c in at.caption)
    assert any("only the first 200 are shown" in c.value for c in at.caption)
    assert len(prob_rows(at)["true tag"]) == 200


def test_step_100_trains_both_taggers_in_the_workers():
    at = open_page(bi_hidden="16")
    before = f1(at, "bidirectional")
    at.button(key="bi_step100").click().run()
    assert wait_until(at, lambda a: any("Stopped at step 100" in c.value for c in a.info))
    assert not at.exception
    bi, fwd = f1(at, "bidirectional"), f1(at, "forward only")
    assert bi > 0.9 > before and bi > fwd  # last letters: the answer is the next character
    curves = figs(at)[0]
    xs = [values(t["x"]) for t in curves["data"] if t.get("mode") == "lines+markers"]
    assert xs and xs[0] == [0, 50, 100]
    at.button_group(key="bi_view").set_value("chars").run()
    rows = prob_rows(at)
    tags = np.array(rows["true tag"])
    assert ((np.array(rows["bidirectional"]) > 0.5) == (tags == 1)).mean() > 0.95
    at.button(key="bi_reset").click().run()
    assert any("Freshly initialised" in c.value for c in at.caption)
