"""``python -m rnnviz.memory``: race a vanilla RNN, an LSTM and a GRU on a memory task
and print held-out accuracy at a few distances, the gradient reaching the symbol
and each cell's training time."""

from __future__ import annotations

import argparse
import sys
import time

import torch

from ..cli import check_training_args
from ..seeds import parse_seed
from . import tasks
from .trainer import MemoryConfig, MemoryRace, curves, labels


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m rnnviz.memory",
        description="Train RNN, LSTM and GRU side by side on a memory task and print how far back each remembers.")
    ap.add_argument("--task", default="first", choices=list(tasks.TASKS), help="first: recall the first symbol; "
                    "marked: recall the symbol after a marker")
    ap.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cell types (default rnn,lstm,gru)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--symbols", type=int, default=8, help="K: the number of symbols to remember (chance = 1/K)")
    ap.add_argument("--min-distance", type=int, default=1, help="shortest training distance")
    ap.add_argument("--max-distance", type=int, default=20, help="longest training distance D")
    ap.add_argument("--eval-distance", type=int, default=40, help="test at distances 1 … this (≥ D)")
    ap.add_argument("--at", default=None, help="distances to print, e.g. 5,20,40 (default: a few up to the test range)")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default 1000 unless --seconds)")
    ap.add_argument("--seconds", type=float, default=None, help="train until the slowest cell has trained this long")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=parse_seed, default=0)
    ap.add_argument("--threads", type=int, default=1)
    return ap


def default_at(cfg: MemoryConfig) -> list[int]:
    picks = {5, 10, cfg.max_distance, cfg.eval_distance}
    return sorted(d for d in picks if d <= cfg.eval_distance)


def table(race: MemoryRace, at: list[int]) -> str:
    cfg = race.config
    names = labels(cfg.cells)
    head = f"{'cell':<12}" + "".join(f"{'acc@' + str(d):>9}" for d in at) + f"{'train range':>13}"
    if cfg.eval_distance > cfg.max_distance:
        head += f"{'beyond D':>10}"
    head += f"{'|dL/dx| @' + str(cfg.max_distance):>14}{'seconds':>9}"
    rows = [head]
    for cell in cfg.cells:
        m = race.latest[cell]
        acc = curves(m, "acc", cfg.eval_distance)
        row = f"{names[cell]:<12}" + "".join(f"{100 * acc[d - 1]:8.1f}%" for d in at) + f"{100 * m['acc']:12.1f}%"
        if "far" in m:
            row += f"{100 * m['far']:9.1f}%"
        row += f"{m[f'grad@{cfg.max_distance}']:14.2e}{race.seconds[cell]:9.1f}"
        rows.append(row)
    return "\n".join(rows)


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    try:
        check_training_args(a)
        torch.set_num_threads(a.threads)
        cfg = MemoryConfig(task=a.task, cells=tuple(c.strip() for c in a.cells.split(",") if c.strip()),
                           hidden=a.hidden, symbols=a.symbols, min_distance=a.min_distance,
                           max_distance=a.max_distance, eval_distance=a.eval_distance, batch=a.batch, lr=a.lr,
                           seed=a.seed, eval_every=a.eval_every).validate()
        try:
            at = default_at(cfg) if a.at is None else [int(d) for d in a.at.split(",")]
        except ValueError:
            raise ValueError(f"--at takes whole distances separated by commas, e.g. 5,20 (got {a.at!r}).") from None
        if not at or not all(1 <= d <= cfg.eval_distance for d in at):
            raise ValueError(f"--at distances must be between 1 and the test range {cfg.eval_distance}.")
        race = MemoryRace(cfg)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    race.train_budget(a.seconds, 1000 if a.steps is None else a.steps)
    wall = time.perf_counter() - t0
    if race.divergence:
        print(race.divergence, file=sys.stderr)
    race.record()
    t = tasks.task(cfg.task)
    print(f"{t.label}: train distances {cfg.min_distance}-{cfg.max_distance}, test 1-{cfg.eval_distance}, "
          f"{cfg.symbols} symbols (chance {100 * cfg.chance:.1f} %), hidden {cfg.hidden}")
    print(f"{race.steps:,} steps in {wall:.1f} s (held-out: {cfg.eval_n} examples per distance)\n")
    print(table(race, at))
    return 0
