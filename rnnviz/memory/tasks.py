"""The memory tasks: a symbol, ``distance`` steps of something else, then a question.

Every task is one ``Task`` in ``TASKS`` (key, label, one-line explanation and a
generator), so the page, the CLI and the bench list them without knowing them.
All tasks share one vocabulary of ``symbols`` answer symbols (0 … K−1), a few
distractor tokens that are never an answer, a marker and a query token, and all
are many-to-one: the network reads the whole sequence and answers at the query.

The *distance* of an example is the number of tokens between the symbol to
remember and the query, so distance 1 means one token in between. Data come
from a ``torch.Generator`` only: a training batch from the race's step
generator, the held-out set from its own seed stream (``heldout``), drawn once
and then fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

DISTRACTORS = 4  # distractor tokens (never an answer) in the "first" task
PREFIX = 3  # the "marked" task puts 0 … PREFIX random symbols before the marker
HELDOUT_SALT = 0x6D656D  # separates the held-out seed stream from the training steps' seeds


def vocab_size(symbols: int) -> int:
    """Answer symbols, distractors, the marker and the query."""
    return symbols + DISTRACTORS + 2


def marker(symbols: int) -> int:
    return symbols + DISTRACTORS


def query(symbols: int) -> int:
    return symbols + DISTRACTORS + 1


@dataclass(frozen=True)
class Batch:
    """Padded examples: ``tokens`` [B, T] (padding after ``lengths`` is meaningless),
    ``lengths`` [B], ``targets`` [B] (the answer symbol), ``pos`` [B] (where the
    answer symbol stands: the input whose gradient the "why" view measures),
    ``distance`` [B]."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    pos: torch.Tensor
    distance: torch.Tensor

    def __len__(self) -> int:
        return len(self.targets)

    def select(self, idx) -> "Batch":
        idx = torch.as_tensor(idx)
        lengths = self.lengths[idx]
        return Batch(self.tokens[idx][:, : int(lengths.max())], lengths, self.targets[idx], self.pos[idx],
                     self.distance[idx])


def _first(distance: torch.Tensor, symbols: int, gen: torch.Generator) -> Batch:
    n = len(distance)
    lengths = distance + 2
    width = int(lengths.max())
    tokens = torch.randint(symbols, symbols + DISTRACTORS, (n, width), generator=gen)
    targets = torch.randint(0, symbols, (n,), generator=gen)
    tokens[:, 0] = targets
    rows = torch.arange(n)
    tokens[rows, lengths - 1] = query(symbols)
    return Batch(tokens, lengths, targets, torch.zeros(n, dtype=torch.long), distance)


def _marked(distance: torch.Tensor, symbols: int, gen: torch.Generator) -> Batch:
    n = len(distance)
    start = torch.randint(0, PREFIX + 1, (n,), generator=gen)
    lengths = start + distance + 3
    width = int(lengths.max())
    tokens = torch.randint(0, symbols, (n, width), generator=gen)
    targets = torch.randint(0, symbols, (n,), generator=gen)
    rows = torch.arange(n)
    tokens[rows, start] = marker(symbols)
    tokens[rows, start + 1] = targets
    tokens[rows, lengths - 1] = query(symbols)
    return Batch(tokens, lengths, targets, start + 1, distance)


@dataclass(frozen=True)
class Task:
    key: str
    label: str  # short and stable: it is a widget option bound to the URL
    explain: str  # one sentence for students
    generate: Callable[[torch.Tensor, int, torch.Generator], Batch]

    def example(self, distance: int, symbols: int, seed: int = 0) -> Batch:
        return self.generate(torch.tensor([int(distance)]), symbols, torch.Generator().manual_seed(seed))


TASKS: dict[str, Task] = {
    "first": Task("first", "Recall the first symbol",
                  "One of K symbols, then n distractors that are never an answer, then a question mark: "
                  "name the first symbol.", _first),
    "marked": Task("marked", "Recall the marked symbol",
                   "A stream of the same K symbols; one of them follows a marker. After n more symbols "
                   "comes the question: which symbol was marked? The network must decide what to keep.",
                   _marked),
}


def task(key: str) -> Task:
    try:
        return TASKS[key]
    except KeyError:
        raise ValueError(f"Unknown task {key!r}; choose one of: {', '.join(TASKS)}.") from None


def training_batch(t: Task, size: int, lo: int, hi: int, symbols: int, gen: torch.Generator) -> Batch:
    """``size`` examples with distances drawn uniformly from ``lo`` … ``hi``."""
    return t.generate(torch.randint(lo, hi + 1, (size,), generator=gen), symbols, gen)


def heldout(t: Task, per_distance: int, max_distance: int, symbols: int, seed: int) -> Batch:
    """The fixed held-out set: ``per_distance`` examples at every distance 1 … ``max_distance``,
    drawn from a seed stream of their own (never one of the training steps' generators)."""
    gen = torch.Generator().manual_seed((int(seed) * 2_654_435_761 + HELDOUT_SALT) % (2**63 - 1))
    distance = torch.arange(1, max_distance + 1).repeat_interleave(per_distance)
    return t.generate(distance, symbols, gen)
