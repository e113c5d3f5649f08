"""The live trainers of the seq2seq lab (``rnnviz.protocol.LiveTrainer``s).

``Seq2SeqTrainer.step(n)`` runs n Adam steps of one model with teacher forcing on
random minibatches of the training split, records the loss at every step and the
exact-match accuracy (the whole output right) on a fixed validation subset every
``eval_every`` steps, and stops on a NaN / infinite loss (the CLI and the benchmark).

``Seq2SeqRace`` is the page's race, on the labs' shared ``rnnviz.race.Race``: the
model with attention and the one without start from the same seed and see the same
minibatch at every step, so the gap between their curves comes from attention alone.

Both train on the task ``TrainSettings.task`` names: dates (``dates``), or reversing /
copying strings of ``TrainSettings.length`` symbols (``strings``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from ..protocol import LiveTrainer
from ..race import Race
from . import dates, strings
from .model import TASKS, Seq2Seq, Seq2SeqConfig

HISTORY = 20_000


@dataclass
class TrainSettings:
    """Model and optimisation settings a student can choose."""

    cell: str = "gru"
    bidirectional: bool = True
    enc_hidden: int = 32
    dec_hidden: int = 64
    embed: int = 16
    attention: str = "additive"
    batch_size: int = 100
    lr: float = 5e-3
    clip: float = 5.0
    seed: int = 0
    eval_every: int = 25
    eval_size: int = 500
    task: str = "dates"  # or a string task: "reverse", "copy"
    length: int = 12  # the string tasks' length (dates ignore it)

    def validate(self) -> TrainSettings:
        if self.task not in TASKS:
            raise ValueError(f"Unknown task {self.task!r}: pick one of {', '.join(TASKS)}.")
        if self.task != "dates":
            strings.check_settings(self.task, self.length)
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 4096:
            raise ValueError("The batch size must be a whole number between 1 and 4096.")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr <= 1):
            raise ValueError("The learning rate must be above 0 and at most 1 (try 0.005).")
        if not isinstance(self.eval_every, int) or self.eval_every < 1:
            raise ValueError("eval_every must be a whole number of steps, at least 1.")
        if not isinstance(self.eval_size, int) or self.eval_size < 1:
            raise ValueError("eval_size must be at least 1 example.")
        return self

    def model_config(self, data, attention: str | None = None) -> Seq2SeqConfig:
        return Seq2SeqConfig(in_vocab_size=len(data.in_vocab), cell=self.cell, bidirectional=self.bidirectional,
                             enc_hidden=self.enc_hidden, dec_hidden=self.dec_hidden, embed=self.embed,
                             attention=attention or self.attention, task=data.task, out_len=data.out_len).validate()

    @property
    def task_key(self) -> str:
        """The data set these settings train on ("dates", "reverse:12")."""
        return "dates" if self.task == "dates" else f"{self.task}:{self.length}"

    def data(self):
        """The task's data set (built once per process: both makers are cached)."""
        return dates.make(0) if self.task == "dates" else strings.make(self.task, self.length)

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def exact_match(model: Seq2Seq, x, lens, y, batch: int = 1000) -> float:
    """Fraction of examples whose whole output equals the target."""
    was = model.training
    model.eval()
    hits = 0
    for i in range(0, len(x), batch):
        ids, _, _ = model.greedy(x[i:i + batch], lens[i:i + batch], steps=y.shape[1])
        hits += int((ids == y[i:i + batch]).all(dim=1).sum())
    model.train(was)
    return hits / max(1, len(x))


def sample_batch(x, lens, y, size: int, gen: torch.Generator):
    """A random minibatch (inputs cut to its longest one, lengths, targets)."""
    idx = torch.randint(0, len(x), (size,), generator=gen)
    bl = lens[idx]
    return x[idx, :int(bl.max())], bl, y[idx]


def batch_loss(model: Seq2Seq, batch) -> torch.Tensor:
    """Cross-entropy per output character, with teacher forcing."""
    x, lens, y = batch
    logits = model(x, lens, y)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def frozen_checkpoint(model: Seq2Seq, vocab, card: dict):
    """A private, frozen copy of ``model`` (``rnnviz.seq2seq.checkpoint.Seq2SeqCheckpoint``)."""
    from .checkpoint import Seq2SeqCheckpoint, make_card

    model = model.copy().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return Seq2SeqCheckpoint(model, vocab, make_card(model, vocab, card))


class Seq2SeqTrainer(LiveTrainer):
    HISTORIES = ("loss_hist", "acc_hist")
    COUNTERS = ("steps", "examples_seen", "train_time")
    STATIC = ("train_x", "train_len", "train_y", "val_x", "val_len", "val_y")
    SERVER_ONLY = ("data",)
    ALIASES: ClassVar[dict[str, str]] = {"loss": "loss_hist", "accuracy": "acc_hist",
                                         "train_seconds": "train_time"}

    def __init__(self, data, settings: TrainSettings | None = None):
        self.settings = s = (settings or TrainSettings()).validate()
        self.data = data
        self.in_vocab = data.in_vocab
        self.train_x, self.train_len, self.train_y = dates.split_tensors(data, data.train)
        self.val_x, self.val_len, self.val_y = dates.split_tensors(data, data.val[:s.eval_size])
        torch.manual_seed(s.seed)
        self.model = Seq2Seq(s.model_config(data)).train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=s.lr)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.steps = 0
        self.examples_seen = 0
        self.train_time = 0.0
        self.loss_hist: deque = deque(maxlen=HISTORY)  # (step, cross-entropy per output character)
        self.acc_hist: deque = deque(maxlen=HISTORY)  # (step, exact match on the validation subset)
        self.divergence: str | None = None
        self.record_accuracy()

    # ------------------------------------------------------------ training
    def step(self, n: int = 1) -> int:
        done = 0
        s, model = self.settings, self.model
        for _ in range(int(n)):
            if self.divergence is not None:
                break
            t0 = time.perf_counter()
            loss = batch_loss(model, sample_batch(self.train_x, self.train_len, self.train_y, s.batch_size,
                                                  self.gen))
            lv = float(loss.detach())
            if not math.isfinite(lv):
                self.divergence = (f"The loss became {lv} at step {self.steps + 1:,}: lower the "
                                   "learning rate and start again.")
                break
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if s.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), s.clip)
            self.optimizer.step()
            self.steps += 1
            done += 1
            self.examples_seen += s.batch_size
            self.train_time += time.perf_counter() - t0
            self.loss_hist.append((self.steps, lv))
            if self.steps % s.eval_every == 0:
                self.record_accuracy()
        return done

    def record_accuracy(self) -> float:
        acc = exact_match(self.model, self.val_x, self.val_len, self.val_y)
        self.acc_hist.append((self.steps, acc))
        return acc

    # ------------------------------------------------------------ protocol
    def static_key(self) -> str:
        return f"seq2seq:{self.data.key}:{self.settings.eval_size}"

    def set_lr(self, lr: float) -> None:
        if not 0 < lr <= 1:
            raise ValueError("The learning rate must be above 0 and at most 1.")
        self.settings.lr = lr
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def summary(self) -> dict:
        return {"lr": self.settings.lr, "attention": self.settings.attention,
                "last_loss": self.loss_hist[-1][1] if self.loss_hist else None,
                "last_accuracy": self.acc_hist[-1][1] if self.acc_hist else None,
                "examples_per_second": self.examples_seen / self.train_time if self.train_time > 0 else 0.0}

    def card(self, name: str = "model", **extra) -> dict:
        return {"name": name, "task": self.data.task, "data_seed": self.data.seed, "train": self.settings.to_dict(),
                "steps": self.steps, "train_seconds": round(self.train_time, 1),
                "val_exact_match": self.acc_hist[-1][1] if self.acc_hist else None, **extra}

    def checkpoint(self, name: str = "live"):
        """A private, frozen copy of the current model (``rnnviz.seq2seq.checkpoint.Seq2SeqCheckpoint``)."""
        return frozen_checkpoint(self.model, self.in_vocab, self.card(name))

    def preview(self, seed: int = 0, text: str = "jeudi 25 juin 2009"):
        """The current model's step-by-step decode of ``text`` (for the live attention map)."""
        from .model import decode_steps

        was = self.model.training
        self.model.eval()
        try:
            return decode_steps(self.model, self.in_vocab, text)
        finally:
            self.model.train(was)



class Seq2SeqRace(Race):
    """The model with ``settings.attention`` (run "attention") against the same model
    without attention (run "none"), on the same batches from the same seed."""

    HISTORIES = Race.HISTORIES
    STATIC = ("train_x", "train_len", "train_y", "val_x", "val_len", "val_y")
    SERVER_ONLY = ("data",)
    ALIASES: ClassVar[dict[str, str]] = Race.ALIASES
    RUNS = ("attention", "none")

    def __init__(self, settings: TrainSettings | None = None):
        self.config = s = TrainSettings(**(settings or TrainSettings()).to_dict()).validate()
        if s.attention == "none":
            raise ValueError("Pick additive or dot-product attention to race against the model without it.")
        self.data = data = s.data()
        self.in_vocab = data.in_vocab
        self.train_x, self.train_len, self.train_y = dates.split_tensors(data, data.train)
        self.val_x, self.val_len, self.val_y = dates.split_tensors(data, data.val[:s.eval_size])
        super().__init__(self.initial_models(s), lr=s.lr, seed=s.seed, eval_every=s.eval_every, clip=s.clip)

    @classmethod
    def initial_models(cls, settings: TrainSettings) -> dict[str, Seq2Seq]:
        """Both runs' freshly initialised models (the race's step 0)."""
        models, data = {}, settings.data()
        for run, att in zip(cls.RUNS, (settings.attention, "none")):
            torch.manual_seed(settings.seed)  # the same embeddings and encoder weights to start from
            models[run] = Seq2Seq(settings.model_config(data, att))
        return models

    def static_key(self) -> str:
        return f"seq2seq-race:{self.data.key}:{self.config.eval_size}"

    def batch(self, gen):
        return sample_batch(self.train_x, self.train_len, self.train_y, self.config.batch_size, gen)

    def loss(self, run, model, batch):
        return batch_loss(model, batch)

    def evaluate(self, run, model):
        return {"acc": exact_match(model, self.val_x, self.val_len, self.val_y)}

    def summary(self) -> dict:
        return {"attention": self.config.attention, "task": self.config.task}

    def card(self, run: str, name: str | None = None) -> dict:
        return {"name": name or run, "task": self.data.task, "data_seed": self.data.seed,
                "train": {**self.config.to_dict(), "attention": self.models[run].config.attention},
                "steps": self.steps, "train_seconds": round(self.seconds[run], 1),
                "val_exact_match": (self.latest.get(run) or {}).get("acc")}

    def checkpoint(self, name: str = "attention"):
        """A private, frozen copy of run ``name`` ("attention" or "none"; any other name: "attention")."""
        run = name if name in self.models else "attention"
        return frozen_checkpoint(self.models[run], self.in_vocab, self.card(run))
