"""The encoder-decoder: attention weights, batched vs step-by-step decode, training."""

from __future__ import annotations

import pytest
import torch

from rnnviz.seq2seq import dates, explain
from rnnviz.seq2seq.model import Seq2Seq, Seq2SeqConfig, decode_steps, encode_texts, translate
from rnnviz.seq2seq.trainer import Seq2SeqRace, Seq2SeqTrainer, TrainSettings

TEXTS = ["jeudi 25 juin 2009", "1.1.2000", "Thursday, December 31, 2009", "25.06.2009", "sáb, 22 nov 1975"]


@pytest.fixture(scope="module")
def data():
    return dates.make(0)


def small(attention="additive", cell="gru", bidirectional=True, seed=0, **kw):
    base = dict(cell=cell, bidirectional=bidirectional, enc_hidden=16, dec_hidden=24, embed=8,
                attention=attention, batch_size=50, lr=1e-2, seed=seed, eval_every=20, eval_size=200)
    base.update(kw)
    return TrainSettings(**base)


@pytest.fixture(scope="module")
def trained(data):
    torch.set_num_threads(1)
    tr = Seq2SeqTrainer(data, small())
    tr.step(60)  # partly trained: the weights are no longer uniform
    return tr.model.eval()


@pytest.mark.parametrize("attention", ["additive", "dot"])
@pytest.mark.parametrize("cell,bidirectional", [("gru", True), ("lstm", False)])
def test_attention_weights_sum_to_one_over_the_real_input(data, attention, cell, bidirectional):
    torch.manual_seed(0)
    m = Seq2Seq(Seq2SeqConfig(len(data.in_vocab), cell=cell, bidirectional=bidirectional,
                              attention=attention)).eval()
    _, x, lens = encode_texts(TEXTS, data.in_vocab)
    _, _, att = m.greedy(x, lens)
    assert att.shape == (len(TEXTS), dates.OUT_LEN, x.shape[1])
    assert torch.allclose(att.sum(-1), torch.ones(len(TEXTS), dates.OUT_LEN), atol=1e-5)
    for b, n in enumerate(lens):
        assert (att[b, :, n:] == 0).all()  # padding gets no attention
        assert (att[b, :, :n] > 0).all()


def test_step_by_step_decode_equals_the_batched_decode(data, trained):
    batched = translate(trained, data.in_vocab, TEXTS)
    _, x, lens = encode_texts(TEXTS, data.in_vocab)
    _, probs, att = trained.greedy(x, lens)
    for b, text in enumerate(TEXTS):
        d = decode_steps(trained, data.in_vocab, text)
        assert d.output == batched[b]
        n = len(d.text)
        assert torch.allclose(torch.tensor(d.attention_matrix()), att[b, :, :n], atol=1e-5)
        for i, s in enumerate(d.steps):
            assert s.top5[0] == (s.char, pytest.approx(s.prob))
            assert len(s.top5) == 5 and [p for _, p in s.top5] == sorted([p for _, p in s.top5], reverse=True)
            assert s.prob == pytest.approx(float(probs[b, i].max()), abs=1e-5)


def test_without_attention_there_is_no_map(data):
    m = Seq2Seq(Seq2SeqConfig(len(data.in_vocab), attention="none")).eval()
    d = decode_steps(m, data.in_vocab, "25 juin 2009")
    assert d.attention_matrix() is None and len(d.output) == dates.OUT_LEN
    with pytest.raises(ValueError, match="no attention"):
        explain.attention_test(m, data)


def test_training_lowers_the_loss_and_raises_exact_match(data):
    torch.set_num_threads(1)
    tr = Seq2SeqTrainer(data, small(batch_size=100))
    assert tr.acc_hist[0] == (0, 0.0)
    assert tr.step(150) == 150
    first = sum(v for _, v in list(tr.loss_hist)[:5]) / 5
    last = sum(v for _, v in list(tr.loss_hist)[-10:]) / 10
    assert first > 1.8 and last < 0.5 * first  # ln 11 = 2.4 at the start
    assert [s for s, _ in tr.acc_hist] == list(range(0, 151, 20))
    assert tr.acc_hist[-1][1] >= 0.2  # a broken model stays at 0
    assert tr.summary()["last_accuracy"] == tr.acc_hist[-1][1]


def test_the_race_pairs_the_same_data_seed_and_starting_weights():
    tr = Seq2SeqRace(small(eval_every=5, eval_size=50))
    a, b = tr.models["attention"], tr.models["none"]
    assert a.config.attention == "additive" and b.config.attention == "none"
    for name in ("in_embed.weight", "encoder.weight_ih_l0", "bridge.weight"):  # the same start
        assert torch.equal(a.state_dict()[name], b.state_dict()[name])
    assert set(tr.latest) == {"attention", "none"} and tr.latest["none"]["acc"] == 0.0
    with pytest.raises(ValueError, match="additive or dot-product"):
        Seq2SeqRace(small(attention="none"))


def test_explain_and_length_reports_on_a_trained_model(data, trained):
    rep = explain.attention_test(trained, data, limit=200)
    assert rep.positions == 200 * dates.OUT_LEN
    assert 0 <= rep.changed_random <= 1 and 0 <= rep.changed_top <= 1 and len(rep.per_position) == 10
    bins = explain.accuracy_by_length(trained, data)
    assert sum(b.n for b in bins) == len(data.test)
    assert all(b.lo <= b.hi and 0 <= b.exact_match <= 1 for b in bins)
