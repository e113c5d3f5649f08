"""The Seq2seq & attention page under AppTest: every view, links, bad input, the live race."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from conftest import WAIT, wait_until

from rnnviz.seq2seq import checkpoint as ck
from rnnviz.seq2seq.model import decode_steps
from rnnviz.seq2seq.trainer import Seq2SeqRace
from rnnviz.ui import session

PAGE = "pages/seq2seq.py"


def _open(app_test, **params):
    at = app_test()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _specs(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _z(spec):
    """A heatmap's values (Plotly sends typed arrays as base64 ``bdata``)."""
    z = spec["data"][0]["z"]
    if isinstance(z, dict):
        rows, cols = (int(v) for v in z["shape"].split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(rows, cols)
    return np.asarray(z)


def _clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_every_view_works_with_the_bundled_models(app_test):
    at = _open(app_test)
    _clean(at)
    assert {"Train", "Step 100", "Reset"} <= {b.label for b in at.button}
    text = at.text_input(key="s2s_text").value
    want = decode_steps(ck.load().model, ck.load().in_vocab, text)

    at.segmented_control(key="s2s_view").set_value("map").run()
    _clean(at)
    (spec,) = _specs(at)
    assert _z(spec).shape == (10, len(text))
    assert np.allclose(_z(spec), want.attention_matrix(), atol=1e-6)
    assert want.output in spec["layout"]["title"]["text"] and want.output == "2009-06-25"

    at.segmented_control(key="s2s_view").set_value("decode").run()
    _clean(at)
    (spec,) = _specs(at)  # the top-5 bars of step 1
    assert spec["layout"]["yaxis"]["ticktext"][-1] == want.steps[0].char
    assert len(at.html) >= 1 and len(at.dataframe) == 1

    at.segmented_control(key="s2s_view").set_value("explain").run()
    _clean(at)
    assert len(at.dataframe) == 1 and len(_specs(at)) == 1
    assert any("Over 200 test dates" in m.value for m in at.markdown)

    at.segmented_control(key="s2s_view").set_value("length").run()
    _clean(at)
    (spec,) = _specs(at)
    assert [t["name"] for t in spec["data"]] == ["with additive attention", "without attention"]


def test_a_link_opens_the_same_view_as_setting_the_widgets(app_test):
    params = {"s2s_view": "Step by step", "s2s_text": "Thursday, December 31, 2009", "s2s_pos": "6"}
    linked = _open(app_test, **params)
    assert linked.segmented_control(key="s2s_view").value == "decode"
    assert linked.text_input(key="s2s_text").value == params["s2s_text"]
    assert linked.slider(key="s2s_pos").value == 6
    by_hand = _open(app_test)
    by_hand.segmented_control(key="s2s_view").set_value("decode").run()
    by_hand.text_input(key="s2s_text").set_value(params["s2s_text"]).run()
    by_hand.slider(key="s2s_pos").set_value(6).run()
    assert _specs(linked) == _specs(by_hand)
    assert linked.html[0].value == by_hand.html[0].value
    # the month's first digit "1" of "12" is written at position 6
    assert _specs(linked)[0]["layout"]["yaxis"]["ticktext"][-1] == "1"


def test_an_invalid_link_falls_back_to_the_defaults(app_test):
    at = _open(app_test, s2s_view="nonsense", s2s_model="elsewhere", s2s_n="7")
    assert at.segmented_control(key="s2s_view").value == "race"
    at.segmented_control(key="s2s_view").set_value("explain").run()
    assert at.select_slider(key="s2s_n").value == 200 and at.segmented_control(key="s2s_model").value == "bundled"


@pytest.mark.parametrize("view", ["Attention map", "Step by step", "Does attention explain it?"])
def test_hostile_and_overlong_input_get_a_clear_message(app_test, view):
    at = _open(app_test, s2s_view=view)
    at.text_input(key="s2s_text").set_value('<img src=x onerror="alert(1)">').run()
    assert not at.exception and len(at.error) == 1
    assert "never saw these characters" in at.error[0].value and "<img" not in at.error[0].value
    assert not _specs(at) and not at.html
    at.text_input(key="s2s_text").set_value("25 juin 2009, " * 50).run()
    assert "reads at most 40" in at.error[0].value
    at.text_input(key="s2s_text").set_value("25.06.2009").run()  # and the page keeps working
    _clean(at)
    assert _specs(at) or at.dataframe


def test_the_race_trains_both_models_side_by_side(app_test):
    at = _open(app_test)
    next(b for b in at.button if b.label == "Step 1,000").click().run()
    runner = at.session_state[session.RUNNER_KEY]  # the session's one run, on rnnviz.race.Race
    assert isinstance(runner.trainer, Seq2SeqRace) and runner.trainer.runs == ("attention", "none")
    assert runner.trainer.models["attention"].config.attention == "additive"
    assert wait_until(at, lambda a: runner.steps >= 10, WAIT)
    early = _z(_specs(at)[-1])  # the live attention map of the typed date, early in training
    assert wait_until(at, lambda a: runner.steps >= 30, WAIT)  # past the first evaluation (step 25)
    next(b for b in at.button if b.label == "Pause").click().run()
    assert wait_until(at, lambda a: not runner.active and any(f"Paused at step {runner.steps:,}" in c.value
                                                               for c in a.caption), WAIT)
    _clean(at)
    curves, att = _specs(at)
    names = {t["name"] for t in curves["data"]}
    assert names == {"attention: with additive attention", "none: without attention"}
    assert all(len(t["x"]) > 1 for t in curves["data"])  # both runs' curves, from the one race
    assert not np.allclose(_z(att), early, atol=1e-3)  # the map followed the weights
    step = runner.steps
    assert step >= 30 and runner.trainer.seconds["none"] > 0

    # the other views read the race when asked to, and measure on request
    at.segmented_control(key="s2s_view").set_value("length").run()
    at.segmented_control(key="s2s_model").set_value("live").run()
    assert not _specs(at)
    for label in [b.label for b in at.button if b.label.startswith("Measure")]:
        next(b for b in at.button if b.label == label).click().run()
    _clean(at)
    (spec,) = _specs(at)
    assert len(spec["data"]) == 2 and any(f"Measured at step {step:,}" in c.value for c in at.caption)

    next(b for b in at.button if b.label == "Reset").click().run()
    assert session.RUNNER_KEY not in at.session_state and runner.status == "stopped"


def test_the_string_task_is_a_link_and_every_view_works_before_training(app_test):
    at = _open(app_test, s2s_task="Reverse", s2s_len="8", s2s_view="Attention map")
    _clean(at)
    assert at.segmented_control(key="s2s_task").value == "reverse" and at.slider(key="s2s_len").value == 8
    (spec,) = _specs(at)
    assert _z(spec).shape == (8, 8)
    assert spec["layout"]["xaxis"]["ticktext"] == list("abcdefgh")  # the default string
    assert any("step 0" in c.value for c in at.caption) and any("by chance about 12%" in m.value for m in at.markdown)
    for view in ("race", "decode", "explain", "length"):
        at.segmented_control(key="s2s_view").set_value(view).run()
        _clean(at)
    at.segmented_control(key="s2s_view").set_value("map").run()
    at.text_input(key="s2s_str").set_value("abc").run()  # a wrong length: a clear message, nothing drawn
    assert len(at.error) == 1 and "exactly 8" in at.error[0].value and not _specs(at)
    at.segmented_control(key="s2s_view").set_value("decode").run()
    at.text_input(key="s2s_str").set_value("<b>x</b>").run()
    assert "never saw these characters" in at.error[0].value and not _specs(at) and not at.html
    at.text_input(key="s2s_str").set_value("jihgfedc").run()
    _clean(at)
    assert at.slider(key="s2s_pos").max == 8
    at.segmented_control(key="s2s_task").set_value("dates").run()  # back to dates: the bundled models
    _clean(at)
    assert at.text_input(key="s2s_text").value == "jeudi 25 juin 2009"


def test_a_run_of_another_task_is_named_as_such_not_as_another_page(app_test):
    """The session trains the dates race; the reverse task on the same page is not 'another page'."""
    from rnnviz.live import BackgroundTrainer
    from rnnviz.seq2seq.trainer import TrainSettings

    at = _open(app_test, s2s_task="Reverse", s2s_len="8")
    runner = BackgroundTrainer(Seq2SeqRace(TrainSettings(eval_size=20)), executor="thread")  # never started
    at.session_state[session.RUNNER_KEY] = runner
    at.run()
    _clean(at)
    said = [c.value for c in at.caption]
    assert any("training this lab with other data or another task" in c for c in said), said
    assert not any("another page" in c for c in said)
    at.segmented_control(key="s2s_task").set_value("dates").run()  # its own task: the run is this view's
    assert not any("other data or another task" in c.value for c in at.caption)
