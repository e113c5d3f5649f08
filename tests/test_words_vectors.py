"""Neighbours, analogies and projections on hand-made vectors, GloVe and a char model."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.checkpoint import load_pretrained
from rnnviz.words import glove
from rnnviz.words.vectors import Embeddings, from_char_model, pca_2d


def _toy() -> Embeddings:
    words = ["a", "a2", "a3", "b", "b2"]
    m = np.array([[1, 0, 0], [0.9, 0.1, 0], [0.8, 0.3, 0], [0, 1, 0], [0.1, 0.9, 0.2]], dtype=np.float32)
    return Embeddings(words, m, "toy")


def test_neighbours_by_cosine_with_the_exclude_switch():
    e = _toy()
    assert [w for w, _ in e.neighbours("a", 2)] == ["a2", "a3"]
    near = e.neighbours("a", 2, exclude_query=False)
    assert near[0] == ("a", pytest.approx(1.0)) and near[1][0] == "a2"
    assert e.neighbours("a", 99) == e.neighbours("a", 4)  # never more than the other words
    with pytest.raises(ValueError, match="not in the vocabulary of toy"):
        e.neighbours("zebra")


def test_pca_equals_numpy_svd_pca():
    X = np.random.default_rng(3).normal(size=(12, 7)) * np.arange(1, 8)
    coords, dirs, explained = pca_2d(X)
    Xc = X - X.mean(0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    ref = Xc @ vt[:2].T
    for k in range(2):  # PCA's sign is arbitrary: compare up to sign
        sign = np.sign(coords[:, k] @ ref[:, k])
        assert np.allclose(coords[:, k], sign * ref[:, k], atol=1e-9)
    assert explained == pytest.approx(tuple(s[:2] ** 2 / (s ** 2).sum()))
    assert all(d[np.argmax(np.abs(d))] > 0 for d in dirs)  # stable sign convention
    with pytest.raises(ValueError, match="two words"):
        pca_2d(X[:1])


@pytest.fixture(scope="module")
def g():
    return glove.load()


def test_glove_is_memory_mapped_and_complete(g):
    assert (len(g), g.dim) == glove.SHAPE
    assert isinstance(g.matrix, np.memmap)
    assert g.words[:3] == ("the", ",", ".")


def test_glove_king_minus_man_plus_woman_is_queen(g):
    answers = g.analogy("king", "man", "woman")
    assert answers[0][0] == "queen" and len(answers) == 5
    assert g.rank("king", "man", "woman", "queen") == 1
    assert all(w not in {"king", "man", "woman"} for w, _ in answers)
    # Without hiding the query words, "king" itself is the nearest point: the classic demo mistake.
    with_query = g.analogy("king", "man", "woman", exclude_query=False)
    assert with_query[0][0] == "king"
    assert g.rank("king", "man", "woman", "queen", exclude_query=False) == 2
    assert g.analogy("paris", "france", "italy")[0][0] == "rome"


def test_glove_deck_pair_plots_project_every_word(g):
    for name in glove.PAIRS:
        words = glove.pair_words(name)
        proj = g.project(words)
        assert proj.coords.shape == (len(words), 2) and proj.words == tuple(words)
        assert sum(proj.explained) <= 1.0
    # The man-woman offset is shared: the pairs' difference vectors point the same way.
    diffs = np.array([g.vector(b) - g.vector(a) for a, b in glove.PAIRS["man - woman"][:4]])
    unit = diffs / np.linalg.norm(diffs, axis=1, keepdims=True)
    assert (unit @ unit.T)[np.triu_indices(4, 1)].mean() > 0.3
    with pytest.raises(ValueError, match="Unknown pair set"):
        glove.pair_words("cats - dogs")


def test_limited_glove_keeps_the_most_frequent_words():
    small = glove.load(limit=50_000)
    assert len(small) == 50_000 and small.words[0] == "the"
    assert small.analogy("king", "man", "woman")[0][0] == "queen"


def test_char_model_embedding_projects_like_words():
    ck = load_pretrained("shakespeare_lstm")
    e = from_char_model(ck.model, ck.vocab)
    assert len(e) == len(ck.vocab) and e.dim == ck.model.embed.embedding_dim
    proj = e.project(list("aeiouAEIOU"))
    assert proj.coords.shape == (10, 2)
    near = e.neighbours("a", 20)
    assert len(near) == 20 and "a" not in [c for c, _ in near]
    np.testing.assert_array_equal(e.matrix, ck.model.embed.weight.detach().numpy())
    assert not np.shares_memory(e.matrix, ck.model.embed.weight.detach().numpy())  # a copy: the cached model stays untouched
