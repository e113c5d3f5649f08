"""Held-out scores of a classifier (the RNN or the naive Bayes baseline), from its
predicted probabilities on a split.

A prediction is correct when it picks a class with the largest target share (see
``data``). *Class-balanced* accuracy is the mean over classes of the accuracy on
names whose main class it is, so a model that ignores the small classes cannot hide
behind the big ones. The confusion matrix counts main class (rows) against the
predicted class (columns); names of tied classes count under the first of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Split


@dataclass
class Evaluation:
    classes: tuple[str, ...]
    n: int
    loss: float  # mean cross-entropy against the soft targets (nats)
    accuracy: float
    balanced_accuracy: float
    per_class: dict  # class -> (names, accuracy or None)
    confusion: np.ndarray  # [K, K] int: main class x predicted
    by_length: dict  # length -> (names, accuracy)

    def row(self) -> dict:
        return {"n": self.n, "loss": self.loss, "accuracy": self.accuracy,
                "balanced_accuracy": self.balanced_accuracy}


def evaluate(split: Split, probs: np.ndarray, classes) -> Evaluation:
    classes = tuple(classes)
    probs = np.asarray(probs, np.float64)
    if probs.shape != split.targets.shape:
        raise ValueError(f"Expected probabilities of shape {split.targets.shape}, got {probs.shape}.")
    K, n = len(classes), len(split)
    if n == 0:
        raise ValueError("This split has no names to score.")
    pred = probs.argmax(axis=1)
    ok = split.correct(pred)
    main = split.main
    loss = float(-(split.targets * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1).mean())
    per_class, recalls = {}, []
    for k, c in enumerate(classes):
        sel = main == k
        acc = float(ok[sel].mean()) if sel.any() else None
        per_class[c] = (int(sel.sum()), acc)
        if acc is not None:
            recalls.append(acc)
    confusion = np.zeros((K, K), dtype=np.int64)
    np.add.at(confusion, (main, pred), 1)
    lengths = np.array([len(x) for x in split.names])
    by_length = {int(L): (int((lengths == L).sum()), float(ok[lengths == L].mean())) for L in np.unique(lengths)}
    return Evaluation(classes, n, loss, float(ok.mean()), float(np.mean(recalls)), per_class, confusion, by_length)
