"""Vanishing gradients through depth: a deep MLP on a 2-D dataset, opened up layer by layer.

The decks explain vanishing gradients twice: through time in an RNN (the Gradient
flow page) and through depth in a feed-forward net. This module is the second one.
An MLP of ``depth`` hidden layers of ``width`` units (activation sigmoid, tanh, ReLU
or leaky ReLU; initialisation N(0, σ²), Xavier or He; optional residual
connections ``h_l = h_{l-1} + g(W_l h_{l-1} + b_l)``) classifies points of
interleaved spirals generated here from a seed.

``backprop`` computes every layer's gradient with the chain rule written out, the
same formula the lesson shows::

    δ_L = ∂L/∂a_L = softmax(a_L) − onehot(y)          (output layer, mean over the batch)
    ∂L/∂W_l = δ_l h_{l-1}^T      ∂L/∂h_{l-1} = W_l^T δ_l (+ ∂L/∂h_l with a residual)
    δ_{l-1} = ∂L/∂h_{l-1} ⊙ g'(a_{l-1})

so the numbers on screen come from the formula, and a test checks them against
autograd. ``layer_stats`` turns one such pass into what the page plots: the mean
|∂L/∂W| per layer, the fraction of saturated (or dead) units, activation
histograms and the update-to-weight ratio lr·‖∂L/∂W‖/‖W‖.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "Leaky ReLU"}
INITS = {"normal": "N(0, σ²)", "xavier": "Xavier (Glorot)", "he": "He (Kaiming)"}
LEAK = 0.01
MAX_DEPTH = 30
MAX_WIDTH = 256
HIST_BINS = 20


@dataclass(frozen=True)
class NetConfig:
    depth: int = 10  # hidden layers
    width: int = 32
    activation: str = "sigmoid"
    init: str = "normal"
    sigma: float = 1.0  # std of N(0, σ²) (init "normal" only)
    residual: bool = False
    classes: int = 2

    def validate(self) -> "NetConfig":
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
        if self.init not in INITS:
            raise ValueError(f"Unknown initialisation {self.init!r}; choose one of {', '.join(INITS)}.")
        if not 1 <= int(self.depth) <= MAX_DEPTH:
            raise ValueError(f"Depth must be between 1 and {MAX_DEPTH} hidden layers (got {self.depth}).")
        if not 2 <= int(self.width) <= MAX_WIDTH:
            raise ValueError(f"Width must be between 2 and {MAX_WIDTH} units (got {self.width}).")
        if not (math.isfinite(self.sigma) and 1e-4 <= self.sigma <= 10):
            raise ValueError(f"σ must be between 0.0001 and 10 (got {self.sigma}).")
        if not 2 <= int(self.classes) <= 5:
            raise ValueError(f"The spirals have 2 to 5 arms (got {self.classes}).")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        init = f"N(0, {self.sigma:g}²)" if self.init == "normal" else INITS[self.init]
        return (f"{self.depth} × {self.width} {ACTIVATIONS[self.activation]}, {init}"
                + (", residual" if self.residual else ""))


def act(name: str, a: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(a)
    if name == "tanh":
        return torch.tanh(a)
    if name == "relu":
        return torch.relu(a)
    return F.leaky_relu(a, LEAK)


def act_grad(name: str, a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """g'(a), written with the activation's output h where that is the usual form."""
    if name == "sigmoid":
        return h * (1 - h)
    if name == "tanh":
        return 1 - h * h
    if name == "relu":
        return (a > 0).to(a.dtype)
    return torch.where(a > 0, torch.ones_like(a), torch.full_like(a, LEAK))


def saturated(name: str, a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Units whose local gradient is (almost) zero: flat ends of sigmoid/tanh, dead ReLUs."""
    if name == "sigmoid":
        return (h < 0.02) | (h > 0.98)
    if name == "tanh":
        return h.abs() > 0.96
    return a <= 0 if name == "relu" else torch.zeros_like(a, dtype=torch.bool)  # leaky: never flat


class MLP(nn.Module):
    """Input (2) → ``depth`` hidden layers of ``width`` → ``classes`` logits."""

    def __init__(self, config: NetConfig, seed: int = 0):
        super().__init__()
        self.config = config.validate()
        dims = [2] + [config.width] * config.depth
        self.hidden = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(config.depth))
        self.out = nn.Linear(config.width, config.classes)
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for lin in [*self.hidden, self.out]:
                fan_in, fan_out = lin.in_features, lin.out_features
                if config.init == "normal":
                    std = config.sigma
                elif config.init == "xavier":
                    std = math.sqrt(2.0 / (fan_in + fan_out))
                else:
                    std = math.sqrt(2.0 / fan_in)
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * std)
                lin.bias.zero_()

    def residual_at(self, layer: int) -> bool:
        """Layer ``layer`` adds its input back (all hidden layers but the first, whose input is 2-D)."""
        return self.config.residual and layer > 0

    def forward_all(self, x: torch.Tensor):
        """Per hidden layer: pre-activation a_l, activation g(a_l) and output h_l (with the
        residual sum); then the logits."""
        pres, acts, hs, h = [], [], [], x
        for layer, lin in enumerate(self.hidden):
            a = lin(h)
            g = act(self.config.activation, a)
            h = h + g if self.residual_at(layer) else g
            pres.append(a)
            acts.append(g)
            hs.append(h)
        return pres, acts, hs, self.out(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[3]


def spirals(n: int = 600, classes: int = 2, noise: float = 0.15, turns: float = 1.6, seed: int = 0):
    """``n`` points on ``classes`` interleaved spiral arms (X [n, 2] float32, y [n] int64)."""
    rng = np.random.default_rng(seed)
    per = np.full(classes, n // classes)
    per[: n % classes] += 1
    xs, ys = [], []
    for k in range(classes):
        r = np.linspace(0.08, 1.0, per[k])
        t = r * turns * 2 * np.pi + 2 * np.pi * k / classes
        pts = np.stack([r * np.cos(t), r * np.sin(t)], 1) + rng.normal(0, noise * 0.2, (per[k], 2))
        xs.append(pts)
        ys.append(np.full(per[k], k))
    X, y = np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)
    order = rng.permutation(len(y))
    return X[order], y[order]


@dataclass
class Backprop:
    loss: float
    accuracy: float
    grads: list  # per layer (hidden layers, then the output layer): (dW, db)
    pres: list  # hidden pre-activations a_l [B, width]
    outs: list  # hidden activation outputs g(a_l) [B, width]


def backprop(model: MLP, X: torch.Tensor, y: torch.Tensor) -> Backprop:
    """One forward pass and the chain rule by hand (mean cross-entropy over the batch)."""
    cfg = model.config
    with torch.no_grad():
        pres, outs, hs, logits = model.forward_all(X)
        B = X.shape[0]
        p = torch.softmax(logits, 1)
        loss = float(F.cross_entropy(logits, y))
        accuracy = float((logits.argmax(1) == y).float().mean())
        delta = (p - F.one_hot(y, cfg.classes).to(p.dtype)) / B  # ∂L/∂logits
        grads = [(delta.T @ hs[-1], delta.sum(0))]
        dh = delta @ model.out.weight  # ∂L/∂h of the last hidden layer
        for layer in range(cfg.depth - 1, -1, -1):
            inp = X if layer == 0 else hs[layer - 1]
            d = dh * act_grad(cfg.activation, pres[layer], outs[layer])
            grads.append((d.T @ inp, d.sum(0)))
            dh_in = d @ model.hidden[layer].weight
            dh = dh_in + dh if model.residual_at(layer) else dh_in
        grads.reverse()
    return Backprop(loss, accuracy, grads, pres, outs)


def autograd_grads(model: MLP, X: torch.Tensor, y: torch.Tensor) -> list:
    """The same gradients from torch.autograd (for the test, and as a cross-check)."""
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(X), y).backward()
    out = [(lin.weight.grad.clone(), lin.bias.grad.clone()) for lin in [*model.hidden, model.out]]
    model.zero_grad(set_to_none=True)
    return out


@dataclass
class LayerStats:
    grad: np.ndarray  # mean |∂L/∂W| per layer (hidden layers 1..depth, then the output)
    ratio: np.ndarray  # update-to-weight ratio lr·‖∂L/∂W‖/‖W‖ per layer
    saturated: np.ndarray  # fraction of saturated / dead units per hidden layer
    hist: np.ndarray  # [depth, HIST_BINS] activation-output histograms (fractions)
    edges: np.ndarray  # bin edges of the histograms
    loss: float
    accuracy: float


def hist_range(activation: str) -> tuple[float, float]:
    return {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(activation, (-0.5, 3.0))


def layer_stats(model: MLP, X: torch.Tensor, y: torch.Tensor, lr: float) -> LayerStats:
    bp = backprop(model, X, y)
    layers = [*model.hidden, model.out]
    grad = np.array([float(dW.abs().mean()) for dW, _ in bp.grads])
    ratio = np.array([lr * float(dW.norm()) / max(float(lin.weight.detach().norm()), 1e-12)
                      for (dW, _), lin in zip(bp.grads, layers)])
    act_name = model.config.activation
    sat = np.array([float(saturated(act_name, a, h).float().mean()) for a, h in zip(bp.pres, bp.outs)])
    lo, hi = hist_range(act_name)
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    hist = np.stack([np.histogram(np.clip(h.numpy().ravel(), lo, hi), bins=edges)[0] / h.numel() for h in bp.outs])
    return LayerStats(grad, ratio, sat, hist.astype(np.float32), edges, bp.loss, bp.accuracy)


def decision_grid(model: MLP, extent: float = 1.3, n: int = 70) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities on an n × n grid over [-extent, extent]²: (axis, probs [n, n, classes])."""
    axis = np.linspace(-extent, extent, n, dtype=np.float32)
    gx, gy = np.meshgrid(axis, axis)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    with torch.no_grad():
        probs = torch.softmax(model(pts), 1).numpy().reshape(n, n, -1)
    return axis, probs


if __name__ == "__main__":  # python -m rnnviz.deepnet: the command line lives with the trainer
    from rnnviz.deepnet_trainer import main

    raise SystemExit(main())
