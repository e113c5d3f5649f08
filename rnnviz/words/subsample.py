"""Subsampling frequent words: the deck's keep probability and what survives.

z(w) is a word's fraction of all words in the text. Word2vec keeps each
occurrence with probability

    P(keep) = (sqrt(z / s) + 1) * s / z        (s = 0.001 by default)

which is 1 or more (always kept) for words rarer than about 2.6 s, and falls to
about sqrt(s / z) for the very frequent ones ("the", "and"), so they stop
swamping the training pairs. ``keep_probability`` is the formula itself (values
above 1 included, as the deck plots it); sampling clips it at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_SAMPLE = 0.001


def keep_probability(z, sample: float = DEFAULT_SAMPLE) -> np.ndarray:
    """The deck's P(keep) for frequency fraction(s) ``z`` (not clipped)."""
    z = np.asarray(z, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(z)
    if np.any(z <= 0):
        raise ValueError("Word frequencies must be positive to compute a keep probability.")
    return (np.sqrt(z / sample) + 1.0) * sample / z


def keep_table(counts: np.ndarray, sample: float = DEFAULT_SAMPLE) -> np.ndarray:
    """P(keep) per vocabulary word, clipped to [0, 1] (sample <= 0 switches subsampling off)."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.minimum(1.0, keep_probability(counts / counts.sum(), sample))


def subsample(ids: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The ids that survive one random draw (order kept)."""
    return ids[rng.random(len(ids)) < keep[ids]]


def expected_survivors(counts: np.ndarray, sample: float = DEFAULT_SAMPLE) -> float:
    """How many of the corpus's words survive subsampling on average."""
    return float((np.asarray(counts) * keep_table(counts, sample)).sum())


def expected_pairs(n_words: float, window: int) -> float:
    """Skip-gram pairs from a long run of ``n_words`` with word2vec's shrunk window:
    each centre reaches on average (window + 1) / 2 words on each side."""
    return float(n_words) * (window + 1)


@dataclass(frozen=True)
class Survival:
    """What subsampling leaves of a corpus, on average."""

    words_before: int
    words_after: float
    pairs_before: float
    pairs_after: float

    @property
    def share(self) -> float:
        return self.words_after / max(1, self.words_before)


def survival(counts: np.ndarray, sample: float = DEFAULT_SAMPLE, window: int = 5) -> Survival:
    """Words and skip-gram pairs before and after subsampling (expected values)."""
    before = int(np.asarray(counts).sum())
    after = expected_survivors(counts, sample)
    return Survival(before, after, expected_pairs(before, window), expected_pairs(after, window))
