"""``python -m rnnviz.seq2seq``: train a date translator, save it, decode typed dates.

    python -m rnnviz.seq2seq --attention additive --steps 600 --out pretrained/dates_attention
    python -m rnnviz.seq2seq --attention none --minutes 1
    python -m rnnviz.seq2seq --model pretrained/dates_attention --decode "jeudi 25 juin 2009"
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from ..cli import check_training_args
from . import checkpoint, dates, explain
from .model import ATTENTIONS, CELLS, decode_steps
from .trainer import Seq2SeqTrainer, TrainSettings


def _decode(args) -> int:
    cp = checkpoint.load(args.model or checkpoint.PRETRAINED)
    d = decode_steps(cp.model, cp.in_vocab, args.decode)
    print(d.output)
    return 0


def _train(args) -> int:
    torch.set_num_threads(args.threads)
    data = dates.make(args.data_seed)
    s = TrainSettings(cell=args.cell, bidirectional=not args.unidirectional, enc_hidden=args.enc_hidden,
                      dec_hidden=args.dec_hidden, attention=args.attention, batch_size=args.batch_size,
                      lr=args.lr, seed=args.seed, eval_every=args.eval_every)
    tr = Seq2SeqTrainer(data, s)
    t0 = time.time()
    budget = args.minutes * 60 if args.minutes else None
    while not ((budget and time.time() - t0 >= budget) or (args.steps and tr.steps >= args.steps)):
        if args.decay and args.steps:  # linear decay to 10 % over the step budget
            tr.set_lr(args.lr * (1 - 0.9 * tr.steps / args.steps))
        tr.step(10 if not args.steps else min(10, args.steps - tr.steps))
        if tr.diverged:
            print(tr.divergence_message(), file=sys.stderr)
            return 1
        sys.stderr.write(f"\rstep {tr.steps:>6,}  loss {tr.loss_hist[-1][1]:.4f}  "
                         f"val exact match {tr.acc_hist[-1][1]:6.1%}")
    sys.stderr.write("\n")
    acc = explain.test_exact_match(tr.model, data)
    wall = time.time() - t0
    print(f"test exact match {acc:.2%}  ({len(data.test):,} dates)  steps {tr.steps:,}  {wall:.0f} s")
    if args.out:
        card = tr.card(args.name or args.out.rstrip("/").split("/")[-1], test_exact_match=acc,
                       wall_seconds=round(wall, 1), threads=args.threads, description=args.description or "")
        checkpoint.save(tr.model, tr.in_vocab, args.out, card)
        print(f"saved {args.out}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnnviz.seq2seq",
                                description="Train a date translator (dates -> ISO), or decode with one.")
    p.add_argument("--attention", choices=ATTENTIONS, default="additive")
    p.add_argument("--cell", choices=CELLS, default="gru")
    p.add_argument("--unidirectional", action="store_true", help="read the input left to right only")
    p.add_argument("--enc-hidden", type=int, default=32)
    p.add_argument("--dec-hidden", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--decay", action="store_true", help="linear learning-rate decay over --steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget")
    p.add_argument("--steps", type=int, default=None, help="step budget (reproducible)")
    p.add_argument("--threads", type=int, default=max(1, min(2, torch.get_num_threads())))
    p.add_argument("--out", default=None, help="folder to save the checkpoint in")
    p.add_argument("--name", default=None)
    p.add_argument("--description", default=None)
    p.add_argument("--model", default=None, help="checkpoint folder to decode with (default: the bundled one)")
    p.add_argument("--decode", default=None, metavar="TEXT", help="translate TEXT with --model and stop")
    args = p.parse_args(argv)
    try:
        check_training_args(args, min_steps=1, time="minutes", exclusive=False)
    except ValueError as e:
        p.error(str(e))
    if args.decode is None and args.model:
        p.error("--model is for decoding: add --decode TEXT")
    if args.decode is None and not args.minutes and not args.steps:
        args.minutes = 1.0
    try:
        return _decode(args) if args.decode is not None else _train(args)
    except ValueError as e:
        p.exit(2, f"error: {e}\n")
