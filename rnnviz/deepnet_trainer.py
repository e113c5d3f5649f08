"""Two deep MLPs trained side by side on the same spirals and seed, live.

``DeepNetRace`` implements the trainer protocol (``rnnviz.protocol.LiveTrainer``),
so it runs in the training workers and slots like every other lab. Both runs see
the same minibatches (one shared generator) and start from the same seed; only
their ``NetConfig`` differs (e.g. sigmoid + N(0, 1) against ReLU + He), so any
difference in the curves comes from the architecture, not from luck.

It is a ``rnnviz.race.Race`` (the batch of step k comes from ``step_seed(seed, k)``,
``loss_hist`` / ``eval_hist`` / ``seconds`` as in every race). Every ``STATS_EVERY``
steps each run records, from ``deepnet.layer_stats`` on a fixed probe batch: the
mean |∂L/∂W| per layer, the update-to-weight ratio and the saturated fraction per
layer (``stats_hist``: the layer × step heatmap), the activation histograms
(``layers``), and held-out accuracy plus training-set accuracy and loss
(``eval_hist``: ``acc``, ``train_acc``, ``train_loss``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F

from . import deepnet
from .race import Race
from .seeds import check_seed

STATS_EVERY = 10
PROBE = 256  # training points the per-layer statistics are measured on
RUNS = ("A", "B")


@dataclass(frozen=True)
class RaceConfig:
    a: deepnet.NetConfig = field(default_factory=lambda: deepnet.NetConfig(activation="sigmoid", init="normal"))
    b: deepnet.NetConfig = field(default_factory=lambda: deepnet.NetConfig(activation="relu", init="he"))
    lr: float = 0.02
    momentum: float = 0.9
    batch: int = 64
    points: int = 1000
    arms: int = 2
    noise: float = 0.15
    seed: int = 0

    def validate(self) -> "RaceConfig":
        for run in (self.a, self.b):
            run.validate()
            if run.classes != self.arms:
                raise ValueError("Both networks must have one output per spiral arm.")
        if not (math.isfinite(self.lr) and 1e-5 <= self.lr <= 10):
            raise ValueError(f"The learning rate must be between 0.00001 and 10 (got {self.lr}).")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"Momentum must be in [0, 1) (got {self.momentum}).")
        if not 1 <= int(self.batch) <= 1024:
            raise ValueError(f"The batch size must be between 1 and 1,024 (got {self.batch}).")
        if not 100 <= int(self.points) <= 20_000:
            raise ValueError(f"Use between 100 and 20,000 points (got {self.points}).")
        check_seed(self.seed)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def data(cfg: RaceConfig):
    """Train and held-out points (80 / 20), from the seed."""
    X, y = deepnet.spirals(cfg.points, cfg.arms, cfg.noise, seed=cfg.seed)
    cut = int(0.8 * len(y))
    t = torch.from_numpy
    return t(X[:cut]), t(y[:cut]), t(X[cut:]), t(y[cut:])


class DeepNetRace(Race):
    """The two networks of a ``RaceConfig`` as a ``Race``: SGD with momentum, no clipping
    (exploding gradients are part of the lesson), an evaluation every ``STATS_EVERY`` steps."""

    HISTORIES = (*Race.HISTORIES, "stats_hist")
    COUNTERS = (*Race.COUNTERS, "layers")  # layers: small, replaced (never mutated) at every record
    STATIC = ("X", "y", "X_val", "y_val")
    ALIASES: ClassVar[dict[str, str]] = {**Race.ALIASES, "stats": "stats_hist"}

    def __init__(self, config: RaceConfig):
        self.config = config.validate()
        self.X, self.y, self.X_val, self.y_val = data(config)
        self.stats_hist: deque = deque(maxlen=2_000)  # (step, {run: (grad, ratio, saturated)})
        self.layers: dict = {}  # {run: activation histogram, its edges, training-set accuracy and loss}
        models = {"A": deepnet.MLP(config.a, seed=config.seed), "B": deepnet.MLP(config.b, seed=config.seed)}
        super().__init__(models, lr=config.lr, seed=config.seed, eval_every=STATS_EVERY, clip=None,
                         optimizer="sgd", momentum=config.momentum)

    def static_key(self) -> str:
        c = self.config
        return f"deepnet-spirals:{c.points}:{c.arms}:{c.noise}:{c.seed}"

    def batch(self, gen: torch.Generator):
        idx = torch.randint(0, len(self.y), (self.config.batch,), generator=gen)
        return self.X[idx], self.y[idx]

    def loss(self, run: str, model, batch) -> torch.Tensor:
        xb, yb = batch
        return F.cross_entropy(model(xb), yb)

    def record(self) -> dict:
        """The per-layer statistics (gradients by hand, so outside ``Race.record``'s
        no-grad evaluation), then the evaluation."""
        stats, layers = {}, {}
        for k, m in self.models.items():
            s = deepnet.layer_stats(m, self.X[:PROBE], self.y[:PROBE], self.config.lr)
            stats[k] = (tuple(map(float, s.grad)), tuple(map(float, s.ratio)), tuple(map(float, s.saturated)))
            layers[k] = {"hist": s.hist.tolist(), "edges": s.edges.tolist(), "train_acc": s.accuracy,
                         "train_loss": s.loss}
        self.layers = layers
        if not self.stats_hist or self.stats_hist[-1][0] != self.steps:
            self.stats_hist.append((self.steps, stats))
        return super().record()

    def evaluate(self, run: str, model) -> dict[str, float]:
        acc = (model(self.X_val).argmax(1) == self.y_val).float().mean()
        return {"acc": acc, "train_acc": self.layers[run]["train_acc"], "train_loss": self.layers[run]["train_loss"]}

    def summary(self) -> dict:
        return {"config": self.config.to_dict()}

    def decision_grids(self, n: int = 60) -> dict:
        """Class probabilities over the plane for both runs (call under the runner's lock)."""
        return {k: deepnet.decision_grid(m, n=n) for k, m in self.models.items()}


def stat_grids(stats_hist, what: int = 0) -> tuple[list, dict]:
    """(steps, {run: values [layer][step]}) of one recorded statistic of ``stats_hist``
    (0 mean |dL/dW|, 1 update ratio, 2 saturated share): the layer x step heatmaps."""
    rows = list(stats_hist)
    steps = [r[0] for r in rows]
    return steps, {run: [[r[1][run][what][layer] for r in rows] for layer in range(len(rows[0][1][run][what]))]
                   for run in RUNS}


# ---------------------------------------------------------------- command line


def parse_net(spec: str, depth: int, width: int, residual: bool, arms: int) -> deepnet.NetConfig:
    """"sigmoid:normal:1.0" / "relu:he" / "tanh:xavier:res" -> NetConfig."""
    parts = spec.split(":")
    activation, init = parts[0], (parts[1] if len(parts) > 1 else "he")
    sigma, res = 1.0, residual
    for extra in parts[2:]:
        if extra == "res":
            res = True
        else:
            try:
                sigma = float(extra)
            except ValueError:
                raise ValueError(f"Cannot read {extra!r} in {spec!r}: give a σ (e.g. 0.5) or 'res'.") from None
    return deepnet.NetConfig(depth=depth, width=width, activation=activation, init=init, sigma=sigma,
                             residual=res, classes=arms).validate()


def main(argv=None) -> int:
    import argparse
    import sys
    import time

    from .cli import check_training_args

    ap = argparse.ArgumentParser(
        prog="python -m rnnviz.deepnet",
        description="Train two deep MLPs side by side on spirals and print the mean |dL/dW| of every layer.")
    ap.add_argument("--a", default="sigmoid:normal:1", help="network A: activation:init[:sigma][:res]")
    ap.add_argument("--b", default="relu:he", help="network B, same form (default relu:he)")
    ap.add_argument("--depth", type=int, default=20, help="hidden layers (1-30)")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--residual", action="store_true", help="residual connections in both networks")
    ap.add_argument("--arms", type=int, default=2, help="spiral arms = classes")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        check_training_args(a, time=None)
        torch.set_num_threads(a.threads)
        cfg = RaceConfig(a=parse_net(a.a, a.depth, a.width, a.residual, a.arms),
                         b=parse_net(a.b, a.depth, a.width, a.residual, a.arms),
                         lr=a.lr, batch=a.batch, arms=a.arms, seed=a.seed)
        trainer = DeepNetRace(cfg)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    first = {k: trainer.stats_hist[0][1][k][0] for k in RUNS}
    t0 = time.perf_counter()
    trainer.step(a.steps)
    wall = time.perf_counter() - t0
    if trainer.divergence:
        print(trainer.divergence, file=sys.stderr)
    last_stats = trainer.stats_hist[-1][1]
    print(f"A: {cfg.a.describe()}\nB: {cfg.b.describe()}\n{trainer.steps:,} steps in {wall:.1f} s")
    print("\nmean |dL/dW| per layer (1 = next to the input)")
    print(f"{'layer':>6} {'A step 0':>11} {'A now':>11} {'B step 0':>11} {'B now':>11}")
    n = len(first["A"])
    for i in range(n):
        name = "out" if i == n - 1 else str(i + 1)
        print(f"{name:>6} {first['A'][i]:11.3e} {last_stats['A'][0][i]:11.3e} "
              f"{first['B'][i]:11.3e} {last_stats['B'][0][i]:11.3e}")
    acc = trainer.latest
    print(f"\nheld-out accuracy: A {acc['A']['acc']:.1%}, B {acc['B']['acc']:.1%}")
    return 0
