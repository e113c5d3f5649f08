"""The forecasting lab's library (rnnviz.forecast): data checks, the chronological split,
training-only normalisation, the baselines, the causal CNN, the race and the CLI."""

import numpy as np
import pytest
import torch

from rnnviz.forecast import baselines, data
from rnnviz.forecast.models import CausalCNN, RecurrentForecaster, layers_for, receptive_field
from rnnviz.forecast.trainer import ForecastConfig, ForecastRace, main

TINY = dict(window=24, horizon=6, hidden=8, channels=8, batch=16, eval_every=5)


@pytest.mark.parametrize("city", list(data.CITIES))
def test_the_series_is_a_full_year_with_the_missing_hour_filled(city):
    s = data.load(city)
    assert len(s.temps) == len(s.times) == 8760 and s.times[0] == "2010-01-01 00:00"
    assert s.times[-1] == "2010-12-31 23:00"
    i = s.times.index("2010-03-14 03:00")  # the one row the file lacks (summer time)
    assert s.temps[i] == pytest.approx((s.temps[i - 1] + s.temps[i + 1]) / 2)
    assert any("missing" in n for n in s.notes) and "8,759 rows" in s.notes[0]
    assert 30 < s.temps.min() < s.temps.max() < 90  # °F


def test_a_gap_is_filled_linearly_and_a_clock_going_backwards_is_refused():
    import datetime as dt

    t0 = dt.datetime(2010, 1, 1)
    times, temps, notes = data._fill([t0, t0 + 3 * data.HOUR], [10.0, 16.0])
    assert temps == [10.0, 12.0, 14.0, 16.0] and len(notes) == 2 and times[1] == t0 + data.HOUR
    with pytest.raises(ValueError, match="time order"):
        data._fill([t0, t0], [1.0, 2.0])


def test_the_split_is_chronological_and_no_window_crosses_a_part():
    p = data.prepare("seattle", 48, 24)
    (a0, a1), (b0, b1), (c0, c1) = (p.bounds[k] for k in data.PARTS)
    assert a0 == 0 and a1 == b0 and b1 == c0 and c1 == 8760 and a1 < b1
    spans = {}
    for part, (lo, hi) in p.bounds.items():
        t = p.idx[part]
        assert len(t) == hi - lo - 48 - 24 + 1  # every window that fits, no more
        assert t.min() - 48 >= lo and t.max() + 24 <= hi
        spans[part] = (t.min() - 48, t.max() + 24)
    assert spans["train"][1] <= spans["val"][0] and spans["val"][1] <= spans["test"][0]


def test_normalisation_uses_the_training_part_only():
    p = data.prepare("seattle", 24, 1)
    lo, hi = p.bounds["train"]
    train = p.series.temps[lo:hi]
    assert p.mean == pytest.approx(train.mean()) and p.std == pytest.approx(train.std())
    assert p.x[lo:hi].mean() == pytest.approx(0, abs=1e-5) and p.x[lo:hi].std() == pytest.approx(1, abs=1e-4)
    assert p.mean != pytest.approx(p.series.temps.mean(), abs=0.1)  # the whole year would give another mean
    np.testing.assert_allclose(p.to_f(p.x), p.series.temps, atol=1e-4)


def test_persistence_and_seasonal_naive_equal_a_direct_numpy_computation():
    p = data.prepare("seattle", 48, 12)
    temps = p.series.temps
    lo, hi = p.bounds["test"]
    t = np.arange(lo + 48, hi - 12 + 1)
    errors = [abs(temps[o - 1] - temps[o + k]) for o in t for k in range(12)]
    scores = baselines.scores(p)
    assert scores["persistence"]["test"]["mae"] == pytest.approx(np.mean(errors))
    seasonal = [abs(temps[o + k - 24] - temps[o + k]) for o in t for k in range(12)]
    assert scores["seasonal"]["test"]["mae"] == pytest.approx(np.mean(seasonal))
    assert scores["persistence"]["test"]["by_h"][0] == pytest.approx(np.mean(np.abs(temps[t - 1] - temps[t])))
    m = baselines.metrics([[1.0, 3.0]], [[0.0, 0.0]])
    assert m == {"mae": 2.0, "rmse": pytest.approx(np.sqrt(5)), "by_h": [1.0, 3.0]}


@pytest.mark.parametrize("window", [24, 48, 168])
def test_the_cnn_is_causal_and_its_receptive_field_covers_the_window(window):
    torch.manual_seed(0)
    cnn = CausalCNN(window, 4, 3)
    assert cnn.receptive_field >= window and receptive_field(layers_for(window) - 1) < window
    x = torch.randn(2, window)
    j = window // 2
    y = x.clone()
    y[:, j] += 5.0  # change one hour
    fx, fy = cnn.features(x), cnn.features(y)
    assert torch.equal(fx[:, :, :j], fy[:, :, :j])  # nothing before it moves
    assert not torch.allclose(fx[:, :, j:], fy[:, :, j:])
    z = x.clone()
    z[:, 0] += 5.0  # the first hour still reaches the forecast
    assert not torch.allclose(cnn(x), cnn(z))


def test_the_recurrent_forecaster_follows_the_registry():
    for cell in ("gru", "lstm", "rnn"):
        m = RecurrentForecaster(cell, 5, 4)
        assert m(torch.zeros(3, 24)).shape == (3, 4)
    assert RecurrentForecaster("lstm", 5, 4).describe() == "LSTM, 5 units"
    with pytest.raises(ValueError, match="Unknown cell"):
        RecurrentForecaster("transformer", 5, 4)


@pytest.mark.parametrize("bad, message", [({"window": 12}, "window"), ({"horizon": 30}, "horizon"),
                                           ({"city": "paris"}, "city"), ({"cell": "tcn"}, "cell"),
                                           ({"lr": 0.0}, "learning rate"), ({"batch": 0}, "batch")])
def test_absurd_settings_are_refused_with_a_message(bad, message):
    with pytest.raises(ValueError, match=message):
        ForecastConfig(**bad).validate()


def test_the_race_trains_both_models_on_the_same_batches_and_scores_them_in_degrees():
    seen = []

    class Spy(ForecastRace):
        def loss(self, run, model, batch):
            seen.append((run, batch[0].sum().item()))
            return super().loss(run, model, batch)

    race = Spy(ForecastConfig(**TINY))
    race.step(30)
    assert [s for r, s in seen if r == "rnn"] == [s for r, s in seen if r == "cnn"]
    assert [s for s, _ in race.eval_hist] == [0, 5, 10, 15, 20, 25, 30]
    first, last = race.eval_hist[0][1], race.latest
    for run in ("rnn", "cnn"):
        assert last[run]["val_mae"] < first[run]["val_mae"]
        # the validation MAE in °F equals the de-normalised error computed by hand
        pred = race.predict(run, race.prep.idx["val"])
        true = baselines.truth(race.prep, race.prep.idx["val"])
        assert last[run]["val_mae"] == pytest.approx(np.abs(pred - true).mean(), rel=1e-4)
    rep = race.test_report()
    assert set(rep) == {"rnn", "cnn"} and len(rep["rnn"]["by_h"]) == 6 and rep["cnn"]["rmse"] >= rep["cnn"]["mae"]
    assert all(v > 0 for v in race.seconds.values())


def test_a_week_of_the_test_part_holds_real_temperatures_and_h_ahead_forecasts():
    race = ForecastRace(ForecastConfig(**TINY))
    lo, hi = race.prep.bounds["test"]
    assert race.weeks() == -(-(hi - lo) // 168)
    w = race.stretch(2)
    assert len(w["times"]) == 168 and w["times"][0] == race.prep.series.times[lo + 168]
    assert w["real"][0] == race.prep.series.temps[lo + 168]
    # the persistence forecast of an hour made 6 hours earlier is the hour 6 before it
    assert w["baselines"]["persistence"][0] == race.prep.series.temps[lo + 168 - 6]
    assert len(w["runs"]["cnn"]) == 168
    assert race.stretch(99)["week"] == race.weeks()  # out of range: the last week
    one = race.stretch(2, lead=1)  # one hour ahead: persistence is the hour before
    assert one["lead"] == 1 and one["baselines"]["persistence"][0] == race.prep.series.temps[lo + 168 - 1]
    assert one["baselines"]["seasonal"][0] == race.prep.series.temps[lo + 168 - 24]
    t = np.arange(lo + 168, lo + 336)
    np.testing.assert_allclose(one["runs"]["rnn"], race.predict("rnn", t)[:, 0])


def test_cli_prints_the_table_and_refuses_bad_arguments(capsys):
    assert main(["--steps", "5", "--window", "24", "--horizon", "3", "--hidden", "4", "--channels", "4"]) == 0
    out = capsys.readouterr().out
    assert "GRU, 4 units" in out and "Persistence" in out and "test MAE" in out
    assert main(["--horizon", "48", "--steps", "1"]) == 2
    assert "horizon" in capsys.readouterr().err
    assert main(["--steps", "-1"]) == 2
    assert main(["--nonsense"]) == 2
