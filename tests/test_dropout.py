"""The dropout lab's library: the step-by-step cell against torch, the three mask
modes, the race on a small Shakespeare slice, the sampler and the command line."""

import pytest
import torch

from rnnviz.dropout import cell, data
from rnnviz.dropout.race import DropoutConfig, DropoutRace, RunSpec, main, parse_run, sample, training_masks

TINY = dict(hidden=16, embed=8, seq_len=12, batch=4, train_chars=3_000, val_chars=1_500, eval_every=5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 3])
def test_without_dropout_the_cell_equals_torchs_fused_layer(kind, layers):
    torch.manual_seed(1)
    m = cell.StackedRNN(20, cell=kind, layers=layers, hidden=12, embed=6, mode="variational", p=0.0).train()
    x = torch.randn(9, 5, 6)
    h0 = torch.randn(layers, 5, 12)
    c0 = torch.randn(layers, 5, 12)
    twin = m.torch_twin()
    has_c = cell.cell_type(kind).has_cell_state
    ours, (hs, cs) = m.run_layers(x, (list(h0), list(c0) if has_c else None), m.masks(9, 5))
    theirs, state = twin(x, (h0, c0) if has_c else h0)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(torch.stack(hs), state[0] if has_c else state, atol=1e-5)
    if has_c:
        assert torch.allclose(torch.stack(cs), state[1], atol=1e-5)


def test_the_cell_type_comes_from_the_registry():
    assert cell.StackedRNN(10, cell="gru", hidden=4, embed=3).weight_hh_l0.shape == (12, 4)  # 3 gate blocks
    assert cell.StackedRNN(10, cell="lstm", hidden=4, embed=3).weight_hh_l0.shape == (16, 4)
    with pytest.raises(ValueError, match="Unknown cell type"):
        cell.StackedRNN(10, cell="transformer")


def test_variational_masks_are_one_per_sequence_and_reused_at_every_step():
    gen = torch.Generator().manual_seed(0)
    m = cell.draw_masks("variational", 0.4, 2, 8, 32, T=20, B=6, generator=gen)
    for mask in (m.output, m.recurrent[0], m.recurrent[1], m.inputs[0], m.inputs[1]):
        full = mask.expand(20, 6, -1)
        assert torch.equal(full[0], full[7]) and torch.equal(full[3], full[19])  # the same at every step
        assert not torch.equal(full[0, 0], full[0, 1])  # but different between sequences of the batch
    assert m.output.unique().tolist() == pytest.approx([0.0, 1 / 0.6])  # kept units are scaled by 1 / (1 - p)


def test_between_layer_masks_change_from_step_to_step_and_leave_the_recurrence_alone():
    gen = torch.Generator().manual_seed(0)
    m = cell.draw_masks("between", 0.3, 2, 8, 32, T=20, B=6, generator=gen)
    assert m.output.shape == (20, 6, 32) and m.recurrent == [None, None]
    changed = sum(not torch.equal(m.output[t], m.output[t + 1]) for t in range(19))
    assert changed == 19
    assert m.inputs[1].unique().tolist() == pytest.approx([0.0, 1 / 0.7])
    big = cell.bernoulli_mask((200_000,), 0.3, torch.Generator().manual_seed(1))
    assert abs(float((big == 0).float().mean()) - 0.3) < 0.005 and abs(float(big.mean()) - 1.0) < 0.01
    assert cell.draw_masks("none", 0.3, 2, 8, 32, 5, 2) is None and cell.draw_masks("between", 0.0, 2, 8, 32, 5, 2) is None


def test_the_forward_pass_uses_exactly_the_drawn_masks_and_eval_drops_nothing():
    torch.manual_seed(0)
    m = cell.StackedRNN(30, layers=2, hidden=10, embed=6, mode="variational", p=0.5)
    ids = torch.randint(0, 30, (3, 7))
    torch.manual_seed(42)
    a, _ = m(ids)
    masks = m.masks(7, 3, torch.Generator().manual_seed(42))
    b, _ = m(ids, masks=masks)
    assert torch.allclose(a, b)
    m.eval()
    plain = cell.StackedRNN(30, layers=2, hidden=10, embed=6, mode="none").eval()
    plain.load_state_dict(m.state_dict())
    assert torch.allclose(m(ids)[0], plain(ids)[0]) and torch.equal(m(ids)[0], m(ids)[0])
    m.train()
    assert not torch.allclose(m(ids)[0], plain(ids)[0])


def test_the_masks_view_redraws_the_masks_a_training_step_really_used():
    cfg = DropoutConfig(runs=(RunSpec(1, "between", 0.5), RunSpec(2, "variational", 0.5)), **TINY)
    tr = DropoutRace(cfg)
    seen = {}
    for name, model in tr.models.items():
        orig = model.masks

        def spy(T, B, generator=None, _orig=orig, _name=name):
            out = _orig(T, B, generator)
            seen.setdefault(_name, []).append(out)
            return out

        model.masks = spy
    tr.step(3)
    for name in ("A", "B"):
        got = training_masks(cfg, name, 2, sequence=1)
        used = seen[name][2]
        assert (got["output"] == used.output[:, 1].expand(cfg.seq_len, -1).numpy()).all()
    assert training_masks(cfg, "A", 2)["recurrent"] is None
    stripes = training_masks(cfg, "B", 2)["recurrent"]
    assert (stripes == stripes[0]).all() and 0 < (stripes[0] == 0).sum() < cfg.hidden


def test_windows_are_fixed_and_cover_the_text():
    ids = torch.arange(1000)
    x, y = data.windows(ids, 10, n=50)
    assert x.shape == (50, 10) and torch.equal(y, x + 1) and int(x[0, 0]) == 0 and int(y[-1, -1]) == 999
    with pytest.raises(ValueError, match="shorter"):
        data.windows(torch.arange(5), 10)


def test_the_race_learns_and_reports_the_exact_gap():
    cfg = DropoutConfig(runs=(RunSpec(1, "none"), RunSpec(1, "variational", 0.3)), lr=0.01, **TINY)
    tr = DropoutRace(cfg)
    first = tr.latest
    tr.step(30)
    last = tr.latest
    assert [s for s, _ in tr.eval_hist] == [0, 5, 10, 15, 20, 25, 30]
    for run in ("A", "B"):
        assert last[run]["train_loss"] < first[run]["train_loss"] - 0.5
        assert last[run]["gap"] == pytest.approx(last[run]["val_loss"] - last[run]["train_loss"])
    # evaluation is in eval mode on fixed windows: evaluating again gives the same numbers
    assert tr.record() == last
    # the same seed and settings give the same race
    again = DropoutRace(cfg)
    again.step(30)
    assert [x[1] for x in again.loss_hist] == [x[1] for x in tr.loss_hist]


def test_runs_of_the_same_shape_start_from_the_same_weights():
    tr = DropoutRace(DropoutConfig(**TINY))
    a, c = tr.models["A"].state_dict(), tr.models["C"].state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("kw, words", [
    ({"runs": ()}, "1 to 3 runs"), ({"runs": (RunSpec(4, "none"),)}, "1 to 3 layers"),
    ({"runs": (RunSpec(2, "between", 0.95),)}, "between 0 and 0.8"), ({"runs": (RunSpec(2, "zoneout", 0.1),)},
                                                                      "Unknown dropout mode"),
    ({"hidden": 0}, "hidden units"), ({"lr": float("nan")}, "learning rate"), ({"cell": "xyz"}, "Unknown cell"),
    ({"seed": -2}, "seed")])
def test_bad_settings_are_refused_with_a_message(kw, words):
    with pytest.raises(ValueError, match=words):
        DropoutConfig(**{**TINY, **kw}).validate()


def test_sampling_is_seeded_and_stays_in_the_vocabulary():
    tr = DropoutRace(DropoutConfig(runs=(RunSpec(1, "between", 0.3),), **TINY))
    m = tr.models["A"]
    text, probs = sample(m, tr.vocab, 60, prime="ROMEO.\n", seed=3)
    assert len(text) == 60 and len(probs) == 60 and set(text) <= set(tr.vocab.chars)
    assert (probs > 0).all() and (probs <= 1).all() and m.training  # the model's mode is restored
    assert sample(m, tr.vocab, 60, prime="ROMEO.\n", seed=3)[0] == text  # dropout does not leak in
    with pytest.raises(ValueError, match="temperature"):
        sample(m, tr.vocab, 10, temperature=0)


def test_parse_run():
    assert parse_run("3:variational:0.25") == RunSpec(3, "variational", 0.25)
    assert parse_run("1") == RunSpec(1, "none", 0.0) and parse_run("2:between") == RunSpec(2, "between", 0.3)
    with pytest.raises(ValueError, match="layers:mode"):
        parse_run("two:none")


def test_cli_prints_a_table(capsys):
    assert main(["--run", "1:none", "--run", "1:variational:0.3", "--hidden", "16", "--seq-len", "12",
                 "--train-chars", "3000", "--steps", "6", "--eval-every", "3"]) == 0
    out = capsys.readouterr().out
    assert "6 steps" in out and "A: 1 layer, no dropout" in out and "B: 1 layer, recurrent 0.3" in out
    assert "val loss" in out and "gap" in out


@pytest.mark.parametrize("argv", [["--run", "5:none"], ["--run", "2:between:0.9"], ["--hidden", "0"],
                                  ["--steps", "-1"], ["--run", "x"]])
def test_cli_refuses_bad_arguments(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1



def test_longest_copy_finds_the_longest_verbatim_passage():
    from rnnviz.dropout.race import longest_copy

    source = "To be, or not to be, that is the question"
    assert longest_copy("xx not to be, thaQ", source) == len(" not to be, tha")
    assert longest_copy("QQQ", source) == 0 and longest_copy("", source) == 0
