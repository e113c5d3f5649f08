"""Dropout benchmark: after the same training budget, how big is each run's gap
between training-set and validation loss?

The page's default race (three 2-layer LSTMs with 128 units on 10,000 characters of
Shakespeare, batch 32 x 32 characters, Adam 0.01, one torch thread): no dropout,
dropout 0.3 between layers, recurrent (variational) dropout 0.3. All three see the
same batches for the same number of steps (400, or 150 with ``--quick``); losses
are measured in eval mode on fixed windows of the training and the validation
slice. Goals, the claims the lab makes:

* recurrent dropout's gap is smaller than no dropout's;
* recurrent dropout's validation loss is lower than no dropout's after the budget
  (by then the model without dropout has memorised its text).
"""

from __future__ import annotations

import torch

from ..dropout.race import DropoutConfig, DropoutRace
from . import result


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    steps = 150 if quick else 400
    cfg = DropoutConfig(eval_every=50)  # the page's defaults
    tr = DropoutRace(cfg)
    tr.step(steps)
    labels, last = cfg.labels(), tr.latest
    rows = []
    for name, label in labels.items():
        r = last[name]
        curve = [(s, round(v[name]["train_loss"], 4), round(v[name]["val_loss"], 4)) for s, v in tr.eval_hist]
        best = min(c[2] for c in curve)
        rows.append(result(f"{name} ({label}): validation loss after {steps} steps", round(r["val_loss"], 3),
                           "nats/char", train_loss=round(r["train_loss"], 3), best_val=round(best, 3),
                           seconds=round(tr.seconds[name], 1), curve=curve))
        rows.append(result(f"{name} ({label}): generalisation gap (val - train)", round(r["gap"], 3),
                           "nats/char"))
    none, rec = last["A"], last["C"]
    rows.append(result("recurrent dropout's gap / no dropout's gap", round(rec["gap"] / none["gap"], 3)
                       if none["gap"] > 0 else float("nan"), "x", goal="< 1 (a smaller gap)",
                       ok=rec["gap"] < none["gap"]))
    rows.append(result("recurrent dropout's validation loss - no dropout's", round(rec["val_loss"] - none["val_loss"], 3),
                       "nats/char", goal="< 0", ok=rec["val_loss"] < none["val_loss"]))
    return rows
