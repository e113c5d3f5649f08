"""Sampling: greedy/seeded determinism, temperature and top-k, per-step probabilities, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.corpora import Vocab
from rnnviz.models import build, trace
from rnnviz.sample import MAX_LENGTH, Stepper, sample

VOCAB = Vocab.from_text("abcdefghij klmnop\n.,")


@pytest.fixture(scope="module", params=["lstm", "gru", "rnn"])
def model(request):
    m = build(request.param, vocab_size=len(VOCAB), layers=2, hidden=24, embed=8, seed=5).eval()
    with torch.no_grad():  # sharpen the untrained model so greedy/top-k differences are visible
        m.head.weight.mul_(4.0)
    return m


def test_greedy_is_deterministic_and_is_the_argmax(model):
    a = sample(model, VOCAB, 60, prime="abc", greedy=True)
    b = sample(model, VOCAB, 60, prime="abc", greedy=True, seed=99)
    assert a.text == b.text and a.greedy
    # Replaying prime + sample with trace: each chosen char is the argmax of the previous step.
    full = VOCAB.encode(a.full_text)
    with torch.inference_mode():
        tr = trace(model, full[:-1])
    pred = tr.logits.argmax(-1).numpy()[len("abc") - 1 :]
    assert np.array_equal(pred, full[len("abc") :])
    probs = tr.probs.numpy()[np.arange(len("abc") - 1, len(full) - 1), full[len("abc") :]]
    assert np.allclose(a.probs, probs, atol=1e-5)


def test_temperature_zero_means_greedy(model):
    assert sample(model, VOCAB, 40, temperature=0).text == sample(model, VOCAB, 40, greedy=True).text


def test_same_seed_same_text(model):
    a = sample(model, VOCAB, 200, prime="ab", seed=11)
    b = sample(model, VOCAB, 200, prime="ab", seed=11)
    c = sample(model, VOCAB, 200, prime="ab", seed=12)
    assert a.text == b.text and np.array_equal(a.probs, b.probs)
    assert a.text != c.text
    assert a.seed == 11 and a.prime == "ab" and a.full_text == "ab" + a.text


def test_top_k_one_is_greedy(model):
    greedy = sample(model, VOCAB, 80, prime="a", greedy=True).text
    for seed in (1, 2):
        assert sample(model, VOCAB, 80, prime="a", top_k=1, seed=seed).text == greedy


def test_top_k_keeps_only_k_candidates(model):
    s = sample(model, VOCAB, 100, top_k=3, seed=4)
    assert s.top_k == 3
    for ch, row in zip(s.text, s.top):
        assert ch in [c for c, _ in row[:3]]
        assert all(p == 0.0 for _, p in row[3:])
        assert sum(p for _, p in row[:3]) == pytest.approx(1.0, abs=1e-5)
    assert sample(model, VOCAB, 5, top_k=10_000, seed=1).top_k == len(VOCAB)


def test_temperature_sharpens_and_flattens(model):
    cold = sample(model, VOCAB, 1, prime="abc", temperature=0.3, seed=0)
    warm = sample(model, VOCAB, 1, prime="abc", temperature=1.0, seed=0)
    hot = sample(model, VOCAB, 1, prime="abc", temperature=5.0, seed=0)
    # same state at step 1, so the top probability orders with temperature
    assert cold.top[0][0][1] > warm.top[0][0][1] > hot.top[0][0][1]
    assert cold.top[0][0][0] == warm.top[0][0][0] == hot.top[0][0][0]
    assert hot.temperature == 5.0
    # over many steps a cold sampler picks likelier characters
    c = sample(model, VOCAB, 300, temperature=0.3, seed=1)
    h = sample(model, VOCAB, 300, temperature=3.0, seed=1)
    assert c.mean_log_prob() > h.mean_log_prob()


def test_probs_and_top5_shapes(model):
    s = sample(model, VOCAB, 50, prime="hello", seed=3)
    assert len(s.text) == 50 and not VOCAB.unknown(s.text)
    assert s.probs.shape == (50,) and s.probs.dtype == np.float32
    assert np.all((s.probs > 0) & (s.probs <= 1))
    assert len(s.top) == 50
    for ch, p, row in zip(s.text, s.probs, s.top):
        assert len(row) == 5
        ps = [q for _, q in row]
        assert ps == sorted(ps, reverse=True)
        assert all(c in VOCAB for c, _ in row)
        if ch in dict(row):
            assert dict(row)[ch] == pytest.approx(float(p), abs=1e-6)
        else:
            assert p <= ps[-1] + 1e-6


def test_tiny_vocab_top_has_fewer_than_five():
    v = Vocab.from_text("ab")
    m = build("gru", vocab_size=2, layers=1, hidden=16, embed=4, seed=0)
    s = sample(m, v, 10, seed=0)
    assert all(len(row) == 2 for row in s.top)


def test_unknown_prime_chars_are_named(model):
    with pytest.raises(ValueError, match=r"never saw in training: 'Z', 'q'"):
        sample(model, VOCAB, 10, prime="abqZq")


@pytest.mark.parametrize("length", [0, -5, 2.5, MAX_LENGTH + 1, "10", None])
def test_bad_length(model, length):
    with pytest.raises(ValueError, match="Length must be a whole number"):
        sample(model, VOCAB, length)


@pytest.mark.parametrize("temperature", [-0.1, float("nan"), float("inf"), 101.0, None])
def test_bad_temperature(model, temperature):
    with pytest.raises(ValueError, match="Temperature must be between 0 and 100"):
        sample(model, VOCAB, 10, temperature=temperature)


def test_bad_top_k(model):
    with pytest.raises(ValueError, match="Top-k must be at least 1"):
        sample(model, VOCAB, 10, top_k=0)


def test_vocab_mismatch(model):
    with pytest.raises(ValueError, match="does not match"):
        sample(model, Vocab.from_text("abc"), 10)


def test_clamp_changes_text_and_matches_a_clamped_trace(model):
    free = sample(model, VOCAB, 80, prime="ab", greedy=True)
    units = range(model.config.hidden)
    clamp = {(1, "h", u): (1.0 if u % 2 else -1.0) for u in units}
    held = sample(model, VOCAB, 80, prime="ab", greedy=True, clamp=clamp)
    assert held.text != free.text
    full = VOCAB.encode(held.full_text)
    with torch.inference_mode():
        tr = trace(model, full[:-1], clamp=clamp)
    assert np.array_equal(tr.logits.argmax(-1).numpy()[1:], full[2:])


def test_empty_prime_starts_from_newline(model):
    s = sample(model, VOCAB, 20, seed=0)
    with torch.inference_mode():
        st = Stepper(model)
        logits = st.step(VOCAB.stoi["\n"])
    assert s.top[0][0][1] == pytest.approx(float(torch.softmax(logits, 0).max()), abs=1e-6)


def test_stepper_equals_trace(model):
    ids = VOCAB.encode("abc defg\nhij.,")
    with torch.inference_mode():
        tr = trace(model, ids)
        st = Stepper(model)
        rows = torch.stack([st.step(int(i)) for i in ids])
    assert torch.allclose(rows, tr.logits, atol=1e-5)


def test_sampling_does_not_touch_the_model(model):
    before = [p.detach().clone() for p in model.parameters()]
    sample(model, VOCAB, 30, seed=0, clamp={(0, "h", 0): 5.0})
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
