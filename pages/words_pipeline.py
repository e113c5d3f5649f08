"""Word2vec, step by step: how a text becomes training examples (issue 14, items 1-3).

On one sentence (the deck's "The quick brown fox..." by default, or the student's
own): the sliding window and its skip-gram pairs, the same window read by CBOW
(context -> centre through the average of the context vectors), and why one-hot x W
is a lookup. On the built-in Shakespeare: the subsampling curve with the corpus's
most frequent words on it and how many pairs survive, and the noise distribution
(unigram^0.75) with the negatives drawn for one pair. Every number comes from
``rnnviz.words``; the figures from ``rnnviz.plots.words``.
"""

import numpy as np
import pandas as pd
import streamlit as st

from rnnviz.plots import words as wp
from rnnviz.ui import charts, page, pickers, present
from rnnviz.ui import html as H
from rnnviz.words import negatives, pairs, subsample, tokens
from rnnviz.words.trainer import Word2VecConfig

VIEWS = {"pairs": "Skip-gram pairs", "cbow": "CBOW", "onehot": "One-hot \u00d7 W",
         "subsample": "Subsampling", "negatives": "Negative sampling"}
DECK = "The quick brown fox jumps over the lazy dog."
MAX_WORDS = 40
SAMPLES = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]


@st.cache_resource(show_spinner="Reading Shakespeare as words (once per server)\u2026")
def shakespeare():
    corpus = tokens.builtin("shakespeare")
    return corpus, negatives.NegativeSampler(corpus.vocab.counts)


# ------------------------------------------------------------------ one sentence


def sentence():
    """The sentence box and the window: (words, spans, text, window), or None after a note."""
    c1, c2 = st.columns([3, 1])
    text = c1.text_input("A sentence (yours or the deck's)", DECK, key="w2v_sentence", bind="query-params",
                         max_chars=400, help="Words are runs of letters or digits, lower-cased.")
    window = c2.slider("Window (words on each side)", 1, 5, 2, key="w2v_window", bind="query-params")
    spans = tokens.token_spans(text)
    if len(spans) < 2:
        st.info("Type a sentence with at least two words: a pair needs a centre and a context word.")
        return None
    if len(spans) > MAX_WORDS:
        st.caption(f"Only the first {MAX_WORDS} words are shown.")
        spans = spans[:MAX_WORDS]
    return [w for w, _, _ in spans], spans, text, window


def coloured_sentence(text, spans, roles):
    """The sentence as typed, the centre and its window coloured in place (escaped per character)."""
    colors, bold = [None] * len(text), [False] * len(text)
    for (_, a, b), role in zip(spans, roles):
        colors[a:b] = [wp.ROLE_RGB.get(role)] * (b - a)
        bold[a:b] = [role == pairs.CENTRE] * (b - a)
    frag = H.char_spans(list(text), colors, bold=bold, max_height=160,
                        caption="orange: the centre word \u00b7 blue: its window")
    charts.html_view(frag, name="word2vec-window", title="The centre word and its window", key="w2v_sentence_view")


def centre_and_roles(words, text, spans, window):
    centre = pickers.cell_stepper("w2v", len(words), label="Centre word", key="w2v_centre")
    roles = pairs.roles(len(words), window, centre)
    coloured_sentence(text, spans, roles)
    return centre, roles


def view_pairs(words, text, spans, window):
    centre, roles = centre_and_roles(words, text, spans, window)
    mine = [(words[centre], words[j]) for j in pairs.windows(words, window)[centre].context]
    charts.chart(wp.window_figure(words, roles, mine), key="w2v_pairs_fig", name="word2vec-pairs")
    every = pairs.skipgram_pairs(words, window)
    st.markdown(f"**All {len(every)} pairs** of the sentence with window {window}, centre by centre "
                "(the rows of this centre are ticked):")
    table = pd.DataFrame(every, columns=["centre", "context"])
    owner = [w.centre for w in pairs.windows(words, window) for _ in w.context]
    table.insert(0, "this centre", [i == centre for i in owner])
    st.dataframe(table, hide_index=True, height=260, width="stretch")


def toy_rows(words):
    vocab = list(dict.fromkeys(words))
    return vocab, pairs.toy_matrix(len(vocab), 5, seed=0)


def view_cbow(words, text, spans, window):
    centre, _ = centre_and_roles(words, text, spans, window)
    vocab, W = toy_rows(words)
    ctx = [words[j] for j in pairs.windows(words, window)[centre].context]
    rows = np.array([W[vocab.index(w)] for w in ctx])
    st.markdown("CBOW turns the window round: the context words together predict the centre. "
                "Their rows of W (random here, before training) are averaged into the hidden layer *h*.")
    charts.chart(wp.cbow_figure(ctx, words[centre], rows), key="w2v_cbow_fig", name="word2vec-cbow")


def view_onehot(words, text, spans, window):
    centre, _ = centre_and_roles(words, text, spans, window)
    vocab, W = toy_rows(words)
    st.markdown(f"The sentence has {len(vocab)} different words. Word number "
                f"{vocab.index(words[centre]) + 1} as a one-hot vector, times W, is its row of W.")
    charts.chart(wp.onehot_figure(vocab, W, vocab.index(words[centre])), key="w2v_onehot_fig",
                 name="word2vec-onehot")


# ------------------------------------------------------------------ the corpus


def view_subsample():
    corpus, _ = shakespeare()
    v = corpus.vocab
    with present.controls():
        c1, c2, c3 = st.columns(3)
        sample = c1.select_slider("Threshold s", SAMPLES, 1e-3, key="w2v_sample", bind="query-params",
                                  format_func=lambda s: "off" if s == 0 else f"{s:g}")
        marks = c2.slider("Words marked on the curve", 5, 30, 12, key="w2v_marks", bind="query-params")
        window = c3.slider("Window (for the pair count)", 1, 10, 5, key="w2v_swindow", bind="query-params")
    z = v.frequencies
    keep = subsample.keep_table(v.counts, sample)
    if sample > 0:
        p = subsample.keep_probability(z[:marks], sample)
        charts.chart(wp.keep_figure((float(z.min()), float(z.max()) * 1.5), sample,
                                    list(zip(v.words[:marks], z[:marks], p))),
                     key="w2v_keep_fig", name="word2vec-subsampling")
    else:
        st.info("Subsampling is off: every word is kept, however frequent.")
    s = subsample.survival(v.counts, sample, window)
    c1, c2, c3 = st.columns(3)
    c1.metric("Words in Shakespeare", f"{s.words_before:,}")
    c2.metric("Kept on average", f"{s.words_after:,.0f}", f"{s.share - 1:+.0%}", delta_color="off")
    c3.metric(f"Skip-gram pairs (window {window})", f"{s.pairs_after:,.0f}",
              f"{s.pairs_after - s.pairs_before:+,.0f}", delta_color="off")
    charts.chart(wp.survivors_figure(v.words[:marks], v.counts[:marks], keep[:marks]), key="w2v_surv_fig",
                 name="word2vec-kept-words")


def pick_word(label, default, key, vocab):
    word = st.text_input(label, default, key=key, bind="query-params", max_chars=40).strip().lower()
    if word not in vocab:
        st.warning(f"\u201c{H.md(word)}\u201d is not among Shakespeare's {len(vocab):,} words (those used at "
                   "least 5 times). Try another word.")
        return None
    return word


def view_negatives():
    corpus, sampler = shakespeare()
    v = corpus.vocab
    with present.controls():
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            centre = pick_word("Centre word", "king", "w2v_ncentre", v)
        with c2:
            context = pick_word("True context word", "the", "w2v_ncontext", v)
        k = c3.slider("Negatives k", 1, 20, 5, key="w2v_k", bind="query-params")
        seed = c4.number_input("Draw number", 0, 10_000, 0, key="w2v_draw", bind="query-params",
                               help="Each number is a different random draw; the same number, the same draw.")
        log = st.toggle("Log scale", True, key="w2v_log", bind="query-params")
    shown = list(range(15)) + list(range(len(v) - 5, len(v)))
    unigram = v.frequencies
    share = negatives.empirical(sampler, 100_000, np.random.default_rng(7))
    st.markdown("The 15 most frequent words and 5 of the rarest. Bars: the two distributions; "
                "diamonds: each word's share of 100,000 negatives drawn from the table.")
    charts.chart(wp.noise_figure([v.words[i] for i in shown], unigram[shown], sampler.probs[shown], share[shown],
                                 log=log), key="w2v_noise_fig", name="word2vec-noise")
    if centre is None or context is None:
        return
    drawn = negatives.draw_for_pair(sampler, v.stoi[centre], v.stoi[context], k, np.random.default_rng(seed))
    st.markdown(f"For the pair (**{H.md(centre)}**, **{H.md(context)}**) the model is taught "
                f"\u201cscore {H.md(context)} high\u201d and \u201cscore these {k} words low\u201d:")
    charts.chart(wp.negatives_figure([v.words[i] for i in drawn.negatives], sampler.probs[list(drawn.negatives)],
                                     drawn.is_context, context), key="w2v_negs_fig", name="word2vec-negatives")
    chance = 1 - (1 - sampler.probs[v.stoi[context]]) ** k
    st.caption(f"The chance that at least one of {k} negatives is \u201c{H.md(context)}\u201d itself: {chance:.1%}. "
               f"The live trainer shares each such draw of {k} by a block of {Word2VecConfig.negative_block} "
               "shuffled pairs, which is faster and learns the same on average.")


def main():
    page.header("Word2vec: from text to training pairs",
                "How word2vec turns plain text into training examples, and the two tricks that make "
                "training fast. Type a sentence, move the window, step the centre word along.",
                lesson="word2vec")
    view = page.view_switch("w2v_view", VIEWS)
    if view in ("subsample", "negatives"):
        {"subsample": view_subsample, "negatives": view_negatives}[view]()
        return
    got = sentence()
    if got is None:
        return
    words, spans, text, window = got
    {"pairs": view_pairs, "cbow": view_cbow, "onehot": view_onehot}[view](words, text, spans, window)


main()
