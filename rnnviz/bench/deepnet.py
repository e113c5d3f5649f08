"""Deep-net benchmark: gradients through depth, and how fast a deep net learns spirals.

* ``first / last layer mean |dL/dW| at step 0`` - for a 20-layer MLP (width 32) on
  the spirals, the ratio of the first hidden layer's mean gradient to the output
  layer's, for sigmoid + N(0, 1), sigmoid + Xavier, ReLU + He and sigmoid + N(0, 1)
  with residual connections. Goal: sigmoid + naive init below 1e-3 (vanishing),
  ReLU + He and the residual net above 1e-2 (the gap closed).
* ``training seconds to 95 % held-out accuracy`` - the page's default race (sigmoid
  + N(0, 1) against ReLU + He, depth 20, SGD with momentum, lr 0.02, batch 64), one
  torch thread, until ReLU + He reaches 95 % on the held-out points; and the sigmoid
  net's held-out accuracy after the same steps (2 arms: chance is 50 %).
"""

from __future__ import annotations

import time

import torch

from .. import deepnet
from ..deepnet_trainer import DeepNetRace, RaceConfig
from . import result

DEPTH = 20
CONFIGS = {
    "sigmoid + N(0, 1)": dict(activation="sigmoid", init="normal", sigma=1.0),
    "sigmoid + Xavier": dict(activation="sigmoid", init="xavier"),
    "ReLU + He": dict(activation="relu", init="he"),
    "sigmoid + N(0, 1) + residual": dict(activation="sigmoid", init="normal", sigma=1.0, residual=True),
}
GOALS = {"sigmoid + N(0, 1)": ("< 1e-3", lambda r: r < 1e-3), "ReLU + He": ("> 1e-2", lambda r: r > 1e-2),
         "sigmoid + N(0, 1) + residual": ("> 1e-2", lambda r: r > 1e-2)}


def gradient_ratio(net: dict, seed: int = 0) -> float:
    cfg = RaceConfig(a=deepnet.NetConfig(depth=DEPTH, **net), b=deepnet.NetConfig(depth=DEPTH, **net), seed=seed)
    grads = DeepNetRace(cfg).stats_hist[0][1]["A"][0]
    return float(grads[0] / max(grads[-1], 1e-30))


def time_to_accuracy(goal: float, budget: float, chunk: int = 50) -> dict:
    tr = DeepNetRace(RaceConfig(a=deepnet.NetConfig(depth=DEPTH, activation="sigmoid", init="normal"),
                                b=deepnet.NetConfig(depth=DEPTH, activation="relu", init="he")))
    seconds, reached = 0.0, None
    while seconds < budget and reached is None and not tr.diverged:
        t0 = time.perf_counter()
        tr.step(chunk)
        seconds += time.perf_counter() - t0
        if tr.latest["B"]["acc"] >= goal:
            reached = seconds
    last = tr.latest
    return {"seconds": reached, "steps": tr.steps, "relu": last["B"]["acc"], "sigmoid": last["A"]["acc"], "wall": seconds}


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    for name, net in CONFIGS.items():
        ratio = gradient_ratio(net)
        goal, check = GOALS.get(name, (None, None))
        rows.append(result(f"depth {DEPTH}, {name}: first / last layer mean |dL/dW|", ratio, "x", goal=goal,
                           ok=check(ratio) if check else None))
    r = time_to_accuracy(0.95, budget=20.0 if quick else 120.0)
    rows.append(result(f"depth {DEPTH}, ReLU + He: training seconds to 95 % held-out accuracy",
                       round(r["seconds"], 1) if r["seconds"] is not None else float("nan"), "s",
                       goal="<= 60 s", ok=r["seconds"] is not None and r["seconds"] <= 60, steps=r["steps"],
                       note="both networks of the race train in this time (same batches)"))
    rows.append(result(f"depth {DEPTH}, sigmoid + N(0, 1): held-out accuracy after the same {r['steps']:,} steps",
                       round(100 * r["sigmoid"], 1), "%", goal="near chance (50 %)", ok=r["sigmoid"] < 0.65))
    return rows
