"""A second trainer for the protocol tests: a straight line fitted by SGD.

``LineFit`` implements ``rnnviz.protocol.LiveTrainer`` and shares nothing with the
character trainer (no vocabulary, no samples, other histories and counters), so
tests that run it through ``BackgroundTrainer`` and the worker processes prove that
the machinery trains any lab's trainer. It lives in its own importable module
(``tests.protocol_toy``), not in a test file, because worker processes unpickle a
trainer's class by reference (module and name); it stays out of ``rnnviz/`` because
no page uses it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

import torch
import torch.nn.functional as F

from rnnviz.protocol import LiveTrainer

FIT_EVERY = 10  # steps between the (step, slope, intercept) records in ``fits``


class LineFit(LiveTrainer):
    """Fits ``y = slope * x + intercept`` (plus noise) with minibatch SGD."""

    HISTORIES = ("loss_hist",)
    APPENDS = ("fits",)
    COUNTERS = ("steps", "points_seen")
    STATIC = ("x", "y")
    SERVER_ONLY = ("label",)
    ALIASES: ClassVar[dict[str, str]] = {"loss": "loss_hist"}

    def __init__(self, slope: float = 3.0, intercept: float = -2.0, n: int = 512, lr: float = 0.1,
                 batch: int = 32, seed: int = 0, label: str = "line"):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 1, generator=g)
        self.y = slope * self.x + intercept + 0.1 * torch.randn(n, 1, generator=g)
        self.data_id = (slope, intercept, n, seed)
        self.model = torch.nn.Linear(1, 1)
        with torch.no_grad():
            self.model.weight.zero_()
            self.model.bias.zero_()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.batch = batch
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.steps = 0
        self.points_seen = 0
        self.loss_hist: deque = deque(maxlen=1000)  # (step, mean squared error)
        self.fits: list = []  # (step, slope, intercept)
        self.divergence: str | None = None
        self.label = label

    def step(self, n: int = 1) -> int:
        done = 0
        for _ in range(int(n)):
            if self.diverged:
                break
            idx = torch.randint(0, len(self.x), (self.batch,), generator=self.gen)
            loss = F.mse_loss(self.model(self.x[idx]), self.y[idx])
            lv = float(loss.detach())
            if not math.isfinite(lv) or lv > 1e6:
                self.divergence = (f"The squared error reached {lv:.3g} at step {self.steps + 1:,}: "
                                   "lower the learning rate and start again.")
                break
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.steps += 1
            done += 1
            self.points_seen += self.batch
            self.loss_hist.append((self.steps, lv))
            if self.steps % FIT_EVERY == 0:
                self.fits.append((self.steps, *self.line()))
        return done

    def line(self) -> tuple[float, float]:
        return self.model.weight.item(), self.model.bias.item()

    def static_key(self) -> str:
        return "linefit:" + ":".join(map(str, self.data_id))

    def summary(self) -> dict:
        slope, intercept = self.line()
        return {"slope": slope, "intercept": intercept, "lr": self.optimizer.param_groups[0]["lr"]}

    def preview(self, seed: int = 0, x: float = 1.0) -> float:
        with torch.no_grad():
            return float(self.model(torch.tensor([[x]])))

    def set_lr(self, lr: float) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = lr
