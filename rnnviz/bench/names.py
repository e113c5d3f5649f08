"""Names-lab benchmark: the surname classifier against naive Bayes, and the generator.

* the GRU-64 classifier (the bundled configuration, last-state read-out, no
  imbalance handling) trained for a fixed step budget with validation every 100
  steps: the wall time to its best validation accuracy, and the test accuracy and
  class-balanced accuracy of those best weights;
* the same with oversampling (what balancing buys on the small classes);
* the character-bigram naive Bayes baseline on the same test names;
* the conditional GRU-128 generator's held-out (test) loss per character after its
  step budget.

One thread (one CPU slot, as the classroom server gives each trainer).
"""

from __future__ import annotations

import time

import torch

from ..names import baseline, data, metrics
from ..names.trainer import evaluate, make_trainer
from . import result


def _classifier(ds, steps: int, balance: str) -> dict:
    tr = make_trainer("classifier", ds, balance=balance, eval_every=100, seed=0)
    t0, best_t, best_acc, best_cp = time.perf_counter(), 0.0, -1.0, None
    while tr.steps < steps:
        tr.step(100)
        acc = tr.val_hist[-1][2]
        if acc > best_acc:
            best_acc, best_t, best_cp = acc, time.perf_counter() - t0, tr.checkpoint("bench")
    ev = evaluate(best_cp, ds, "test")
    return {"seconds_to_best": best_t, "best_step": best_cp.card["steps"], "val_accuracy": best_acc,
            "test_accuracy": ev.accuracy, "test_balanced": ev.balanced_accuracy,
            "total_seconds": time.perf_counter() - t0}


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    ds = data.surnames()
    steps = 400 if quick else 3000
    rows = []
    nb = metrics.evaluate(ds.test, baseline.fit(ds).predict_proba(list(ds.test.names)), ds.classes)
    for balance in ("none", "oversample"):
        r = _classifier(ds, steps, balance)
        tag = f"surnames GRU-64 ({balance})"
        rows.append(result(f"{tag}: seconds to best val accuracy", r["seconds_to_best"], "s", **r))
        rows.append(result(f"{tag}: test accuracy", r["test_accuracy"], "", goal=f"> naive Bayes {nb.accuracy:.3f}",
                           ok=r["test_accuracy"] > nb.accuracy))
        rows.append(result(f"{tag}: test class-balanced accuracy", r["test_balanced"], "",
                           goal=f"> naive Bayes {nb.balanced_accuracy:.3f}", ok=r["test_balanced"] > nb.balanced_accuracy))
    rows.append(result("naive Bayes (bigrams): test accuracy", nb.accuracy, ""))
    rows.append(result("naive Bayes (bigrams): test class-balanced accuracy", nb.balanced_accuracy, ""))
    gen = make_trainer("generator", ds, eval_every=500, seed=0, milestones=())
    t0 = time.perf_counter()
    gen.step(steps)
    wall = time.perf_counter() - t0
    rows.append(result(f"generator GRU-128: test loss per character after {steps} steps", gen.split_loss(ds, "test"),
                       "nats", seconds=wall, val_loss=gen.val_hist[-1][1]))
    return rows
