"""The geometry of word vectors: cosine neighbours, analogies, a 2-D projection.

``Embeddings`` wraps any matrix with one row per word - the live word2vec model's
input vectors, pretrained GloVe, or a character model's embedding table - so
every view works the same on all three.

* Neighbours: the words with the highest cosine similarity to a query word.
* Analogy a - b + c (king - man + woman): the unit vectors combined, then the
  nearest words by cosine (gensim's "3CosAdd"). The query words themselves are
  usually the nearest to that point - king is very close to king - man + woman -
  so tools hide them; ``exclude_query=False`` shows what happens without that.
* Projection: PCA of the chosen words' vectors to two dimensions (centred, the
  two directions of largest variance), for plots of pairs and analogy arrows.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Projection:
    words: tuple[str, ...]
    coords: np.ndarray  # (n, 2)
    explained: tuple[float, float]  # share of the words' variance along each axis
    extra: tuple[str, ...] = ()  # named points placed on the same axes (not used to fit them)
    extra_coords: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def point(self, word: str) -> tuple[float, float]:
        if word in self.words:
            c = self.coords[self.words.index(word)]
        else:
            c = self.extra_coords[self.extra.index(word)]
        return float(c[0]), float(c[1])


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Rows of X projected on their two main directions: (coords, directions (2, d), explained).

    Computed from the eigenvectors of the covariance matrix; each direction's sign
    is chosen so that its largest component is positive (PCA's sign is arbitrary,
    and this keeps the picture from flipping between refreshes for no reason).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError("A projection needs at least two words.")
    Xc = X - X.mean(axis=0)
    vals, vecs = np.linalg.eigh(Xc.T @ Xc)
    order = np.argsort(vals)[::-1][:2]
    dirs = vecs[:, order].T
    if dirs.shape[0] < 2:  # one-dimensional vectors: the second axis is all zero
        dirs = np.vstack([dirs, np.zeros_like(dirs)])
    for r in dirs:
        if r[np.argmax(np.abs(r))] < 0:
            r *= -1
    total = float(np.clip(vals, 0, None).sum()) or 1.0
    top = np.clip(vals[order], 0, None)
    explained = tuple(float(v) / total for v in np.pad(top, (0, 2 - len(top))))
    return Xc @ dirs.T, dirs, explained


class Embeddings:
    """Vectors with their words; read-only (safe to share between sessions)."""

    def __init__(self, words, matrix, name: str = "vectors"):
        words = tuple(words)
        if getattr(matrix, "ndim", 0) != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{name}: the matrix needs one row per word ({len(words)} words).")
        if len(words) < 2:
            raise ValueError(f"{name}: at least two words are needed.")
        self.words, self.matrix, self.name = words, matrix, name

    def __len__(self) -> int:
        return len(self.words)

    @property
    def dim(self) -> int:
        return self.matrix.shape[1]

    @functools.cached_property
    def stoi(self) -> dict:
        return {w: i for i, w in enumerate(self.words)}

    @functools.cached_property
    def unit(self) -> np.ndarray:
        """Rows scaled to length 1 (zero rows stay zero), float32."""
        m = np.asarray(self.matrix, dtype=np.float32)
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms > 0, norms, 1.0)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def index(self, word: str) -> int:
        i = self.stoi.get(word)
        if i is None:
            raise ValueError(
                f"{word!r} is not in the vocabulary of {self.name} ({len(self):,} words). "
                "Check the spelling (words are lower case) or pick another word."
            )
        return i

    def vector(self, word: str) -> np.ndarray:
        return np.asarray(self.matrix[self.index(word)], dtype=np.float32)

    def _top(self, target: np.ndarray, k: int, skip: set[int]) -> list[tuple[str, float]]:
        norm = float(np.linalg.norm(target))
        sims = self.unit @ (target / norm if norm > 0 else target)
        if skip:
            sims[list(skip)] = -np.inf
        k = max(0, min(int(k), len(self) - len(skip)))
        if k == 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((top, -sims[top]))]  # by cosine, ties by id
        return [(self.words[i], float(sims[i])) for i in top]

    def neighbours(self, word: str, k: int = 10, exclude_query: bool = True) -> list[tuple[str, float]]:
        """The ``k`` words nearest to ``word`` by cosine (the word itself excluded unless asked)."""
        i = self.index(word)
        return self._top(self.unit[i], k, {i} if exclude_query else set())

    def _analogy_target(self, a: str, b: str, c: str) -> tuple[np.ndarray, set[int]]:
        ia, ib, ic = self.index(a), self.index(b), self.index(c)
        u = self.unit
        return u[ia] - u[ib] + u[ic], {ia, ib, ic}

    def analogy(self, a: str, b: str, c: str, k: int = 5,
                exclude_query: bool = True) -> list[tuple[str, float]]:
        """a - b + c = ? (king - man + woman): the top ``k`` answers with their cosines."""
        target, query = self._analogy_target(a, b, c)
        return self._top(target, k, query if exclude_query else set())

    def rank(self, a: str, b: str, c: str, expected: str, exclude_query: bool = True) -> int:
        """Where ``expected`` comes in the answers to a - b + c (1 = the top answer)."""
        target, query = self._analogy_target(a, b, c)
        e = self.index(expected)
        sims = self.unit @ (target / (np.linalg.norm(target) or 1.0))
        if exclude_query:
            sims[list(query - {e})] = -np.inf
        return int((sims > sims[e]).sum()) + 1

    def project(self, words, *, extra: dict | None = None, normalise: bool = False) -> Projection:
        """PCA of the given words' vectors to 2-D.

        ``extra`` maps names to vectors (e.g. the point king - man + woman) that are
        placed on the same two axes without taking part in choosing them. With
        ``normalise`` the unit vectors are projected: the space cosines and analogies
        live in.
        """
        words = tuple(dict.fromkeys(words))
        rows = (lambda w: self.unit[self.index(w)]) if normalise else self.vector
        X = np.stack([rows(w) for w in words]).astype(np.float64) if words else np.zeros((0, self.dim))
        coords, dirs, explained = pca_2d(X)
        names = tuple(extra or ())
        if names:
            E = np.stack([np.asarray(extra[n], dtype=np.float64) for n in names])
            extra_coords = (E - X.mean(axis=0)) @ dirs.T
        else:
            extra_coords = np.zeros((0, 2))
        return Projection(words, coords, explained, names, extra_coords)

    def analogy_projection(self, a: str, b: str, c: str, answers=()) -> Projection:
        """The analogy a - b + c on a plane: b, a, c, the given answers and the point
        a - b + c itself (named "a - b + c"), all as unit vectors."""
        target, _ = self._analogy_target(a, b, c)
        return self.project([b, a, c, *answers], extra={analogy_label(a, b, c): target}, normalise=True)


def analogy_label(a: str, b: str, c: str) -> str:
    return f"{a} \u2212 {b} + {c}"


def from_char_model(model, vocab, name: str = "character model") -> Embeddings:
    """A character model's input embedding table (one row per character) as Embeddings."""
    W = model.embed.weight.detach().cpu().numpy().copy()
    return Embeddings(vocab.chars, W, name)


def char_group(ch: str) -> str:
    """A character's kind, to colour a character model's embedding plot."""
    if ch.isspace():
        return "space or line break"
    if ch.isdigit():
        return "digit"
    if ch.isalpha():
        if ch.lower() in "aeiou":
            return "vowel" + (" (capital)" if ch.isupper() else "")
        return "consonant" + (" (capital)" if ch.isupper() else "")
    return "punctuation or symbol"


def neighbour_table(emb: Embeddings, words, k: int = 8,
                    exclude_query: bool = True) -> tuple[dict[str, list[str]], list[str]]:
    """The ``k`` nearest neighbours of each word as columns of "word (cosine)" cells,
    and the words ``emb`` does not know (left out of the columns)."""
    columns, missing = {}, []
    for w in dict.fromkeys(words):
        if w not in emb:
            missing.append(w)
            continue
        columns[w] = [f"{n} ({c:.2f})" for n, c in emb.neighbours(w, k, exclude_query=exclude_query)]
    return columns, missing
