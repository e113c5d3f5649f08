"""Names networks: letter-by-letter probabilities are the model's outputs on each
prefix; the trajectory is a PCA of the traced states; generation keeps real
per-step distributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.names import data
from rnnviz.names.model import (
    READOUTS,
    ClassifierConfig,
    GeneratorConfig,
    NameClassifier,
    NameGenerator,
    classify,
    generate,
    hidden_states,
    letter_probs,
    pad,
    pca_2d,
    teacher_batch,
    trajectory,
)


@pytest.fixture(scope="module")
def ds():
    return data.surnames()


def classifier(ds, cell="gru", readout="last", seed=0):
    torch.manual_seed(seed)
    m = NameClassifier(ClassifierConfig(cell=cell, vocab_size=len(ds.vocab), classes=len(ds.classes),
                                        hidden=24, embed=8, readout=readout))
    with torch.no_grad():  # larger weights than the initial ones, so prefixes differ clearly
        for p in m.parameters():
            p.mul_(3.0)
    return m.eval()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("readout", READOUTS)
def test_letter_probabilities_equal_the_model_on_each_prefix(ds, cell, readout):
    m = classifier(ds, cell, readout)
    name = "Ó'Briain-Nováková"
    lp = letter_probs(m, ds.vocab, ds.classes, name)
    assert "".join(lp.letters) == name and lp.probs.shape == (len(name), len(ds.classes))
    for t in range(1, len(name) + 1):
        ids = torch.as_tensor(ds.encode(name[:t]))[None]
        with torch.no_grad():
            alone = torch.softmax(m(ids, torch.tensor([t])), -1)[0].numpy()
        np.testing.assert_allclose(lp.probs[t - 1], alone, atol=1e-6)
    assert np.abs(np.diff(lp.probs, axis=0)).max() > 1e-3  # the model does change its mind
    if readout == "attention":
        assert lp.attention.shape == (len(name),) and np.isclose(lp.attention.sum(), 1.0)


def test_padding_does_not_change_a_names_output(ds):
    for readout in READOUTS:
        m = classifier(ds, readout=readout)
        names = ["Li", "Abramović", "Ó Súilleabháin"]
        together = classify(m, ds.vocab, ds.classes, names)
        for i, n in enumerate(names):
            np.testing.assert_allclose(together[i], classify(m, ds.vocab, ds.classes, [n])[0], atol=1e-6)


def test_trajectory_is_a_pca_of_the_traced_states(ds):
    m = classifier(ds, "lstm")
    name = "Kovačević"
    tr = trajectory(m, ds.vocab, ds.classes, [name])
    # The traced states are the recurrent layer's outputs, step by step.
    ids = torch.as_tensor(ds.encode(name))[None]
    with torch.no_grad():
        states = m.rnn(m.embed(ids))[0][0].numpy().astype(np.float64)
    np.testing.assert_allclose(hidden_states(m, ds.vocab, name), states, atol=1e-6)
    # An independent PCA: eigenvectors of the covariance matrix.
    centred = states - states.mean(0)
    vals, vecs = np.linalg.eigh(centred.T @ centred)
    top = vecs[:, np.argsort(vals)[::-1][:2]]
    expected = centred @ top
    got = tr.points[0]
    assert got.shape == (len(name), 2)
    for k in range(2):  # equal up to the sign of each axis
        assert np.allclose(got[:, k], expected[:, k], atol=1e-5) or np.allclose(got[:, k], -expected[:, k], atol=1e-5)
    assert np.isclose(tr.pca.explained.sum(), np.sort(vals)[::-1][:2].sum() / vals.sum())
    # With a reference set, every name is projected on the same axes.
    both = trajectory(m, ds.vocab, ds.classes, [name, "Murphy"], reference=["Smith", "Rossi", "Müller"])
    ref = pca_2d(np.concatenate([hidden_states(m, ds.vocab, n) for n in ("Smith", "Rossi", "Müller")]))
    np.testing.assert_allclose(both.points[1], ref.project(hidden_states(m, ds.vocab, "Murphy")), atol=1e-9)


@pytest.mark.parametrize("condition", ["input", "state"])
def test_generation_keeps_each_steps_distribution(ds, condition):
    torch.manual_seed(0)
    g = NameGenerator(GeneratorConfig(cell="gru", vocab_size=len(ds.vocab), classes=len(ds.classes), hidden=32,
                                      embed=8, condition=condition)).eval()
    out = generate(g, ds.vocab, ds.classes, "Finnish", temperature=1.0, seed=3)
    assert out.probs.shape == (len(out.letters), len(ds.vocab)) and np.allclose(out.probs.sum(1), 1.0, atol=1e-5)
    again = generate(g, ds.vocab, ds.classes, "Finnish", temperature=1.0, seed=3)
    assert again.name == out.name and np.array_equal(again.probs, out.probs)  # reproducible
    # The recorded distributions are the teacher-forced model's on the sampled letters.
    body = [ds.vocab.stoi[c] for c in out.letters if c != data.BOUNDARY]
    inp, _, _ = teacher_batch([np.array(body, dtype=np.int64)])
    with torch.no_grad():
        logits, _ = g(inp, torch.tensor([ds.classes.index("Finnish")]))
    np.testing.assert_allclose(torch.softmax(logits[0], -1).numpy()[: len(out.letters)], out.probs, atol=1e-5)
    # The class matters, and a low temperature sharpens the first distribution.
    other = generate(g, ds.vocab, ds.classes, "Irish", temperature=1.0, seed=3)
    assert not np.allclose(other.probs[0], out.probs[0])
    cold = generate(g, ds.vocab, ds.classes, "Finnish", temperature=0.2, seed=3)
    assert cold.probs[0].max() > out.probs[0].max()


def test_generator_rejects_bad_requests(ds):
    g = NameGenerator(GeneratorConfig(vocab_size=len(ds.vocab), classes=len(ds.classes), hidden=16, embed=4))
    with pytest.raises(ValueError, match="Unknown class '<b>x</b>'"):
        generate(g, ds.vocab, ds.classes, "<b>x</b>")
    with pytest.raises(ValueError, match="temperature"):
        generate(g, ds.vocab, ds.classes, "Irish", temperature=0.0)
    with pytest.raises(ValueError, match="never uses '😀'"):
        generate(g, ds.vocab, ds.classes, "Irish", prefix="😀")
    with pytest.raises(ValueError, match="has 32 letters; leave room for the model to write: type at most 31"):
        generate(g, ds.vocab, ds.classes, "Irish", prefix="a" * 32)
    out = generate(g, ds.vocab, ds.classes, "Irish", prefix=" Mc ", seed=1)  # the start is cleaned like a name
    assert out.name.startswith("Mc") and out.name == "Mc" + "".join(c for c in out.letters if c != data.BOUNDARY)


def test_configs_are_bounded():
    with pytest.raises(ValueError, match="Hidden size"):
        ClassifierConfig(hidden=100_000).validate()
    with pytest.raises(ValueError, match="read-out"):
        ClassifierConfig(readout="max").validate()
    with pytest.raises(ValueError, match="conditioning"):
        GeneratorConfig(condition="both").validate()
    ids, lengths = pad([np.array([1, 2, 3]), np.array([4])])
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and lengths.tolist() == [3, 1]
