"""The long-range memory lab (rnnviz.memory): the tasks, the fixed held-out set,
accuracy and gradient against distance, the race and the CLI."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnviz import celltypes
from rnnviz.memory import cli, tasks
from rnnviz.memory.model import MemoryNet, recurrent_layer
from rnnviz.memory.trainer import MemoryConfig, MemoryRace, accuracy_by_distance, curves, first_of_each, input_gradients
from rnnviz.race import step_seed

K = 8
TINY = dict(hidden=12, max_distance=4, eval_distance=6, eval_n=20, grad_n=4, batch=32, eval_every=10)


def test_the_answer_is_the_first_symbol_and_the_distractors_never_leak_it():
    t = tasks.TASKS["first"]
    distance = torch.arange(1, 31).repeat(20)
    b = t.generate(distance, K, torch.Generator().manual_seed(1))
    assert torch.equal(b.lengths, distance + 2) and torch.equal(b.pos, torch.zeros_like(distance))
    for i in range(len(b)):
        seq = b.tokens[i, : b.lengths[i]].tolist()
        assert seq[0] == b.targets[i] < K
        assert seq[-1] == tasks.query(K)
        middle = seq[1:-1]
        assert len(middle) == distance[i]
        # every token in between is a distractor: none is a symbol, so none can give the answer away
        assert all(K <= tok < K + tasks.DISTRACTORS for tok in middle)
    assert set(b.targets.tolist()) == set(range(K))
    # the distractors do not depend on the answer: same distribution of distractor tokens for every answer
    share = [(b.tokens[b.targets == s][:, 1:20] == K).float().mean() for s in range(K)]
    assert max(share) - min(share) < 0.1


def test_the_marked_task_puts_the_answer_right_after_the_only_marker():
    t = tasks.TASKS["marked"]
    distance = torch.arange(1, 21).repeat(10)
    b = t.generate(distance, K, torch.Generator().manual_seed(2))
    for i in range(len(b)):
        seq = b.tokens[i, : b.lengths[i]].tolist()
        p = int(b.pos[i])
        assert seq.count(tasks.marker(K)) == 1 and seq[p - 1] == tasks.marker(K)
        assert seq[p] == b.targets[i] and seq[-1] == tasks.query(K) and seq.count(tasks.query(K)) == 1
        assert len(seq) - 2 - p == distance[i]  # tokens between the answer and the query
        assert all(tok < K for j, tok in enumerate(seq[:-1]) if j != p - 1)
        assert 1 <= p <= tasks.PREFIX + 1
    assert len(set(b.pos.tolist())) == tasks.PREFIX + 1


def test_the_heldout_set_is_fixed_and_disjoint_from_the_training_draws():
    cfg = MemoryConfig(max_distance=12, eval_distance=12, eval_n=50, **{k: v for k, v in TINY.items()
                                                                        if k not in ("max_distance", "eval_distance", "eval_n")})
    race = MemoryRace(cfg)
    before = race.heldout
    again = tasks.heldout(race.task, cfg.eval_n, cfg.eval_distance, K, cfg.seed)
    assert torch.equal(before.tokens, again.tokens) and torch.equal(before.targets, again.targets)
    assert torch.bincount(before.distance).tolist()[1:] == [50] * 12
    race.step(20)
    assert race.heldout is before and torch.equal(race.heldout.tokens, again.tokens)

    def seqs(b, lo):
        rows, lengths, dist = b.tokens.tolist(), b.lengths.tolist(), b.distance.tolist()
        return {tuple(r[:n]) for r, n, d in zip(rows, lengths, dist) if d >= lo}

    held = seqs(before, 8)
    train = set()
    for step in range(300):  # the first 300 training batches, drawn exactly as the race draws them
        train |= seqs(race.batch(torch.Generator().manual_seed(step_seed(cfg.seed, step))), 8)
    assert len(train) > 3000 and not held & train
    other = tasks.heldout(race.task, cfg.eval_n, cfg.eval_distance, K, seed=1)
    assert not torch.equal(other.tokens, before.tokens)


class Oracle(nn.Module):
    """Hand-set model: reads the first token when the distance is at most 5, else says 0."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab

    def inputs(self, tokens):
        return F.one_hot(tokens, self.vocab).float()

    def forward(self, x, lengths):
        first = x[:, 0, :K]
        guess0 = F.one_hot(torch.zeros(len(x), dtype=torch.long), K).float()
        near = (lengths - 2 <= 5).float()[:, None]
        return near * first + (1 - near) * guess0


def test_accuracy_by_distance_of_a_hand_set_model_on_the_heldout_set():
    data = tasks.heldout(tasks.TASKS["first"], 40, 9, K, seed=5)
    acc = accuracy_by_distance(Oracle(tasks.vocab_size(K)), data, 10)
    assert acc[:5] == [1.0] * 5
    for d in range(6, 10):  # "always 0" is right exactly where the answer happens to be 0
        want = float((data.targets[data.distance == d] == 0).float().mean())
        assert acc[d - 1] == pytest.approx(want)
    assert any(0 < a < 1 for a in acc[5:9]) and math.isnan(acc[9])  # no example at distance 10


def test_padded_batches_give_the_same_answers_as_one_distance_at_a_time():
    race = MemoryRace(MemoryConfig(**TINY))
    race.step(30)
    m, data = race.models["gru"], race.heldout
    acc = accuracy_by_distance(m, data, 6)
    for d in range(1, 7):
        part = data.select((data.distance == d).nonzero().flatten())
        with torch.no_grad():
            right = m(m.inputs(part.tokens), part.lengths).argmax(1) == part.targets
        assert acc[d - 1] == pytest.approx(float(right.float().mean()))
    assert curves(race.latest["gru"], "acc", 6) == pytest.approx(acc)


def test_input_gradients_match_autograd_one_example_at_a_time_and_leave_the_weights_alone():
    torch.manual_seed(0)
    m = MemoryNet("lstm", tasks.vocab_size(K), 10, K, seed=3)
    data = first_of_each(tasks.heldout(tasks.TASKS["marked"], 6, 5, K, seed=0), 3)
    assert torch.bincount(data.distance).tolist()[1:] == [3] * 5
    got = input_gradients(m, data, 5)
    assert all(p.grad is None for p in m.parameters())
    for d in range(1, 6):
        grads, gains = [], []
        for i in (data.distance == d).nonzero().flatten().tolist():
            L = int(data.lengths[i])
            x = m.inputs(data.tokens[i: i + 1, :L]).requires_grad_(True)
            h = m.features(x, data.lengths[i: i + 1])
            h.retain_grad()
            F.cross_entropy(m.out(h), data.targets[i: i + 1]).backward()
            grads.append(float(x.grad[0, data.pos[i]].norm()))
            gains.append(grads[-1] / float(h.grad.norm()))
        assert got["grad"][d - 1] == pytest.approx(sum(grads) / len(grads), rel=1e-4)
        assert got["gain"][d - 1] == pytest.approx(sum(gains) / len(gains), rel=1e-4)


def test_the_gain_does_not_depend_on_the_size_of_the_loss():
    m = MemoryNet("gru", tasks.vocab_size(K), 10, K, seed=1)
    data = first_of_each(tasks.heldout(tasks.TASKS["first"], 4, 6, K, seed=0), 4)
    before = input_gradients(m, data, 6)
    with torch.no_grad():  # scaling the read-out scales dL/dh_T, not how much of it reaches x_s
        m.out.weight.mul_(0.01)
    after = input_gradients(m, data, 6)
    assert after["grad"][0] < 0.1 * before["grad"][0]
    # the read-out changes the loss, so the direction of dL/dh_T changes too: allow a loose match
    assert after["gain"] == pytest.approx(before["gain"], rel=0.6)


def test_fresh_cells_lose_the_gradient_with_distance_the_vanilla_rnn_fastest():
    race = MemoryRace(MemoryConfig(max_distance=20, eval_distance=20, eval_n=8, grad_n=8, hidden=32))
    for what in ("grad", "gain"):
        g = curves(race.latest["rnn"], what, 20)
        assert g[19] < 1e-3 * g[0]
        assert all(b < a for a, b in zip(g[:10], g[1:11]))  # falls at every step of distance
    # at initialisation the gates are half open, so the gated cells lose it too, only more slowly
    rnn = curves(race.latest["rnn"], "gain", 20)[19]
    assert rnn < curves(race.latest["lstm"], "gain", 20)[19] / 2 and rnn < curves(race.latest["gru"], "gain", 20)[19] / 2


def test_the_race_trains_every_cell_on_the_same_batches_and_records_every_distance():
    seen = {}

    class Spy(MemoryRace):
        def loss(self, run, model, batch):
            seen.setdefault(run, []).append(batch.tokens.clone())
            return super().loss(run, model, batch)

    race = Spy(MemoryConfig(**TINY))
    race.step(20)
    assert all(torch.equal(a, b) for a, b in zip(seen["rnn"], seen["lstm"]))
    assert all(torch.equal(a, b) for a, b in zip(seen["rnn"], seen["gru"]))
    assert [s for s, _ in race.eval_hist] == [0, 10, 20]
    keys = set(race.latest["lstm"])
    assert {f"acc@{d}" for d in range(1, 7)} | {f"grad@{d}" for d in range(1, 7)} | {f"gain@{d}" for d in range(1, 7)} | {"acc", "far"} <= keys
    assert {m.rnn.__class__.__name__ for m in race.models.values()} == {"RNN", "LSTM", "GRU"}


def test_lstm_and_gru_learn_short_distances_beyond_chance():
    race = MemoryRace(MemoryConfig(**{**TINY, "max_distance": 2, "eval_distance": 2, "eval_every": 150}))
    race.step(150)
    assert race.latest["lstm"]["acc"] > 0.6 and race.latest["gru"]["acc"] > 0.6


def test_layers_come_from_the_registry():
    for key, ct in celltypes.CELL_TYPES.items():
        layer = recurrent_layer(key, 5, 7)
        assert layer.weight_hh_l0.shape == (ct.gate_blocks * 7, 7)
    with pytest.raises(ValueError, match="Unknown cell type"):
        recurrent_layer("transformer", 5, 7)


@pytest.mark.parametrize("kw, words", [
    ({"task": "nope"}, "Unknown task"), ({"cells": ()}, "at least one"), ({"cells": ("rnn", "rnn")}, "only once"),
    ({"cells": ("rnn", "cnn")}, "Unknown cell"), ({"min_distance": 5, "max_distance": 3}, "Training distances"),
    ({"max_distance": 30, "eval_distance": 20}, "Test distances"), ({"eval_distance": 999}, "Test distances"),
    ({"hidden": 0}, "hidden size"), ({"lr": float("nan")}, "learning rate"), ({"seed": -2}, "seed")])
def test_absurd_settings_are_refused_with_a_message(kw, words):
    with pytest.raises(ValueError, match=words):
        MemoryConfig(**kw).validate()


def test_cli_prints_a_table_per_cell(capsys):
    rc = cli.main(["--steps", "10", "--hidden", "8", "--max-distance", "4", "--eval-distance", "6",
                   "--at", "2,6", "--eval-every", "5"])
    out = capsys.readouterr().out
    assert rc == 0 and "10 steps" in out and "acc@6" in out and "beyond D" in out
    rows = [line for line in out.splitlines() if line.startswith(("Vanilla RNN", "LSTM", "GRU"))]
    assert len(rows) == 3 and all(line.count("%") == 4 for line in rows)


@pytest.mark.parametrize("argv, words", [(["--max-distance", "50", "--eval-distance", "10"], "Test distances"),
                                         (["--at", "5,x"], "--at"), (["--steps", "3", "--seconds", "1"], "not both"),
                                         (["--cells", "rnn,foo"], "Unknown cell")])
def test_cli_bad_arguments_exit_2_with_one_line(argv, words, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
