"""Cell-explorer benchmarks: how fast the interpretable-cell finder answers.

The goal from issue 4: rank every (layer, signal, cell) of a 2x256 LSTM against
6 hypotheses over 10,000 characters in at most 1 s (features + correlations; the
trace itself is measured separately because a page caches it).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .. import corpora, probes
from ..models import build
from . import result


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    T = 2_000 if quick else 10_000
    corpus = corpora.load("python")
    ex = probes.validation_excerpt(corpus, "python", T + 200)
    text = ex.text[:T]
    model = build("lstm", len(corpus.vocab), layers=2, hidden=256, embed=64, seed=0)
    t0 = time.perf_counter()
    arrays = probes.trace_arrays(model, corpus.vocab.encode(text))
    t_trace = time.perf_counter() - t0
    n_cells = sum(a.shape[1] for a in arrays.values())

    def finder():
        probes.lex.cache_clear()
        cm = probes.CellMatrix(arrays)
        Y = np.stack([probes.feature(k, text, "python", prefix=ex.context) for k in probes.BENCH_KEYS], 1)
        R = cm.correlate(Y)
        return [np.argsort(-np.abs(R[:, j]))[:10] for j in range(R.shape[1])]

    best, med = _best(finder, 2 if quick else 5)
    rows = [
        result(f"finder: {n_cells} columns x {len(probes.BENCH_KEYS)} hypotheses x {len(text):,} chars",
               round(best, 3), "s", "<= 1 s" if not quick else None, (best <= 1.0) if not quick else None,
               median=round(med, 3), chars=len(text), columns=n_cells, hypotheses=list(probes.BENCH_KEYS)),
        result(f"trace 2x256 LSTM, {len(text):,} chars (all signals)", round(t_trace, 3), "s",
               ms_per_char=round(1000 * t_trace / len(text), 3)),
    ]
    cm = probes.CellMatrix(arrays)
    y = probes.feature("indent", text, "python", prefix=ex.context)
    b1, _ = _best(lambda: cm.rank(y, 10), 3)
    rows.append(result("rank one hypothesis (column stats cached)", round(1000 * b1, 1), "ms"))
    X = np.concatenate([arrays[(1, "h")], arrays[(1, "c")]], axis=1)
    bp, _ = _best(lambda: probes.linear_probe(X, y), 1 if quick else 3)
    rows.append(result(f"linear probe, 512 features x {len(text):,} chars, nested 5x4 folds x 5 lambdas",
                       round(bp, 3), "s"))
    return rows
