"""Word2vec trained live, beside GloVe and the character models (issue 14, items 4-6).

Skip-gram or CBOW (negative sampling, or a full softmax on a small vocabulary) on
Shakespeare or the student's own text, in the char models' runner, workers and CPU
slots. While it trains: loss, words/s, neighbours, an analogy's top five, the analogy
on a plane, and the rank of its answer. The same views on GloVe (loaded only when its
view opens) and on a character model's embedding table.
"""

import math

import pandas as pd
import streamlit as st

from rnnviz.plots import words as wp
from rnnviz.plots.cells import char_label
from rnnviz.ui import charts, live, page, pickers, present, session
from rnnviz.ui import html as H
from rnnviz.words import glove, tokens
from rnnviz.words.trainer import Word2VecConfig, Word2VecTrainer
from rnnviz.words.vectors import analogy_label, char_group, from_char_model, neighbour_table

VIEWS = {"live": "Train live", "glove": "Pretrained GloVe", "chars": "Back to characters"}
ARCHS = {"skipgram": "Skip-gram (centre \u2192 context)", "cbow": "CBOW (context \u2192 centre)"}
OBJECTIVES = {"negative": "Negative sampling", "softmax": "Full softmax"}
VOCABS = {"all": "All words used 5+ times", "2000": "The 2,000 most frequent", "500": "The 500 most frequent"}
SOURCES = {"shakespeare": "Shakespeare", "own": "Your own text"}
SAMPLES = [0.0, 1e-5, 1e-4, 1e-3]
GLOVE_WORDS = 100_000  # the most frequent GloVe words: rare junk tokens stay out of neighbour lists


# ------------------------------------------------------------------ the questions asked of any vectors


def questions():
    """Words to inspect, the exclude switch and the analogy a - b + c = expected."""
    with present.controls("Questions"):
        cols = st.columns([2.6, 1, 1, 1, 1.1, 2.3], vertical_alignment="bottom")  # room for the toggle label
        text = cols[0].text_input("Nearest neighbours of", "king, love, sword, night, lord", key="w2v_words",
                                  bind="query-params", max_chars=200)
        abc = [col.text_input(lbl, d, key=f"w2v_{k}", bind="query-params", max_chars=40).strip().lower()
               for col, lbl, d, k in zip(cols[1:5], ("analogy: a", "\u2212 b", "+ c", "expected"),
                                        ("king", "man", "woman", "queen"), "abce")]
        exclude = cols[5].toggle("Hide query words", True, key="w2v_exclude", bind="query-params",
                                 help="The nearest word to a word is itself, and to king \u2212 man + woman it is "
                                      "usually king. Switch this off to see it.")
    return tokens.tokenize(text)[:8], exclude, abc


def geometry(emb, q, key, *, project=True):
    """Neighbour table, analogy answers and (optionally) the analogy on a plane for ``emb``."""
    words, exclude, (a, b, c, e) = q
    cols, missing = neighbour_table(emb, words, 6, exclude_query=exclude)
    if cols:
        st.dataframe(pd.DataFrame(cols, index=range(1, 7)), width="stretch")
    if missing:
        st.caption("Not in the vocabulary: " + H.md(", ".join(missing)))
    unknown = [w for w in (a, b, c) if w not in emb]
    if unknown:
        st.caption(f"The analogy needs words {H.md(emb.name)} knows; not known: {H.md(', '.join(unknown))}.")
        return
    answers = emb.analogy(a, b, c, 5, exclude_query=exclude)
    rank = f" \u00b7 \u201c{H.md(e)}\u201d is answer number {emb.rank(a, b, c, e, exclude):,}" if e in emb else ""
    st.markdown(f"**{H.md(analogy_label(a, b, c))} = ?** " + ", ".join(f"{H.md(w)} ({s:.2f})" for w, s in answers) + rank)
    if project:
        top = answers[0][0]
        shown = [top] + ([e] if e in emb and e != top else [])
        proj = emb.analogy_projection(a, b, c, shown)
        charts.chart(wp.projection_figure(proj, title=f"The analogy on a plane ({H.md(emb.name)})",
                                          arrows=[(b, a), (c, top), (c, analogy_label(a, b, c))], height=420),
                     key=f"w2v_{key}_proj", name=f"word2vec-analogy-{key}")


# ------------------------------------------------------------------ live training


def w2v_runner():
    r = session.get_runner()
    return r if r is not None and isinstance(r.trainer, Word2VecTrainer) else None


def settings(locked):
    with present.controls("Training settings"):
        radios = (("Text", SOURCES, "w2v_corpus"), ("Model", ARCHS, "w2v_arch"),
                  ("Objective", OBJECTIVES, "w2v_obj"), ("Vocabulary", VOCABS, "w2v_vocab"))
        src, arch, loss, vocab = (col.radio(label, list(opts), key=key, bind="query-params", format_func=opts.get,
                                            disabled=locked) for col, (label, opts, key) in zip(st.columns(4), radios))
        c1, c2, c3, c4, c5 = st.columns(5)
        cfg = dict(
            arch=arch, loss=loss,
            dim=c1.select_slider("Vector size", [10, 25, 50, 100], 100, key="w2v_dim", bind="query-params",
                                 disabled=locked),
            window=c2.slider("Window", 1, 10, 5, key="w2v_win", bind="query-params", disabled=locked),
            negatives=c3.slider("Negatives k", 1, 20, 5, key="w2v_neg", bind="query-params",
                                disabled=locked or loss == "softmax",
                                help=f"Words drawn from unigram^0.75 for every pair to score low. To train "
                                     f"faster, a block of {Word2VecConfig.negative_block} shuffled pairs "
                                     "shares one draw."),
            sample=c4.select_slider("Subsampling s", SAMPLES, 1e-3, key="w2v_sub", bind="query-params",
                                    format_func=lambda s: "off" if s == 0 else f"{s:g}", disabled=locked),
            seed=int(c5.number_input("Seed", 0, 2**31 - 1, 1, key="w2v_seed", bind="query-params",
                                     disabled=locked)))
        upload = paste = None
        if src == "own" and not locked:
            upload = st.file_uploader("A plain-text file (.txt, up to 20 MB)", type=["txt", "md"], key="w2v_upload")
            paste = st.text_area("\u2026or paste text", "", key="w2v_paste", height=120)
    return lambda track: Word2VecTrainer(
        tokens.choose(src, None if vocab == "all" else int(vocab), upload and upload.getvalue(), paste),
        Word2VecConfig(**cfg, track=tuple(track)))


def live_view(q):
    runner = w2v_runner()
    make = settings(runner is not None)
    if runner is not None:
        t = runner.trainer
        st.caption(f"Training {ARCHS[t.cfg.arch]} with {OBJECTIVES[t.cfg.loss].lower()} on "
                   f"{H.md(t.corpus_name)}: {len(t.words):,} words in the vocabulary, {len(t.ids):,} in the text. "
                   "Press Reset to change the settings.")
    runner = live.run_controls("w2v", lambda: make(q[2]), kind=Word2VecTrainer, what="the word vectors")
    if runner is None:
        st.info("Press **Train** to start: the loss, the neighbours and the analogy update as it learns.")
        return

    def render(polling):
        snap = runner.snapshot()
        live.status_line(runner, snap)
        s, t = snap.extra, runner.trainer
        m = st.columns(4)
        m[0].metric("Steps", f"{s['steps']:,}")
        m[1].metric("Words per second", f"{s['words_per_s']:,.0f}" if s["words_per_s"] else "\u2013")
        m[2].metric("Passes over the text", f"{s['epochs_done']:.2f}")
        m[3].metric("Learning rate", f"{s['lr']:.4f}")
        base = (t.cfg.negatives + 1) * math.log(2) if t.cfg.loss == "negative" else math.log(len(t.words))
        left, right = st.columns(2)
        with left:
            charts.chart(wp.loss_figure(snap.loss_history, base), key="w2v_loss", name="word2vec-loss")
        with right:
            if t.track_ids is not None:
                a, b, c, e = t.cfg.track
                charts.chart(wp.rank_figure(snap.rank_history, f"{analogy_label(a, b, c)} = {e}"),
                             key="w2v_rank", name="word2vec-rank")
            else:
                st.caption("The analogy set when training started uses a word this text does not have, "
                           "so its rank is not tracked.")
        with runner.lock:
            emb = t.embeddings()
        geometry(emb, q, "live")

    live.live_panel(render, runner=runner)


# ------------------------------------------------------------------ GloVe and characters


def glove_view(q):
    try:
        with st.spinner("Opening the GloVe vectors (memory-mapped; once per server)\u2026"):
            g = glove.load(GLOVE_WORDS)
    except ValueError as e:
        st.error(H.md(str(e)))
        return
    st.caption(f"{len(g):,} most frequent words of GloVe 6B, 50 numbers each, trained by Stanford on "
               "6 billion words of Wikipedia and news.")
    runner = w2v_runner()
    left, right = st.columns(2) if runner is not None else (st.container(), None)
    with left:
        st.markdown("**GloVe**")
        geometry(g, q, "glove")
    if right is not None:
        with right:
            st.markdown("**Your live model**")
            with runner.lock:
                emb = runner.trainer.embeddings()
            geometry(emb, q, "glove_live")
    name = st.segmented_control("Pair plot", list(glove.PAIRS), default="man - woman", key="w2v_pairs",
                                bind="query-params") or "man - woman"
    proj = g.project(glove.pair_words(name))
    charts.chart(wp.projection_figure(proj, title=f"GloVe: the {name} pairs (PCA of these words)",
                                      arrows=glove.PAIRS[name], height=480),
                 key="w2v_pairs_fig", name="glove-pairs")


def chars_view():
    choice = pickers.model_picker("w2v", default="shakespeare_lstm", label="Character model")
    if choice is None:
        return
    cp = choice.checkpoint
    emb = from_char_model(cp.model, cp.vocab, f"the {choice.label} model")
    labels = {ch: char_label(ch) for ch in emb.words}
    proj = emb.project(emb.words)
    charts.chart(wp.projection_figure(proj, title="Its character embeddings (one row per character, PCA)",
                                      groups={ch: char_group(ch) for ch in emb.words}, labels=labels, height=560),
                 key="w2v_chars_fig", name="char-embeddings")
    ch = st.text_input("Nearest characters of", "a", key="w2v_char", bind="query-params", max_chars=1)
    if ch in emb:
        st.markdown(", ".join(f"**{H.md(labels[c])}** ({s:.2f})" for c, s in emb.neighbours(ch, 8)))
    elif ch:
        st.caption("This model has no such character.")


def main():
    page.header("Word2vec: train and explore",
                "Train word vectors live and watch their geometry form: neighbours, analogies and a "
                "map of the words. Then compare them with GloVe and with a character model's embeddings.",
                lesson="word2vec")
    view = page.view_switch("w2v_lab", VIEWS)
    if view == "chars":
        return chars_view()
    (live_view if view == "live" else glove_view)(questions())


main()
