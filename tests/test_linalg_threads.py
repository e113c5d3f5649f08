"""Every linear-algebra path of the library with two torch threads (issue 12, item 12).

torch 2.13's batched ``torch.linalg.solve`` fails with more than one thread ("Pivots
given to lu_solve must all be greater or equal to 1"); the app uses one thread per
page, but a notebook, a benchmark or the CLI may not.
"""

import numpy as np
import pytest
import torch

from rnnviz import gradients, probes
from rnnviz.corpora import Vocab
from rnnviz.models import build


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_linear_probe_on_512_features(two_threads):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 512)).astype(np.float32)
    y = X[:, :8].sum(1) + 0.1 * rng.standard_normal(1000)
    p = probes.linear_probe(X, y)
    assert torch.get_num_threads() == 2
    assert p.r2 > 0.9 and p.n_features == 512
    one = probes.linear_probe(X[:, :8], y)  # fewer columns, same answer up to the ridge
    assert abs(one.r2 - p.r2) < 0.1


def test_finder_and_report(two_threads):
    vocab = Vocab(tuple("ab (){}:\n\"'"))
    model = build("lstm", len(vocab), layers=2, hidden=256, embed=8, seed=1)

    class CP:
        pass

    cp = CP()
    cp.model, cp.vocab, cp.card = model, vocab, {}
    text = "a (b) {'ab'}\n  ba: \"a\"\n" * 45
    rep = probes.report(cp, text, language="python", keys=("indent", "string"), top=3)
    assert set(rep["string"]["probe_r2"]) == {0, 1}
    assert all(np.isfinite(v) for v in rep["string"]["probe_r2"].values())
    cm = probes.CellMatrix(probes.trace_arrays(model, vocab.encode(text)))
    y = probes.feature("string", text, "python")
    best = cm.rank(y, 1)[0]
    assert best.r == pytest.approx(np.corrcoef(cm.column_of(best.layer, best.signal, best.unit), y)[0, 1], abs=1e-4)


def test_gradient_page_linear_algebra(two_threads):
    model = build("rnn", 12, layers=1, hidden=64, embed=8, seed=2)
    w = model.rnn.weight_hh_l0.detach()
    assert gradients.spectral_norm(w) == pytest.approx(float(np.linalg.norm(w.double().numpy(), 2)), rel=1e-9)
    assert gradients.spectral_radius(w) == pytest.approx(
        float(np.abs(np.linalg.eigvals(w.double().numpy())).max()), rel=1e-9)
    scaled = gradients.scale_recurrent(model, 0.9, orthogonal=True)
    sv = np.linalg.svd(scaled.rnn.weight_hh_l0.detach().double().numpy(), compute_uv=False)
    assert np.allclose(sv, 0.9, atol=1e-5)
    assert torch.get_num_threads() == 2  # the helpers restore what they change
