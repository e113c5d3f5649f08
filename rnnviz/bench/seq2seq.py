"""Seq2seq benchmark: how fast does the date translator learn, with and without attention?

* ``time to 90 % / 99 %`` - training seconds (optimisation steps only; the test-set
  evaluations between them are not counted) until exact match on the whole test
  split reaches 90 % and 99 %, with the page's default model (bidirectional GRU 2x32
  encoder, additive attention, GRU-64 decoder, batch 100), one torch thread (one CPU
  slot, as the app's limiter gives each trainer; two threads on a machine busy with
  other work oversubscribe the cores and crawl). Goal: 99 % within 60 s.
* ``exact match after the budget`` - the same budget for the model without attention.
* ``accuracy by input length`` - test exact match per length bin for both models,
  and the attention test (how often blanking the most-attended input character
  changes the output, versus blanking a random one).
* ``reversal`` - the page's race (``Seq2SeqRace``: both models on the same batches,
  one after the other at every step, one thread) on reversing strings of 8 and of 20
  letters: test exact match with and without attention after the same number of
  steps, each run's training seconds, and how often the attention model looks at
  exactly the mirrored letter. Attention should matter far more at 20 letters.
"""

from __future__ import annotations

import torch

from ..seq2seq import dates, explain
from ..seq2seq.trainer import Seq2SeqRace, Seq2SeqTrainer, TrainSettings, exact_match
from . import result

BUDGET = 60.0
EVAL_EVERY = 25
STRING_LENGTHS = (8, 20)
STRING_STEPS = 600


def run_one(data, attention: str, budget: float) -> dict:
    tr = Seq2SeqTrainer(data, TrainSettings(attention=attention, eval_every=10**9, eval_size=1))
    test = dates.tensors(data.test, data.in_vocab)
    curve, reached = [(0, 0.0, 0.0)], {}
    while tr.train_time < budget:
        tr.step(EVAL_EVERY)
        acc = exact_match(tr.model, *test)
        curve.append((tr.steps, round(tr.train_time, 2), acc))
        for goal in (0.9, 0.99):
            if acc >= goal and goal not in reached:
                reached[goal] = tr.train_time
    tr.model.eval()
    return {"trainer": tr, "curve": curve, "reached": reached, "final": curve[-1][2],
            "bins": explain.accuracy_by_length(tr.model, data)}


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    data = dates.make(0)
    budget = 15.0 if quick else BUDGET
    att, none = run_one(data, "additive", budget), run_one(data, "none", budget)
    rows = []
    for goal in (0.9, 0.99):
        t = att["reached"].get(goal)
        rows.append(result(f"with attention: training seconds to {goal:.0%} test exact match",
                           round(t, 1) if t is not None else float("nan"), "s",
                           goal="<= 60 s" if goal == 0.99 else None,
                           ok=(t is not None and t <= 60) if goal == 0.99 else None, curve=att["curve"]))
    for name, r in (("with attention", att), ("without attention", none)):
        rows.append(result(f"{name}: test exact match after {budget:.0f} s", round(100 * r["final"], 2), "%",
                           steps=r["trainer"].steps, curve=r["curve"]))
        rows.append(result(f"{name}: test exact match, inputs of 20+ characters",
                           round(100 * _long(r["bins"]), 2), "%",
                           bins=[(b.lo, b.hi, b.n, round(b.exact_match, 4)) for b in r["bins"]]))
    t = none["reached"].get(0.9)
    rows.append(result("without attention: training seconds to 90 % test exact match",
                       round(t, 1) if t is not None else float("nan"), "s"))
    rep = explain.attention_test(att["trainer"].model, data)
    rows.append(result("blanking the most-attended input character changes that output character",
                       round(100 * rep.changed_top, 1), "%", random_blank=round(100 * rep.changed_random, 1),
                       per_position=[round(v, 3) for v in rep.per_position]))
    rows.append(result("blanking a random input character changes the output character",
                       round(100 * rep.changed_random, 1), "%"))
    return rows + string_rows(quick)


def string_rows(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    steps, rows = (150 if quick else STRING_STEPS), []
    for length in STRING_LENGTHS:
        tr = Seq2SeqRace(TrainSettings(task="reverse", length=length, eval_every=100_000, eval_size=1))
        tr.step(steps)
        test = dates.split_tensors(tr.data, tr.data.test)
        acc = {run: exact_match(m, *test) for run, m in tr.models.items()}
        rows.append(result(f"reverse {length} letters: test exact match after {steps} steps, with attention",
                           round(100 * acc["attention"], 1), "%", seconds=round(tr.seconds["attention"], 1),
                           aligned=round(explain.aligned_share(tr.models["attention"].eval(), tr.data), 3)))
        rows.append(result(f"reverse {length} letters: test exact match after {steps} steps, without attention",
                           round(100 * acc["none"], 1), "%", seconds=round(tr.seconds["none"], 1)))
    return rows


def _long(bins) -> float:
    sel = [b for b in bins if b.lo >= 20]
    n = sum(b.n for b in sel)
    return sum(b.exact_match * b.n for b in sel) / n if n else float("nan")
