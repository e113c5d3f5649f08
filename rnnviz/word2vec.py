"""Command line for word2vec: train, save, load, and ask for neighbours and analogies.

Examples::

    # one minute of skip-gram on the built-in Shakespeare, vectors saved to runs/w2v
    python -m rnnviz.word2vec --minutes 1 --out runs/w2v --neighbours king love sword
    # a fixed budget on your own text, CBOW, then an analogy
    python -m rnnviz.word2vec --text notes.txt --arch cbow --steps 500 --analogy king man woman
    # no training: load saved vectors and query them
    python -m rnnviz.word2vec --load runs/w2v --neighbours night --analogy he him her

Bad arguments print one clear sentence and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from .cli import check_training_args
from .words import store, tokens
from .words.trainer import ARCHS, LOSSES, Word2VecConfig, Word2VecTrainer
from .words.vectors import Embeddings


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rnnviz.word2vec",
                                description="Train word2vec on a corpus and query the vectors.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--corpus", default="shakespeare", choices=tokens.BUILTIN, help="built-in corpus")
    src.add_argument("--text", metavar="FILE", help="train on this plain-text file instead")
    src.add_argument("--load", metavar="FOLDER", help="load saved vectors instead of training")
    p.add_argument("--arch", default="skipgram", choices=ARCHS)
    p.add_argument("--objective", default="negative", choices=LOSSES,
                   help="negative sampling, or a full softmax (small vocabularies only)")
    p.add_argument("--dim", type=int, default=100, help="vector size")
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (0 = off)")
    p.add_argument("--min-count", type=int, default=5, help="ignore words rarer than this")
    p.add_argument("--lr", type=float, default=0.025)
    p.add_argument("--epochs", type=float, default=5.0, help="passes over which the learning rate decays")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="train for this long")
    budget.add_argument("--steps", type=int, help=f"train this many steps of {Word2VecConfig.words_per_step} words")
    p.add_argument("--out", metavar="FOLDER", help="save the vectors here (safetensors + card.json)")
    p.add_argument("--neighbours", nargs="+", metavar="WORD", default=[], help="print these words' nearest neighbours")
    p.add_argument("--analogy", nargs=3, metavar=("A", "B", "C"), help="print the top answers to A - B + C")
    p.add_argument("--top", type=int, default=8, help="how many neighbours / answers to print")
    p.add_argument("--include-query", action="store_true",
                   help="do not hide the query words from the answers")
    return p


def _corpus(args) -> tokens.WordCorpus:
    if args.text:
        try:
            with open(args.text, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise ValueError(f"Cannot read {args.text}: {e.strerror}.") from None
        return tokens.from_bytes(data, args.text, min_count=args.min_count)
    if args.min_count < 1:
        raise ValueError("The minimum count must be at least 1.")
    return tokens.builtin(args.corpus, args.min_count)


def train(args, out=sys.stdout) -> tuple[Embeddings, dict]:
    check_training_args(args, min_steps=1, time="minutes")
    corpus = _corpus(args)
    cfg = Word2VecConfig(arch=args.arch, loss=args.objective, dim=args.dim, window=args.window,
                         negatives=args.negatives, sample=args.sample, lr=args.lr, epochs=args.epochs,
                         seed=args.seed)
    tr = Word2VecTrainer(corpus, cfg)
    torch.set_num_threads(args.threads)
    print(f"{len(corpus):,} words, vocabulary {len(corpus.vocab):,}; {cfg.arch} with {cfg.loss} "
          f"{'sampling' if cfg.loss == 'negative' else ''}, {cfg.dim}-d", file=out, flush=True)
    steps = args.steps if args.steps is not None else (None if args.minutes is not None else 200)
    t0, last = time.perf_counter(), 0.0
    while not tr.diverged:
        if steps is not None and tr.steps >= steps:
            break
        if args.minutes is not None and time.perf_counter() - t0 >= args.minutes * 60:
            break
        tr.step(min(10, steps - tr.steps) if steps is not None else 10)
        now = time.perf_counter()
        if now - last >= 2.0:
            last = now
            s = tr.summary()
            print(f"  step {s['steps']:>6}  epoch {s['epochs_done']:.2f}  loss {s['loss'] or float('nan'):.3f}  "
                  f"{tr.words_done / (now - t0):,.0f} words/s", file=out, flush=True)
    if tr.diverged:
        raise ValueError(tr.divergence_message())
    s = tr.summary()
    print(f"done: {s['steps']} steps, {s['epochs_done']:.2f} epochs, loss {s['loss'] or float('nan'):.3f}, "
          f"{tr.words_done / (time.perf_counter() - t0):,.0f} words/s", file=out, flush=True)
    return tr.embeddings(), tr.card()


def report(emb: Embeddings, args, out=sys.stdout) -> None:
    exclude = not args.include_query
    for w in args.neighbours:
        near = emb.neighbours(w.lower(), args.top, exclude_query=exclude)
        print(f"{w}: " + ", ".join(f"{n} ({c:.2f})" for n, c in near), file=out)
    if args.analogy:
        a, b, c = (w.lower() for w in args.analogy)
        answers = emb.analogy(a, b, c, args.top, exclude_query=exclude)
        print(f"{a} - {b} + {c} = " + ", ".join(f"{n} ({s:.2f})" for n, s in answers), file=out)


def main(argv=None, out=sys.stdout) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.top < 1:
            raise ValueError("--top must be at least 1.")
        if args.load:
            emb, card = store.load(args.load)
            print(f"loaded {len(emb):,} vectors of size {emb.dim} from {args.load}", file=out)
        else:
            emb, card = train(args, out)
        if args.out:
            name = f"word2vec on {card['corpus']}" if "corpus" in card else emb.name
            store.save(emb, args.out, name=name, trained=card)
            print(f"saved to {args.out}", file=out)
        report(emb, args, out)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
