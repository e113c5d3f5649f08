"""Bidirectional RNNs benchmark: forward-only vs bidirectional taggers after the same
step budget on held-out Shakespeare (``rnnviz.tagging``), one torch thread.

For each task: held-out accuracy and F1 of tag 1 of both runs, the steps and the
optimisation seconds each needed to reach F1 >= 0.9 (checked every 50 steps), and
the headline: on the last-letter task the bidirectional tagger beats the
forward-only one (by at least 0.1 in F1); on the first-letter control the gap
stays small (the answer is not ahead). The full run adds the long-word task and
a forward model with as many units as both directions together.
"""

from __future__ import annotations

import torch

from ..tagging.race import RUN_LABELS, TagConfig, TaggingRace, baseline
from . import result

TARGET_F1 = 0.9
CHUNK = 50


def race(cfg: TagConfig, steps: int) -> dict:
    tr = TaggingRace(cfg)
    reached = {}
    while tr.steps < steps and not tr.diverged:
        tr.step(CHUNK)
        for run, v in tr.latest.items():
            if run not in reached and v["f1"] >= TARGET_F1:
                reached[run] = (tr.steps, tr.seconds[run])
    return {"latest": tr.latest, "reached": reached, "seconds": dict(tr.seconds), "steps": tr.steps}


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    steps = 300 if quick else 2000
    cases = [("last", TagConfig(task="last")), ("first (control)", TagConfig(task="first"))]
    if not quick:
        cases += [("long words, k=5", TagConfig(task="long", k=5)),
                  ("last, forward has 2x units", TagConfig(task="last", match="total"))]
    rows = []
    for name, cfg in cases:
        r = race(cfg, steps)
        for run in RUN_LABELS:
            v = r["latest"][run]
            tag = f"{name}: {RUN_LABELS[run]}"
            rows.append(result(f"{tag}: held-out F1 after {r['steps']} steps", v["f1"], "",
                               accuracy=v["accuracy"], acc_last=v.get("acc_last"), acc_first=v.get("acc_first"),
                               seconds=r["seconds"][run]))
            hit = r["reached"].get(run)
            rows.append(result(f"{tag}: steps to F1 {TARGET_F1}", hit[0] if hit else None, "steps",
                               seconds=hit[1] if hit else None))
        gap = r["latest"]["bi"]["f1"] - r["latest"]["forward"]["f1"]
        if name.startswith("last"):
            rows.append(result(f"{name}: F1 bidirectional - forward", gap, "", goal="> 0.1 (bidirectional wins)",
                               ok=gap > 0.1))
        elif name.startswith("first"):
            rows.append(result(f"{name}: |F1 bidirectional - forward|", abs(gap), "",
                               goal="< 0.05 (no future needed)", ok=abs(gap) < 0.05))
        else:
            rows.append(result(f"{name}: F1 bidirectional - forward", gap, ""))
        rows.append(result(f"{name}: always-0 held-out accuracy", baseline(cfg)["accuracy"], ""))
    return rows
