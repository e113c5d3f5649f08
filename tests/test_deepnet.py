"""The deep-net lab's library: the chain rule by hand equals autograd, gradients
vanish through sigmoid layers and do not through ReLU + He or residual ones, the
spirals are reproducible, and both networks of a race see the same batches."""

import numpy as np
import pytest
import torch

from rnnviz import deepnet as D
from rnnviz.deepnet_trainer import DeepNetRace, RaceConfig, main, parse_net

X_NP, Y_NP = D.spirals(400, seed=1)
X, Y = torch.from_numpy(X_NP), torch.from_numpy(Y_NP)


@pytest.mark.parametrize("activation", list(D.ACTIVATIONS))
@pytest.mark.parametrize("residual", [False, True])
def test_backprop_by_hand_equals_autograd(activation, residual):
    model = D.MLP(D.NetConfig(depth=6, width=16, activation=activation, init="he", residual=residual), seed=2)
    by_hand = D.backprop(model, X, Y).grads
    auto = D.autograd_grads(model, X, Y)
    assert len(by_hand) == len(auto) == 7
    for (dw, db), (aw, ab) in zip(by_hand, auto):
        torch.testing.assert_close(dw, aw, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(db, ab, rtol=1e-4, atol=1e-7)


def first_to_last(cfg: D.NetConfig) -> float:
    """Mean |dL/dW| of the first hidden layer over the last hidden layer's."""
    g = D.layer_stats(D.MLP(cfg, seed=0), X, Y, lr=0.02).grad
    return g[0] / g[-2]


def test_sigmoid_at_depth_20_starves_the_first_layers_and_relu_he_or_residual_do_not():
    sigmoid = first_to_last(D.NetConfig(depth=20, activation="sigmoid", init="normal", sigma=1.0))
    sigmoid_xavier = first_to_last(D.NetConfig(depth=20, activation="sigmoid", init="xavier"))
    relu_he = first_to_last(D.NetConfig(depth=20, activation="relu", init="he"))
    residual = first_to_last(D.NetConfig(depth=20, activation="sigmoid", init="normal", sigma=1.0, residual=True))
    assert sigmoid < 1e-2 and sigmoid_xavier < 1e-6  # orders of magnitude below the output layer
    assert relu_he > 1e-1 and residual > 1e-1  # the gap is closed
    assert relu_he / sigmoid > 100


def test_saturation_and_histograms_describe_the_activations():
    s = D.layer_stats(D.MLP(D.NetConfig(depth=5, activation="relu", init="he"), seed=0), X, Y, lr=0.1)
    assert s.hist.shape == (5, D.HIST_BINS) and np.allclose(s.hist.sum(1), 1.0)
    assert 0.2 < s.saturated.mean() < 0.8  # about half of ReLU units are below zero at He init
    leaky = D.layer_stats(D.MLP(D.NetConfig(depth=5, activation="leaky_relu", init="he"), seed=0), X, Y, lr=0.1)
    assert leaky.saturated.max() == 0.0
    assert np.all(s.ratio > 0) and s.ratio.shape == (6,)


def test_spirals_are_reproducible_balanced_and_seeded():
    a, b = D.spirals(300, classes=3, seed=4), D.spirals(300, classes=3, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.bincount(a[1]).tolist() == [100, 100, 100]
    assert not np.array_equal(a[0], D.spirals(300, classes=3, seed=5)[0])


@pytest.mark.parametrize("bad, message", [
    ({"depth": 31}, "Depth must be between 1 and 30"), ({"activation": "swish"}, "Unknown activation"),
    ({"init": "zeros"}, "Unknown initialisation"), ({"sigma": float("nan")}, "σ must be"),
    ({"width": 10_000}, "Width must be")])
def test_absurd_settings_are_refused_with_a_message(bad, message):
    with pytest.raises(ValueError, match=message):
        D.NetConfig(**bad).validate()


def test_both_networks_of_a_race_see_the_same_batches():
    same = D.NetConfig(depth=3, activation="tanh", init="xavier")
    race = DeepNetRace(RaceConfig(a=same, b=same, seed=7))
    race.step(30)
    for pa, pb in zip(race.models["A"].parameters(), race.models["B"].parameters()):
        assert torch.equal(pa, pb)
    assert [p[1]["A"] for p in race.loss_hist] == [p[1]["B"] for p in race.loss_hist]
    assert [s for s, _ in race.stats_hist] == [0, 10, 20, 30] == [s for s, _ in race.eval_hist]


def test_the_race_is_a_race_whose_batches_come_from_the_step_seed():
    from rnnviz.race import Race

    cfg = RaceConfig(a=D.NetConfig(depth=3, width=8), b=D.NetConfig(depth=3, width=8, activation="tanh"), seed=3)
    one, other = DeepNetRace(cfg), DeepNetRace(cfg)
    assert isinstance(one, Race)
    one.step(20)
    other.step(5)  # in chunks, as the workers run it: the same batches, the same numbers
    other.step(15)
    assert list(one.loss_hist) == list(other.loss_hist) and one.latest == other.latest
    assert set(one.latest["A"]) == {"acc", "train_acc", "train_loss"} and one.seconds["B"] > 0
    assert len(one.layers["A"]["hist"]) == 3  # one activation histogram per hidden layer


def test_relu_he_learns_the_spirals_and_sigmoid_at_depth_12_does_not():
    race = DeepNetRace(RaceConfig(a=D.NetConfig(depth=12, activation="sigmoid", init="normal"),
                                  b=D.NetConfig(depth=12, activation="relu", init="he"), seed=0))
    race.step(1000)
    assert race.divergence is None
    acc_a, acc_b = race.latest["A"]["acc"], race.latest["B"]["acc"]
    assert acc_b > 0.9 and acc_a < 0.7


def test_a_diverging_network_stops_the_race_with_a_message():
    race = DeepNetRace(RaceConfig(a=D.NetConfig(depth=10, activation="relu", init="normal", sigma=3.0),
                                  b=D.NetConfig(depth=2), lr=10.0))
    ran = race.step(200)
    assert ran < 200 and race.diverged and "lower the learning rate" in race.divergence_message()


def test_cli_parses_network_specs_and_prints_the_table(capsys):
    cfg = parse_net("sigmoid:normal:0.5:res", depth=4, width=8, residual=False, arms=2)
    assert (cfg.activation, cfg.init, cfg.sigma, cfg.residual) == ("sigmoid", "normal", 0.5, True)
    with pytest.raises(ValueError, match="Cannot read 'x'"):
        parse_net("relu:he:x", 4, 8, False, 2)
    assert main(["--depth", "3", "--steps", "20", "--width", "8"]) == 0
    out = capsys.readouterr().out
    assert "mean |dL/dW| per layer" in out and "held-out accuracy" in out and out.count("\n     ") >= 3
    assert main(["--a", "swish:he", "--steps", "1"]) == 2
