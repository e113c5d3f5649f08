"""The bundled models of issue 19 (kernel_lstm, austen_lstm): they load, the cell
explorer opens them on their shipped held-out text (no Debian package needed), and
their cards' cells are what the project's cell finder measures on that text."""

import html
import re

import pytest

from rnnviz import checkpoint as ckpt
from rnnviz import corpora, pretrain, probes

PAGE = "pages/cells.py"
MODELS = {"kernel_lstm": ("kernel", "c", "comment"), "austen_lstm": ("austen", "text", "double_quote")}


def _bundled(name):
    if name not in ckpt.pretrained_names():
        pytest.fail(f"the bundled model {name} is missing from pretrained/")
    return ckpt.load_pretrained(name)


@pytest.mark.parametrize("name", list(MODELS))
def test_bundled_model_reads_its_held_out_text(name):
    cp = _bundled(name)
    corpus, language, _ = MODELS[name]
    assert cp.card["corpus"] == corpus and cp.model.config.cell == "lstm"
    assert not cp.vocab.unknown(corpora.held_out(corpus).text)  # every held-out character is known
    assert cp.card["val_chars"] == min(200_000, len(corpora.held_out(corpus).text))


@pytest.mark.parametrize("name", list(MODELS))
def test_card_cells_are_what_the_finder_measures_on_the_shipped_text(name):
    cp = _bundled(name)
    card = cp.card["probes"]
    keys = tuple(k for k in card if isinstance(card[k], dict))
    assert card["language"] == MODELS[name][1] and card["chars"] >= 19_000 and MODELS[name][2] in keys
    _same_cells(probes.report(cp, length=20_000, keys=keys), card, keys)
    if name == "kernel_lstm":  # and on the lecture's four kernel functions
        deck = cp.card["probes_deck"]
        assert deck["chars"] == len(corpora.kernel_deck_functions()) and deck["language"] == "c"
        _same_cells(probes.report(cp, corpora.kernel_deck_functions(), language="c", keys=keys), deck, keys)


    reports = {k: cp.card[k] for k in ("probes", "probes_deck") if k in cp.card}
    assert cp.card["acceptance"] == pretrain.acceptance(pretrain.GOALS[name], reports)  # said plainly in the card


def test_acceptance_says_whether_every_goal_is_met_on_every_text():
    goals = {"comment": 0.7, "string": 0.6}
    rep = lambda c, s: {"comment": {"abs_r": c}, "string": {"abs_r": s}}  # noqa: E731
    ok = pretrain.acceptance(goals, {"probes": rep(0.9, 0.6)})
    assert ok == {"goals": goals, "measured": {"probes": {"comment": 0.9, "string": 0.6}}, "met": True}
    assert not pretrain.acceptance(goals, {"probes": rep(0.9, 0.6), "probes_deck": rep(0.69, 0.8)})["met"]


def _same_cells(got, card, keys):
    for k in keys:
        assert (got[k]["layer"], got[k]["signal"], got[k]["unit"]) == (card[k]["layer"], card[k]["signal"],
                                                                        card[k]["unit"]), k
        assert got[k]["abs_r"] == pytest.approx(card[k]["abs_r"], abs=1e-3), k


def _caption(at, start):
    return next(c.value for c in at.caption if c.value.startswith(start))


@pytest.mark.parametrize("name", list(MODELS))
def test_cell_explorer_opens_the_model_on_its_held_out_text(app_test, name):
    at = app_test()
    at.query_params.update({"cx_model": name, "cx_len": "1000"})
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    corpus, language, hyp = MODELS[name]
    assert at.selectbox(key="cx_model").value == name and at.button_group(key="cx_source").value == "val"
    caption = _caption(at, "Characters 0 to ")
    assert f"held-out {corpora.title(corpus)} text shipped with the app" in caption
    assert at.selectbox(key="cx_hyp").value == hyp  # the language's default hypothesis: from the corpus
    heat = [h.value for h in at.html if "rnnviz-text" in h.value]
    excerpt = probes.validation_excerpt(corpora.held_out(corpus), language, 1000).text
    assert heat and heat[0].count("<span") > 0.9 * len(excerpt)  # one span per character of the excerpt
    shown = html.unescape(re.sub(r"<[^>]*>", "", heat[0]))
    assert excerpt.split("\n")[0] in shown  # the excerpt's first line, character by character
