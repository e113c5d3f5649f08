"""Two or three stacked character models trained side by side: does dropout close
the gap between training and validation loss?

Every run sees the same minibatch at every step and starts from the same seed
(``rnnviz.race.Race``); runs differ only in their number of layers, their
dropout mode (none, between layers, recurrent / variational) and rate. The text is
a small slice of Shakespeare (``data``), so a model without dropout starts to
memorise it within a few hundred steps and its validation loss turns up while its
training loss keeps falling. ``evaluate`` measures both on fixed windows, in eval
mode (nothing dropped), so the gap between them is exact.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .. import race as race_mod
from ..seeds import check_seed
from . import data
from .cell import MAX_LAYERS, MODES, StackedRNN, cell_type, check_dropout, draw_masks

RUN_NAMES = ("A", "B", "C")
SHORT = {"none": "no dropout", "between": "between", "variational": "recurrent"}


@dataclass(frozen=True)
class RunSpec:
    """One contestant: its depth, dropout mode and rate."""

    layers: int = 2
    mode: str = "none"
    p: float = 0.0

    def validate(self) -> "RunSpec":
        if not isinstance(self.layers, (int, np.integer)) or not 1 <= int(self.layers) <= MAX_LAYERS:
            raise ValueError(f"Each run has 1 to {MAX_LAYERS} layers (got {self.layers}).")
        check_dropout(self.mode, self.p)
        return self

    def describe(self) -> str:
        layers = f"{self.layers} layer{'s' if self.layers > 1 else ''}"
        if self.mode == "none" or self.p == 0:
            return f"{layers}, no dropout"
        return f"{layers}, {SHORT[self.mode]} {self.p:g}"


DEFAULT_RUNS = (RunSpec(2, "none", 0.0), RunSpec(2, "between", 0.3), RunSpec(2, "variational", 0.3))


@dataclass(frozen=True)
class DropoutConfig:
    runs: tuple[RunSpec, ...] = field(default_factory=lambda: DEFAULT_RUNS)
    cell: str = "lstm"
    hidden: int = 128
    embed: int = 32
    seq_len: int = 32
    batch: int = 32
    train_chars: int = 10_000
    val_chars: int = 5_000
    lr: float = 0.01
    seed: int = 0
    eval_every: int = 25

    def validate(self) -> "DropoutConfig":
        if not 1 <= len(self.runs) <= len(RUN_NAMES):
            raise ValueError(f"Race 1 to {len(RUN_NAMES)} runs (got {len(self.runs)}).")
        for r in self.runs:
            r.validate()
        cell_type(self.cell)
        checks = (("hidden", 8, 512, "hidden units"), ("embed", 4, 256, "embedding size"),
                  ("seq_len", 8, 256, "sequence length"), ("batch", 1, 256, "batch size"),
                  ("train_chars", 2_000, 500_000, "training text length"),
                  ("val_chars", 1_000, 200_000, "validation text length"), ("eval_every", 1, 10_000,
                                                                             "evaluation interval"))
        for name, lo, hi, what in checks:
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
                raise ValueError(f"The {what} must be a whole number from {lo:,} to {hi:,} (got {v}).")
        if self.val_chars < self.seq_len + 1 or self.train_chars < self.seq_len + 1:
            raise ValueError("The text slices must be longer than one sequence.")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 1e-5 <= self.lr <= 0.1):
            raise ValueError(f"The learning rate must be between 0.00001 and 0.1 (got {self.lr}).")
        check_seed(self.seed)
        return self

    def names(self) -> tuple[str, ...]:
        return RUN_NAMES[: len(self.runs)]

    def labels(self) -> dict[str, str]:
        return {n: r.describe() for n, r in zip(self.names(), self.runs)}

    def to_dict(self) -> dict:
        return asdict(self)


def build_model(cfg: DropoutConfig, spec: RunSpec, vocab_size: int) -> StackedRNN:
    torch.manual_seed(cfg.seed)  # the same initial weights for runs of the same shape
    return StackedRNN(vocab_size, cell=cfg.cell, layers=spec.layers, hidden=cfg.hidden, embed=cfg.embed,
                      mode=spec.mode, p=spec.p)


def sequence_loss(model, x, y) -> torch.Tensor:
    logits, _ = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


class DropoutRace(race_mod.Race):
    STATIC = ("train_ids", "val_ids", "eval_sets", "vocab")

    def __init__(self, config: DropoutConfig | None = None):
        self.config = cfg = (config or DropoutConfig()).validate()
        s = data.slices(cfg.train_chars, cfg.val_chars)
        self.vocab, self.train_ids, self.val_ids = s.vocab, s.train, s.val
        self.eval_sets = {"val": data.windows(s.val, cfg.seq_len), "train": data.windows(s.train, cfg.seq_len)}
        models = {n: build_model(cfg, spec, len(s.vocab)) for n, spec in zip(cfg.names(), cfg.runs)}
        super().__init__(models, lr=cfg.lr, seed=cfg.seed, eval_every=cfg.eval_every)

    def static_key(self) -> str:
        c = self.config
        return f"dropout:{data.CORPUS}:{c.train_chars}:{c.val_chars}:{c.seq_len}"

    def batch(self, gen):
        return data.random_batch(self.train_ids, self.config.batch, self.config.seq_len, gen)

    def loss(self, run, model, batch):
        return sequence_loss(model, *batch)

    def evaluate(self, run, model):
        val = float(sequence_loss(model, *self.eval_sets["val"]))
        train = float(sequence_loss(model, *self.eval_sets["train"]))
        return {"val_loss": val, "train_loss": train, "gap": val - train}

    def summary(self) -> dict:
        return {"config": self.config.to_dict()}


def training_masks(cfg: DropoutConfig, run: str, step: int, sequence: int = 0) -> dict:
    """The masks sequence ``sequence`` of the batch got at training step ``step`` (0-based)
    of run ``run``: the very draw ``Race.step`` makes, redone from its seed.

    Returns {"output": (T, hidden), "recurrent": (T, hidden) or None, "input": (T, units)},
    each 0 where a unit was dropped and 1 / (1 - p) where it was kept; None when the run
    drops nothing."""
    spec = cfg.runs[cfg.names().index(run)]
    gen = torch.Generator().manual_seed(race_mod.step_seed(cfg.seed, step) + 1)
    masks = draw_masks(spec.mode, spec.p, spec.layers, cfg.embed, cfg.hidden, cfg.seq_len, cfg.batch, gen)
    if masks is None:
        return None

    def one(m):
        return None if m is None else m[:, sequence].expand(cfg.seq_len, -1).numpy()

    return {"output": one(masks.output), "recurrent": one(masks.recurrent[0]), "input": one(masks.inputs[0])}


@torch.no_grad()
def sample(model: StackedRNN, vocab, length: int = 300, prime: str = "\n", temperature: float = 0.8,
           seed: int = 0) -> tuple[str, np.ndarray]:
    """``length`` characters drawn from ``model`` (in eval mode: nothing dropped) after
    ``prime``; returns the text and the probability each character was drawn with."""
    if not 1 <= int(length) <= 5_000:
        raise ValueError(f"Sample 1 to 5,000 characters (got {length}).")
    if not (math.isfinite(temperature) and 0.05 <= temperature <= 5):
        raise ValueError(f"The temperature must be between 0.05 and 5 (got {temperature}).")
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(check_seed(seed))
    ids = torch.from_numpy(vocab.encode(prime or "\n")).view(1, -1)
    logits, state = model(ids)
    out, probs = [], []
    for _ in range(int(length)):
        p = torch.softmax(logits[0, -1] / temperature, dim=0)
        idx = int(torch.multinomial(p, 1, generator=gen))
        out.append(idx)
        probs.append(float(p[idx]))
        logits, state = model(torch.tensor([[idx]]), state)
    model.train(was)
    return vocab.decode(out), np.asarray(probs, dtype=np.float32)


def longest_copy(sample_text: str, source: str) -> int:
    """Length of the longest passage of ``sample_text`` found word for word in ``source``:
    a model that memorised its training text copies long stretches of it."""
    best, n = 0, len(sample_text)
    for i in range(n):
        while i + best < n and sample_text[i:i + best + 1] in source:
            best += 1
    return best


# ---------------------------------------------------------------- command line


def parse_run(text: str) -> RunSpec:
    """"2:none", "2:between:0.3", "3:variational:0.25" -> RunSpec (a clear error otherwise)."""
    parts = text.split(":")
    try:
        layers = int(parts[0])
        mode = parts[1] if len(parts) > 1 else "none"
        p = float(parts[2]) if len(parts) > 2 else (0.0 if mode == "none" else 0.3)
    except ValueError:
        raise ValueError(f"Cannot read the run {text!r}: write layers:mode[:rate], e.g. 2:variational:0.3.") from None
    return RunSpec(layers, mode, p).validate()


def main(argv=None) -> int:
    import argparse
    import sys
    import time

    from ..cli import check_training_args

    ap = argparse.ArgumentParser(
        prog="python -m rnnviz.dropout",
        description="Race 2-3 stacked character models with different dropout on a small slice of Shakespeare "
                    "and print training loss, validation loss and the gap between them.")
    ap.add_argument("--run", action="append", metavar="LAYERS:MODE[:RATE]",
                    help=f"one run (repeat up to 3 times); modes: {', '.join(MODES)}. "
                         "Default: 2:none 2:between:0.3 2:variational:0.3")
    ap.add_argument("--cell", default="lstm", help="rnn, lstm or gru")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--train-chars", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=None, help="train this many steps")
    ap.add_argument("--seconds", type=float, default=None, help="or until the slowest run has trained this long")
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        check_training_args(a)
        runs = tuple(parse_run(r) for r in a.run) if a.run else DEFAULT_RUNS
        cfg = DropoutConfig(runs=runs, cell=a.cell, hidden=a.hidden, seq_len=a.seq_len, train_chars=a.train_chars,
                            lr=a.lr, seed=a.seed, eval_every=a.eval_every)
        torch.set_num_threads(a.threads)
        tr = DropoutRace(cfg)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    tr.train_budget(a.seconds, 300 if a.steps is None else a.steps)
    if tr.steps % tr.eval_every:
        tr.record()
    if tr.divergence:
        print(tr.divergence, file=sys.stderr)
    print(f"{cell_type(cfg.cell).label} {cfg.hidden} units, {cfg.train_chars:,} training characters; "
          f"{tr.steps:,} steps in {time.perf_counter() - t0:.1f} s")
    print(f"{'run':<28} {'train loss':>10} {'val loss':>9} {'gap':>7} {'best val':>9} {'seconds':>8}")
    for name, label in cfg.labels().items():
        r = tr.latest[name]
        best = min(v[name]["val_loss"] for _, v in tr.eval_hist)
        print(f"{name + ': ' + label:<28} {r['train_loss']:10.3f} {r['val_loss']:9.3f} {r['gap']:7.3f} "
              f"{best:9.3f} {tr.seconds[name]:8.1f}")
    return 0
