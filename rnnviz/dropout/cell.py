"""A stacked recurrent network written out step by step, with three dropout modes.

PyTorch's fused ``nn.LSTM`` / ``nn.GRU`` only drop the outputs *between* layers and
draw a fresh mask at every time step; they cannot drop the recurrent connection.
This module computes each layer with its per-step equations so the masks can go
exactly where the lecture puts them:

* ``none``      - no dropout at all;
* ``between``   - standard dropout on the input of every layer (the embedding for
  layer 1, the layer below's h_t above it) and on the top layer's output, with a
  **fresh** mask at every time step;
* ``variational`` - Gal & Ghahramani's recurrent dropout: the same places plus
  h_{t-1} where it enters the recurrent weights W_hh, with **one** mask per
  sequence, reused at every step of that sequence.

Kept units are scaled by 1 / (1 - p) so the expected activation does not change;
in eval mode nothing is dropped. Parameters carry the names of torch's layers
(``weight_ih_l0`` ...), so ``nn.LSTM(...).load_state_dict(cell.state_dict())``
gives the fused twin (the tests check both agree to 1e-5 without dropout).

Which cell (RNN, LSTM, GRU) is asked of ``rnnviz.celltypes``: the registry gives
the number of gate blocks and whether there is a cell state; ``STEPS`` holds the
one step function per cell key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .. import celltypes

MODES = {"none": "no dropout", "between": "between layers", "variational": "recurrent (variational)"}
MAX_LAYERS = 3
MAX_P = 0.8


def _rnn_step(xp, hp, h, c):
    return torch.tanh(xp + hp), None


def _lstm_step(xp, hp, h, c):
    i, f, g, o = (xp + hp).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _gru_step(xp, hp, h, c):
    xr, xz, xn = xp.chunk(3, dim=-1)
    hr, hz, hn = hp.chunk(3, dim=-1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return n + z * (h - n), None  # (1 - z) n + z h, with the un-dropped h


# One step of one layer for a batch: ``xp`` = W_ih x_t + b_ih, ``hp`` = W_hh (m ⊙ h_{t-1}) + b_hh,
# ``h`` / ``c`` the previous state (h un-dropped). Returns (h_t, c_t).
STEPS = {"rnn": _rnn_step, "lstm": _lstm_step, "gru": _gru_step}
TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def cell_type(cell: str) -> celltypes.CellType:
    """The registry entry of ``cell`` (a clear error for an unknown one)."""
    ct = celltypes.of(cell)
    if ct.key not in STEPS:
        raise ValueError(f"The dropout lab has no step for the {ct.label} cell.")
    return ct


def check_dropout(mode: str, p: float) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown dropout mode {mode!r}; use one of: {', '.join(MODES)}.")
    if not (isinstance(p, (int, float)) and math.isfinite(p) and 0 <= p <= MAX_P):
        raise ValueError(f"The dropout rate must be between 0 and {MAX_P} (got {p}).")


def bernoulli_mask(shape, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keep each unit with probability 1 - p; kept units are worth 1 / (1 - p)."""
    keep = torch.rand(shape, generator=generator) >= p
    return keep.float() / (1.0 - p)


@dataclass
class Masks:
    """Every mask one forward pass uses; each tensor is (T, B, units) or, when the same
    mask serves every step of a sequence, (1, B, units) (broadcast over time).

    ``inputs[l]`` multiplies layer l's input x_t, ``recurrent[l]`` multiplies h_{t-1}
    before W_hh (None: not dropped), ``output`` the top layer's h_t before the head."""

    inputs: list
    recurrent: list
    output: torch.Tensor | None


def draw_masks(mode: str, p: float, layers: int, embed: int, hidden: int, T: int, B: int,
               generator: torch.Generator | None = None) -> Masks | None:
    """Every mask of one forward pass over B sequences of T steps (None: nothing dropped).

    ``between``: a fresh mask at every step; ``variational``: one per sequence, for the
    inputs, the output and h_{t-1} into W_hh. Drawn in a fixed order (inputs, recurrent,
    output), so a draw from a seeded generator can be redone exactly."""
    if mode == "none" or p == 0:
        return None
    steps = T if mode == "between" else 1
    sizes = [embed] + [hidden] * (layers - 1)
    inputs = [bernoulli_mask((steps, B, n), p, generator) for n in sizes]
    recurrent = [bernoulli_mask((1, B, hidden), p, generator) if mode == "variational" else None
                 for _ in range(layers)]
    return Masks(inputs, recurrent, bernoulli_mask((steps, B, hidden), p, generator))


class StackedRNN(nn.Module):
    """Embedding -> 1-3 recurrent layers (explicit steps, dropout masks) -> linear head."""

    def __init__(self, vocab_size: int, *, cell: str = "lstm", layers: int = 2, hidden: int = 128,
                 embed: int = 32, mode: str = "none", p: float = 0.0):
        super().__init__()
        self.ct = cell_type(cell)
        check_dropout(mode, p)
        if not 1 <= int(layers) <= MAX_LAYERS:
            raise ValueError(f"Use 1 to {MAX_LAYERS} layers (got {layers}).")
        self.cell, self.layers, self.hidden, self.embed_dim = self.ct.key, int(layers), int(hidden), int(embed)
        self.mode, self.p = mode, float(p) if mode != "none" else 0.0
        self.embed = nn.Embedding(vocab_size, embed)
        rows, bound = self.ct.gate_blocks * hidden, 1.0 / math.sqrt(hidden)
        for k in range(self.layers):
            n_in = embed if k == 0 else hidden
            for name, shape in ((f"weight_ih_l{k}", (rows, n_in)), (f"weight_hh_l{k}", (rows, hidden)),
                                (f"bias_ih_l{k}", (rows,)), (f"bias_hh_l{k}", (rows,))):
                self.register_parameter(name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))
        self.head = nn.Linear(hidden, vocab_size)

    def weights(self, k: int):
        return (getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"),
                getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}"))

    def rnn_state_dict(self) -> dict:
        """The recurrent weights under torch's names (for ``nn.LSTM.load_state_dict``)."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(("weight_", "bias_"))}

    def torch_twin(self) -> nn.Module:
        """The fused torch layer with the same recurrent weights (no dropout)."""
        rnn = TORCH_LAYERS[self.cell](self.embed_dim, self.hidden, num_layers=self.layers)
        rnn.load_state_dict(self.rnn_state_dict())
        return rnn

    def masks(self, T: int, B: int, generator: torch.Generator | None = None) -> Masks | None:
        """The masks of one forward pass over B sequences of T steps (None: no dropout)."""
        return draw_masks(self.mode, self.p, self.layers, self.embed_dim, self.hidden, T, B, generator)

    def zero_state(self, B: int):
        h = [torch.zeros(B, self.hidden) for _ in range(self.layers)]
        return h, ([torch.zeros(B, self.hidden) for _ in range(self.layers)] if self.ct.has_cell_state else None)

    def run_layers(self, x: torch.Tensor, state=None, masks: Masks | None = None):
        """x (T, B, embed) -> top layer's h (T, B, hidden), new state ([h], [c] or None)."""
        T, B, _ = x.shape
        hs, cs = self.zero_state(B) if state is None else (list(state[0]), None if state[1] is None
                                                           else list(state[1]))
        step = STEPS[self.cell]
        for k in range(self.layers):
            w_ih, w_hh, b_ih, b_hh = self.weights(k)
            if masks is not None:
                x = x * masks.inputs[k]
            xp = torch.addmm(b_ih, x.reshape(T * B, -1), w_ih.t()).view(T, B, -1)
            rmask = masks.recurrent[k] if masks is not None else None
            h, c, out = hs[k], (cs[k] if cs is not None else None), []
            for t in range(T):
                h_in = h if rmask is None else h * rmask[0 if rmask.shape[0] == 1 else t]
                h, c = step(xp[t], torch.addmm(b_hh, h_in, w_hh.t()), h, c)
                out.append(h)
            hs[k] = h
            if cs is not None:
                cs[k] = c
            x = torch.stack(out)
        if masks is not None:
            x = x * masks.output
        return x, (hs, cs)

    def forward(self, ids: torch.Tensor, state=None, masks: Masks | None = None):
        """ids (B, T) -> logits (B, T, V), state. In training mode the masks of ``masks()``
        are drawn from torch's global generator unless given."""
        x = self.embed(ids.t())
        if masks is None and self.training:
            masks = self.masks(x.shape[0], x.shape[1])
        if not self.training:
            masks = None
        top, state = self.run_layers(x, state, masks)
        return self.head(top).transpose(0, 1), state
