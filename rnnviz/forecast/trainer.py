"""``ForecastRace``: the recurrent forecaster and the causal CNN trained side by side.

Both runs see the same minibatch of training windows at every step and start from
the same seed (``rnnviz.race.Race``), so a gap between their curves comes from the
architecture. Every ``eval_every`` steps each run is scored on the whole validation
part (MAE and RMSE in °F, de-normalised). The test part is only scored on request
(``test_report``), for the table, the forecast drawing and the error by horizon;
nothing is ever tuned on it. The naive baselines are computed once (``baselines``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import celltypes
from ..race import Race
from ..seeds import check_seed
from . import baselines, data
from .models import CausalCNN, RecurrentForecaster, n_params

RUNS = ("rnn", "cnn")
WEEK = data.WEEK


@dataclass(frozen=True)
class ForecastConfig:
    city: str = "seattle"
    window: int = 48  # hours of history the models read
    horizon: int = 24  # hours ahead they forecast
    cell: str = "gru"
    hidden: int = 32
    channels: int = 32
    lr: float = 0.003
    batch: int = 64
    seed: int = 0
    eval_every: int = 25

    def validate(self) -> "ForecastConfig":
        if self.city not in data.CITIES:
            raise ValueError(f"Unknown city {self.city!r}: use one of {', '.join(data.CITIES)}.")
        if not 24 <= int(self.window) <= 336:
            raise ValueError(f"The window must be 24 to 336 hours (one day to two weeks; got {self.window}).")
        if not 1 <= int(self.horizon) <= 24:
            raise ValueError(f"The horizon must be 1 to 24 hours (got {self.horizon}).")
        celltypes.of(self.cell)
        if not 1 <= int(self.hidden) <= 256:
            raise ValueError(f"Use 1 to 256 recurrent units (got {self.hidden}).")
        if not 1 <= int(self.channels) <= 256:
            raise ValueError(f"Use 1 to 256 CNN channels (got {self.channels}).")
        if not (math.isfinite(self.lr) and 1e-5 <= self.lr <= 1):
            raise ValueError(f"The learning rate must be between 0.00001 and 1 (got {self.lr}).")
        if not 1 <= int(self.batch) <= 1024:
            raise ValueError(f"The batch size must be between 1 and 1,024 (got {self.batch}).")
        if not 1 <= int(self.eval_every) <= 10_000:
            raise ValueError(f"Evaluate every 1 to 10,000 steps (got {self.eval_every}).")
        check_seed(self.seed)
        return self

    def to_dict(self) -> dict:
        return asdict(self)


class ForecastRace(Race):
    STATIC = ("x", "train_idx", "val_x", "val_y")
    SERVER_ONLY = ("prep",)

    def __init__(self, config: ForecastConfig):
        self.config = c = config.validate()
        self.prep = p = data.prepare(c.city, c.window, c.horizon)
        self.x = torch.from_numpy(p.x)
        self.train_idx = torch.from_numpy(p.idx["train"])
        self.val_x, self.val_y = map(torch.from_numpy, data.windows(p.x, p.idx["val"], c.window, c.horizon))
        self.mean, self.std = p.mean, p.std
        self.baselines = baselines.scores(p)
        torch.manual_seed(c.seed)
        rnn = RecurrentForecaster(c.cell, c.hidden, c.horizon)
        torch.manual_seed(c.seed)
        cnn = CausalCNN(c.window, c.channels, c.horizon)
        self.labels = {"rnn": rnn.describe(), "cnn": cnn.describe()}
        self.params = {"rnn": n_params(rnn), "cnn": n_params(cnn)}
        self.receptive_field = cnn.receptive_field
        super().__init__({"rnn": rnn, "cnn": cnn}, lr=c.lr, seed=c.seed, eval_every=c.eval_every)

    def static_key(self) -> str:
        c = self.config
        return f"forecast:{c.city}:{c.window}:{c.horizon}"

    def batch(self, gen):
        c = self.config
        t = self.train_idx[torch.randint(0, len(self.train_idx), (c.batch,), generator=gen)][:, None]
        return self.x[t + torch.arange(-c.window, 0)], self.x[t + torch.arange(c.horizon)]

    def loss(self, run, model, batch):
        xb, yb = batch
        return F.mse_loss(model(xb), yb)

    def evaluate(self, run, model):
        err = (model(self.val_x) - self.val_y) * self.std  # °F
        return {"val_mae": err.abs().mean(), "val_rmse": err.pow(2).mean().sqrt()}

    def summary(self) -> dict:
        lo, hi = self.prep.bounds["test"]
        times = self.prep.series.times
        return {"labels": self.labels, "params": self.params, "baselines": self.baselines,
                "receptive_field": self.receptive_field, "test_span": (times[lo], times[hi - 1])}

    # ------------------------------------------------------------ read-outs (under the runner's lock)
    def predict(self, run: str, t) -> np.ndarray:
        """°F forecasts [len(t), horizon] of one run from origins ``t`` (eval mode, no gradients)."""
        c, m = self.config, self.models[run]
        xw, _ = data.windows(self.prep.x, t, c.window, c.horizon)
        was = m.training
        m.eval()
        with torch.no_grad():
            out = m(torch.from_numpy(xw)).numpy()
        m.train(was)
        return self.prep.to_f(out)

    def test_report(self) -> dict:
        """{run: metrics} on the test part, in °F (see ``baselines.metrics``)."""
        t = self.prep.idx["test"]
        true = baselines.truth(self.prep, t)
        return {run: baselines.metrics(self.predict(run, t), true) for run in self.runs}

    def weeks(self) -> int:
        return data.test_weeks(self.config.city)

    def stretch(self, week: int, lead: int | None = None) -> dict:
        """One week of the test part: the real temperatures and every run's and baseline's
        forecast of each hour, made ``lead`` hours before it (default: the horizon). The
        inputs of the first forecasts reach back before the test part (only real past
        hours, never targets)."""
        c, p = self.config, self.prep
        lead = c.horizon if lead is None else min(max(int(lead), 1), c.horizon)
        lo, hi = p.bounds["test"]
        week = min(max(int(week), 1), self.weeks())
        a, b = lo + (week - 1) * WEEK, min(lo + week * WEEK, hi)
        t = np.arange(a, b) - (lead - 1)  # the origin whose lead-th hour lands on each hour
        return {"times": list(p.series.times[a:b]), "real": p.series.temps[a:b].tolist(), "week": week,
                "lead": lead, "runs": {run: self.predict(run, t)[:, lead - 1].tolist() for run in self.runs},
                "baselines": {name: baselines.predict(name, p, t)[:, lead - 1].tolist()
                              for name in baselines.BASELINES}}


# ---------------------------------------------------------------- command line


def main(argv=None) -> int:
    import argparse
    import sys

    from ..cli import check_training_args

    ap = argparse.ArgumentParser(prog="python -m rnnviz.forecast",
                                 description="Train a recurrent forecaster and a causal 1D CNN side by side on "
                                             "hourly temperatures and compare them with naive baselines.")
    ap.add_argument("--city", default="seattle", help=f"one of {', '.join(data.CITIES)}")
    ap.add_argument("--window", type=int, default=48, help="hours of history (24-336)")
    ap.add_argument("--horizon", type=int, default=24, help="hours ahead (1-24)")
    ap.add_argument("--cell", default="gru", help=f"recurrent cell: {', '.join(celltypes.CELL_TYPES)}")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, default=None, help="training steps (default 1000)")
    budget.add_argument("--seconds", type=float, default=None, help="train until the slower model had this long")
    ap.add_argument("--threads", type=int, default=1)
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        check_training_args(a)
        torch.set_num_threads(a.threads)
        race = ForecastRace(ForecastConfig(city=a.city, window=a.window, horizon=a.horizon, cell=a.cell,
                                           hidden=a.hidden, channels=a.channels, lr=a.lr, batch=a.batch,
                                           seed=a.seed))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    race.train_budget(a.seconds, 1000 if a.steps is None else a.steps)
    if race.divergence:
        print(race.divergence, file=sys.stderr)
    race.record()
    print(format_table(race))
    return 0


def format_table(race: ForecastRace) -> str:
    c = race.config
    test = race.test_report()
    lines = [f"{data.CITIES[c.city][0]}: {c.window} h window -> next {c.horizon} h; {race.steps:,} steps; "
             f"CNN receptive field {race.receptive_field} h",
             f"{'forecaster':<40} {'params':>7} {'val MAE':>8} {'test MAE':>9} {'test RMSE':>10} {'wall s':>7}"]
    for run in race.runs:
        lines.append(f"{race.labels[run]:<40} {race.params[run]:>7,} {race.latest[run]['val_mae']:>7.2f}F "
                     f"{test[run]['mae']:>8.2f}F {test[run]['rmse']:>9.2f}F {race.seconds[run]:>7.1f}")
    for name, label in baselines.BASELINES.items():
        s = race.baselines[name]
        lines.append(f"{label:<40} {'-':>7} {s['val']['mae']:>7.2f}F {s['test']['mae']:>8.2f}F "
                     f"{s['test']['rmse']:>9.2f}F {'-':>7}")
    return "\n".join(lines)
