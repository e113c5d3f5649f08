"""The trainer protocol: the live machinery trains any ``LiveTrainer``, not only the
character ``Trainer``. A second trainer (``tests.protocol_toy.LineFit``, a line
fitted by SGD) runs through ``BackgroundTrainer`` with both executors."""

from __future__ import annotations

import pathlib
import pickle
import re
import sys
import types

import pytest
import torch
from conftest import WAIT, wait_for

from rnnviz import corpora, worker
from rnnviz.live import BackgroundTrainer, PeriodicSampler, SlotLimiter
from rnnviz.protocol import LiveTrainer
from rnnviz.train import TrainConfig, Trainer
from tests.protocol_toy import FIT_EVERY, LineFit

ROOT = pathlib.Path(__file__).resolve().parent.parent



@pytest.fixture(scope="module")
def names():
    return corpora.load("names")


def char_trainer(names, **kw):
    base = {"cell": "gru", "layers": 1, "hidden": 16, "embed": 8, "seq_len": 16, "batch_size": 4,
            "eval_every": 10_000, "eval_chars": 500, "milestones": (0,), "sample_len": 10, "seed": 1}
    base.update(kw)
    return Trainer(names, TrainConfig(**base))


@pytest.fixture
def runners():
    made = []
    yield made
    for r in made:
        r.stop()


@pytest.fixture(params=["thread", "process"])
def executor(request):
    return request.param


def runner(runners, tr, **kw):
    kw.setdefault("limiter", SlotLimiter(1))
    kw.setdefault("executor", "thread")
    kw.setdefault("idle_timeout", 3600)  # tests do not poll like a page; see tests/test_live.py
    r = BackgroundTrainer(tr, **kw)
    runners.append(r)
    return r


def kept_steps(steps: int, maxlen: int | None) -> list[int]:
    """The step numbers a ring buffer of ``maxlen`` holds after ``steps`` steps (a pause can
    land late on a busy machine, after the buffer has wrapped)."""
    return list(range(max(1, steps - (maxlen or steps) + 1), steps + 1))


def settled(r, status="paused"):
    return wait_for(lambda: r.status == status)


# ------------------------------------------------------------ a second trainer


def test_a_second_trainer_trains_through_the_runner(runners, executor):
    tr = LineFit()
    x0, label = tr.x, tr.label
    sampler = PeriodicSampler(every=0.0, x=2.0)
    r = runner(runners, tr, chunk=5, executor=executor)
    r.add_listener(sampler)
    snap = r.snapshot()
    assert snap.status == "idle" and snap.steps == 0 and snap.loss == [] and snap.fits == []

    r.step_once()
    assert wait_for(lambda: r.steps == 5) and settled(r)
    snap = r.snapshot()
    assert [s for s, _ in snap.histories["loss_hist"]] == [1, 2, 3, 4, 5]
    first_losses = [sum(v for _, v in snap.loss) / 5]
    assert snap.loss == snap.histories["loss_hist"]  # the trainer's alias
    assert snap.points_seen == snap.counters["points_seen"] == 5 * tr.batch
    assert snap.extra["lr"] == snap.lr == 0.1
    assert snap.appends == {"fits": []}
    assert sampler.latest is not None and sampler.latest[0] == 5

    r.start()
    assert wait_for(lambda: r.steps >= 200)
    r.pause(wait=WAIT)
    assert settled(r)
    snap = r.snapshot()
    steps = [s for s, _ in snap.loss]
    assert steps == kept_steps(snap.steps, tr.loss_hist.maxlen)  # every point, in order, none twice
    losses = [v for _, v in snap.loss]
    assert sum(losses[-20:]) / 20 < 0.05 * first_losses[0]  # a real loss that fell
    assert abs(snap.extra["slope"] - 3.0) < 0.2 and abs(snap.extra["intercept"] + 2.0) < 0.2
    assert [f[0] for f in snap.fits] == list(range(FIT_EVERY, snap.steps + 1, FIT_EVERY))
    # The listener ran beside the steps (in the worker for "process") and reached the page.
    assert sampler.latest[0] > 5 and abs(sampler.latest[1] - 4.0) < 0.5
    assert tr.x is x0 and tr.label is label  # static and server-only parts stay the server's

    r.stop()
    assert r.status == "stopped" and not r.thread_alive
    assert r.snapshot().steps == snap.steps  # still readable


def test_state_survives_job_round_trips(runners):
    """The same trainer run in a worker process ends bit for bit where the thread run
    ends, also after a page changed it between jobs."""
    a, b = LineFit(seed=3), LineFit(seed=3)
    ra = runner(runners, a, chunk=7, max_steps=60, executor="thread")
    rb = runner(runners, b, chunk=7, max_steps=60, executor="process")
    for r in (ra, rb):
        r.start()
    assert wait_for(lambda: all(r.steps == 60 and r.status == "finished" for r in (ra, rb)))
    for r in (ra, rb):
        r.with_trainer(lambda t: t.set_lr(0.03))  # a change made on the server's copy ...
        r.max_steps = 130
        r.start()
    assert wait_for(lambda: all(r.steps == 130 and r.status == "finished" for r in (ra, rb)))
    assert b.optimizer.param_groups[0]["lr"] == 0.03  # ... travelled to the worker and back
    assert list(a.loss_hist) == list(b.loss_hist) and a.fits == b.fits
    assert a.points_seen == b.points_seen
    assert all(torch.equal(v, b.model.state_dict()[k]) for k, v in a.model.state_dict().items())
    assert torch.equal(a.gen.get_state(), b.gen.get_state())


def test_two_trainer_classes_share_one_worker(names, runners, monkeypatch):
    pool = worker.WorkerPool()
    monkeypatch.setattr(worker, "POOL", pool)
    try:
        limiter = SlotLimiter(1)
        char, line = char_trainer(names), LineFit()
        rs = [runner(runners, tr, limiter=limiter, chunk=2, quantum=0.3, executor="process") for tr in (char, line)]
        for r in rs:
            r.start()
        assert wait_for(lambda: char.steps >= 20 and line.steps >= 100)
        for r in rs:
            r.pause(wait=WAIT)
        assert all(settled(r) for r in rs)
        assert len(pool.pids()) == 1  # one worker process trained both classes in turn
        for tr in (char, line):
            assert [s for s, _ in tr.loss_hist] == kept_steps(tr.steps, tr.loss_hist.maxlen)
        assert char.samples and line.fits
    finally:
        pool.shutdown()


def test_queue_positions_with_one_slot(runners, executor):
    limiter = SlotLimiter(1)
    rs = [runner(runners, LineFit(seed=s), limiter=limiter, chunk=2, quantum=0.2, executor=executor)
          for s in range(3)]
    positions = set()
    for r in rs:
        r.start()

    def progressed():
        for r in rs:
            s = r.snapshot()
            if s.status == "queued" and s.queue_position:
                positions.add(s.queue_position)
            assert limiter.running() <= 1
        return all(r.steps >= 20 for r in rs) and {1, 2} <= positions

    assert wait_for(progressed), (positions, [r.steps for r in rs])


def test_a_diverging_trainer_stops_with_its_own_message(runners, executor):
    tr = LineFit(lr=5.0)
    r = runner(runners, tr, chunk=5, executor=executor)
    r.start()
    assert settled(r, "diverged")
    snap = r.snapshot()
    assert "lower the learning rate" in snap.divergence and snap.steps == tr.steps < 100
    r.start()  # does nothing after a divergence
    assert not r.wants_run and r.status == "diverged"
    with pytest.raises(ValueError, match="no earlier weights"):
        r.restore_last_good()


def test_optional_members_fail_clearly(runners):
    r = runner(runners, LineFit())
    with pytest.raises(ValueError, match="cannot be copied into a checkpoint"):
        r.checkpoint_copy()
    with pytest.raises(AttributeError, match="has no 'val'.*fits.*loss.*slope"):
        _ = r.snapshot().val


# ------------------------------------------------------------ the character trainer


def test_character_trainer_implements_the_protocol(names):
    tr = char_trainer(names)
    assert isinstance(tr, LiveTrainer)
    assert tr.static_key() == char_trainer(names, seed=2).static_key()
    other = Trainer(corpora.from_text("abc, def. " * 200, "other"), tr.config)
    assert tr.static_key() != other.static_key()
    state = tr.dynamic_state()
    assert not set(Trainer.STATIC + Trainer.SERVER_ONLY) & set(state)
    # What a job carries rebuilds a trainer that trains exactly like the original.
    static, state = pickle.loads(pickle.dumps((tr.static_state(), state)))
    copy = Trainer.rebuild(static, state)
    tr.step(3)
    copy.step(3)
    assert list(copy.loss_hist) == list(tr.loss_hist) and copy.steps == 3
    assert set(tr.summary()) >= {"chars_per_second", "lr"}


def test_character_snapshot_keeps_the_page_fields(names, runners):
    tr = char_trainer(names)
    r = runner(runners, tr, chunk=3)
    r.step_once()
    assert wait_for(lambda: r.steps == 3) and settled(r)
    snap = r.snapshot()
    assert snap.loss == list(tr.loss_hist) and snap.val == list(tr.val_hist)
    assert snap.grad == list(tr.grad_hist) and snap.speed == list(tr.speed_hist)
    assert snap.samples == tr.samples and snap.chars_seen == tr.chars_seen == 3 * 16 * 4
    assert snap.train_seconds == tr.train_time > 0
    assert snap.lr == tr.config.lr and snap.chars_per_second == tr.chars_per_second() > 0
    assert snap.divergence is None


def test_generic_machinery_names_no_character_trainer_member():
    """live.py and worker.py only use the protocol (a new lab's trainer needs no edit there)."""
    banned = re.compile(r"\b(loss_hist|val_hist|grad_hist|speed_hist|chars_seen|train_time|samples|vocab|"
                        r"corpus|initial_weights|config\.lr|chars_per_second)\b|\.model\b|from \.train\b|"
                        r"from \. import [\w, ]*\btrain\b|\bTrainer\.")
    for name in ("live.py", "worker.py"):
        text = (ROOT / "rnnviz" / name).read_text()
        assert not banned.findall(text), (name, sorted(set(banned.findall(text))))


def test_a_trainer_class_the_worker_cannot_import_is_reported(runners, monkeypatch):
    """A trainer defined outside an importable module pickles on the server but cannot
    be rebuilt in a worker: the page gets the reason and the worker keeps serving."""
    module = types.ModuleType("rnnviz_h6_not_on_disk")
    Unimportable = type("Unimportable", (LineFit,), {"__module__": module.__name__})
    module.Unimportable = Unimportable
    monkeypatch.setitem(sys.modules, module.__name__, module)
    pool = worker.WorkerPool()
    monkeypatch.setattr(worker, "POOL", pool)
    try:
        r = runner(runners, Unimportable(), chunk=2, executor="process")
        r.start()
        assert settled(r)
        assert "No module named 'rnnviz_h6_not_on_disk'" in r.snapshot().message and r.steps == 0
        (pid,) = pool.pids()
        good = runner(runners, LineFit(), chunk=2, executor="process")
        good.step_once()
        assert wait_for(lambda: good.steps == 2) and pool.pids() == [pid]  # the same worker trained it
    finally:
        pool.shutdown()
