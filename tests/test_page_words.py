"""AppTest for the Words pages: every view, links (query parameters) equal hand-set
widgets, live training through the session's runner, GloVe, characters, bad input."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest
from conftest import ROOT, apply_runner_config, runner, wait_until

from rnnviz.live import active_runners
from rnnviz.plots import words as wp
from rnnviz.words import negatives, pairs, tokens
from rnnviz.words.trainer import Word2VecTrainer

PIPE = "pages/words_pipeline.py"
LAB = "pages/words_lab.py"
DECK = "The quick brown fox jumps over the lazy dog."
PASTE = "the king loves the queen and the man loves the woman . " * 40


@pytest.fixture(autouse=True)
def stop_runners():
    yield
    for r in active_runners():
        r.stop()


def open_page(path, params=None, timeout=180):
    """The app opened on ``path`` with ``params`` in the address (as a shared link would;
    the same steps as tests/test_moments.py)."""
    from streamlit.testing.v1 import AppTest

    apply_runner_config()
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=timeout)
    at.run()
    for k, v in (params or {}).items():
        at.query_params[k] = v
    return at.switch_page(path).run()


def figs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def fig_named(at, start: str) -> dict:
    for f in figs(at):
        if f["layout"].get("title", {}).get("text", "").startswith(start):
            return f
    raise AssertionError(f"no figure titled {start!r}: {[f['layout'].get('title') for f in figs(at)]}")


def arr(v) -> np.ndarray:
    """A figure array from its JSON: a list, or plotly's typed-array encoding."""
    if isinstance(v, dict):
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape([int(n) for n in str(v.get("shape", len(a))).split(",")])
    return np.asarray(v, dtype=float)


def same_data(a: dict, b) -> bool:
    b = json.loads(b.to_json()) if hasattr(b, "to_json") else b
    return json.dumps(a["data"], sort_keys=True) == json.dumps(b["data"], sort_keys=True)


def text(at) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error])


# ------------------------------------------------------------------ pipeline page


def test_deck_pairs_by_default(app_test):
    at = app_test(PIPE)
    assert not at.exception
    words = tokens.tokenize(DECK)
    df = at.dataframe[0].value
    assert list(zip(df["centre"], df["context"])) == pairs.skipgram_pairs(words, 2)
    assert len(df) == 30
    f = fig_named(at, "Skip-gram:")
    r = pairs.roles(len(words), 2, 0)
    assert same_data(f, wp.window_figure(words, r, [("the", "quick"), ("the", "brown")]))
    html = at.html[0].value
    # one span per character: "The" (the centre) orange and bold, "quick" blue, "fox" uncoloured
    assert '<span style="background-color: rgb(252,196,140);font-weight: 700; text-decoration: underline;">T</span>' in html
    assert '<span style="background-color: rgb(178,204,235);">q</span>' in html
    assert "<span>f</span><span>o</span><span>x</span>" in html


def test_pairs_link_equals_hand_set_widgets(app_test):
    params = {"w2v_view": "Skip-gram pairs", "w2v_sentence": "one two three four five six", "w2v_window": "3",
              "w2v_centre": "3"}
    linked = open_page(PIPE, params)
    assert not linked.exception
    hand = app_test(PIPE)
    hand.text_input(key="w2v_sentence").input(params["w2v_sentence"]).run()
    hand.slider(key="w2v_window").set_value(3).run()
    hand.number_input(key="w2v_centre").set_value(3).run()
    assert linked.slider(key="w2v_window").value == 3
    a, b = fig_named(linked, "Skip-gram:"), fig_named(hand, "Skip-gram:")
    assert same_data(a, b)
    assert a["layout"]["title"]["text"].startswith("Skip-gram: 5 pairs")  # "four": 3 left, 2 right


def test_cbow_and_onehot_views_show_the_window_and_the_row(app_test):
    at = open_page(PIPE, {"w2v_view": "CBOW", "w2v_centre": "3"})
    assert not at.exception
    words = tokens.tokenize(DECK)
    vocab = list(dict.fromkeys(words))
    W = pairs.toy_matrix(len(vocab), 5, seed=0)
    f = fig_named(at, "CBOW:")
    ctx = ["quick", "brown", "jumps", "over"]  # around "fox", window 2
    assert f["data"][0]["y"] == [f"W[{w}]" for w in ctx] + ["h = average"]
    np.testing.assert_allclose(arr(f["data"][0]["z"])[-1], W[[vocab.index(w) for w in ctx]].mean(0))
    at = open_page(PIPE, {"w2v_view": "One-hot \u00d7 W", "w2v_centre": "3"})
    f = fig_named(at, "One-hot")
    prod = arr(f["data"][2]["z"])
    np.testing.assert_allclose(prod[vocab.index("fox")], W[vocab.index("fox")])


def test_subsampling_view_plots_the_formula_and_counts_survivors(app_test):
    at = open_page(PIPE, {"w2v_view": "Subsampling", "w2v_sample": "0.001"})
    assert not at.exception
    f = fig_named(at, "Subsampling with s = 0.001")
    x, y = arr(f["data"][0]["x"]), arr(f["data"][0]["y"])
    np.testing.assert_allclose(y, (np.sqrt(x / 1e-3) + 1) * 1e-3 / x)
    marked = f["data"][2]
    assert marked["text"][0] == "the" and len(marked["text"]) == 12
    c = tokens.builtin("shakespeare")
    assert at.metric[0].value == f"{len(c.ids):,}"
    at.select_slider(key="w2v_sample").set_value(0.0).run()
    assert any("Subsampling is off" in i.value for i in at.info)
    assert at.metric[1].value == f"{len(c.ids):,}"


def test_negatives_view_draws_for_the_pair_and_flags_hits(app_test):
    c = tokens.builtin("shakespeare")
    sampler = negatives.NegativeSampler(c.vocab.counts)
    # find a draw number whose 20 negatives for (king, the) include "the" itself
    seed = next(s for s in range(200) if any(negatives.draw_for_pair(
        sampler, c.vocab.stoi["king"], c.vocab.stoi["the"], 20, np.random.default_rng(s)).is_context))
    at = open_page(PIPE, {"w2v_view": "Negative sampling", "w2v_k": "20", "w2v_draw": str(seed)})
    assert not at.exception
    drawn = negatives.draw_for_pair(sampler, c.vocab.stoi["king"], c.vocab.stoi["the"], 20,
                                    np.random.default_rng(seed))
    f = fig_named(at, "20 negatives drawn (")
    bar = f["data"][0]
    assert bar["x"] == [f"{i + 1}. {c.vocab.words[n]}" for i, n in enumerate(drawn.negatives)]
    assert [col == wp.HIT_COLOR for col in bar["marker"]["color"]] == list(drawn.is_context)
    noise = fig_named(at, "The noise distribution")
    np.testing.assert_allclose(arr(noise["data"][1]["y"])[:15], sampler.probs[:15])
    # the page says that the live trainer shares a draw by a block of pairs
    assert any("shares each such draw of 20 by a block of 64" in cap.value for cap in at.caption)
    # an unknown word: a clear message, the distribution still shown
    at.text_input(key="w2v_ncontext").input("zzzq").run()
    assert not at.exception
    assert any("is not among Shakespeare" in w.value for w in at.warning)
    assert fig_named(at, "The noise distribution")


def test_hostile_sentence_is_escaped_everywhere(app_test):
    evil = '<script>alert(1)</script> <img src=x onerror="alert(2)"> **bold** [link](http://x)'
    at = open_page(PIPE, {"w2v_sentence": evil})
    assert not at.exception
    html = " ".join(h.value for h in at.html)
    assert "<span>&lt;</span>" in html and "&quot;</span>" in html  # shown, one escaped character at a time
    assert "<script" not in html and "<img" not in html
    for f in figs(at):
        s = json.dumps(f)
        assert "<img" not in s and "<script" not in s
    assert "<img" not in text(at)


def test_a_sentence_without_two_words_gets_a_note(app_test):
    at = open_page(PIPE, {"w2v_sentence": "!!! ..."})
    assert not at.exception
    assert any("at least two words" in i.value for i in at.info)
    assert not at.get("plotly_chart")


# ------------------------------------------------------------------ lab page


def steps_metric(at) -> int:
    for m in at.metric:
        if m.label == "Steps":
            return int(m.value.replace(",", ""))
    return -1


def test_live_training_on_pasted_text_step_train_pause_reset(app_test):
    at = app_test(LAB)
    assert not at.exception
    assert any("Press **Train** to start" in i.value for i in at.info)
    at.radio(key="w2v_corpus").set_value("own").run()
    at.text_area(key="w2v_paste").input(PASTE).run()
    at.text_input(key="w2v_words").input("king, woman").run()
    at.button[[b.label for b in at.button].index("Step 100")].click().run()
    r = runner(at)
    assert r is not None and isinstance(r.trainer, Word2VecTrainer)
    assert not at.button[[b.label for b in at.button].index("Pause")].proto.disabled  # the new run can be paused
    assert wait_until(at, lambda a: not runner(a).active and runner(a).steps == 100)
    at.run()
    assert steps_metric(at) == 100
    loss = fig_named(at, "Loss")
    assert loss["data"][0]["y"] and loss["data"][1]["name"] == "untrained model"
    df = at.dataframe[0].value
    assert list(df.columns) == ["king", "woman"] and len(df) == 6
    # the rank of queen for king - man + woman is tracked from step 0
    rank = fig_named(at, "Rank of the expected answer")
    assert rank["data"][0]["x"][0] == 0
    at.button[[b.label for b in at.button].index("Train")].click().run()
    assert wait_until(at, lambda a: runner(a).steps > 100)
    at.button[[b.label for b in at.button].index("Pause")].click().run()
    assert wait_until(at, lambda a: not runner(a).active)
    at.run()
    n = runner(at).steps
    at.run()
    assert steps_metric(at) == n == runner(at).steps
    # GloVe beside the live model: two neighbour tables, the live one over this text's words
    at.segmented_control(key="w2v_lab").set_value("glove").run()
    assert any(m.value == "**Your live model**" for m in at.markdown)
    assert [list(d.value.columns) for d in at.dataframe] == [["king", "woman"], ["king", "woman"]]
    assert set(at.dataframe[1].value["king"].str.split().str[0]) <= set(tokens.tokenize(PASTE))
    at.segmented_control(key="w2v_lab").set_value("live").run()
    at.button[[b.label for b in at.button].index("Reset")].click().run()
    assert runner(at) is None
    assert not at.exception


def test_full_softmax_on_all_of_shakespeare_is_refused_with_advice(app_test):
    at = open_page(LAB, {"w2v_obj": "Full softmax", "w2v_vocab": "All words used 5+ times"})
    at.button[[b.label for b in at.button].index("Step 1")].click().run()
    assert not at.exception
    assert any("full softmax over 9,126 words" in e.value for e in at.error)
    assert runner(at) is None


def test_own_text_without_text_asks_for_some(app_test):
    at = open_page(LAB, {"w2v_corpus": "Your own text"})
    at.button[[b.label for b in at.button].index("Step 1")].click().run()
    assert any("Upload a text file or paste some text" in e.value for e in at.error)
    assert runner(at) is None


def test_glove_view_answers_the_analogy_and_the_switch_shows_the_mistake(app_test):
    at = open_page(LAB, {"w2v_lab": "Pretrained GloVe"})
    assert not at.exception
    md = text(at)
    assert "= ?** queen (0.85)" in md and "answer number 1" in md
    df = at.dataframe[0].value
    assert "king" not in list(df["king"].str.split().str[0])
    at.toggle(key="w2v_exclude").set_value(False).run()
    assert "= ?** king (" in text(at)
    pair = fig_named(at, "GloVe: the man - woman pairs")
    assert len(pair["layout"]["annotations"]) == 8
    linked = open_page(LAB, {"w2v_lab": "Pretrained GloVe", "w2v_a": "paris", "w2v_b": "france", "w2v_c": "italy",
                             "w2v_e": "rome", "w2v_pairs": "company - CEO"})
    assert "= ?** rome (" in text(linked)
    assert fig_named(linked, "GloVe: the company - CEO pairs")


def test_chars_view_projects_every_character(app_test):
    from rnnviz.checkpoint import load_pretrained

    at = open_page(LAB, {"w2v_lab": "Back to characters"})
    assert not at.exception
    ck = load_pretrained("shakespeare_lstm")
    f = fig_named(at, "Its character embeddings")
    shown = sum(len(arr(t["x"])) for t in f["data"])
    assert shown == len(ck.vocab)
    assert any("vowel" == t["name"] for t in f["data"])
    assert any("(" in m.value for m in at.markdown)  # neighbours of "a" with their cosines


def test_presenter_mode_tucks_the_settings_away(app_test):
    at = open_page(PIPE, {"w2v_view": "Negative sampling", "present": "true"})
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any(lbl.endswith("Settings") for lbl in labels), labels
    assert at.slider(key="w2v_k").value == 5  # still there, inside the expander
    normal = open_page(PIPE, {"w2v_view": "Negative sampling"})
    assert not any(e.label.endswith("Settings") for e in normal.expander)
    lab = open_page(LAB, {"w2v_lab": "Pretrained GloVe", "present": "true"})
    assert any(e.label.endswith("Questions") for e in lab.expander)
