"""Command line of the names lab.

    python -m rnnviz.names --train classifier --dataset surnames --steps 3000 --out pretrained/x
    python -m rnnviz.names --train classifier --readout all --steps 1000   # the three read-outs compared
    python -m rnnviz.names --train generator --dataset genders --minutes 2
    python -m rnnviz.names --classify "Novák" [--model FOLDER]
    python -m rnnviz.names --generate Irish --count 5 --temperature 0.8 [--model FOLDER]

Training prints the held-out (test) accuracy, class-balanced accuracy and the naive
Bayes baseline's for a classifier, or the held-out loss per character for a
generator. Without ``--model``, ``--classify`` and ``--generate`` use the bundled
models. Bad arguments exit with status 2 and a sentence saying what to change.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch

from ..cli import check_training_args
from . import baseline, data, metrics, store
from .model import CELLS, CONDITIONS, READOUTS, generate, letter_probs
from .trainer import BALANCES, evaluate, make_trainer


def train(args) -> dict:
    if not args.minutes and not args.steps:
        args.steps = 2000
    torch.set_num_threads(args.threads)
    ds = data.load(args.dataset)
    opts = dict(cell=args.cell, hidden=args.hidden, embed=args.embed, lr=args.lr, batch_size=args.batch_size,
                seed=args.seed, eval_every=args.eval_every)
    if args.train == "classifier":
        opts.update(readout=args.readout, balance=args.balance)
    else:
        opts.update(condition=args.condition)
    tr = make_trainer(args.train, ds, **opts)
    t0 = time.time()
    while not (args.steps and tr.steps >= args.steps) and not (args.minutes and time.time() - t0 >= args.minutes * 60):
        if args.steps and args.decay:  # cosine decay to 10 % over the step budget
            tr.set_lr(args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * tr.steps / args.steps))))
        tr.step(min(50, args.steps - tr.steps) if args.steps else 50)
        if tr.diverged:
            raise ValueError(tr.divergence_message())
    wall = time.time() - t0
    name = args.name or (args.out.rstrip("/").split("/")[-1] if args.out else "model")
    if args.train == "classifier" and args.readout == "all":
        return _compare_readouts(args, tr, ds, name, wall)
    cp = tr.checkpoint(name)
    cp.card.update(wall_seconds=round(wall, 1), description=args.description or "")
    if args.train == "classifier":
        ev = evaluate(cp, ds, "test")
        nb = metrics.evaluate(ds.test, baseline.fit(ds).predict_proba(list(ds.test.names)), ds.classes)
        cp.card.update(test_accuracy=ev.accuracy, test_balanced_accuracy=ev.balanced_accuracy,
                       baseline_test_accuracy=nb.accuracy, baseline_test_balanced_accuracy=nb.balanced_accuracy)
        line = (f"held-out accuracy {ev.accuracy:.1%} (class-balanced {ev.balanced_accuracy:.1%}) on "
                f"{ev.n:,} test names; naive Bayes {nb.accuracy:.1%} ({nb.balanced_accuracy:.1%})")
    else:
        cp.card.update(test_loss_per_char=tr.split_loss(ds, "test"))
        line = f"held-out loss {cp.card['test_loss_per_char']:.3f} nats per character on the test names"
    if args.out:
        store.save(cp, args.out)
        line += f"; saved {args.out}"
    print(f"{line}  ({tr.steps:,} steps, {wall:.0f} s)")
    return cp.card


def _compare_readouts(args, tr, ds, name: str, wall: float) -> dict:
    """The three read-outs trained side by side: one held-out line each (and one saved
    model each, ``OUT-last`` / ``OUT-mean`` / ``OUT-attention``, with ``--out``)."""
    nb = metrics.evaluate(ds.test, baseline.fit(ds).predict_proba(list(ds.test.names)), ds.classes)
    print(f"{'read-out':<12} {'accuracy':>9} {'balanced':>9}   (held-out, {len(ds.test):,} test names)")
    cards = {}
    for r in READOUTS:
        cp = tr.checkpoint(f"{name}:{r}")
        ev = evaluate(cp, ds, "test")
        cp.card.update(wall_seconds=round(wall, 1), description=args.description or "", test_accuracy=ev.accuracy,
                       test_balanced_accuracy=ev.balanced_accuracy)
        if args.out:
            store.save(cp, f"{args.out.rstrip('/')}-{r}")
        cards[r] = cp.card
        print(f"{r:<12} {ev.accuracy:9.1%} {ev.balanced_accuracy:9.1%}")
    print(f"{'naive Bayes':<12} {nb.accuracy:9.1%} {nb.balanced_accuracy:9.1%}")
    print(f"the three trained side by side on the same batches: {tr.steps:,} steps, {wall:.0f} s"
          + (f"; saved {args.out.rstrip('/')}-{{{','.join(READOUTS)}}}" if args.out else ""))
    return cards


def _load(args, bundled: str) -> store.NamesCheckpoint:
    return store.load(args.model) if args.model else store.load_bundled(bundled)


def classify(args) -> None:
    cp = _load(args, "surnames_gru")
    if cp.kind != "classifier":
        raise ValueError("That model is a generator; --classify needs a classifier.")
    lp = letter_probs(cp.model, cp.vocab, cp.classes, args.classify)
    for t, _letter in enumerate(lp.letters):
        k = int(lp.probs[t].argmax())
        print(f"  {''.join(lp.letters[: t + 1]):<{len(lp.letters)}}  {cp.classes[k]:<12} {lp.probs[t, k]:6.1%}")
    print(", ".join(f"{c} {p:.1%}" for c, p in lp.top(3)))


def gen(args) -> None:
    cp = _load(args, "names_generator")
    if cp.kind != "generator":
        raise ValueError("That model is a classifier; --generate needs a generator.")
    if not 1 <= args.count <= 100:
        raise ValueError("--count must be between 1 and 100.")
    for j in range(args.count):
        print(generate(cp.model, cp.vocab, cp.classes, args.generate, args.temperature, seed=args.seed + j).name)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m rnnviz.names",
                                description="Train, use and sample the names lab's models.")
    act = p.add_mutually_exclusive_group(required=True)
    act.add_argument("--train", choices=("classifier", "generator"))
    act.add_argument("--classify", metavar="NAME", help="class probabilities after every letter")
    act.add_argument("--generate", metavar="CLASS", help="sample names of this class")
    p.add_argument("--dataset", choices=tuple(data.DATASETS), default="surnames")
    p.add_argument("--model", help="a saved model folder or .safetensors file (default: the bundled one)")
    p.add_argument("--cell", choices=CELLS, default="gru")
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--readout", choices=(*READOUTS, "all"), default="last",
                   help="the classifier's read-out; 'all' trains the three side by side and compares them")
    p.add_argument("--balance", choices=BALANCES, default="none")
    p.add_argument("--condition", choices=CONDITIONS, default="input")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--steps", type=int, default=None, help="step budget (reproducible)")
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget")
    p.add_argument("--decay", action="store_true", help="cosine learning-rate decay over --steps")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    p.add_argument("--name", default=None)
    p.add_argument("--description", default=None)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--temperature", type=float, default=0.8)
    args = p.parse_args(argv)
    if args.hidden is None:
        args.hidden = 64 if args.train == "classifier" else 128
    try:
        check_training_args(args, min_steps=1, time="minutes", exclusive=False)
        if args.train:
            train(args)
        elif args.classify is not None:
            classify(args)
        else:
            gen(args)
    except ValueError as e:
        p.exit(2, f"error: {e}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
