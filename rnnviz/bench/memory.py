"""Long-range memory benchmark: how far back each cell remembers on one step budget.

For both memory tasks ("recall the first symbol", "recall the marked symbol"), a
vanilla RNN, an LSTM and a GRU (hidden 32 each) race on the same batches with
training distances 1 … 50 (``rnnviz.memory``). Reported per cell: held-out
accuracy at distances 5, 20 and 50 and beyond the training range (51 … 60) after
the budget, the steps and optimisation seconds until the mean held-out accuracy
over the training distances first reached 90 %, and the gradient reaching the
symbol at distance 50, raw and relative to the one at the last hidden state (as
log10: it spans many orders of magnitude; None when it underflowed to 0). The
headline per task: LSTM and GRU ≥ 90 % at distance 20 while the vanilla RNN stays
lower. It is measured, not promised: ``ok`` says whether this run bore it out.

One thread (one CPU slot, as the classroom server gives each trainer).
"""

from __future__ import annotations

import math
import time

import torch

from ..memory import tasks
from ..memory.trainer import MemoryConfig, MemoryRace, labels
from . import result

AT = (5, 20, 50)
TARGET = 0.9


def race(task: str, steps: int, eval_every: int = 100) -> dict:
    cfg = MemoryConfig(task=task, max_distance=50, eval_distance=60, eval_every=eval_every, eval_n=100)
    tr = MemoryRace(cfg)
    reached: dict[str, tuple[int, float]] = {}
    t0 = time.perf_counter()
    while tr.steps < steps and not tr.diverged:
        tr.step(eval_every)
        for cell, m in tr.latest.items():
            if cell not in reached and m["acc"] >= TARGET:
                reached[cell] = (tr.steps, tr.seconds[cell])
    return {"race": tr, "reached": reached, "wall": time.perf_counter() - t0}


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    steps = 300 if quick else 2000
    rows = []
    for task in tasks.TASKS:
        out = race(task, steps)
        tr, reached = out["race"], out["reached"]
        names = labels(tr.config.cells)
        tag = f"memory {task} (train 1-50, {tr.steps} steps)"
        for cell in tr.config.cells:
            m = tr.latest[cell]
            for d in AT:
                rows.append(result(f"{tag}: {names[cell]} accuracy at distance {d}", m[f"acc@{d}"], ""))
            rows.append(result(f"{tag}: {names[cell]} accuracy at 51-60 (beyond training)", m["far"], ""))
            step, secs = reached.get(cell, (None, None))
            rows.append(result(f"{tag}: {names[cell]} steps to {TARGET:.0%} on distances 1-50", step, "steps",
                               goal=f"reached within {tr.steps}", ok=step is not None, seconds=secs,
                               total_seconds=tr.seconds[cell]))
            for what, shown in (("grad", "|dL/dx|"), ("gain", "|dL/dx| / |dL/dh_T|")):
                g = m[f"{what}@50"]
                rows.append(result(f"{tag}: {names[cell]} log10 {shown} at distance 50",
                                   math.log10(g) if g > 0 else None, "", value_linear=g))
        acc20 = {c: tr.latest[c]["acc@20"] for c in tr.config.cells}
        ok = acc20["lstm"] >= TARGET and acc20["gru"] >= TARGET and acc20["rnn"] < min(acc20["lstm"], acc20["gru"])
        rows.append(result(f"{tag}: headline, accuracy at distance 20 (RNN / LSTM / GRU)",
                           f"{acc20['rnn']:.2f} / {acc20['lstm']:.2f} / {acc20['gru']:.2f}", "",
                           goal="LSTM and GRU >= 0.90, vanilla RNN lower", ok=ok, wall_seconds=out["wall"]))
    return rows
