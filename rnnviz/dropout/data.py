"""A deliberately small character corpus, so a model overfits within minutes.

Dropout only helps when there is something to regularise: a network that can
memorise its training text. So the lab trains on a short slice of Shakespeare
(tens of thousands of characters, a few scenes) and measures validation loss on
a slice from the corpus's held-out end (other plays), never seen in training.

Both losses are measured the same way, on fixed windows that never change between
evaluations (``windows``): the gap between them is exact, not sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import corpora

CORPUS = "shakespeare"
TRAIN_START = 200_000  # characters into the training part: past the first play's front matter
MAX_EVAL_WINDOWS = 96


@dataclass(frozen=True)
class Slices:
    vocab: corpora.Vocab
    train: torch.Tensor  # int64 ids
    val: torch.Tensor
    train_text: str
    val_text: str


def slices(train_chars: int, val_chars: int) -> Slices:
    """``train_chars`` characters of the training part and ``val_chars`` of the held-out part."""
    corpus = corpora.load(CORPUS)
    train_text = corpus.train_text[TRAIN_START:TRAIN_START + int(train_chars)]
    val_text = corpus.val_text[: int(val_chars)]
    enc = corpus.vocab.encode
    return Slices(corpus.vocab, torch.from_numpy(enc(train_text)), torch.from_numpy(enc(val_text)),
                  train_text, val_text)


def windows(ids: torch.Tensor, seq_len: int, n: int = MAX_EVAL_WINDOWS) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``n`` evenly spread, fixed (input, target) windows of ``seq_len`` characters."""
    last = len(ids) - seq_len - 1
    if last < 0:
        raise ValueError(f"The text is shorter than one sequence of {seq_len} characters.")
    starts = np.unique(np.linspace(0, last, num=min(n, last + 1)).astype(np.int64))
    rows = torch.stack([ids[s:s + seq_len + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]


def random_batch(ids: torch.Tensor, batch: int, seq_len: int, gen: torch.Generator):
    """``batch`` random windows (input, target), drawn with ``gen`` only."""
    starts = torch.randint(0, len(ids) - seq_len - 1, (batch,), generator=gen)
    rows = torch.stack([ids[s:s + seq_len + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]
