"""Negative sampling: the noise distribution and the negatives drawn for a pair.

Instead of a softmax over the whole vocabulary, each (centre, context) pair is
contrasted with k "negative" words drawn from the noise distribution

    P(w) = count(w)^0.75 / sum_j count(j)^0.75

The power 3/4 flattens the unigram distribution a little: frequent words are
still drawn most, but rare words more often than their raw share. A negative
can by chance be the true context word; word2vec keeps it anyway (it rarely
matters), and ``draw_for_pair`` flags it so students can see it happen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_POWER = 0.75


def noise_distribution(counts, power: float = DEFAULT_POWER) -> np.ndarray:
    """count^power normalised to sum to 1 (power 1 gives the plain unigram distribution)."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or len(counts) == 0 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError("Counts must be a non-empty list of non-negative numbers, not all zero.")
    w = counts ** power
    return w / w.sum()


TABLE_SIZE = 1 << 22


def noise_table(probs: np.ndarray, size: int = TABLE_SIZE) -> np.ndarray:
    """word2vec's unigram table: word w fills round(P(w) * size) slots (largest remainders
    get the leftover slots), so a uniformly drawn slot is a draw from P up to 1 / size."""
    exact = np.asarray(probs, dtype=np.float64) * size
    slots = np.floor(exact).astype(np.int64)
    short = size - int(slots.sum())
    if short > 0:
        slots[np.argsort(exact - slots)[::-1][:short]] += 1
    return np.repeat(np.arange(len(slots), dtype=np.int32), slots)


class NegativeSampler:
    """Draws word ids from the noise distribution through a unigram table (one random
    index per draw: much faster than a binary search per draw)."""

    def __init__(self, counts, power: float = DEFAULT_POWER):
        self.probs = noise_distribution(counts, power)
        self.table = noise_table(self.probs)

    def draw(self, shape, rng: np.random.Generator) -> np.ndarray:
        """Ids of shape ``shape`` (int64)."""
        return draw_from_table(self.table, shape, rng)


def empirical(sampler: NegativeSampler, n: int, rng: np.random.Generator) -> np.ndarray:
    """The share of each word among ``n`` draws: it approaches ``sampler.probs`` as n grows."""
    if n < 1:
        raise ValueError(f"Draw at least one word (got n={n}).")
    return np.bincount(sampler.draw(n, rng), minlength=len(sampler.probs)) / n


def draw_from_table(table: np.ndarray, shape, rng: np.random.Generator) -> np.ndarray:
    return table[rng.integers(0, len(table), size=shape)].astype(np.int64)


@dataclass(frozen=True)
class DrawnNegatives:
    centre: int
    context: int
    negatives: tuple[int, ...]
    is_context: tuple[bool, ...]  # True where a negative happens to be the true context word


def draw_for_pair(sampler: NegativeSampler, centre: int, context: int, k: int,
                  rng: np.random.Generator) -> DrawnNegatives:
    """The ``k`` negatives of one pair, flagged where one equals the true context."""
    if k < 1:
        raise ValueError(f"Draw at least one negative (got k={k}).")
    negs = sampler.draw(k, rng)
    return DrawnNegatives(int(centre), int(context), tuple(int(n) for n in negs),
                          tuple(bool(n == context) for n in negs))
