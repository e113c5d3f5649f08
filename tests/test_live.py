"""Background training: commands, the CPU slot limiter, stopping and the watchdog."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from rnnviz import corpora
from rnnviz.live import BackgroundTrainer, SlotLimiter, active_runners
from rnnviz.train import TrainConfig, Trainer

WAIT = 60.0  # generous: the CI machine may be busy


@pytest.fixture(scope="module")
def names():
    return corpora.load("names")


def trainer(names, **kw):
    base = dict(cell="gru", layers=1, hidden=16, embed=8, seq_len=16, batch_size=4, eval_every=10_000,
                eval_chars=500, milestones=(0,), sample_len=10, seed=1)
    base.update(kw)
    return Trainer(names, TrainConfig(**base))


def wait_for(cond, timeout=WAIT, poll=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(poll)
    return False


@pytest.fixture
def runners():
    made = []
    yield made
    for r in made:
        r.stop()


def runner(runners, tr, **kw):
    kw.setdefault("limiter", SlotLimiter(1))
    r = BackgroundTrainer(tr, **kw)
    runners.append(r)
    return r


def test_start_pause_step_once_stop(names, runners):
    r = runner(runners, trainer(names), chunk=3)
    assert r.status == "idle" and not r.thread_alive
    snap = r.snapshot()
    assert snap.status == "idle" and snap.steps == 0 and len(snap.val) == 1 and len(snap.samples) == 1

    r.start()
    assert wait_for(lambda: r.steps >= 6)
    assert r.status == "running" and r.thread_alive
    assert r in active_runners()

    r.pause()
    assert wait_for(lambda: r.status == "paused")
    n = r.steps
    time.sleep(0.3)
    assert r.steps == n  # really paused

    r.step_once()
    assert wait_for(lambda: r.steps == n + 3 and r.status == "paused")
    time.sleep(0.3)
    assert r.steps == n + 3  # exactly one chunk

    snap = r.snapshot()
    assert snap.steps == n + 3 and len(snap.loss) == n + 3
    assert snap.loss[-1][0] == n + 3 and snap.chars_per_second > 0 and snap.lr == r.trainer.config.lr

    r.stop()
    assert not r.thread_alive and r.status == "stopped"
    assert r not in active_runners()
    r.start()  # commands after stop are ignored, not errors
    r.step_once()
    assert not r.thread_alive and r.steps == n + 3


def test_max_steps_finishes(names, runners):
    r = runner(runners, trainer(names), chunk=4, max_steps=10)
    r.start()
    assert wait_for(lambda: r.status == "finished")
    assert r.steps == 10
    r.start()  # already finished: nothing happens
    time.sleep(0.2)
    assert r.steps == 10


def test_slot_limiter_runs_one_at_a_time_and_queues(names, runners):
    limiter = SlotLimiter(1)
    lock = threading.Lock()
    active = [0]
    peak = [0]
    positions = set()

    def instrument(tr):
        real = tr.step

        def step(n=1):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                time.sleep(0.002)  # widen the window in which an overlap would show
                return real(n)
            finally:
                with lock:
                    active[0] -= 1

        tr.step = step
        return tr

    rs = [runner(runners, instrument(trainer(names, seed=s)), limiter=limiter, chunk=2, quantum=0.2)
          for s in range(3)]
    for r in rs:
        r.start()

    def progressed():
        for r in rs:
            s = r.snapshot()
            if s.status == "queued" and s.queue_position:
                positions.add(s.queue_position)
            assert limiter.running() <= 1
        return all(r.steps >= 4 for r in rs) and {1, 2} <= positions

    assert wait_for(progressed), (positions, [r.steps for r in rs])
    assert peak[0] == 1  # never two trainers stepping at once on a 1-slot limiter
    assert max(positions) <= 2
    for r in rs:
        r.stop()
    assert limiter.running() == 0 and limiter.waiting() == 0


def test_slot_limiter_fifo_and_cancel():
    lim = SlotLimiter(2)
    a, b, c = object(), object(), object()
    assert lim.acquire(a, 2)
    assert lim.free == 0
    got = []
    t = threading.Thread(target=lambda: got.append(lim.acquire(b, 1)))
    t.start()
    assert wait_for(lambda: lim.position(b) == 1)
    stop = threading.Event()
    t2 = threading.Thread(target=lambda: got.append(lim.acquire(c, 1, cancel=stop.is_set)))
    t2.start()
    assert wait_for(lambda: lim.position(c) == 2)
    stop.set()
    t2.join(5)
    assert got == [False] and lim.position(c) is None
    lim.release(a)
    t.join(5)
    assert got == [False, True] and lim.running() == 1
    assert lim.acquire(b)  # re-entrant for a holder
    lim.release(b)
    assert lim.free == 2


def test_watchdog_stops_an_unwatched_trainer(names, runners):
    r = runner(runners, trainer(names), chunk=2, idle_timeout=0.5)
    r.start()
    assert wait_for(lambda: r.steps > 0)
    assert wait_for(lambda: not r.thread_alive, timeout=WAIT)
    assert r.status == "stopped"
    assert "nobody was watching" in r.snapshot().message


def test_polling_keeps_the_trainer_alive(names, runners):
    r = runner(runners, trainer(names), chunk=2, idle_timeout=0.6)
    r.start()
    t_end = time.monotonic() + 1.5
    while time.monotonic() < t_end:
        r.snapshot()  # what the page's fragment does
        time.sleep(0.1)
    assert r.thread_alive and r.status == "running"


def test_divergence_in_the_thread(names, runners):
    tr = trainer(names, cell="rnn", nonlinearity="relu", optimizer="sgd", lr=10, clip=False)
    r = runner(runners, tr, chunk=5)
    r.start()
    assert wait_for(lambda: r.status == "diverged")
    snap = r.snapshot()
    assert snap.divergence and "Lower the learning rate" in snap.divergence
    assert r.thread_alive  # the thread waits for the student's next move
    step = r.restore_last_good()
    assert r.status == "paused" and "Restored" in r.snapshot().message
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())
    r.with_trainer(lambda t: t.set_lr(1e-3))
    n = r.steps
    r.step_once()
    assert wait_for(lambda: r.steps == n + 5)
    assert step <= n


def test_checkpoint_copy_is_private(names, runners):
    r = runner(runners, trainer(names), chunk=2)
    r.step_once()
    assert wait_for(lambda: r.steps == 2)
    cp = r.checkpoint_copy("mine")
    assert cp.name == "mine" and cp.card["steps"] == 2 and cp.vocab == names.vocab
    assert not cp.model.training
    with torch.no_grad():
        cp.model.head.bias.add_(1.0)
    assert not torch.equal(cp.model.head.bias, r.trainer.model.head.bias)


def test_listener_errors_do_not_kill_training(names, runners):
    calls = []

    def bad(tr):
        calls.append(tr.steps)
        raise RuntimeError("listener bug")

    r = runner(runners, trainer(names), chunk=2)
    r.add_listener(bad)
    r.step_once()
    assert wait_for(lambda: calls == [2])
    r.step_once()
    assert wait_for(lambda: calls == [2, 4])
    assert r.thread_alive
