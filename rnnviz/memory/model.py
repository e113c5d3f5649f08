"""One recurrent network per cell type for the memory tasks.

The input is the one-hot vector of each token (no embedding), so "the gradient
with respect to the first input" is the gradient with respect to a real input
vector ``x_1``. One recurrent layer (``nn.RNN`` with tanh, ``nn.LSTM`` or
``nn.GRU``, chosen by the cell-type registry's key) reads the sequence; a linear
layer turns the hidden state at the query into scores for the K symbols. Batches
are padded at the end and the output is read at each sequence's own last step,
so padding never influences an answer (it only comes after it) and the fused
layer runs on the whole batch at once (packing was about 2× slower here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import celltypes

LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # registry key -> fused torch layer


def recurrent_layer(cell: str, inputs: int, hidden: int) -> nn.Module:
    """The fused torch layer of a registry cell type (its rows of W_hh checked against
    the registry's ``gate_blocks``)."""
    ct = celltypes.of(cell)
    layer = LAYERS[ct.key](inputs, hidden, batch_first=True)
    assert layer.weight_hh_l0.shape[0] == ct.gate_blocks * hidden, ct.key
    return layer


class MemoryNet(nn.Module):
    def __init__(self, cell: str, vocab: int, hidden: int, classes: int, seed: int = 0):
        super().__init__()
        self.cell = celltypes.of(cell)
        self.vocab = int(vocab)
        torch.manual_seed(seed)
        self.rnn = recurrent_layer(cell, vocab, hidden)
        self.out = nn.Linear(hidden, classes)

    def inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """One-hot input vectors [B, T, V] (float, so a gradient can reach them)."""
        return F.one_hot(tokens, self.vocab).float()

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The hidden state h_T [B, H] at each sequence's query (its last step)."""
        out, _ = self.rnn(x)
        return out[torch.arange(len(lengths)), lengths - 1]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores [B, K] from one-hot inputs ``x`` [B, T, V], each read up to its length."""
        return self.out(self.features(x, lengths))
