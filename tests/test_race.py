"""The side-by-side trainer every comparison lab builds on (rnnviz.race)."""

import math

import pytest
import torch
from conftest import wait_for

from rnnviz import race
from tests.race_toy import ToyRace


def test_every_run_sees_the_same_batches_and_learns():
    seen = {}

    class Spy(ToyRace):
        def loss(self, run, model, batch):
            seen.setdefault(run, []).append(batch[2].tolist())
            return super().loss(run, model, batch)

    tr = Spy(seed=3)
    tr.step(40)
    assert seen["plain"] == seen["dropout"]
    assert len({tuple(b) for b in seen["plain"]}) > 30  # a fresh batch at (almost) every step
    first, last = tr.eval_hist[0][1], tr.eval_hist[-1][1]
    assert [s for s, _ in tr.eval_hist] == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    assert last["plain"]["mse"] < first["plain"]["mse"] / 4
    assert tr.latest == last and set(tr.seconds) == {"plain", "dropout"} and all(v > 0 for v in tr.seconds.values())


def test_a_race_is_reproducible_however_its_steps_are_chunked():
    a, b = ToyRace(seed=7), ToyRace(seed=7)
    a.step(30)
    for n in (1, 4, 10, 15):
        b.step(n)
    for run in a.runs:
        for pa, pb in zip(a.models[run].parameters(), b.models[run].parameters()):
            assert torch.equal(pa, pb), run
    assert [x[1] for x in a.loss_hist] == [x[1] for x in b.loss_hist]
    c = ToyRace(seed=8)
    c.step(30)
    assert [x[1] for x in c.loss_hist] != [x[1] for x in a.loss_hist]


def test_a_blown_up_loss_stops_the_race_with_a_message():
    tr = ToyRace(lr=10.0)
    with torch.no_grad():
        tr.models["plain"].weight.fill_(float("inf"))
    assert tr.step(5) == 0
    assert tr.diverged and "lower the learning rate" in tr.divergence_message()
    assert tr.step(5) == 0


@pytest.mark.parametrize("kw, words", [({"lr": 0.0}, "learning rate"), ({"lr": float("nan")}, "learning rate"),
                                       ({"seed": -1}, "seed"), ({"eval_every": 0}, "Evaluate")])
def test_bad_settings_are_refused_with_a_message(kw, words):
    with pytest.raises(ValueError, match=words):
        ToyRace(**kw)


def test_series_and_smooth():
    hist = [(1, {"a": 1.0, "b": 2.0}), (2, {"a": 3.0}), (3, {"a": 5.0, "b": 4.0})]
    assert race.series(hist) == {"a": ([1, 2, 3], [1.0, 3.0, 5.0]), "b": ([1, 3], [2.0, 4.0])}
    evals = [(0, {"a": {"acc": 0.5}}), (5, {"a": {"acc": 0.75, "loss": 1.0}})]
    assert race.series(evals, "loss") == {"a": ([5], [1.0])}
    assert race.smooth([2, 4, 6, 8], window=2) == [2, 3, 5, 7]
    assert math.isclose(race.smooth([1.0] * 10, 3)[-1], 1.0)


def test_the_race_trains_in_a_worker_process_like_any_lab():
    from rnnviz.live import BackgroundTrainer

    runner = BackgroundTrainer(ToyRace(seed=1), executor="process", max_steps=60)
    runner.start()
    try:
        wait_for(lambda: runner.steps >= 60 and not runner.active, poll=0.05)
        snap = runner.snapshot()
        assert snap.steps == 60 and snap.evals[-1][0] == 60
        local = ToyRace(seed=1)
        local.step(60)
        assert snap.loss[-1][1] == pytest.approx(local.loss_hist[-1][1], rel=1e-5)
        assert set(snap.seconds) == {"plain", "dropout"}
    finally:
        runner.stop()


def test_train_budget_is_steps_or_seconds():
    race = ToyRace(seed=1)
    assert race.train_budget(None, 7) == 7 and race.steps == 7  # no time budget: exactly the steps
    race.train_budget(0.05, 10**9)  # a time budget wins over the step count
    assert max(race.seconds.values()) >= 0.05 and 7 < race.steps < 10**9
