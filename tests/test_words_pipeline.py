"""Word2vec pipeline pieces: tokens, the deck's pairs, CBOW windows, subsampling, negatives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.words import negatives, pairs, subsample, tokens

DECK = "The quick brown fox jumps over the lazy dog."


def test_deck_pairs_window_2_exactly():
    seq = tokens.tokenize(DECK)
    assert seq == ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    got = pairs.skipgram_pairs(seq, 2)
    # The deck's four rows, in its order.
    assert got[:11] == [
        ("the", "quick"), ("the", "brown"),
        ("quick", "the"), ("quick", "brown"), ("quick", "fox"),
        ("brown", "the"), ("brown", "quick"), ("brown", "fox"), ("brown", "jumps"),
        ("fox", "quick"), ("fox", "brown"),
    ]
    assert got[11:13] == [("fox", "jumps"), ("fox", "over")]
    assert got[-2:] == [("dog", "the"), ("dog", "lazy")]
    assert len(got) == 2 * (2 * 9 - 3)  # each of the 9 words, minus what falls off the ends


def test_windows_and_cbow_are_the_same_window_turned_round():
    seq = tokens.tokenize(DECK)
    w = pairs.windows(seq, 2)[3]
    assert (w.centre, w.context) == (3, (1, 2, 4, 5))
    ctx, centre = pairs.cbow_examples(seq, 2)[3]
    assert ctx == ("quick", "brown", "jumps", "over") and centre == "fox"
    with pytest.raises(ValueError, match="window"):
        pairs.windows(seq, 0)


def test_vectorised_pairs_match_the_simple_ones_without_shrinking():
    ids = np.array([4, 1, 3, 1, 0, 2, 4], dtype=np.int64)
    rng = np.random.default_rng(0)
    c, o = pairs.skipgram_batch(ids, 3, rng, shrink=False)
    assert list(zip(c.tolist(), o.tolist())) == pairs.skipgram_pairs(ids.tolist(), 3)
    ctx, mask, centres = pairs.cbow_batch(ids, 3, rng, shrink=False)
    simple = pairs.cbow_examples(ids.tolist(), 3)
    assert [tuple(r[m].tolist()) for r, m in zip(ctx, mask)] == [s[0] for s in simple]
    assert centres.tolist() == [s[1] for s in simple]
    # With shrinking every pair is still within the window, and some far ones go.
    c2, o2 = pairs.skipgram_batch(np.arange(200), 3, rng)
    assert np.all(np.abs(c2 - o2) <= 3) and len(c2) < len(pairs.skipgram_pairs(list(range(200)), 3))


def test_one_hot_times_w_is_a_row_of_w():
    W = np.arange(12, dtype=np.float32).reshape(4, 3)
    x, row = pairs.one_hot_row(W, 2)
    assert x.tolist() == [0, 0, 1, 0]
    assert np.array_equal(row, W[2])
    with pytest.raises(ValueError, match="outside"):
        pairs.one_hot_row(W, 4)


def test_keep_probability_is_the_deck_formula():
    for z in (1e-6, 1e-4, 0.001, 0.0026, 0.01, 0.05, 0.3):
        expected = (math.sqrt(z / 0.001) + 1) * 0.001 / z
        assert subsample.keep_probability(z) == pytest.approx(expected, rel=1e-12)
    assert subsample.keep_probability(0.01, sample=1e-4) == pytest.approx((math.sqrt(100) + 1) * 1e-4 / 0.01)
    counts = np.array([900, 90, 9, 1])
    table = subsample.keep_table(counts)
    assert table[-1] == 1.0 and table[0] == pytest.approx((math.sqrt(0.9 / 0.001) + 1) * 0.001 / 0.9)
    assert subsample.keep_table(counts, sample=0).tolist() == [1, 1, 1, 1]


def test_survivors_count_follows_the_keep_table():
    counts = np.array([5000, 3000, 1000, 200, 50, 10])
    ids = np.repeat(np.arange(6), counts)
    keep = subsample.keep_table(counts)
    kept = subsample.subsample(ids, keep, np.random.default_rng(1))
    expected = subsample.expected_survivors(counts)
    assert expected == pytest.approx((counts * keep).sum())
    assert abs(len(kept) - expected) < 4 * math.sqrt(expected)
    assert np.count_nonzero(kept == 5) == 10  # rare words always survive


def test_negative_sampler_matches_unigram_to_the_three_quarters():
    counts = np.array([4000, 1500, 700, 300, 120, 60, 25, 10, 5, 2], dtype=np.int64)
    sampler = negatives.NegativeSampler(counts)
    p = counts ** 0.75 / (counts ** 0.75).sum()
    assert np.allclose(sampler.probs, p)
    n = 400_000
    drawn = sampler.draw(n, np.random.default_rng(123))
    observed = np.bincount(drawn, minlength=len(counts))
    chi2 = float(((observed - n * p) ** 2 / (n * p)).sum())
    # 9 degrees of freedom: the 99.9 % quantile is 27.9.
    assert chi2 < 27.9, chi2
    # ... and plain unigram frequencies are clearly rejected.
    u = counts / counts.sum()
    assert float(((observed - n * u) ** 2 / (n * u)).sum()) > 1000


def test_drawn_negatives_are_flagged_when_they_hit_the_true_context():
    sampler = negatives.NegativeSampler(np.array([1000, 1]))  # word 0 is drawn almost always
    d = negatives.draw_for_pair(sampler, centre=1, context=0, k=5, rng=np.random.default_rng(0))
    assert len(d.negatives) == 5
    assert d.is_context == tuple(n == 0 for n in d.negatives) and any(d.is_context)
    with pytest.raises(ValueError, match="at least one"):
        negatives.draw_for_pair(sampler, 1, 0, 0, np.random.default_rng(0))


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n ", "only whitespace"),
    ("!!! ... ???", "no words"),
    ("hello hello HELLO hello", "one distinct word"),
])
def test_unusable_text_gets_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message):
        tokens.from_text(text)


def test_user_text_and_bytes_become_a_word_corpus():
    c = tokens.from_text("The cat sat. The cat ran! <b>dog</b>")
    # Most frequent first, ties alphabetically; markup is just more words ("b" twice).
    assert c.vocab.words == ("b", "cat", "the", "dog", "ran", "sat")
    assert c.vocab.counts.tolist() == [2, 2, 2, 1, 1, 1] and len(c) == c.raw_tokens == 9
    with pytest.raises(ValueError, match="at least 3 times"):
        tokens.from_text("a b c a", min_count=3)
    assert tokens.from_bytes("élan vital élan".encode()).vocab.words == ("élan", "vital")
    with pytest.raises(ValueError, match="binary"):
        tokens.from_bytes(b"ab\x00cd")
