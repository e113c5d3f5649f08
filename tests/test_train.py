"""Trainer: it learns, is reproducible, clips, survives divergence; the CLI writes a loadable model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnviz import checkpoint as ckpt
from rnnviz import corpora, train
from rnnviz.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def names():
    return corpora.load("names")


def cfg(**kw):
    base = dict(cell="gru", layers=1, hidden=32, embed=16, seq_len=32, batch_size=16, lr=1e-2,
                eval_every=1000, eval_chars=2000, milestones=(0,), sample_len=30, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def losses(tr):
    return [v for _, v in tr.loss_hist]


def grad_norm(model):
    return float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None]))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_step0_loss_is_log_vocab(names, cell):
    tr = Trainer(names, cfg(cell=cell))
    V = len(names.vocab)
    tr.step(1)
    assert abs(losses(tr)[0] - math.log(V)) < 0.25
    assert abs(tr.val_hist[0][1] - math.log(V)) < 0.25
    assert tr.val_hist[0][0] == 0


def test_loss_decreases(names):
    tr = Trainer(names, cfg(eval_every=100))
    assert tr.step(150) == 150
    ls = losses(tr)
    assert np.mean(ls[-20:]) < ls[0] - 0.8
    assert tr.val_hist[-1][0] == 100 and tr.val_hist[-1][1] < tr.val_hist[0][1] - 0.5
    assert tr.steps == 150 and tr.chars_seen == 150 * 16 * 32
    assert tr.chars_per_second() > 0


def test_same_seed_same_curve(names):
    a, b = Trainer(names, cfg()), Trainer(names, cfg())
    a.step(25)
    b.step(10)
    b.step(15)  # chunking does not matter
    assert losses(a) == losses(b)
    c = Trainer(names, cfg(seed=4))
    c.step(25)
    assert losses(c) != losses(a)


def test_carry_state_streams(names):
    tr = Trainer(names, cfg(carry_state=True, seq_len=64, batch_size=8))
    tr.step(3)
    assert tr._state is not None and tr._state.shape == (1, 8, 32)
    assert tr._pos == 3 * 64
    stripe = (len(tr.train_data) - 1) // 8
    positions = []
    for _ in range(stripe // 64 + 1):
        tr.step(1)
        positions.append(tr._pos)
    assert 64 in positions  # each stream wrapped around to its start (state reset)
    assert max(positions) + 1 <= stripe
    assert all(math.isfinite(v) for v in losses(tr))


def test_carry_state_lstm_keeps_pair(names):
    tr = Trainer(names, cfg(cell="lstm", carry_state=True))
    tr.step(2)
    assert isinstance(tr._state, tuple) and len(tr._state) == 2


@pytest.mark.parametrize("opt, lr", [("adam", 1e-2), ("sgd", 0.5), ("adagrad", 0.1)])
def test_optimisers_run_and_learn(names, opt, lr):
    tr = Trainer(names, cfg(optimizer=opt, lr=lr))
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.step(40)
    assert type(tr.optimizer).__name__.lower() == opt
    assert all(not torch.equal(p, q) for p, q in zip(before, tr.model.parameters()))
    assert np.mean(losses(tr)[-5:]) < losses(tr)[0]


def test_clipping_caps_the_applied_norm(names):
    tr = Trainer(names, cfg(clip=True, clip_value=0.05))
    tr.step(1)
    raw = tr.grad_hist[-1][1]
    assert raw > 0.05  # the recorded norm is the one before clipping
    assert grad_norm(tr.model) == pytest.approx(0.05, rel=1e-3)  # the gradient the optimiser used
    off = Trainer(names, cfg(clip=False))
    off.step(1)
    assert grad_norm(off.model) == pytest.approx(off.grad_hist[-1][1], rel=1e-5)
    assert grad_norm(off.model) == pytest.approx(raw, rel=1e-5)  # same seed, same first batch


def _diverging(names, **kw):
    return Trainer(names, cfg(cell="rnn", nonlinearity="relu", optimizer="sgd", lr=10, clip=False, **kw))


@pytest.mark.parametrize("snapshot_every", [2, 50])
def test_divergence_is_caught_and_recoverable(names, snapshot_every):
    tr = _diverging(names, snapshot_every=snapshot_every)
    ran = tr.step(200)
    assert ran < 200 and tr.diverged
    d = tr.divergence
    assert d.what in ("loss", "gradient norm")
    assert not math.isfinite(d.value) or d.value > train.blowup_threshold(len(names.vocab))
    assert d.last_good_step <= tr.steps and d.last_good_step % tr.config.snapshot_every == 0
    msg = tr.divergence.message()
    assert "Lower the learning rate" in msg and f"step {d.last_good_step:,}" in msg
    assert tr.step(5) == 0  # stays stopped until restored
    assert d.value not in losses(tr)  # the bad value is not in the history
    step = tr.restore_last_good()
    assert step == d.last_good_step and not tr.diverged
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())
    tr.set_lr(1e-3)
    assert tr.step(10) == 10  # the restored weights are really good: gentle training continues


def test_huge_init_diverges_without_exception(names):
    model = train.CharModel(cfg().model_config(len(names.vocab)))
    with torch.no_grad():
        model.head.weight.mul_(1e38)
    tr = Trainer(names, cfg(), model=model)
    assert tr.diverged  # the very first validation overflows
    assert tr.divergence.what == "validation loss"
    assert tr.step(3) == 0
    assert tr.restore_last_good() == 0


def test_ring_buffers_are_bounded(names, monkeypatch):
    monkeypatch.setattr(train, "HISTORY", 5)
    tr = Trainer(names, cfg(eval_every=2))
    tr.step(12)
    for hist in (tr.loss_hist, tr.grad_hist, tr.speed_hist, tr.val_hist):
        assert len(hist) == 5
    assert [s for s, _ in tr.loss_hist] == [8, 9, 10, 11, 12]
    assert tr.val_hist[-1][0] == 12


def test_milestone_samples(names):
    tr = Trainer(names, cfg(milestones=(0, 4, 9, 1000), sample_len=25))
    tr.step(6)
    tr.step(6)
    assert [s for s, _ in tr.samples] == [0, 4, 9]
    for _, s in tr.samples:
        assert len(s.text) == 25 and not names.vocab.unknown(s.text)
    tr.add_sample()
    tr.add_sample()  # not twice for the same step
    assert [s for s, _ in tr.samples] == [0, 4, 9, 12]


def test_given_model_is_copied_not_trained(names):
    model = train.CharModel(cfg(cell="lstm", hidden=16).model_config(len(names.vocab)))
    before = [p.detach().clone() for p in model.parameters()]
    tr = Trainer(names, cfg(), model=model)
    tr.step(3)
    assert tr.config.cell == "lstm" and tr.config.hidden == 16
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
    wrong = train.CharModel(cfg().model_config(len(names.vocab) + 1))
    with pytest.raises(ValueError, match="vocabulary does not match"):
        Trainer(names, cfg(), model=wrong)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(lr=0), "learning rate"),
        (dict(lr=-1e-3), "learning rate"),
        (dict(lr=float("nan")), "learning rate"),
        (dict(lr=float("inf")), "learning rate"),
        (dict(lr=1e6), "learning rate"),
        (dict(seq_len=1), "Sequence length"),
        (dict(seq_len=5000), "Sequence length"),
        (dict(batch_size=0), "Batch size"),
        (dict(batch_size=5000), "Batch size"),
        (dict(seq_len=2000, batch_size=1000), "too large"),
        (dict(optimizer="rmsprop"), "Unknown optimiser"),
        (dict(clip=True, clip_value=0), "clipping threshold"),
        (dict(clip=True, clip_value=float("nan")), "clipping threshold"),
        (dict(eval_every=0), "Validation"),
        (dict(hidden=4), "Hidden size"),
        (dict(layers=9), "Layers"),
        (dict(cell="lstmx"), "Unknown cell"),
        (dict(dropout=1.5), "Dropout"),
    ],
)
def test_absurd_hyperparameters(names, kw, match):
    with pytest.raises(ValueError, match=match):
        Trainer(names, cfg(**kw))


def test_set_lr_validates(names):
    tr = Trainer(names, cfg())
    tr.set_lr(5e-3)
    assert tr.optimizer.param_groups[0]["lr"] == 5e-3 and tr.config.lr == 5e-3
    with pytest.raises(ValueError, match="learning rate"):
        tr.set_lr(float("nan"))


def test_corpus_shorter_than_a_sequence():
    small = corpora.from_text("abcdefghij" * 8)
    with pytest.raises(ValueError, match="fewer than one sequence"):
        Trainer(small, cfg(seq_len=128))


def test_val_loss_function(names):
    tr = Trainer(names, cfg())
    v = train.val_loss(tr.model, names.val_ids, 1000)
    assert abs(v - math.log(len(names.vocab))) < 0.25
    assert tr.model.training  # restored after evaluation
    assert math.isnan(train.val_loss(tr.model, names.val_ids[:1]))


def test_card(names):
    tr = Trainer(names, cfg(), source="unit test")
    tr.step(2)
    card = tr.card("demo")
    assert card["name"] == "demo" and card["corpus"] == "names" and card["steps"] == 2
    assert card["train"]["cell"] == "gru" and card["vocab"] == list(names.vocab.chars)
    assert card["source"] == "unit test" and "torch" in card["versions"]


def test_cli_writes_a_checkpoint_that_loads_back(tmp_path, monkeypatch, capsys):
    saved = {}
    real_save = ckpt.save

    def spy(model, vocab, folder, card=None, **kw):
        saved["model"], saved["vocab"] = model.copy(), vocab
        return real_save(model, vocab, folder, card, **kw)

    monkeypatch.setattr(train.ckpt, "save", spy)
    out = tmp_path / "gru_names"
    train.main(["--corpus", "names", "--cell", "gru", "--layers", "1", "--hidden", "32",
                "--steps", "30", "--out", str(out), "--threads", "1"])
    assert "saved" in capsys.readouterr().out
    assert (out / "model.safetensors").exists() and (out / "card.json").exists()
    loaded = ckpt.load(str(out))
    assert loaded.card["steps"] == 30 and loaded.card["corpus"] == "names"
    assert loaded.card["model"]["cell"] == "gru" and loaded.card["model"]["hidden"] == 32
    assert math.isfinite(loaded.card["val_loss"])
    assert loaded.vocab == saved["vocab"]
    ids = torch.as_tensor(corpora.load("names").val_ids[:200])[None]
    with torch.no_grad():
        a, _ = saved["model"].eval()(ids)
        b, _ = loaded.model(ids)
    assert torch.equal(a, b)


def test_cli_bad_arguments_exit_cleanly(capsys):
    with pytest.raises(SystemExit) as e:
        train.main(["--corpus", "names", "--hidden", "8", "--steps", "1"])
    assert e.value.code == 2
    assert "Hidden size must be between 16 and 1024" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main(["--corpus", "klingon", "--steps", "1"])
    assert "Unknown corpus" in capsys.readouterr().err


def test_lr_schedule_ramps_up_then_decays():
    f = [train.lr_factor(s, warmup=100, decay_steps=1000) for s in range(1200)]
    assert f[0] == pytest.approx(0.1) and f[50] == pytest.approx((0.1 + 0.9 * 0.5) * train.lr_factor(50, 0, 1000))
    assert all(a < b for a, b in zip(f[:100], f[1:100]))  # warm-up: strictly rising
    assert all(a >= b for a, b in zip(f[100:1000], f[101:1000]))  # then never rising
    assert f[1000] == f[1199] == pytest.approx(0.1)  # flat at 10 % after the decay
    assert train.lr_factor(12345) == 1.0  # no schedule: the base rate


def test_trainer_applies_the_schedule_to_every_update(names):
    cfg = TrainConfig(layers=1, hidden=16, embed=8, seq_len=16, batch_size=4, lr=1e-2, warmup=5, decay_steps=20)
    tr = Trainer(names, cfg)
    used = []
    real = tr.optimizer.step

    def spy(*a, **kw):
        used.append(tr.optimizer.param_groups[0]["lr"])
        return real(*a, **kw)

    tr.optimizer.step = spy
    tr.step(25)
    assert used == pytest.approx([1e-2 * train.lr_factor(s, 5, 20) for s in range(25)])
    tr.set_lr(2e-2)  # the page's learning-rate slider moves the base of the schedule
    tr.step(1)
    assert used[-1] == pytest.approx(2e-2 * 0.1)


def test_schedule_lengths_are_checked():
    with pytest.raises(ValueError, match="step counts"):
        TrainConfig(warmup=-1).validate()
