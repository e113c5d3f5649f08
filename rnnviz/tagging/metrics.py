"""Held-out numbers for a tagger, with the rare class in view.

Per-character accuracy alone flatters a lazy model: on the last-letter task
about 18 % of characters are tagged 1, so always answering 0 scores 82 %. So
every evaluation also reports precision, recall and F1 of tag 1 (always-0 gets
F1 = 0) and the accuracy at each position in the word (first, middle and last
letters, one-letter words, spaces and punctuation).
"""

from __future__ import annotations

import numpy as np

from .tasks import POSITION_KEYS


def scores(pred: np.ndarray, truth: np.ndarray, pos: np.ndarray) -> dict[str, float]:
    """pred, truth: 0/1 per character; pos: position codes (``tasks.positions``)."""
    pred, truth, pos = (np.asarray(a).reshape(-1) for a in (pred, truth, pos))
    tp = float(np.sum((pred == 1) & (truth == 1)))
    fp = float(np.sum((pred == 1) & (truth == 0)))
    fn = float(np.sum((pred == 0) & (truth == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    out = {"accuracy": float(np.mean(pred == truth)) if len(pred) else 0.0,
           "precision": precision, "recall": recall,
           "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
           "positive_share": float(np.mean(truth)) if len(truth) else 0.0}
    for code, name in POSITION_KEYS.items():
        here = pos == code
        if here.any():
            out[f"acc_{name}"] = float(np.mean(pred[here] == truth[here]))
    return out


def majority_baseline(truth: np.ndarray, pos: np.ndarray) -> dict[str, float]:
    """The scores of always answering the more common tag (the number to beat)."""
    truth = np.asarray(truth).reshape(-1)
    guess = np.full_like(truth, int(np.mean(truth) > 0.5))
    return scores(guess, truth, pos)
