"""The tagger: embedding -> one recurrent layer (forward-only or bidirectional) ->
a linear read-out giving one logit per character ("is the tag 1 here?").

A forward-only layer's output at character t is h_t, computed from characters
0..t only. A bidirectional layer runs a second RNN from the end of the text to
the start and puts its state beside the first one: [h_t(forward) ; h_t(backward)],
so the read-out at t sees the whole text. ``states`` returns both halves
separately for the page's heatmaps.

The recurrent layer is PyTorch's fused ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``,
looked up by cell key in ``TORCH_LAYERS`` (its keys are the cell-type registry's).
"""

from __future__ import annotations

import torch
from torch import nn

from .. import celltypes

TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
assert set(TORCH_LAYERS) == set(celltypes.CELL_TYPES)


def recurrent_layer(cell: str, inputs: int, hidden: int, *, bidirectional: bool) -> nn.Module:
    """One batch-first recurrent layer of the registry's cell type ``cell``."""
    key = celltypes.of(cell).key  # a clear error for an unknown cell
    return TORCH_LAYERS[key](inputs, hidden, batch_first=True, bidirectional=bidirectional)


class Tagger(nn.Module):
    def __init__(self, vocab_size: int, *, cell: str, hidden: int, embed: int, bidirectional: bool):
        super().__init__()
        self.cell, self.hidden, self.bidirectional = cell, int(hidden), bool(bidirectional)
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = recurrent_layer(cell, embed, hidden, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), 1)

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """[B, T] ids -> [B, T, H] (forward) or [B, T, 2H] (forward ; backward) states."""
        out, _ = self.rnn(self.embed(ids))
        return out

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """[B, T] ids -> [B, T] logits of tag 1."""
        return self.head(self.features(ids)).squeeze(-1)

    def states(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"forward": [T, H], "backward": [T, H] (bidirectional only)} for one text."""
        out = self.features(ids.reshape(1, -1))[0]
        if not self.bidirectional:
            return {"forward": out}
        return {"forward": out[:, : self.hidden], "backward": out[:, self.hidden:]}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
