"""Training a character model in chunks, with everything a live page needs to show.

``Trainer.step(n)`` runs n optimisation steps of truncated back-propagation through
time on the fused model and records bounded histories (train loss, periodic
validation loss, gradient norm, chars/s), samples at milestone steps ("train
more" snapshots), and stops cleanly on a NaN/Inf loss or gradient, keeping the
last good weights. It never touches Streamlit and never starts threads: the live
page wraps it in ``rnnviz.live.BackgroundTrainer``.

Command line::

    python -m rnnviz.train --corpus shakespeare --cell lstm --layers 2 --hidden 256 \\
        --minutes 5 --out pretrained/NAME
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .corpora import Corpus
from .models import CELLS, CharModel, ModelConfig
from .sample import sample
from .seeds import check_seed, parse_seed

OPTIMIZERS = ("adam", "sgd", "adagrad")
MILESTONES = (0, 100, 300, 1000, 3000, 10000, 30000, 100000, 300000)
HISTORY = 20_000  # points kept per metric (ring buffers)
BLOWUP_FACTOR = 3.0  # loss > 3 ln|V| (and > 10) counts as diverged


@dataclass
class TrainConfig:
    cell: str = "lstm"
    layers: int = 2
    hidden: int = 128
    embed: int = 64
    dropout: float = 0.0
    seq_len: int = 64
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    clip: bool = True
    clip_value: float = 5.0
    seed: int = 1337
    carry_state: bool = False  # min-char-rnn style: carry h across chunks of each stream
    eval_every: int = 100
    eval_chars: int = 32_768
    sample_len: int = 200
    sample_temperature: float = 1.0
    milestones: tuple = MILESTONES
    snapshot_every: int = 50
    nonlinearity: str = "tanh"
    stop_on_blowup: bool = True  # also stop on a finite loss > blowup_threshold (not only NaN/Inf)

    def validate(self) -> "TrainConfig":
        self.model_config(2).validate()
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimiser {self.optimizer!r}; choose adam, sgd or adagrad.")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 0 < self.lr <= 100):
            raise ValueError(f"The learning rate must be a positive number up to 100 (got {self.lr}).")
        if not 2 <= int(self.seq_len) <= 2000:
            raise ValueError(f"Sequence length must be between 2 and 2,000 (got {self.seq_len}).")
        if not 1 <= int(self.batch_size) <= 1024:
            raise ValueError(f"Batch size must be between 1 and 1,024 (got {self.batch_size}).")
        if int(self.seq_len) * int(self.batch_size) > 131_072:
            raise ValueError(
                f"Batch size x sequence length = {self.seq_len * self.batch_size:,} characters "
                "per step is too large for this server (limit 131,072). Lower one of them."
            )
        if self.clip and not (math.isfinite(self.clip_value) and self.clip_value > 0):
            raise ValueError(f"The clipping threshold must be a positive number (got {self.clip_value}).")
        if int(self.eval_every) < 1:
            raise ValueError("Validation must run at least every step count >= 1.")
        self.seed = check_seed(self.seed)
        return self

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(
            cell=self.cell, vocab_size=vocab_size, layers=int(self.layers), hidden=int(self.hidden),
            embed=int(self.embed), dropout=float(self.dropout), nonlinearity=self.nonlinearity,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d


def make_optimizer(name, params, lr):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(f"Unknown optimiser {name!r}.")


@dataclass
class Divergence:
    step: int
    what: str  # "loss" or "gradient norm"
    value: float
    last_good_step: int

    def message(self) -> str:
        if math.isfinite(self.value):  # blow-up: finite, but far worse than guessing
            what = (f"the {self.what} jumped to {self.value:,.1f} nats per character, far worse than "
                    "guessing uniformly at random")
        else:
            what = f"the {self.what} became {self.value}"
        return (
            f"Training stopped at step {self.step:,}: {what}. "
            "The updates grew so large that the model blew up. Lower the learning rate "
            "(try 10x smaller) or turn gradient clipping on, then reset - or restore the last "
            f"good weights (step {self.last_good_step:,}) and continue more gently."
        )


def blowup_threshold(vocab_size: int) -> float:
    """A training loss above this counts as divergence even if it is finite.

    A model that guesses uniformly scores ln|V|; a loss several times that means the
    weights have been thrown far off (a tanh RNN with a huge learning rate saturates
    instead of overflowing, so its loss stays finite but absurd).
    """
    return max(BLOWUP_FACTOR * math.log(max(2, vocab_size)), 10.0)


def val_loss(model: CharModel, ids: np.ndarray, max_chars: int = 32_768, streams: int = 16) -> float:
    """Mean cross-entropy (nats/char) over the first ``max_chars`` of ``ids``.

    The text is cut into ``streams`` contiguous pieces that run in one batch with
    their hidden state carried, so each character is scored with its full context.
    """
    ids = np.asarray(ids[: max_chars + 1])
    n = (len(ids) - 1) // streams
    if n < 1:
        streams, n = 1, len(ids) - 1
    if n < 1:
        return float("nan")
    x = torch.as_tensor(ids[: streams * n].reshape(streams, n))
    y = torch.as_tensor(ids[1 : streams * n + 1].reshape(streams, n))
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    model.train(was_training)
    return float(loss)


class Trainer:
    """Owns a model, its optimiser, the data stream and the metric histories."""

    def __init__(self, corpus: Corpus, config: TrainConfig | None = None, model: CharModel | None = None,
                 source: str | None = None):
        self.config = config = (config or TrainConfig()).validate()
        self.corpus = corpus
        self.vocab = corpus.vocab
        train_ids = corpus.train_ids
        if len(train_ids) < config.seq_len + 2:
            raise ValueError(
                f"The training part of '{corpus.name}' has {len(train_ids)} characters, fewer than "
                f"one sequence of {config.seq_len} + 1. Use more text or a shorter sequence length."
            )
        self.train_data = torch.as_tensor(train_ids)
        val_ids = corpus.val_ids
        self.val_data = val_ids if len(val_ids) >= 2 else train_ids[-min(len(train_ids), 4096):]
        torch.manual_seed(config.seed)
        if model is None:
            model = CharModel(config.model_config(len(self.vocab)))
        else:
            if model.config.vocab_size != len(self.vocab):
                raise ValueError("The model's vocabulary does not match this corpus.")
            model = model.copy()  # never train someone else's (possibly shared) model
            for p in model.parameters():  # cached / checkpoint copies come frozen
                p.requires_grad_(True)
            config.cell, config.layers, config.hidden = model.config.cell, model.config.layers, model.config.hidden
            config.embed = model.config.embed
        self.model = model.train()
        # Step-0 weights (read-only), so pages can compare "before training" with now.
        self.initial_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.source = source
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.lr)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.steps = 0
        self.chars_seen = 0
        self.train_time = 0.0  # seconds spent in optimisation steps
        self.loss_hist: deque = deque(maxlen=HISTORY)  # (step, loss)
        self.val_hist: deque = deque(maxlen=HISTORY)  # (step, val loss)
        self.grad_hist: deque = deque(maxlen=HISTORY)  # (step, grad norm before clipping)
        self.speed_hist: deque = deque(maxlen=HISTORY)  # (step, chars/s)
        self.samples: list = []  # (step, Sample) at milestones
        self.divergence: Divergence | None = None
        self._state = None
        self._pos = 0
        self._good = None
        self._snapshot()
        self.record_val()
        self._maybe_sample(force=True)

    # -------------------------------------------------------------- data
    def _batch(self):
        cfg, data = self.config, self.train_data
        T, B = cfg.seq_len, cfg.batch_size
        if cfg.carry_state:
            stripe = (len(data) - 1) // B
            if stripe < T + 1:
                B = max(1, (len(data) - 1) // (T + 1))
                stripe = (len(data) - 1) // B
            if self._pos + T + 1 > stripe:
                self._pos = 0
                self._state = None
            starts = torch.arange(B) * stripe + self._pos
            self._pos += T
        else:
            starts = torch.randint(0, len(data) - T - 1, (B,), generator=self.gen)
            self._state = None
        idx = starts[:, None] + torch.arange(T + 1)[None, :]
        chunk = data[idx]
        return chunk[:, :-1], chunk[:, 1:]

    # -------------------------------------------------------------- steps
    @property
    def diverged(self) -> bool:
        return self.divergence is not None

    def step(self, n: int = 1) -> int:
        """Run up to ``n`` steps; returns how many ran (fewer if training diverged)."""
        done = 0
        model, opt, cfg = self.model, self.optimizer, self.config
        params = [p for p in model.parameters()]
        V = len(self.vocab)
        for _ in range(int(n)):
            if self.divergence is not None:
                break
            t0 = time.perf_counter()
            x, y = self._batch()
            state = self._state
            if state is not None:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            logits, new_state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip:
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_value)
            else:
                norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
            lv, gv = float(loss.detach()), float(norm)
            blown = cfg.stop_on_blowup and lv > blowup_threshold(V)
            if not math.isfinite(lv) or not math.isfinite(gv) or blown:
                what, val = ("loss", lv) if not math.isfinite(lv) or blown else ("gradient norm", gv)
                self.divergence = Divergence(self.steps + 1, what, val, self._good[0])
                opt.zero_grad(set_to_none=True)
                break
            if self.steps % cfg.snapshot_every == 0 and self.steps > self._good[0]:
                # Keep the weights *before* this update: they just gave a sane loss, while
                # the update itself may be the one that throws the model off.
                t_snap = time.perf_counter()
                self._snapshot()
                t0 += time.perf_counter() - t_snap
            opt.step()
            if cfg.carry_state:
                self._state = new_state
            dt = time.perf_counter() - t0
            self.steps += 1
            done += 1
            nchars = x.numel()
            self.chars_seen += nchars
            self.train_time += dt
            self.loss_hist.append((self.steps, lv))
            self.grad_hist.append((self.steps, gv))
            self.speed_hist.append((self.steps, nchars / dt if dt > 0 else 0.0))
            if self.steps % cfg.eval_every == 0:
                self.record_val()
            self._maybe_sample()
        return done

    def record_val(self) -> float:
        v = val_loss(self.model, self.val_data, self.config.eval_chars)
        if not math.isfinite(v) and self.divergence is None:
            self.divergence = Divergence(self.steps, "validation loss", v, self._good[0])
            return v
        self.val_hist.append((self.steps, v))
        return v

    def _snapshot(self):
        self._good = (
            self.steps,
            copy.deepcopy(self.model.state_dict()),
            copy.deepcopy(self.optimizer.state_dict()),
        )

    def restore_last_good(self) -> int:
        """Reload the last good weights and optimiser state; training can continue."""
        step, model_sd, opt_sd = self._good
        self.model.load_state_dict(model_sd)
        self.optimizer.load_state_dict(opt_sd)
        for g in self.optimizer.param_groups:  # keep the learning rate chosen since (often lowered)
            g["lr"] = self.config.lr
        self.divergence = None
        self._state = None
        return step

    def set_lr(self, lr: float):
        if not (math.isfinite(lr) and 0 < lr <= 100):
            raise ValueError(f"The learning rate must be a positive number up to 100 (got {lr}).")
        self.config.lr = lr
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def _maybe_sample(self, force=False):
        if force or self.steps in self.config.milestones:
            self.add_sample()

    def add_sample(self):
        if any(s == self.steps for s, _ in self.samples):
            return
        was = self.model.training
        self.model.eval()
        s = sample(self.model, self.vocab, self.config.sample_len, temperature=self.config.sample_temperature,
                   seed=self.config.seed + self.steps)
        self.model.train(was)
        self.samples.append((self.steps, s))

    # -------------------------------------------------------------- summaries
    @property
    def last_loss(self) -> float | None:
        return self.loss_hist[-1][1] if self.loss_hist else None

    @property
    def last_val(self) -> float | None:
        return self.val_hist[-1][1] if self.val_hist else None

    def chars_per_second(self) -> float:
        return self.chars_seen / self.train_time if self.train_time > 0 else 0.0

    def card(self, name: str = "model", **extra) -> dict:
        return ckpt.make_card(
            self.model, self.vocab, name=name, corpus=self.corpus.name, train=self.config.to_dict(),
            steps=self.steps, chars_seen=self.chars_seen, train_seconds=round(self.train_time, 1),
            val_loss=self.last_val, source=self.source, **extra,
        )


# ------------------------------------------------------------------ CLI


def _progress(tr: Trainer, t0: float, budget: float | None, total_steps: int | None):
    frac = (time.time() - t0) / budget if budget else tr.steps / max(1, total_steps or 1)
    frac = min(1.0, frac)
    bar = "#" * int(frac * 30)
    val = f"{tr.last_val:.3f}" if tr.last_val is not None else "-"
    sys.stderr.write(
        f"\r[{bar:<30}] {frac * 100:5.1f}%  step {tr.steps:>7,}  loss {tr.last_loss or float('nan'):.3f}"
        f"  val {val}  {tr.chars_per_second():>8,.0f} chars/s"
    )
    sys.stderr.flush()


def run(args) -> dict:
    from . import corpora

    torch.set_num_threads(args.threads)
    corpus = corpora.load(args.corpus)
    cfg = TrainConfig(
        cell=args.cell, layers=args.layers, hidden=args.hidden, embed=args.embed, dropout=args.dropout,
        seq_len=args.seq_len, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
        clip=args.clip > 0, clip_value=args.clip if args.clip > 0 else 5.0, seed=args.seed,
        eval_every=args.eval_every, eval_chars=args.eval_chars,
    )
    tr = Trainer(corpus, cfg)
    t0 = time.time()
    budget = args.minutes * 60 if args.minutes else None
    lr0 = args.lr
    while True:
        if budget and time.time() - t0 >= budget:
            break
        if args.steps and tr.steps >= args.steps:
            break
        if args.decay and args.steps:  # cosine decay to 10 % over the step budget
            frac = tr.steps / args.steps
            tr.set_lr(lr0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))))
        tr.step(10 if not args.steps else min(10, args.steps - tr.steps))
        if tr.diverged:
            sys.stderr.write("\n" + tr.divergence.message() + "\n")
            tr.restore_last_good()
            break
        _progress(tr, t0, budget, args.steps)
    full_val = val_loss(tr.model, corpus.val_ids, args.final_eval_chars)
    tr.val_hist.append((tr.steps, full_val))
    _progress(tr, t0, budget, args.steps)
    sys.stderr.write("\n")
    wall = time.time() - t0
    card = tr.card(args.name or (args.out.rstrip("/").split("/")[-1] if args.out else "model"),
                   wall_seconds=round(wall, 1), val_chars=min(args.final_eval_chars, len(corpus.val_ids)),
                   threads=args.threads, description=args.description or "")
    if args.out:
        ckpt.save(tr.model, tr.vocab, args.out, card)
        print(f"saved {args.out}  val loss {full_val:.4f} nats/char  steps {tr.steps:,}  {wall:.0f} s")
    else:
        print(f"val loss {full_val:.4f} nats/char  steps {tr.steps:,}  {wall:.0f} s")
    return card


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m rnnviz.train", description="Train a character model.")
    p.add_argument("--corpus", default="shakespeare")
    p.add_argument("--cell", choices=CELLS, default="lstm")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0, help="gradient-norm threshold; 0 = off")
    p.add_argument("--seed", type=parse_seed, default=1337)
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget")
    p.add_argument("--steps", type=int, default=None, help="step budget (reproducible)")
    p.add_argument("--decay", action="store_true", help="cosine learning-rate decay over --steps")
    p.add_argument("--threads", type=int, default=max(1, min(2, torch.get_num_threads())))
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--eval-chars", type=int, default=32_768)
    p.add_argument("--final-eval-chars", type=int, default=200_000)
    p.add_argument("--out", default=None)
    p.add_argument("--name", default=None)
    p.add_argument("--description", default=None)
    args = p.parse_args(argv)
    if not args.minutes and not args.steps:
        args.minutes = 5.0
    try:
        run(args)
    except ValueError as e:
        p.exit(2, f"error: {e}\n")


if __name__ == "__main__":
    main()
