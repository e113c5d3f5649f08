"""Library pieces behind the Words pages: word spans, window roles, analogy projections,
survival counts, empirical negatives, and the figures built from them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnviz.plots import words as wp
from rnnviz.words import negatives, pairs, subsample, tokens
from rnnviz.words.vectors import Embeddings, analogy_label, char_group

DECK = "The quick brown fox jumps over the lazy dog."


def test_token_spans_are_the_tokens_where_they_stand():
    text = "The <b>quick</b>, 'tis o'er \u0130stanbul"
    spans = tokens.token_spans(text)
    assert [w for w, _, _ in spans] == tokens.tokenize(text)
    assert [w for w, _, _ in spans] == ["the", "b", "quick", "b", "tis", "o'er", "i\u0307stanbul"]
    for w, a, b in spans:
        assert text[a:b].lower() == w


def test_roles_mark_the_centre_and_its_window():
    r = pairs.roles(9, 2, 3)  # "fox" in the deck's sentence
    assert r == ["", "context", "context", "centre", "context", "context", "", "", ""]
    assert pairs.roles(3, 5, 0) == ["centre", "context", "context"]
    with pytest.raises(ValueError, match="does not exist"):
        pairs.roles(3, 2, 3)
    words = tokens.tokenize(DECK)
    # the arcs the figure draws are exactly the deck's pairs of that centre
    fig = wp.window_figure(words, r, [p for p in pairs.skipgram_pairs(words, 2) if p[0] == "fox"])
    arcs = [t for t in fig.data if t.name == "pairs"][0]
    assert list(arcs.text) == ["(fox, quick)", "(fox, brown)", "(fox, jumps)", "(fox, over)"]
    assert fig.layout.title.text.startswith("Skip-gram: 4 pairs")


def test_one_hot_figure_shows_the_selected_row():
    W = pairs.toy_matrix(4, 3, seed=2)
    fig = wp.onehot_figure(["a", "b", "c", "d"], W, 2)
    prod = np.asarray(fig.data[2].z, dtype=float)
    np.testing.assert_allclose(prod[2], W[2])  # x . W, on the selected word's row
    assert np.isnan(np.delete(prod, 2, axis=0)).all()
    assert np.asarray(fig.data[0].z).ravel().tolist() == [0, 0, 1, 0]
    assert pairs.toy_matrix(4, 3, seed=2).tolist() == W.tolist()  # seeded: the same every run


def test_cbow_figure_last_row_is_the_average():
    rows = np.array([[1.0, 2.0], [3.0, -2.0]])
    fig = wp.cbow_figure(["quick", "fox"], "brown", rows)
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z[-1], [2.0, 0.0])
    assert list(fig.data[0].y) == ["W[quick]", "W[fox]", "h = average"]


def test_survival_counts_follow_the_keep_table():
    counts = np.array([5000, 1000, 10, 1])
    s = subsample.survival(counts, 1e-3, window=2)
    keep = subsample.keep_table(counts, 1e-3)
    assert s.words_before == 6011 and s.words_after == pytest.approx((counts * keep).sum())
    assert s.pairs_before == pytest.approx(6011 * 3) and s.pairs_after == pytest.approx(s.words_after * 3)
    off = subsample.survival(counts, 0, window=2)
    assert off.words_after == 6011 and off.share == 1.0


def test_empirical_negatives_approach_the_noise_distribution():
    counts = np.array([900, 90, 9, 1])
    sampler = negatives.NegativeSampler(counts)
    share = negatives.empirical(sampler, 200_000, np.random.default_rng(0))
    assert share.sum() == pytest.approx(1.0)
    # binomial standard error per word is at most ~0.0011 here; 5 of them is a generous bound
    assert np.abs(share - sampler.probs).max() < 0.006
    with pytest.raises(ValueError):
        negatives.empirical(sampler, 0, np.random.default_rng(0))


def test_analogy_projection_places_the_computed_point_on_the_same_axes():
    words = ["king", "queen", "man", "woman", "apple"]
    m = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1]], dtype=np.float32)
    e = Embeddings(words, m, "toy")
    p = e.analogy_projection("king", "man", "woman", ["queen"])
    assert p.words == ("man", "king", "woman", "queen")
    label = analogy_label("king", "man", "woman")
    assert p.extra == (label,)
    # the computed point is projected with the same centring and directions as the words
    u = e.unit
    X = u[[2, 0, 3, 1]].astype(np.float64)
    from rnnviz.words.vectors import pca_2d
    _, dirs, _ = pca_2d(X)
    expected = (u[0] - u[2] + u[3] - X.mean(0)) @ dirs.T
    np.testing.assert_allclose(p.point(label), expected, atol=1e-6)
    fig = wp.projection_figure(p, title="t", arrows=[("man", "king"), ("woman", "queen")])
    assert len(fig.layout.annotations) == 2
    assert [t.name for t in fig.data] == ["words", "computed point"]


def test_figures_escape_words_from_users():
    evil = "<img src=x onerror=alert(1)>"
    p = Embeddings([evil, "b", "c"], np.eye(3, dtype=np.float32), "toy").project([evil, "b", "c"])
    specs = [
        wp.projection_figure(p, title="t"),
        wp.noise_figure([evil, "b"], [0.5, 0.5], [0.5, 0.5]),
        wp.negatives_figure([evil], [0.1], [True], evil),
        wp.survivors_figure([evil], [10], [0.5]),
        wp.keep_figure((1e-5, 0.1), 1e-3, [(evil, 0.05, 0.2)]),
        wp.window_figure([evil, "b"], ["centre", "context"], [(evil, "b")]),
    ]
    for fig in specs:
        s = json.dumps(fig.to_plotly_json(), default=str)
        assert "<img" not in s and "&lt;img" in s


def test_keep_figure_curve_is_the_formula():
    fig = wp.keep_figure((1e-6, 0.05), 1e-3, [("the", 0.03, float(subsample.keep_probability(0.03)))])
    x, y = np.asarray(fig.data[0].x), np.asarray(fig.data[0].y)
    np.testing.assert_allclose(y, subsample.keep_probability(x, 1e-3))


def test_rank_and_loss_figures_carry_the_history():
    fig = wp.rank_figure([(0, 900), (50, 12), (100, 3)], "king - man + woman = queen")
    assert list(fig.data[0].y) == [900, 12, 3] and fig.layout.yaxis.autorange == "reversed"
    lf = wp.loss_figure([(1, 4.1), (2, 3.0)], baseline=6 * np.log(2))
    assert list(lf.data[0].y) == [4.1, 3.0] and lf.data[1].y[0] == pytest.approx(6 * np.log(2))


def test_char_groups():
    assert [char_group(c) for c in "aB \n7!E"] == ["vowel", "consonant (capital)", "space or line break",
                                                  "space or line break", "digit", "punctuation or symbol",
                                                  "vowel (capital)"]


def test_neighbour_table_columns_and_missing_words():
    words = ["a", "a2", "a3", "b", "b2"]
    m = np.array([[1, 0, 0], [0.9, 0.1, 0], [0.8, 0.3, 0], [0, 1, 0], [0.1, 0.9, 0.2]], dtype=np.float32)
    e = Embeddings(words, m, "toy")
    from rnnviz.words.vectors import neighbour_table
    cols, missing = neighbour_table(e, ["a", "zebra", "b", "a"], k=2)
    assert list(cols) == ["a", "b"] and missing == ["zebra"]
    assert [c.split()[0] for c in cols["a"]] == ["a2", "a3"]
    with_query, _ = neighbour_table(e, ["a"], k=1, exclude_query=False)
    assert with_query["a"] == ["a (1.00)"]
