"""Word2vec benchmark: our trainer against gensim's Word2Vec, speed and quality.

Same corpus (the bundled Shakespeare as words, min count 5, so the same 9,126-word
vocabulary), skip-gram, window 5, 5 negatives, 100 dimensions, subsampling 0.001,
learning rate 0.025 -> 0.0001, the same number of threads, and text cut into
pieces of 10,000 words for both (gensim's longest sentence).

* Speed: words of the corpus processed per second, in alternating blocks of
  200,000 words (so load from other processes hits all of them), median of the
  blocks: our trainer as the app runs it (negatives shared by a block of 64
  shuffled pairs), the same with a fresh draw of negatives for every pair
  (``negative_block=1``, word2vec's own scheme), and gensim.
* Quality: each model trains for the same wall time (60 s; 10 s with --quick;
  gensim stops at the first epoch boundary after it), with its learning-rate decay
  planned from the measured speed to end then; then both are scored by the
  same code (``rnnviz.words.vectors``): accuracy on gensim's copy of Google's
  analogy questions (``questions-words.txt``) restricted to questions whose four
  words are all in the vocabulary, Spearman correlation with WordSim-353 human
  similarity ratings, the neighbours of a handful of frequent words and a few
  analogies, printed side by side.

gensim is a benchmark-only dependency (in neither requirements file): without it
only our own numbers are reported, with a note.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch

from ..words import tokens
from ..words.trainer import Word2VecConfig, Word2VecTrainer
from ..words.vectors import Embeddings
from . import result

DIM, WINDOW, NEG, SAMPLE, MIN_COUNT, PIECE = 100, 5, 5, 1e-3, 5, 10_000
BLOCK = 200_000
WORDS = ("king", "love", "sword", "night", "lord", "heaven", "death", "good")
ANALOGIES = (("king", "man", "woman", "queen"), ("he", "his", "her", "she"),
             ("father", "son", "daughter", "mother"), ("brother", "man", "woman", "sister"),
             ("lord", "man", "woman", "lady"))


def _threads() -> int:
    return max(1, int(os.environ.get("RNNVIZ_BENCH_THREADS", "1")))


def _config(epochs: float, seed: int = 1, **kw) -> Word2VecConfig:
    return Word2VecConfig(arch="skipgram", loss="negative", dim=DIM, window=WINDOW, negatives=NEG,
                          sample=SAMPLE, epochs=epochs, words_per_step=PIECE, seed=seed, **kw)


def _gensim():
    try:
        from gensim.models import Word2Vec
    except ImportError:
        return None
    return Word2Vec


def _gensim_model(Word2Vec, pieces, epochs: int, threads: int):
    m = Word2Vec(vector_size=DIM, window=WINDOW, negative=NEG, sg=1, hs=0, min_count=MIN_COUNT,
                 sample=SAMPLE, alpha=0.025, min_alpha=0.0001, workers=threads, seed=1, epochs=epochs)
    m.build_vocab(pieces)
    return m


def _pieces(corpus: tokens.WordCorpus) -> list[list[str]]:
    words = corpus.vocab.words
    ids = corpus.ids
    return [[words[i] for i in ids[s:s + PIECE]] for s in range(0, len(ids), PIECE)]


def _words_per_s(tr: Word2VecTrainer, steps: int) -> float:
    t0, w0 = time.perf_counter(), tr.words_done
    tr.step(steps)
    return (tr.words_done - w0) / (time.perf_counter() - t0)


def speed(corpus, pieces, Word2Vec, threads: int, blocks: int) -> tuple[list[float], list[float], list[float]]:
    """Words/s per block: ours (shared negatives), ours with a draw per pair, gensim."""
    ours, per_pair, theirs = [], [], []
    tr = Word2VecTrainer(corpus, _config(epochs=100))
    classic = Word2VecTrainer(corpus, _config(epochs=100, negative_block=1))
    tr.step(2)  # warm-up
    classic.step(2)
    per_block = BLOCK // PIECE
    gm = _gensim_model(Word2Vec, pieces, 1, threads) if Word2Vec else None
    for b in range(blocks):
        ours.append(_words_per_s(tr, per_block))
        per_pair.append(_words_per_s(classic, per_block))
        if gm is not None:
            part = pieces[(b * per_block) % len(pieces):][:per_block]
            n = sum(len(p) for p in part)
            t0 = time.perf_counter()
            gm.train(part, total_examples=len(part), epochs=1)
            theirs.append(n / (time.perf_counter() - t0))
    return ours, per_pair, theirs


def _as_embeddings(gm) -> Embeddings:
    return Embeddings(gm.wv.index_to_key, gm.wv.vectors, "gensim")


def _questions():
    from gensim.test.utils import datapath

    qs = []
    with open(datapath("questions-words.txt"), encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith(":"):
                qs.append(tuple(line.lower().split()))
    pairs = []
    with open(datapath("wordsim353.tsv"), encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                a, b, s = line.split("\t")[:3]
                pairs.append((a.lower(), b.lower(), float(s)))
    return qs, pairs


def _spearman(x, y) -> float:
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def quality(emb: Embeddings, questions, sims) -> dict:
    """Analogy accuracy (a:b :: c:d asked as b - a + c = d), WordSim-353 Spearman, examples."""
    asked = [q for q in questions if all(w in emb for w in q)]
    right = sum(emb.analogy(b, a, c, 1)[0][0] == d for a, b, c, d in asked)
    rated = [(a, b, s) for a, b, s in sims if a in emb and b in emb]
    cos = [float(emb.unit[emb.index(a)] @ emb.unit[emb.index(b)]) for a, b, _ in rated]
    return {
        "analogy_accuracy": right / len(asked) if asked else None, "analogy_questions": len(asked),
        "wordsim_spearman": _spearman(cos, [s for *_, s in rated]) if len(rated) > 2 else None,
        "wordsim_pairs": len(rated),
        "neighbours": {w: [n for n, _ in emb.neighbours(w, 6)] for w in WORDS if w in emb},
        "analogies": {f"{a} - {b} + {c} (expect {d})": {"top": [n for n, _ in emb.analogy(a, b, c, 5)],
                                                        "rank": emb.rank(a, b, c, d)}
                      for a, b, c, d in ANALOGIES if all(w in emb for w in (a, b, c, d))},
    }


def train_for(corpus, seconds: float, words_per_s: float) -> tuple[Embeddings, dict]:
    epochs = max(1.0, words_per_s * seconds / len(corpus.ids))
    tr = Word2VecTrainer(corpus, _config(epochs=epochs))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds and not tr.diverged:
        tr.step(1)
    return tr.embeddings(), {"seconds": time.perf_counter() - t0, "epochs": tr.words_done / len(corpus.ids),
                             "planned_epochs": epochs, "final_loss": tr.summary()["loss"]}


def gensim_for(Word2Vec, pieces, n_words: int, seconds: float, words_per_s: float, threads: int):
    """gensim for the same wall time: its decay is planned over the epochs the measured
    speed allows, run one epoch per call, and stopped when the time is up (as ours is)."""
    epochs = max(1, round(words_per_s * seconds / n_words))
    gm = _gensim_model(Word2Vec, pieces, epochs, threads)
    alpha = lambda e: max(0.0001, 0.025 * (1 - e / epochs))
    t0, done = time.perf_counter(), 0
    while done < epochs and (done == 0 or time.perf_counter() - t0 < seconds):
        gm.train(pieces, total_examples=len(pieces), epochs=1, start_alpha=alpha(done),
                 end_alpha=alpha(done + 1))
        done += 1
    return _as_embeddings(gm), {"seconds": time.perf_counter() - t0, "epochs": done,
                                "planned_epochs": epochs}


def _print_side_by_side(ours: dict, theirs: dict | None) -> None:
    print("  neighbours after equal training time (ours | gensim):")
    for w, near in ours["neighbours"].items():
        other = ", ".join(theirs["neighbours"].get(w, [])) if theirs else "-"
        print(f"    {w:<8} {', '.join(near):<52} | {other}")
    print("  analogies (top 5; rank of the expected answer):")
    for q, a in ours["analogies"].items():
        other = theirs["analogies"].get(q) if theirs else None
        o = f"{', '.join(other['top'])} (rank {other['rank']})" if other else "-"
        print(f"    {q:<38} {', '.join(a['top'])} (rank {a['rank']}) | {o}")


def run(quick: bool = False) -> list[dict]:
    threads = _threads()
    torch.set_num_threads(threads)
    corpus = tokens.builtin("shakespeare", MIN_COUNT)
    pieces = _pieces(corpus)
    Word2Vec = _gensim()
    rows = []
    ours_speed, pair_speed, gensim_speed = speed(corpus, pieces, Word2Vec, threads, 2 if quick else 4)
    ours_ws = statistics.median(ours_speed)
    shared = f"negatives shared by {Word2VecConfig.negative_block} pairs"
    rows.append(result(f"word2vec skip-gram words/s (ours, {shared})", ours_ws, "words/s", blocks=ours_speed))
    rows.append(result("word2vec skip-gram words/s (ours, a draw of negatives per pair)",
                       statistics.median(pair_speed), "words/s", blocks=pair_speed))
    if Word2Vec is None:
        rows.append(result("gensim not installed: no comparison (pip install gensim==4.4.0)", None))
    else:
        g_ws = statistics.median(gensim_speed)
        rows.append(result("word2vec skip-gram words/s (gensim)", g_ws, "words/s", blocks=gensim_speed))
        rows.append(result("words/s ours / gensim", ours_ws / g_ws, "x", goal=">= 0.5", ok=ours_ws / g_ws >= 0.5))
    seconds = 10.0 if quick else 60.0
    emb, info = train_for(corpus, seconds, ours_ws)
    ours_q = quality(emb, *_questions()) if Word2Vec else quality(emb, (), ())
    theirs_q = None
    if Word2Vec is not None:
        gemb, ginfo = gensim_for(Word2Vec, pieces, len(corpus.ids), seconds, g_ws, threads)
        theirs_q = quality(gemb, *_questions())
    for label, q, inf in (("ours", ours_q, info), ("gensim", theirs_q, ginfo if theirs_q else None)):
        if q is None:
            continue
        if q["analogy_accuracy"] is not None:
            rows.append(result(f"analogy accuracy after {seconds:.0f} s ({label}, "
                               f"{q['analogy_questions']} questions in vocab)", q["analogy_accuracy"],
                               "fraction", **inf, examples=q["analogies"]))
        if q["wordsim_spearman"] is not None:
            rows.append(result(f"WordSim-353 Spearman after {seconds:.0f} s ({label}, "
                               f"{q['wordsim_pairs']} pairs)", q["wordsim_spearman"], "rho",
                               neighbours=q["neighbours"]))
    _print_side_by_side(ours_q, theirs_q)
    for r in rows:
        r["detail"].setdefault("threads", threads)
    return rows
