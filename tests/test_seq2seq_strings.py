"""The string tasks of the seq2seq lab (reverse / copy): deterministic, leak-free data,
clear messages for typed strings, the race on ``rnnviz.race.Race``, and the
anti-diagonal a reversal model learns to attend along."""

from __future__ import annotations

import pytest
import torch
from conftest import wait_for

from rnnviz.live import BackgroundTrainer, SlotLimiter
from rnnviz.seq2seq import checkpoint as ck
from rnnviz.seq2seq import dates, explain, strings
from rnnviz.seq2seq.model import Seq2Seq, Seq2SeqConfig, decode_steps, translate
from rnnviz.seq2seq.trainer import Seq2SeqRace, Seq2SeqTrainer, TrainSettings

TINY = dict(enc_hidden=8, dec_hidden=8, embed=4, batch_size=16, eval_every=5, eval_size=50)


@pytest.mark.parametrize("task", ["reverse", "copy"])
def test_the_data_is_deterministic_leak_free_and_right(task):
    a = strings.make(task, 7, seed=3, n_train=2000, n_val=100, n_test=300)
    assert a == strings.make.__wrapped__(task, 7, seed=3, n_train=2000, n_val=100, n_test=300)
    assert a.train != strings.make(task, 7, seed=4, n_train=2000, n_val=100, n_test=300).train
    splits = [{e.text for e in s} for s in (a.train, a.val, a.test)]
    assert [len(s) for s in splits] == [2000, 100, 300]  # no duplicates inside a split
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])  # none across
    for e in a.train + a.test:
        assert len(e.text) == 7 and set(e.text) <= set(strings.ALPHABET)
        assert e.target == (e.text[::-1] if task == "reverse" else e.text)
    assert a.out_len == 7 and a.key != strings.make(task, 8, seed=3).key


def test_bad_settings_and_typed_strings_get_clear_messages():
    for task, length in (("sort", 8), ("reverse", 4), ("reverse", 31), ("copy", 8.5)):
        with pytest.raises(ValueError, match="task|length"):
            strings.make(task, length)
    v, check = strings.IN_VOCAB, strings.check_input
    assert check(" abc de ", v, 5) == "abcde"
    with pytest.raises(ValueError, match="never saw these characters.*'<'"):
        check("<img src=x>", v, 5)
    with pytest.raises(ValueError, match="has 12 letters.*exactly 5"):
        check("abcdeabcdeab", v, 5)
    with pytest.raises(ValueError, match="exactly 5"):
        check("a" * 100_000, v, 5)
    with pytest.raises(ValueError, match="empty"):
        check("   ", v, 5)
    with pytest.raises(ValueError, match="never saw"):
        check("abc\0d", v, 5)


def test_a_string_model_decodes_its_own_length_and_round_trips(tmp_path):
    cfg = Seq2SeqConfig(len(strings.IN_VOCAB), enc_hidden=8, dec_hidden=8, embed=4, task="reverse", out_len=6)
    torch.manual_seed(0)
    m = Seq2Seq(cfg).eval()
    d = decode_steps(m, strings.IN_VOCAB, "abcdef")
    assert len(d.output) == 6 and set(d.output) <= set(strings.ALPHABET)
    assert len(d.attention_matrix()) == 6 and all(len(r) == 6 for r in d.attention_matrix())
    assert translate(m, strings.IN_VOCAB, ["abcdef"]) == [d.output]
    with pytest.raises(ValueError, match="exactly 6"):
        decode_steps(m, strings.IN_VOCAB, "abc")
    ck.save(m, strings.IN_VOCAB, str(tmp_path), {"name": "rev"})
    back = ck.load(str(tmp_path))
    assert back.model.config == cfg and decode_steps(back.model, back.in_vocab, "abcdef").output == d.output
    with pytest.raises(ValueError, match="writes 10 characters"):
        Seq2SeqConfig(20, out_len=6).validate()


def test_the_race_trains_both_runs_through_a_worker_process():
    s = TrainSettings(task="reverse", length=5, **TINY)
    runner = BackgroundTrainer(Seq2SeqRace(s), limiter=SlotLimiter(1), executor="process", chunk=5,
                               max_steps=20, idle_timeout=3600)
    try:
        runner.start()
        assert wait_for(lambda: runner.status == "finished" and runner.steps == 20), runner.status
        snap = runner.snapshot()
        assert [x for x, _ in snap.evals] == [0, 5, 10, 15, 20] and set(snap.evals[-1][1]) == {"attention", "none"}
        assert len(snap.loss) == 20 and set(snap.seconds) == {"attention", "none"}
        local = Seq2SeqRace(s)
        local.step(20)  # the same numbers however the steps were run
        assert snap.loss[-1][1] == pytest.approx(local.loss_hist[-1][1], rel=1e-4)
        att, none = runner.checkpoint_copy("attention"), runner.checkpoint_copy("none")
        assert att.model.config.attention == "additive" and none.model.config.attention == "none"
        assert att.card["steps"] == 20 and att.model.config.task == "reverse"
        assert not any(p.requires_grad for p in att.model.parameters())
    finally:
        runner.stop()


def test_a_trained_reversal_model_attends_along_the_anti_diagonal():
    torch.set_num_threads(1)
    data = strings.make("reverse", 8, n_train=3000, n_val=100, n_test=200)
    tr = Seq2SeqTrainer(data, TrainSettings(task="reverse", length=8, enc_hidden=16, dec_hidden=32, embed=8,
                                            batch_size=64, lr=2e-2, eval_every=10**6, eval_size=10))
    before = explain.aligned_share(tr.model.eval(), data)
    tr.model.train()
    tr.step(300)
    m = tr.model.eval()
    x, lens, _ = dates.split_tensors(data, data.test)
    _, _, att = m.greedy(x, lens)
    want = torch.arange(7, -1, -1)  # output i reads input 7 - i
    top = att.argmax(dim=-1)
    assert explain.aligned_share(m, data) == pytest.approx(float((top == want).float().mean()))
    assert before < 0.35  # a fresh model looks almost anywhere
    assert (top == want).float().mean() >= 0.5  # most steps look at exactly the mirrored letter
    near = ((top - want).abs() <= 1).float().mean()
    assert near >= 0.85 and explain.aligned_share(m, data, slack=1) == pytest.approx(float(near))  # nearly all
