"""Several models trained side by side on the same batches: the labs' comparison trainer.

Most labs ask "what difference does one choice make?" (forward-only vs
bidirectional, dropout between layers vs recurrent dropout, RNN vs LSTM vs GRU,
RNN vs 1D CNN). ``Race`` answers it fairly: every run sees exactly the same
minibatch at every step and starts from the same seed, so any gap between the
curves comes from the choice, not from luck. It implements the trainer protocol
(``rnnviz.protocol.LiveTrainer``), so a race trains in the training workers and
slots like any other lab and is driven by the same controls.

A lab subclasses ``Race`` and implements three methods:

- ``batch(gen)``: one minibatch drawn with the torch generator ``gen``;
- ``loss(run, model, batch)``: the scalar training loss of one run on it;
- ``evaluate(run, model)``: a dict of held-out numbers (plain floats), called
  every ``eval_every`` steps with the model in eval mode and no gradients.

and calls ``super().__init__(models, lr=..., seed=..., ...)`` from its own
``__init__`` once its data exist. The generator of step *k* is seeded from
``(seed, k)`` and torch's global generator (dropout masks) too, so a race gives
the same numbers in a worker process, in a thread or in a notebook, whichever
process runs which chunk of steps.

Histories (each item starts with the step): ``loss_hist`` = ``(step, {run: loss})``
at every step, ``eval_hist`` = ``(step, {run: {metric: value}})``. Counters:
``latest`` (the last evaluation) and ``seconds`` (optimisation wall time of each
run, evaluations excluded), so a page can say how long each model took.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, ClassVar

import torch
from torch import nn

from .protocol import LiveTrainer
from .seeds import check_seed

LOSS_POINTS = 20_000
EVAL_POINTS = 5_000


def step_seed(seed: int, step: int) -> int:
    """The seed of step ``step`` of a race with seed ``seed`` (fits torch's 64-bit seeds)."""
    return (int(seed) * 1_000_003 + int(step) * 7_919 + 12_345) % (2**63 - 1)


class Race(LiveTrainer):
    HISTORIES = ("loss_hist", "eval_hist")
    COUNTERS = ("steps", "latest", "seconds")
    ALIASES: ClassVar[dict[str, str]] = {"loss": "loss_hist", "evals": "eval_hist"}

    def __init__(self, models: dict[str, nn.Module], *, lr: float, seed: int, eval_every: int = 50,
                 clip: float | None = 5.0, weight_decay: float = 0.0, optimizer: str = "adam",
                 momentum: float = 0.9):
        if not models:
            raise ValueError("A race needs at least one model.")
        if not (math.isfinite(lr) and 1e-6 <= lr <= 10):
            raise ValueError(f"The learning rate must be between 0.000001 and 10 (got {lr}).")
        if not 1 <= int(eval_every) <= 100_000:
            raise ValueError(f"Evaluate every 1 to 100,000 steps (got {eval_every}).")
        self.seed = check_seed(seed)
        self.models = dict(models)
        self.runs = tuple(self.models)
        make = {"adam": lambda p: torch.optim.Adam(p, lr=lr, weight_decay=weight_decay),
                "sgd": lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum, weight_decay=weight_decay)}
        if optimizer not in make:
            raise ValueError(f"Unknown optimiser {optimizer!r}: use one of {', '.join(make)}.")
        self.optimizers = {k: make[optimizer](m.parameters()) for k, m in self.models.items()}
        self.lr, self.clip, self.eval_every = float(lr), clip, int(eval_every)
        self.steps = 0
        self.loss_hist: deque = deque(maxlen=LOSS_POINTS)
        self.eval_hist: deque = deque(maxlen=EVAL_POINTS)
        self.latest: dict = {}
        self.seconds: dict = {k: 0.0 for k in self.runs}
        self.divergence: str | None = None
        self.record()

    # ------------------------------------------------------------ for subclasses
    def batch(self, gen: torch.Generator) -> Any:
        raise NotImplementedError

    def loss(self, run: str, model: nn.Module, batch) -> torch.Tensor:
        raise NotImplementedError

    def evaluate(self, run: str, model: nn.Module) -> dict[str, float]:
        raise NotImplementedError

    # ------------------------------------------------------------ protocol
    def modules(self) -> dict:
        return dict(self.models)

    def record(self) -> dict:
        """Evaluate every run now and append the result to ``eval_hist``."""
        out = {}
        for k, m in self.models.items():
            was = m.training
            m.eval()
            with torch.no_grad():
                out[k] = {name: float(v) for name, v in self.evaluate(k, m).items()}
            m.train(was)
        self.latest = out
        if not self.eval_hist or self.eval_hist[-1][0] != self.steps:
            self.eval_hist.append((self.steps, out))
        return out

    def step(self, n: int = 1) -> int:
        done = 0
        for _ in range(int(n)):
            if self.diverged:
                break
            gen = torch.Generator().manual_seed(step_seed(self.seed, self.steps))
            b = self.batch(gen)
            losses = {}
            for k, m in self.models.items():
                torch.manual_seed(step_seed(self.seed, self.steps) + 1)  # the same dropout masks for every run
                t0 = time.perf_counter()
                m.train()
                loss = self.loss(k, m, b)
                lv = float(loss.detach())
                if not math.isfinite(lv):
                    self.divergence = (f"Run {k}'s loss became {lv} at step {self.steps + 1:,}: lower the "
                                       "learning rate and press Reset.")
                    return done
                opt = self.optimizers[k]
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.clip:
                    nn.utils.clip_grad_norm_(m.parameters(), self.clip)
                opt.step()
                self.seconds = {**self.seconds, k: self.seconds[k] + time.perf_counter() - t0}
                losses[k] = lv
            self.steps += 1
            done += 1
            self.loss_hist.append((self.steps, losses))
            if self.steps % self.eval_every == 0:
                self.record()
        return done

    def train_for(self, seconds: float, chunk: int = 10) -> int:
        """Notebook / CLI helper: step until the slowest run has trained ``seconds``."""
        done = 0
        while max(self.seconds.values()) < seconds and not self.diverged:
            done += self.step(chunk)
        return done

    def train_budget(self, seconds: float | None, steps: int) -> int:
        """CLI helper: ``train_for(seconds)`` when a time budget is given, else ``steps`` steps."""
        return self.train_for(seconds) if seconds is not None else self.step(steps)


def series(hist, metric: str | None = None) -> dict[str, tuple[list, list]]:
    """{run: (steps, values)} from ``loss_hist`` (metric None) or from ``eval_hist``
    (metric = one of the evaluation's keys); runs missing a point are skipped there."""
    out: dict[str, tuple[list, list]] = {}
    for item in hist:
        step, values = item[0], item[1]
        for run, v in values.items():
            v = v if metric is None else v.get(metric)
            if v is None:
                continue
            xs, ys = out.setdefault(run, ([], []))
            xs.append(step)
            ys.append(v)
    return out


def smooth(values, window: int = 25) -> list[float]:
    """A trailing moving average (the per-step loss is noisy)."""
    out, total, buf = [], 0.0, deque()
    for v in values:
        buf.append(v)
        total += v
        if len(buf) > window:
            total -= buf.popleft()
        out.append(total / len(buf))
    return out
