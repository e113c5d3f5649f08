"""``python -m rnnviz.tagging``: race forward-only against bidirectional on one
tagging task for a number of steps (or seconds) and print the held-out table."""

from __future__ import annotations

import argparse
import sys

import torch

from .. import celltypes
from ..cli import check_training_args
from . import tasks
from .race import MATCHES, RUN_LABELS, TagConfig, TaggingRace, baseline, parameter_counts


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, like every rnnviz CLI
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def table(trainer: TaggingRace) -> str:
    """The held-out numbers of both runs and of the always-the-common-tag baseline."""
    params = parameter_counts(trainer.models)
    rows = [f"{'run':<16}{'params':>8}{'accuracy':>10}{'F1 tag 1':>10}{'last':>8}{'first':>8}{'middle':>8}"
            f"{'seconds':>9}"]
    for run, v in trainer.latest.items():
        rows.append(f"{RUN_LABELS[run]:<16}{params[run]:>8,}{v['accuracy']:>10.1%}{v['f1']:>10.3f}"
                    f"{v.get('acc_last', 0):>8.1%}{v.get('acc_first', 0):>8.1%}{v.get('acc_middle', 0):>8.1%}"
                    f"{trainer.seconds[run]:>9.1f}")
    b = baseline(trainer.config)
    rows.append(f"{'always ' + str(int(b['positive_share'] > 0.5)):<16}{0:>8}{b['accuracy']:>10.1%}{b['f1']:>10.3f}")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = _Parser(prog="python -m rnnviz.tagging",
                 description="Train a forward-only and a bidirectional RNN tagger side by side on Shakespeare.")
    ap.add_argument("--task", default="last", choices=list(tasks.TASKS), help="which tag to learn")
    ap.add_argument("--k", type=int, default=5, help="word length for the 'long' task (3-8)")
    ap.add_argument("--cell", default="lstm", choices=list(celltypes.CELL_TYPES))
    ap.add_argument("--hidden", type=int, default=32, help="units per direction")
    ap.add_argument("--match", default="direction", choices=list(MATCHES),
                    help="forward model: same units per direction, or as many as both directions")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--steps", type=int, default=500, help="training steps (ignored with --seconds)")
    ap.add_argument("--seconds", type=float, default=None, help="train until the slower run has used this long")
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        check_training_args(a, exclusive=False)  # --seconds overrides the default --steps
        torch.set_num_threads(a.threads)
        cfg = TagConfig(task=a.task, k=a.k, cell=a.cell, hidden=a.hidden, match=a.match, lr=a.lr, batch=a.batch,
                        seq_len=a.seq_len, seed=a.seed, eval_every=a.eval_every)
        trainer = TaggingRace(cfg)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    trainer.train_budget(a.seconds, a.steps)
    trainer.record()
    if trainer.divergence:
        print(trainer.divergence, file=sys.stderr)
    task = tasks.get(cfg.task)
    print(f"task: {task.label} ({task.describe(cfg.k)})")
    print(f"{celltypes.of(cfg.cell).label}, {cfg.hidden} units per direction ({MATCHES[cfg.match].lower()}), "
          f"{trainer.steps:,} steps; held-out Shakespeare, {trainer.val_ids.numel():,} characters\n")
    print(table(trainer))
    return 0
