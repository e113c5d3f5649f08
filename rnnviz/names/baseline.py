"""A character-bigram naive Bayes classifier: the baseline the RNN must beat.

Each name is read as the bigrams of BOUNDARY + name + BOUNDARY ("\\nSm", "mi", ...
"h\\n"), so the first and last letters count as features of their own. Training
counts every bigram per class, weighted by the soft targets, and scores

    log P(class | name) = log P(class) + sum over bigrams b of log P(b | class) + const,

with add-``alpha`` (Laplace) smoothing over the bigrams seen in training. It has no
memory beyond two letters and no order beyond adjacency: what the RNN does better
than this is what its hidden state contributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import BOUNDARY, NameDataset, Split, clean


def bigrams(name: str) -> list[str]:
    s = BOUNDARY + clean(name) + BOUNDARY
    return [s[i : i + 2] for i in range(len(s) - 1)]


@dataclass
class NaiveBayes:
    classes: tuple[str, ...]
    index: dict  # bigram -> column
    log_prior: np.ndarray  # [K]
    log_likelihood: np.ndarray  # [K, B + 1]; the last column is an unseen bigram

    @classmethod
    def fit(cls, split: Split, classes, alpha: float = 0.5) -> "NaiveBayes":
        index: dict[str, int] = {}
        for n in split.names:
            for b in bigrams(n):
                index.setdefault(b, len(index))
        K = len(classes)
        counts = np.zeros((K, len(index) + 1))
        for n, t in zip(split.names, split.targets):
            cols = [index[b] for b in bigrams(n)]
            np.add.at(counts, (slice(None), cols), t[:, None])
        counts += alpha
        log_lik = np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
        prior = split.counts() + 1.0
        return cls(tuple(classes), index, np.log(prior / prior.sum()), log_lik)

    def predict_proba(self, names: list[str]) -> np.ndarray:
        unseen = len(self.index)
        out = np.empty((len(names), len(self.classes)))
        for i, n in enumerate(names):
            cols = [self.index.get(b, unseen) for b in bigrams(n)]
            s = self.log_prior + self.log_likelihood[:, cols].sum(axis=1)
            s = np.exp(s - s.max())
            out[i] = s / s.sum()
        return out


def fit(ds: NameDataset, alpha: float = 0.5) -> NaiveBayes:
    return NaiveBayes.fit(ds.train, ds.classes, alpha)
