"""The one lab panel (``rnnviz.ui.live.lab_panel``) on every lab page that uses it.

Each page must show the untrained step-0 race while the session has no run of its
lab (or a run of another lab), and this session's run, under its status line, when
it has one. The run is put into the session directly (a real ``BackgroundTrainer``
around a tiny trainer stepped in-process, never started), so the test needs no
worker and no waiting: the page has to pick the right branch on its first run.
"""

import pytest
from conftest import open_app_page, plotly_specs
from protocol_toy import LineFit

from rnnviz import deepnet
from rnnviz.deepnet_trainer import DeepNetRace, RaceConfig
from rnnviz.dropout.race import DropoutConfig, DropoutRace, RunSpec
from rnnviz.forecast.trainer import ForecastConfig, ForecastRace
from rnnviz.live import BackgroundTrainer
from rnnviz.memory.trainer import MemoryConfig, MemoryRace
from rnnviz.tagging.race import TagConfig, TaggingRace
from rnnviz.ui.session import RUNNER_KEY

STEPS = 2
OWN_STATUS = f"Paused at step {STEPS}. Press Train to continue."
FRESH = "Freshly initialised"


def small_net():
    return deepnet.NetConfig(depth=3, width=8)


# page, query string (small settings), a tiny trainer of the page's lab, what the fresh branch says
PAGES = {
    "memory": ("pages/memory.py", {"mem_d": "4", "mem_extra": "2", "mem_hidden": "8"},
               lambda: MemoryRace(MemoryConfig(hidden=8, max_distance=4, eval_distance=6, eval_n=8)), FRESH),
    "deepnets": ("pages/deepnets.py", {"dn_depth": "3", "dn_width": "8"},
                 lambda: DeepNetRace(RaceConfig(a=small_net(), b=small_net())), FRESH),
    "bidirectional": ("pages/bidirectional.py", {"bi_hidden": "8"},
                      lambda: TaggingRace(TagConfig(hidden=8, seq_len=16, batch=4)), FRESH),
    "dropout": ("pages/dropout.py", {"dr_hidden": "32", "dr_seq": "16", "dr_three": "false", "dr_chars": "5000"},
                lambda: DropoutRace(DropoutConfig(runs=(RunSpec(1), RunSpec(1, "between", 0.3)), hidden=32,
                                                  seq_len=16, batch=4, train_chars=5_000)),
                "Untrained runs (step 0)"),
    "forecast": ("pages/forecast.py", {"ts_window": "24", "ts_horizon": "6", "ts_hidden": "8", "ts_channels": "8"},
                 lambda: ForecastRace(ForecastConfig(window=24, horizon=6, hidden=8, channels=8, batch=16)), FRESH),
}


# a figure only the own-run branch draws (its subplot titles): the race's loss curves
OWN_FIGURE = {"deepnets": ["training loss (moving average)", "held-out accuracy"]}


def subplot_titles(at) -> list[list[str]]:
    return [[a.get("text") for a in f["layout"].get("annotations", [])] for f in plotly_specs(at)]


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def said(at, text: str) -> bool:
    return any(text in c for c in captions(at))


def with_runner(at, trainer):
    runner = BackgroundTrainer(trainer, executor="thread")
    at.session_state[RUNNER_KEY] = runner
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return runner


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_shows_the_fresh_race_until_the_session_trains_this_lab(name):
    page, params, make, fresh_says = PAGES[name]
    at = open_app_page(page, params)
    assert said(at, fresh_says) and not said(at, OWN_STATUS) and (plotly_specs(at) or at.dataframe)

    other = with_runner(at, LineFit())  # another lab's run: still the fresh race, and a word about the other run
    try:
        assert said(at, fresh_says) and said(at, "training another model on another page")
    finally:
        other.stop()

    trainer = make()
    trainer.step(STEPS)
    mine = with_runner(at, trainer)
    try:
        assert said(at, OWN_STATUS), captions(at)
        assert not said(at, fresh_says), captions(at)
        assert not said(at, "training another model")
        assert plotly_specs(at) or at.dataframe
        if name in OWN_FIGURE:
            assert OWN_FIGURE[name] in subplot_titles(at)
    finally:
        mine.stop()
