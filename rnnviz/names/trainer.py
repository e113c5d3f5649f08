"""Live trainers of the names lab, both implementing ``rnnviz.protocol.LiveTrainer``
so they run in the one training machinery (``BackgroundTrainer``, worker
processes, CPU slots) like the character trainer.

``ClassifierTrainer`` (many-to-one) trains a ``NameClassifier`` on soft targets
with minibatches of names. Class imbalance is handled in one of three ways:

* ``none`` - plain cross-entropy: big classes dominate;
* ``weights`` - each class's loss is weighted by N / (K * n_class), so every class
  carries the same total weight;
* ``oversample`` - names are drawn with probability proportional to 1 / n_class of
  their class, so every class appears equally often (small classes repeat).

Every ``eval_every`` steps it scores the whole validation split: loss, accuracy and
class-balanced accuracy (``val_hist`` holds ``(step, loss, accuracy, balanced)``).

``ReadoutsTrainer`` (``readout="all"``) trains one classifier per read-out side by
side on the same batches, so a page can compare last state, mean and attention
pooling on equal terms while they learn.

``GeneratorTrainer`` (one-to-many) trains a ``NameGenerator`` with teacher forcing
on (name, class) pairs - a name listed under two classes is a pair for each - and
records the held-out loss per character (end of name included) and, at milestone
steps, a few sampled names per class (``samples``), so a page can show the names
improving as training goes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..protocol import LiveTrainer
from . import data as D
from . import metrics
from .model import (
    READOUTS,
    ClassifierConfig,
    GeneratorConfig,
    NameClassifier,
    NameGenerator,
    classify,
    generate,
    pad,
    teacher_batch,
)
from .store import NamesCheckpoint, make_card

BALANCES = ("none", "weights", "oversample")
MILESTONES = (0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
HISTORY = 20_000


@dataclass
class _Common:
    dataset: str = "surnames"
    cell: str = "gru"
    layers: int = 1
    hidden: int = 64
    embed: int = 32
    lr: float = 3e-3
    batch_size: int = 64
    seed: int = 0
    eval_every: int = 50
    clip: float = 5.0

    def _check(self) -> None:
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 0 < self.lr <= 10):
            raise ValueError(f"The learning rate must be a positive number up to 10 (got {self.lr}).")
        if not 1 <= int(self.batch_size) <= 1024:
            raise ValueError(f"Batch size must be between 1 and 1,024 (got {self.batch_size}).")
        if int(self.eval_every) < 1:
            raise ValueError("Validation must run at least every step count >= 1.")
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"The clipping threshold must be a positive number (got {self.clip}).")

    def to_dict(self) -> dict:
        d = asdict(self)
        if "milestones" in d:
            d["milestones"] = list(d["milestones"])
        return d


@dataclass
class ClassifierTrainConfig(_Common):
    readout: str = "last"
    balance: str = "none"

    def validate(self) -> ClassifierTrainConfig:
        self._check()
        if self.balance not in BALANCES:
            raise ValueError(f"Unknown imbalance handling {self.balance!r}; choose none, weights or oversample.")
        return self


@dataclass
class GeneratorTrainConfig(_Common):
    hidden: int = 128
    class_embed: int = 16
    condition: str = "input"
    milestones: tuple = MILESTONES
    samples_per_class: int = 3
    temperature: float = 0.8

    def validate(self) -> GeneratorTrainConfig:
        self._check()
        return self


def _padded(ds: D.NameDataset, split: D.Split):
    return pad([ds.encode(n) for n in split.names])


class _NamesTrainer(LiveTrainer):
    """What both trainers share: the optimisation loop, divergence, speed, cards."""

    HISTORIES = ("loss_hist", "val_hist")
    COUNTERS = ("steps", "names_seen", "train_time")
    SERVER_ONLY = ("dataset",)
    KIND = ""
    LOSS_TERMS = 1  # models whose losses are summed in one step (the recorded loss is their mean)

    def _setup(self, ds: D.NameDataset, config, model):
        self.dataset = ds
        self.config = config
        self.vocab, self.classes = ds.vocab, ds.classes
        self.data_key = f"{ds.key}:{ds.fingerprint()}"
        self.model = model.train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.steps = 0
        self.names_seen = 0
        self.train_time = 0.0
        self.loss_hist: deque = deque(maxlen=HISTORY)  # (step, training loss)
        self.val_hist: deque = deque(maxlen=HISTORY)
        self.divergence: str | None = None

    def _loss(self) -> tuple[torch.Tensor, int]:
        raise NotImplementedError

    def step(self, n: int = 1) -> int:
        done = 0
        params = list(self.model.parameters())
        for _ in range(int(n)):
            if self.diverged:
                break
            t0 = time.perf_counter()
            loss, names = self._loss()
            lv = float(loss.detach()) / self.LOSS_TERMS
            if not math.isfinite(lv) or lv > 50:
                self.divergence = (f"Training stopped at step {self.steps + 1:,}: the loss became {lv:.3g}. "
                                   "Lower the learning rate (try 10x smaller) and start again.")
                break
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._clip(params)
            self.optimizer.step()
            self.steps += 1
            done += 1
            self.names_seen += names
            self.train_time += time.perf_counter() - t0
            self.loss_hist.append((self.steps, lv))
            if self.steps % self.config.eval_every == 0:
                self.record_val()
            self._after_step()
        return done

    def _after_step(self) -> None:
        pass

    def _clip(self, params) -> None:
        torch.nn.utils.clip_grad_norm_(params, self.config.clip)

    def static_key(self) -> str:
        return f"names-{self.KIND}:{self.data_key}"

    def set_lr(self, lr: float) -> None:
        if not (math.isfinite(lr) and 0 < lr <= 10):
            raise ValueError(f"The learning rate must be a positive number up to 10 (got {lr}).")
        self.config.lr = lr
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def names_per_second(self) -> float:
        return self.names_seen / self.train_time if self.train_time > 0 else 0.0

    def _evaluating(self):
        was = self.model.training
        self.model.eval()
        return was

    def checkpoint(self, name: str = "live") -> NamesCheckpoint:
        """A private, frozen copy of the current model with its card."""
        return self._checkpoint(self.model, name)

    def _checkpoint(self, model, name: str) -> NamesCheckpoint:
        card = make_card(self.KIND, model, self.vocab, self.classes, name=name,
                         dataset=self.data_key.split(":")[0], data_fingerprint=self.data_key.split(":")[1],
                         train=self.config.to_dict(), steps=self.steps,
                         train_seconds=round(self.train_time, 1), **self._card_extra())
        return NamesCheckpoint(model.frozen(), self.vocab, tuple(self.classes), card)

    def _card_extra(self) -> dict:
        return {}


class ClassifierTrainer(_NamesTrainer):
    STATIC = ("vocab", "classes", "train_ids", "train_len", "train_targets", "class_weights", "sample_p",
              "val_ids", "val_len", "val_split")
    ALIASES: ClassVar[dict[str, str]] = {"loss": "loss_hist", "val": "val_hist", "train_seconds": "train_time"}
    KIND = "classifier"

    def __init__(self, ds: D.NameDataset, config: ClassifierTrainConfig | None = None):
        config = (config or ClassifierTrainConfig(dataset=ds.key)).validate()
        torch.manual_seed(config.seed)
        model = NameClassifier(ClassifierConfig(cell=config.cell, vocab_size=len(ds.vocab), classes=len(ds.classes),
                                                layers=config.layers, hidden=config.hidden, embed=config.embed,
                                                readout=config.readout))
        self._setup(ds, config, model)
        self._prepare(ds)
        self.best = (0, 0.0, 0.0)  # (step, accuracy, balanced accuracy) of the best validation accuracy
        self.record_val()

    def _prepare(self, ds: D.NameDataset) -> None:
        self.train_ids, self.train_len = _padded(ds, ds.train)
        self.train_targets = torch.as_tensor(ds.train.targets)
        counts = ds.train.counts().astype(np.float64)
        w = len(ds.train) / (len(ds.classes) * np.maximum(counts, 1e-3))
        self.class_weights = torch.as_tensor(w, dtype=torch.float32)
        per_name = ds.train.targets @ (1.0 / np.maximum(counts, 1e-3))
        self.sample_p = torch.as_tensor(per_name / per_name.sum(), dtype=torch.float64)
        self.val_ids, self.val_len = _padded(ds, ds.val)
        self.val_split = ds.val

    def _batch(self):
        B, N = self.config.batch_size, len(self.train_len)
        if self.config.balance == "oversample":
            idx = torch.multinomial(self.sample_p, B, replacement=True, generator=self.gen)
        else:
            idx = torch.randint(0, N, (B,), generator=self.gen)
        lengths = self.train_len[idx]
        return self.train_ids[idx, : int(lengths.max())], lengths, self.train_targets[idx]

    def _batch_loss(self, model, ids, lengths, t) -> torch.Tensor:
        logp = F.log_softmax(model(ids, lengths), dim=-1)
        if self.config.balance == "weights":
            wt = t * self.class_weights
            return -(wt * logp).sum() / wt.sum()
        return -(t * logp).sum(1).mean()

    def _loss(self):
        return self._batch_loss(self.model, *self._batch()), self.config.batch_size

    def val_probs(self, model=None) -> np.ndarray:
        was = self._evaluating()
        try:
            with torch.inference_mode():
                return torch.softmax((model or self.model)(self.val_ids, self.val_len), dim=-1).numpy()
        finally:
            self.model.train(was)

    def record_val(self) -> metrics.Evaluation:
        ev = metrics.evaluate(self.val_split, self.val_probs(), self.classes)
        if not math.isfinite(ev.loss) and self.divergence is None:
            self.divergence = "The validation loss is not a number: lower the learning rate and start again."
        self.val_hist.append((self.steps, ev.loss, ev.accuracy, ev.balanced_accuracy))
        if ev.accuracy > self.best[1] or self.steps == 0:
            self.best = (self.steps, ev.accuracy, ev.balanced_accuracy)
        return ev

    def summary(self) -> dict:
        last = self.val_hist[-1] if self.val_hist else (0, None, None, None)
        return {"lr": self.config.lr, "names_per_second": self.names_per_second(),
                "last_loss": self.loss_hist[-1][1] if self.loss_hist else None,
                "val_loss": last[1], "accuracy": last[2], "balanced_accuracy": last[3],
                "best_step": self.best[0], "best_accuracy": self.best[1], "best_balanced": self.best[2],
                "balance": self.config.balance, "readout": self.config.readout}

    def preview(self, seed: int = 0, name: str = "Schmidt"):
        """The letter-by-letter class probabilities of ``name`` under the current weights."""
        from .model import letter_probs

        was = self._evaluating()
        try:
            return letter_probs(self.model, self.vocab, self.classes, name)
        finally:
            self.model.train(was)

    def _card_extra(self) -> dict:
        s = self.summary()
        return {"val_accuracy": s["accuracy"], "val_balanced_accuracy": s["balanced_accuracy"]}


class ReadoutsTrainer(ClassifierTrainer):
    """The three read-outs compared: one classifier per read-out, trained side by side.

    Each network starts from the same seed (so the embedding and the recurrent layer
    start equal), sees the same batches in the same order and has its own weights,
    Adam moments and gradient clipping: the step is the sum of three independent
    losses over disjoint parameters, so it is three separate trainings run in
    lock-step, and the only difference between their curves is the read-out.
    ``readout_hist`` holds ``(step, accuracy x 3, balanced accuracy x 3, loss x 3)``
    in ``READOUTS`` order; ``loss_hist`` and ``val_hist`` hold the three models' mean.
    ``checkpoint("live:mean")`` copies one network (the last-state one by default).
    """

    HISTORIES = ("loss_hist", "val_hist", "readout_hist")
    LOSS_TERMS = len(READOUTS)

    def __init__(self, ds: D.NameDataset, config: ClassifierTrainConfig | None = None):
        config = (config or ClassifierTrainConfig(dataset=ds.key, readout="all")).validate()
        config.readout = "all"
        nets = {}
        for r in READOUTS:
            torch.manual_seed(config.seed)
            nets[r] = NameClassifier(ClassifierConfig(cell=config.cell, vocab_size=len(ds.vocab),
                                                      classes=len(ds.classes), layers=config.layers,
                                                      hidden=config.hidden, embed=config.embed, readout=r))
        self._setup(ds, config, torch.nn.ModuleDict(nets))
        self.readout_hist: deque = deque(maxlen=HISTORY)
        self._prepare(ds)
        self.best = (0, 0.0, 0.0)
        self.record_val()

    def _loss(self):
        batch = self._batch()
        return sum(self._batch_loss(m, *batch) for m in self.model.values()), self.config.batch_size

    def _clip(self, params) -> None:
        for m in self.model.values():
            torch.nn.utils.clip_grad_norm_(m.parameters(), self.config.clip)

    def record_val(self) -> dict:
        evs = {r: metrics.evaluate(self.val_split, self.val_probs(m), self.classes) for r, m in self.model.items()}
        cols = [[getattr(evs[r], a) for r in READOUTS] for a in ("accuracy", "balanced_accuracy", "loss")]
        if not all(math.isfinite(v) for v in cols[2]) and self.divergence is None:
            self.divergence = "The validation loss is not a number: lower the learning rate and start again."
        self.readout_hist.append((self.steps, *cols[0], *cols[1], *cols[2]))
        acc, bal, loss = (float(np.mean(c)) for c in cols)
        self.val_hist.append((self.steps, loss, acc, bal))
        if acc > self.best[1] or self.steps == 0:
            self.best = (self.steps, acc, bal)
        return evs

    def summary(self) -> dict:
        out = super().summary()
        last = self.readout_hist[-1] if self.readout_hist else None
        K = len(READOUTS)
        out["readouts"] = {r: {"accuracy": last[1 + i], "balanced_accuracy": last[1 + K + i],
                               "val_loss": last[1 + 2 * K + i]} for i, r in enumerate(READOUTS)} if last else {}
        return out

    def checkpoint(self, name: str = "live") -> NamesCheckpoint:
        readout = name.rsplit(":", 1)[-1] if ":" in name else READOUTS[0]
        if readout not in READOUTS:
            raise ValueError(f"Unknown read-out {readout!r}; choose last, mean or attention.")
        return self._checkpoint(self.model[readout], name)

    def preview(self, seed: int = 0, name: str = "Schmidt"):
        """The letter-by-letter class probabilities of ``name`` under each read-out."""
        from .model import letter_probs

        was = self._evaluating()
        try:
            return {r: letter_probs(m, self.vocab, self.classes, name) for r, m in self.model.items()}
        finally:
            self.model.train(was)


class GeneratorTrainer(_NamesTrainer):
    STATIC = ("vocab", "classes", "train_in", "train_tgt", "train_cls", "val_in", "val_tgt", "val_cls")
    APPENDS = ("samples",)
    ALIASES: ClassVar[dict[str, str]] = {"loss": "loss_hist", "val": "val_hist", "train_seconds": "train_time"}
    KIND = "generator"

    def __init__(self, ds: D.NameDataset, config: GeneratorTrainConfig | None = None):
        config = (config or GeneratorTrainConfig(dataset=ds.key)).validate()
        torch.manual_seed(config.seed)
        model = NameGenerator(GeneratorConfig(cell=config.cell, vocab_size=len(ds.vocab), classes=len(ds.classes),
                                              layers=config.layers, hidden=config.hidden, embed=config.embed,
                                              class_embed=config.class_embed, condition=config.condition))
        self._setup(ds, config, model)
        self.train_in, self.train_tgt, self.train_cls = self._pairs(ds, ds.train)
        self.val_in, self.val_tgt, self.val_cls = self._pairs(ds, ds.val)
        self.samples: list = []  # (step, {class: [names]})
        self.record_val()
        self.add_samples()

    @staticmethod
    def _pairs(ds, split):
        rows, cls = np.nonzero(split.targets > 0)
        inp, tgt, _ = teacher_batch([ds.encode(split.names[i]) for i in rows])
        return inp, tgt, torch.as_tensor(cls)

    def _loss(self):
        B = self.config.batch_size
        idx = torch.randint(0, len(self.train_cls), (B,), generator=self.gen)
        tgt = self.train_tgt[idx]
        T = int((tgt != -100).sum(1).max())
        logits, _ = self.model(self.train_in[idx, :T], self.train_cls[idx])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, :T].reshape(-1), ignore_index=-100), B

    def _pair_loss(self, inp, tgt, cls) -> float:
        was = self._evaluating()
        try:
            with torch.inference_mode():
                logits, _ = self.model(inp, cls)
                return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                             ignore_index=-100))
        finally:
            self.model.train(was)

    def split_loss(self, ds: D.NameDataset, which: str = "test") -> float:
        """Loss per character (end of name included) on the pairs of any split."""
        return self._pair_loss(*self._pairs(ds, ds.split(which)))

    def record_val(self) -> float:
        v = self._pair_loss(self.val_in, self.val_tgt, self.val_cls)
        if not math.isfinite(v) and self.divergence is None:
            self.divergence = "The validation loss is not a number: lower the learning rate and start again."
        self.val_hist.append((self.steps, v))  # nats per character, end of name included
        return v

    def _after_step(self) -> None:
        if self.steps in self.config.milestones:
            self.add_samples()

    def add_samples(self) -> None:
        if any(s == self.steps for s, _ in self.samples):
            return
        self.samples.append((self.steps, self.preview(seed=self.config.seed + self.steps)))

    def preview(self, seed: int = 0, per_class: int | None = None, temperature: float | None = None) -> dict:
        """A few sampled names per class under the current weights."""
        k = per_class or self.config.samples_per_class
        temp = temperature or self.config.temperature
        was = self._evaluating()
        try:
            return {c: [generate(self.model, self.vocab, self.classes, c, temp, seed=seed * 1000 + j).name
                        for j in range(k)] for c in self.classes}
        finally:
            self.model.train(was)

    def summary(self) -> dict:
        return {"lr": self.config.lr, "names_per_second": self.names_per_second(),
                "last_loss": self.loss_hist[-1][1] if self.loss_hist else None,
                "val_loss": self.val_hist[-1][1] if self.val_hist else None,
                "condition": self.config.condition}

    def _card_extra(self) -> dict:
        return {"val_loss_per_char": self.summary()["val_loss"]}


CONFIGS = {"classifier": ClassifierTrainConfig, "generator": GeneratorTrainConfig}


def train_config(kind: str, ds: D.NameDataset, **config):
    """The training configuration ``make_trainer`` would use (pages compare it with a run's)."""
    if kind not in CONFIGS:
        raise ValueError(f"Unknown model kind {kind!r}; choose classifier or generator.")
    return CONFIGS[kind](dataset=ds.key, **config)


def make_trainer(kind: str, ds: D.NameDataset, **config):
    cfg = train_config(kind, ds, **config)
    if kind == "classifier" and cfg.readout == "all":
        return ReadoutsTrainer(ds, cfg)
    return (ClassifierTrainer if kind == "classifier" else GeneratorTrainer)(ds, cfg)


def evaluate(cp: NamesCheckpoint, ds: D.NameDataset, split: str = "test") -> metrics.Evaluation:
    """Held-out scores of a classifier checkpoint on a split of its dataset."""
    if cp.kind != "classifier":
        raise ValueError("Only a classifier can be scored for accuracy.")
    if tuple(cp.classes) != tuple(ds.classes):
        raise ValueError("This model was trained on other classes than this dataset's.")
    sp = ds.split(split)
    return metrics.evaluate(sp, classify(cp.model, cp.vocab, cp.classes, list(sp.names)), ds.classes)
