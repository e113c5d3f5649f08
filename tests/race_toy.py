"""A tiny two-run race for the race and protocol tests (importable, so it can travel to a worker)."""

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.race import Race


class ToyRace(Race):
    """Linear regression y = 3x + 1 with and without dropout on the input."""

    def __init__(self, seed: int = 0, lr: float = 0.05, eval_every: int = 5):
        gen = torch.Generator().manual_seed(seed)
        self.X = torch.randn(256, 4, generator=gen)
        self.Y = self.X.sum(1, keepdim=True) * 3 + 1
        torch.manual_seed(seed)
        plain = nn.Linear(4, 1)
        torch.manual_seed(seed)
        drop = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 1))
        super().__init__({"plain": plain, "dropout": drop}, lr=lr, seed=seed, eval_every=eval_every)

    def batch(self, gen):
        idx = torch.randint(0, len(self.X), (16,), generator=gen)
        return self.X[idx], self.Y[idx], idx

    def loss(self, run, model, batch):
        x, y, _ = batch
        return F.mse_loss(model(x), y)

    def evaluate(self, run, model):
        return {"mse": F.mse_loss(model(self.X), self.Y)}


class ThreadProbe(ToyRace):
    """A ToyRace that reports how many torch threads its last step ran with."""

    COUNTERS = (*ToyRace.COUNTERS, "torch_threads")

    def __init__(self, *args, **kw):
        self.torch_threads = 0
        super().__init__(*args, **kw)

    def step(self, n: int = 1) -> int:
        self.torch_threads = torch.get_num_threads()
        return super().step(n)
