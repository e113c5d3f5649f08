"""The memory race: a vanilla RNN, an LSTM and a GRU on the same batches, and the
two numbers the lab is about, measured on the fixed held-out set at every distance.

- ``accuracy_by_distance``: the share of held-out examples answered right at each
  distance 1 … D_eval (the main figure). D_eval may exceed the longest training
  distance D, to show whether a cell *extrapolates*.
- ``input_gradients``: the mean ‖∂L/∂x_s‖ per distance, where x_s is the input
  vector of the symbol to remember (x_1 in "recall the first symbol"): how much
  the answer's loss can still move that input. It shrinks exponentially with the
  distance in a vanilla RNN (vanishing gradients) and much less through the
  LSTM's cell state or the GRU's update gate. It also shrinks when the example
  is simply solved (a tiny loss has a tiny gradient), so it comes with the *gain*
  ‖∂L/∂x_s‖ / ‖∂L/∂h_T‖: the share of the error signal arriving at the last
  hidden state that makes it back to the symbol, whatever the size of the loss.

``MemoryRace.evaluate`` records them at every evaluation (keys ``acc@d``,
``grad@d`` and ``gain@d`` per run, plus ``acc`` = mean over the training range and ``far`` =
mean beyond it), so the page can show how the curves move during training.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from .. import celltypes
from ..race import Race
from ..seeds import check_seed
from . import tasks
from .model import MemoryNet

MAX_DISTANCE = 100  # longest training distance
MAX_EVAL = 150  # longest held-out distance


@dataclass(frozen=True)
class MemoryConfig:
    task: str = "first"
    cells: tuple[str, ...] = ("rnn", "lstm", "gru")
    hidden: int = 32
    symbols: int = 8
    min_distance: int = 1  # training distances are drawn uniformly from min … max
    max_distance: int = 20
    eval_distance: int = 40  # held-out distances 1 … eval_distance
    batch: int = 64
    lr: float = 0.003
    seed: int = 0
    eval_every: int = 50
    eval_n: int = 100  # held-out examples per distance
    grad_n: int = 16  # of which the gradient is measured on the first grad_n

    def validate(self) -> "MemoryConfig":
        tasks.task(self.task)
        if not self.cells:
            raise ValueError("Choose at least one cell type to train.")
        for c in self.cells:
            celltypes.of(c)
        if len(set(self.cells)) != len(self.cells):
            raise ValueError("Each cell type can run only once in a race.")
        checks = [(self.hidden, 2, 256, "The hidden size"), (self.symbols, 2, 32, "The number of symbols"),
                  (self.batch, 1, 1024, "The batch size"), (self.eval_n, 4, 1000, "Held-out examples per distance"),
                  (self.eval_every, 1, 100_000, "Evaluate every"), (self.grad_n, 1, 1000, "Gradient examples")]
        for v, lo, hi, what in checks:
            if not lo <= int(v) <= hi:
                raise ValueError(f"{what} must be between {lo:,} and {hi:,} (got {v}).")
        if not 1 <= self.min_distance <= self.max_distance <= MAX_DISTANCE:
            raise ValueError(f"Training distances must satisfy 1 ≤ shortest ≤ longest ≤ {MAX_DISTANCE} "
                             f"(got {self.min_distance} … {self.max_distance}).")
        if not self.max_distance <= self.eval_distance <= MAX_EVAL:
            raise ValueError(f"Test distances must reach at least the longest training distance "
                             f"({self.max_distance}) and at most {MAX_EVAL} (got {self.eval_distance}).")
        if not (math.isfinite(self.lr) and 1e-5 <= self.lr <= 1):
            raise ValueError(f"The learning rate must be between 0.00001 and 1 (got {self.lr}).")
        check_seed(self.seed)
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def chance(self) -> float:
        """Accuracy of guessing: one of K symbols."""
        return 1.0 / self.symbols


def labels(cells) -> dict[str, str]:
    return {c: celltypes.of(c).label for c in cells}


def _scores(model, b: tasks.Batch) -> torch.Tensor:
    return model(model.inputs(b.tokens), b.lengths)


def accuracy_by_distance(model, data: tasks.Batch, max_distance: int) -> list[float]:
    """Share of ``data``'s examples answered right at each distance 1 … ``max_distance``
    (NaN where there is no example)."""
    with torch.no_grad():
        right = (_scores(model, data).argmax(1) == data.targets).float()
    return _per_distance(right, data.distance, max_distance)


def _per_distance(values: torch.Tensor, distance: torch.Tensor, max_distance: int) -> list[float]:
    idx = distance - 1
    total = torch.bincount(idx, minlength=max_distance)[:max_distance].float()
    sums = torch.bincount(idx, weights=values, minlength=max_distance)[:max_distance]
    return [float(s / t) if t else float("nan") for s, t in zip(sums, total)]


def input_gradients(model, data: tasks.Batch, max_distance: int) -> dict[str, list[float]]:
    """Per distance 1 … ``max_distance``, the means over ``data``'s examples of
    ``grad`` = ‖∂L/∂x_s‖ and ``gain`` = ‖∂L/∂x_s‖ / ‖∂L/∂h_T‖, where L is each example's
    own cross-entropy at the query, x_s the one-hot input of the symbol to remember
    and h_T the hidden state at the query. Uses ``torch.autograd.grad``, so the
    model's parameter gradients are left alone."""
    with torch.enable_grad():
        x = model.inputs(data.tokens).requires_grad_(True)
        h = model.features(x, data.lengths)
        loss = F.cross_entropy(model.out(h), data.targets, reduction="sum")
        gx, gh = torch.autograd.grad(loss, (x, h))
    grad = gx[torch.arange(len(data)), data.pos].norm(dim=1)
    gain = grad / gh.norm(dim=1).clamp_min(1e-30)
    return {"grad": _per_distance(grad, data.distance, max_distance),
            "gain": _per_distance(gain, data.distance, max_distance)}


def first_of_each(data: tasks.Batch, n: int) -> tasks.Batch:
    """The first ``n`` examples of every distance (the gradient probe)."""
    rank = torch.zeros_like(data.distance)
    for d in data.distance.unique():
        where = (data.distance == d).nonzero().flatten()
        rank[where] = torch.arange(len(where))
    return data.select((rank < n).nonzero().flatten())


class MemoryRace(Race):
    HISTORIES = Race.HISTORIES
    STATIC = ("heldout", "probe")
    ALIASES: ClassVar[dict[str, str]] = Race.ALIASES

    def __init__(self, config: MemoryConfig):
        self.config = c = config.validate()
        self.task = tasks.task(c.task)
        self.heldout = tasks.heldout(self.task, c.eval_n, c.eval_distance, c.symbols, c.seed)
        self.probe = first_of_each(self.heldout, c.grad_n)
        vocab = tasks.vocab_size(c.symbols)
        models = {cell: MemoryNet(cell, vocab, c.hidden, c.symbols, seed=c.seed) for cell in c.cells}
        super().__init__(models, lr=c.lr, seed=c.seed, eval_every=c.eval_every, clip=1.0)

    def static_key(self) -> str:
        c = self.config
        return f"memory:{c.task}:{c.symbols}:{c.eval_distance}:{c.eval_n}:{c.grad_n}:{c.seed}"

    def batch(self, gen):
        c = self.config
        return tasks.training_batch(self.task, c.batch, c.min_distance, c.max_distance, c.symbols, gen)

    def loss(self, run, model, batch):
        return F.cross_entropy(_scores(model, batch), batch.targets)

    def evaluate(self, run, model):
        c = self.config
        acc = accuracy_by_distance(model, self.heldout, c.eval_distance)
        grad = input_gradients(model, self.probe, c.eval_distance)
        out = {"acc": sum(acc[c.min_distance - 1:c.max_distance]) / (c.max_distance - c.min_distance + 1)}
        if c.eval_distance > c.max_distance:
            out["far"] = sum(acc[c.max_distance:]) / (c.eval_distance - c.max_distance)
        out.update({f"acc@{d}": a for d, a in enumerate(acc, 1)})
        for what, values in grad.items():
            out.update({f"{what}@{d}": g for d, g in enumerate(values, 1)})
        return out

    def summary(self) -> dict:
        return {"config": self.config.to_dict()}


def curves(metrics: dict, what: str, max_distance: int) -> list[float]:
    """``what`` ("acc", "grad" or "gain") at distances 1 … max_distance from one run's evaluation."""
    return [metrics.get(f"{what}@{d}", float("nan")) for d in range(1, max_distance + 1)]


def moment(eval_hist, step: int | None = None):
    """The evaluation ``(step, {run: metrics})`` recorded last at or before ``step``
    (the latest one for None; the first one if ``step`` precedes every evaluation)."""
    hist = list(eval_hist)
    if step is None:
        return hist[-1]
    before = [h for h in hist if h[0] <= step]
    return before[-1] if before else hist[0]


def history_grids(eval_hist, runs, max_distance: int) -> tuple[list[int], dict[str, list[list[float]]]]:
    """(steps, {run: accuracy [distance][step]}) over every recorded evaluation."""
    hist = list(eval_hist)
    steps = [h[0] for h in hist]
    return steps, {run: [[h[1][run].get(f"acc@{d}", float("nan")) for h in hist] for d in range(1, max_distance + 1)]
                   for run in runs if all(run in h[1] for h in hist)}
