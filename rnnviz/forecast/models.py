"""The two learned forecasters: a recurrent network and a causal, dilated 1D CNN.

Both read a window of normalised temperatures ``[batch, window]`` and output the
next ``horizon`` hours at once ``[batch, horizon]`` (a direct multi-step forecast,
no feeding back of their own guesses).

- ``RecurrentForecaster`` runs a GRU, LSTM or plain RNN (picked by the cell-type
  registry key) over the window and maps its last hidden state to the forecast.
- ``CausalCNN`` stacks Conv1d layers with kernel 3 and dilations 1, 2, 4, ...; each
  layer is padded on the left only, so the feature at hour *t* depends on hours
  ≤ *t* (causal). Layers are added until the receptive field
  ``1 + (kernel - 1) · Σ dilations`` covers the whole window; the feature at the
  last hour then sees every input hour, and a linear layer turns it into the forecast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import celltypes

KERNEL = 3
_TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # keyed by the registry's cell keys


def recurrent_layer(cell: str, inputs: int, hidden: int) -> nn.Module:
    """A batch-first torch recurrent layer for a registry cell key (clear error for an unknown one)."""
    key = celltypes.of(cell).key
    return _TORCH_LAYERS[key](inputs, hidden, batch_first=True)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class RecurrentForecaster(nn.Module):
    def __init__(self, cell: str, hidden: int, horizon: int):
        super().__init__()
        self.cell = celltypes.of(cell).key
        self.rnn = recurrent_layer(cell, 1, hidden)
        self.head = nn.Linear(hidden, horizon)

    def describe(self) -> str:
        return f"{celltypes.of(self.cell).label}, {self.rnn.hidden_size} units"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.unsqueeze(-1))
        return self.head(out[:, -1])


def layers_for(window: int) -> int:
    """The fewest dilated layers whose receptive field covers ``window`` hours."""
    n = 1
    while receptive_field(n) < window:
        n += 1
    return n


def receptive_field(layers: int) -> int:
    return 1 + (KERNEL - 1) * sum(2**i for i in range(layers))


class CausalCNN(nn.Module):
    def __init__(self, window: int, channels: int, horizon: int):
        super().__init__()
        self.layers = layers_for(window)
        self.convs = nn.ModuleList(nn.Conv1d(1 if i == 0 else channels, channels, KERNEL, dilation=2**i)
                                   for i in range(self.layers))
        self.head = nn.Linear(channels, horizon)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.layers)

    def describe(self) -> str:
        return f"causal CNN, {self.layers} layers × {self.convs[0].out_channels} channels"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[batch, channels, window]: the feature of every hour from that hour and the ones before."""
        h = x.unsqueeze(1)
        for i, conv in enumerate(self.convs):
            y = F.relu(conv(F.pad(h, ((KERNEL - 1) * conv.dilation[0], 0))))
            h = y if i == 0 else h + y  # residual from the second layer on (same width)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[:, :, -1])
