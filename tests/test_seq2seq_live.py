"""The seq2seq trainer runs through the one live machinery (both executors), and its
checkpoints round-trip as safetensors + JSON; crafted files are refused."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from conftest import WAIT, wait_for
from safetensors.torch import save as st_save

from rnnviz.live import BackgroundTrainer, SlotLimiter
from rnnviz.protocol import LiveTrainer
from rnnviz.seq2seq import checkpoint as ck
from rnnviz.seq2seq import dates
from rnnviz.seq2seq.model import translate
from rnnviz.seq2seq.trainer import Seq2SeqTrainer, TrainSettings
from tests.test_protocol import settled


@pytest.fixture(scope="module")
def data():
    return dates.make(0, n_train=1000, n_val=100, n_test=100)


def tiny(data, **kw):
    base = dict(enc_hidden=8, dec_hidden=12, embed=8, batch_size=20, eval_every=5, eval_size=50)
    base.update(kw)
    return Seq2SeqTrainer(data, TrainSettings(**base))


@pytest.fixture
def runners():
    made = []
    yield made
    for r in made:
        r.stop()


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_the_trainer_runs_through_background_trainer(data, runners, executor):
    tr = tiny(data)
    assert isinstance(tr, LiveTrainer)
    x0 = tr.train_x
    r = BackgroundTrainer(tr, limiter=SlotLimiter(1), executor=executor, chunk=5, max_steps=30, idle_timeout=3600)
    runners.append(r)
    r.step_once()
    assert wait_for(lambda: r.steps == 5, WAIT) and settled(r)
    r.start()
    assert wait_for(lambda: r.status == "finished" and r.steps == 30, WAIT), r.status
    snap = r.snapshot()
    assert [s for s, _ in snap.loss] == list(range(1, 31))
    assert [s for s, _ in snap.accuracy] == list(range(0, 31, 5))
    assert snap.examples_seen == 30 * 20 and snap.train_seconds > 0
    assert snap.extra["attention"] == "additive" and snap.divergence is None
    assert tr.train_x is x0  # the static data stays the server's
    cp = r.checkpoint_copy()  # the page's frozen copy of the live model
    assert cp.card["steps"] == 30 and not any(p.requires_grad for p in cp.model.parameters())
    assert all(torch.equal(v, tr.model.state_dict()[k]) for k, v in cp.model.state_dict().items())


def test_a_job_round_trip_trains_exactly_like_the_original(data):
    tr = tiny(data)
    static, state = pickle.loads(pickle.dumps((tr.static_state(), tr.dynamic_state())))
    assert "data" not in state and not set(Seq2SeqTrainer.STATIC) & set(state)
    copy = Seq2SeqTrainer.rebuild(static, state)
    tr.step(4)
    copy.step(4)
    assert list(tr.loss_hist) == list(copy.loss_hist)


def test_a_diverging_trainer_says_what_to_do(data):
    tr = tiny(data)
    with torch.no_grad():
        tr.model.out.weight.fill_(float("nan"))
    assert tr.step(3) == 0 and tr.diverged
    assert "lower the learning rate" in tr.divergence_message()


# ------------------------------------------------------------ checkpoints


def test_checkpoint_round_trip(data, tmp_path):
    tr = tiny(data, attention="dot", cell="lstm", bidirectional=False)
    tr.step(3)
    cp = tr.checkpoint("mine")
    card = ck.save(cp.model, cp.in_vocab, str(tmp_path), cp.card)
    assert json.loads((tmp_path / "card.json").read_text()) == card and card["format"] == ck.FORMAT
    back = ck.load(str(tmp_path))
    assert back.name == "mine" and back.in_vocab == tr.in_vocab and back.model.config == tr.model.config
    assert all(torch.equal(v, back.model.state_dict()[k]) for k, v in cp.model.state_dict().items())
    texts = [e.text for e in data.test[:20]]
    assert translate(back.model, back.in_vocab, texts) == translate(cp.model, cp.in_vocab, texts)


def test_the_bundled_model_loads_and_is_accurate():
    assert os.path.getsize(os.path.join(ck.PRETRAINED, "model.safetensors")) < 2 * 1024 * 1024
    cp = ck.load()
    assert cp.card["test_exact_match"] >= 0.99 and cp.model.config.attention == "additive"
    assert translate(cp.model, cp.in_vocab, ["jeudi 25 juin 2009", "Thursday, December 31, 2009"]) == [
        "2009-06-25", "2009-12-31"]


def _card_bytes(data, mutate_card=None, mutate_tensors=None):
    tr = tiny(data)
    card = ck.make_card(tr.model, tr.in_vocab, {"name": "x"})
    tensors = {k: v.clone() for k, v in tr.model.state_dict().items()}
    if mutate_card:
        mutate_card(card)
    if mutate_tensors:
        mutate_tensors(tensors)
    return st_save(tensors, metadata={"rnnviz_card": json.dumps(card)})


@pytest.mark.parametrize("craft,message", [
    (lambda d: b"\x80\x04pickle", "pickle"),
    (lambda d: b"", "too short"),
    (lambda d: st_save({"a": torch.zeros(2)}), "no readable rnnviz model card"),
    (lambda d: _card_bytes(d, lambda c: c.update(format="rnnviz-charmodel/1")), "not a date translator"),
    (lambda d: _card_bytes(d, lambda c: c["model"].update(enc_hidden=10**9)), "invalid model"),
    (lambda d: _card_bytes(d, lambda c: c["model"].update(attention="magic")), "invalid model"),
    (lambda d: _card_bytes(d, lambda c: c["model"].update(evil=1)), "unknown model settings"),
    (lambda d: _card_bytes(d, lambda c: c.update(vocab=c["vocab"][:-1])), "vocabulary size"),
    (lambda d: _card_bytes(d, lambda c: c.update(vocab=["ab"])), "vocabulary is malformed"),
    (lambda d: _card_bytes(d, mutate_tensors=lambda t: t.update({"out.bias": torch.zeros(10**4)})),
     "has shape"),
    (lambda d: _card_bytes(d, mutate_tensors=lambda t: t.pop("out.bias")), "missing: out.bias"),
    (lambda d: _card_bytes(d, mutate_tensors=lambda t: t.update(extra=torch.zeros(1))), "unexpected: extra"),
    (lambda d: _card_bytes(d, mutate_tensors=lambda t: t.update({"out.bias": t["out.bias"].long()})),
     "floating point"),
    (lambda d: _card_bytes(d, mutate_tensors=lambda t: t["out.bias"].fill_(float("nan"))), "NaN"),
])
def test_crafted_checkpoints_are_refused(data, craft, message):
    with pytest.raises(ValueError, match=message):
        ck.from_bytes(craft(data))
