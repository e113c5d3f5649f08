"""Training examples from a sliding window: skip-gram pairs and CBOW windows.

Skip-gram: every word in turn is the centre; each word at most ``window`` places
to its left or right gives one (centre, context) pair - the model learns to
predict the context from the centre. CBOW turns the window round: the context
words together predict the centre, through the average of their embeddings.

The small functions (``windows``, ``skipgram_pairs``, ``cbow_examples``,
``one_hot_row``) are for showing the pipeline on a sentence; ``skipgram_batch`` and
``cbow_batch`` are the vectorised versions the trainer uses on id arrays, with
word2vec's shrunk window (each centre draws its own window size in 1..window, so
near words count more than far ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """Position ``centre`` and the positions of its context, left then right."""

    centre: int
    context: tuple[int, ...]


def _check_window(window: int) -> int:
    if int(window) != window or window < 1:
        raise ValueError(f"The window must be a whole number of at least 1 (got {window!r}).")
    return int(window)


def windows(seq, window: int) -> list[Window]:
    """For every position, the context positions within ``window`` on either side."""
    window = _check_window(window)
    n = len(seq)
    return [Window(i, tuple(j for j in range(max(0, i - window), min(n, i + window + 1)) if j != i))
            for i in range(n)]


def skipgram_pairs(seq, window: int) -> list[tuple]:
    """(centre, context) pairs in the deck's order: centre by centre, context left to right."""
    return [(seq[w.centre], seq[j]) for w in windows(seq, window) for j in w.context]


def cbow_examples(seq, window: int) -> list[tuple[tuple, object]]:
    """(context words, centre) for every position: CBOW's input and target."""
    return [(tuple(seq[j] for j in w.context), seq[w.centre]) for w in windows(seq, window)]


def one_hot_row(W: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The one-hot vector of word ``index`` and its product with ``W`` - which is row ``index`` of W.

    This is why an embedding layer is a lookup: multiplying by a one-hot vector
    only selects a row.
    """
    W = np.asarray(W)
    if not 0 <= index < W.shape[0]:
        raise ValueError(f"Word number {index} is outside the vocabulary of {W.shape[0]} words.")
    x = np.zeros(W.shape[0], dtype=W.dtype)
    x[index] = 1
    return x, x @ W


# ------------------------------------------------------------------ vectorised (training)


def _offsets(window: int) -> np.ndarray:
    return np.array([o for o in range(-window, window + 1) if o != 0], dtype=np.int64)


def skipgram_batch(ids: np.ndarray, window: int, rng: np.random.Generator,
                   shrink: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """All skip-gram pairs of a run of ids as two arrays (centres, contexts).

    With ``shrink`` each centre uses a window size drawn uniformly from 1..window.
    """
    window = _check_window(window)
    n = len(ids)
    pos = np.arange(n)
    reach = rng.integers(1, window + 1, size=n) if shrink else np.full(n, window)
    offs = _offsets(window)
    ctx = pos[:, None] + offs[None, :]
    ok = (ctx >= 0) & (ctx < n) & (np.abs(offs)[None, :] <= reach[:, None])
    rows, cols = np.nonzero(ok)
    return ids[rows], ids[ctx[rows, cols]]


def cbow_batch(ids: np.ndarray, window: int, rng: np.random.Generator,
               shrink: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CBOW examples of a run of ids: (context ids (n, 2*window), mask, centres).

    Positions with no context at all (a run of one word) are left out.
    """
    window = _check_window(window)
    n = len(ids)
    pos = np.arange(n)
    reach = rng.integers(1, window + 1, size=n) if shrink else np.full(n, window)
    offs = _offsets(window)
    ctx = pos[:, None] + offs[None, :]
    mask = (ctx >= 0) & (ctx < n) & (np.abs(offs)[None, :] <= reach[:, None])
    keep = mask.any(axis=1)
    ctx_ids = ids[np.clip(ctx, 0, max(0, n - 1))] if n else np.zeros_like(ctx)
    return ctx_ids[keep], mask[keep], ids[keep]


# ------------------------------------------------------------------ drawing one window

CENTRE, CONTEXT = "centre", "context"


def roles(n: int, window: int, centre: int) -> list[str]:
    """What each of ``n`` words is while word ``centre`` is the centre: "centre",
    "context" (within ``window`` places) or "" (outside the window)."""
    window = _check_window(window)
    if not 0 <= centre < n:
        raise ValueError(f"Word number {centre + 1} does not exist; the sentence has {n} words.")
    ctx = set(windows(range(n), window)[centre].context)
    return [CENTRE if i == centre else CONTEXT if i in ctx else "" for i in range(n)]


def toy_matrix(n: int, dim: int = 5, seed: int = 0) -> np.ndarray:
    """A small random W (n words x ``dim``, values rounded to two decimals) to show
    one-hot x W and CBOW's average on a sentence before any training."""
    if not 1 <= n <= 10_000 or not 1 <= dim <= 64:
        raise ValueError("A toy matrix needs 1 to 10,000 words and 1 to 64 dimensions.")
    return np.round(np.random.default_rng(seed).normal(0.0, 0.5, size=(n, dim)), 2)
