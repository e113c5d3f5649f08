"""Background training: commands, the CPU slot limiter, stopping and the watchdog."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import torch
from conftest import WAIT, another_trainer_ran, wait_for

from rnnviz import corpora
from rnnviz.live import BackgroundTrainer, SlotLimiter, active_runners
from rnnviz.train import TrainConfig, Trainer

# Generous: waits return as soon as their condition holds, and on a busy machine a
# wait may include starting a worker process (it imports torch: ~20 s at load 9,
# over 60 s while a full test suite and other work share two cores).


@pytest.fixture(scope="module")
def names():
    return corpora.load("names")


def trainer(names, **kw):
    base = dict(cell="gru", layers=1, hidden=16, embed=8, seq_len=16, batch_size=4, eval_every=10_000,
                eval_chars=500, milestones=(0,), sample_len=10, seed=1)
    base.update(kw)
    return Trainer(names, TrainConfig(**base))



def take_turns(rs, limiter, min_steps: int) -> set:
    """Start ``rs`` on a 1-slot ``limiter``; wait until each made ``min_steps`` and the
    queue positions 1 and 2 were shown, never more than one runner holding the slot."""
    positions = set()
    for r in rs:
        r.start()

    def progressed():
        for r in rs:
            s = r.snapshot()
            if s.status == "queued" and s.queue_position:
                positions.add(s.queue_position)
            assert limiter.running() <= 1
        return all(r.steps >= min_steps for r in rs) and {1, 2} <= positions

    assert wait_for(progressed), (positions, [r.steps for r in rs])
    return positions


@pytest.fixture
def runners():
    made = []
    yield made
    for r in made:
        r.stop()


@pytest.fixture(params=["thread", "process"])
def executor(request):
    """Both ways of running the steps: in the runner's thread, or in a worker process."""
    return request.param


def runner(runners, tr, **kw):
    kw.setdefault("limiter", SlotLimiter(1))
    kw.setdefault("executor", "thread")
    # Tests poll snapshots when they need them, not every few seconds like a page: on a busy
    # machine the "nobody is watching" watchdog would stop a slow test's runner. The tests of
    # the watchdog itself set their own limit.
    kw.setdefault("idle_timeout", 3600)
    r = BackgroundTrainer(tr, **kw)
    runners.append(r)
    return r


def test_start_pause_step_once_stop(names, runners, executor):
    r = runner(runners, trainer(names), chunk=3, executor=executor)
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
    assert another_trainer_ran(r.limiter, names) and r.steps == n  # really paused: slot free, no steps

    r.step_once()
    assert wait_for(lambda: r.steps >= n + 3 and r.status == "paused")
    assert another_trainer_ran(r.limiter, names) and r.steps == n + 3  # exactly one chunk

    snap = r.snapshot()
    assert snap.steps == n + 3 and len(snap.loss) == n + 3
    assert snap.loss[-1][0] == n + 3 and snap.chars_per_second > 0 and snap.lr == r.trainer.config.lr

    r.stop()
    assert not r.thread_alive and r.status == "stopped"
    assert r not in active_runners()
    r.start()  # commands after stop are ignored, not errors
    r.step_once()
    assert not r.thread_alive and r.steps == n + 3


def test_max_steps_finishes(names, runners, executor):
    r = runner(runners, trainer(names), chunk=4, max_steps=10, executor=executor)
    r.start()
    assert wait_for(lambda: r.status == "finished")
    assert r.steps == 10
    r.start()  # already finished: nothing happens
    assert not r.wants_run and r.status == "finished"
    assert another_trainer_ran(r.limiter, names) and r.steps == 10


def test_slot_limiter_runs_one_at_a_time_and_queues(names, runners):
    limiter = SlotLimiter(1)
    lock = threading.Lock()
    active = [0]
    peak = [0]

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
    positions = take_turns(rs, limiter, min_steps=4)
    assert peak[0] == 1  # never two trainers stepping at once on a 1-slot limiter
    # A trainer whose turn ended queues again at once, so for an instant it can be third
    # in line (behind the two waiting ones, before the first of them has taken the slot).
    assert max(positions) <= len(rs)
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
    t2.join(WAIT)
    assert got == [False] and lim.position(c) is None
    lim.release(a)
    t.join(WAIT)
    assert got == [False, True] and lim.running() == 1
    assert lim.acquire(b)  # re-entrant for a holder
    lim.release(b)
    assert lim.free == 2


def test_watchdog_stops_an_unwatched_trainer(names, runners, executor):
    # Long enough that a starved thread still makes its first chunk before the watchdog.
    r = runner(runners, trainer(names), chunk=2, idle_timeout=3.0, executor=executor)
    r.start()
    assert wait_for(lambda: r.steps > 0)
    assert wait_for(lambda: not r.thread_alive)
    assert r.status == "stopped"
    assert "nobody was watching" in r.snapshot().message


def test_polling_keeps_the_trainer_alive(names, runners, executor):
    idle = 3.0  # polls come every 0.1 s: a starved test thread still polls in time
    r = runner(runners, trainer(names), chunk=2, idle_timeout=idle, executor=executor)
    r.start()
    t_end = time.monotonic() + 3 * idle  # well past the idle limit
    while time.monotonic() < t_end or r.steps < 20:
        r.snapshot()  # what the page's fragment does
        assert r.thread_alive and r.status in ("idle", "queued", "running"), r.snapshot().message
        if time.monotonic() > t_end + WAIT:
            break
        time.sleep(0.1)
    assert r.thread_alive and r.status == "running" and r.steps >= 20


def test_divergence_in_the_thread(names, runners, executor):
    tr = trainer(names, cell="rnn", nonlinearity="relu", optimizer="sgd", lr=10, clip=False)
    r = runner(runners, tr, chunk=5, executor=executor)
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


def test_checkpoint_copy_is_private(names, runners, executor):
    r = runner(runners, trainer(names), chunk=2, executor=executor)
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


# ------------------------------------------------------------ worker processes


def test_process_runner_steps_in_a_worker_and_mirrors_its_state(names, runners):
    import os

    from rnnviz import worker
    from rnnviz.live import PeriodicSampler

    tr = trainer(names)
    sampler = PeriodicSampler(every=0.0, length=12)
    r = runner(runners, tr, chunk=4, executor="process")
    r.add_listener(sampler)
    r.start()
    assert wait_for(lambda: r.steps >= 40)
    assert any(pid != os.getpid() for pid in worker.POOL.pids())
    r.pause(wait=10)
    assert r.status == "paused"
    # The server's copy is the worker's state: histories complete and in order, the
    # sampler (a listener that ran in the worker) updated in place, weights moved.
    steps = [s for s, _ in tr.loss_hist]
    assert steps == list(range(1, tr.steps + 1))
    assert sampler.latest is not None and sampler.latest[0] > 0 and len(sampler.latest[1].text) == 12
    assert any(not torch.equal(v, tr.initial_weights[k]) for k, v in tr.model.state_dict().items())
    assert tr.corpus is names  # server-only attributes stay


def test_process_runner_changes_while_running_are_kept(names, runners):
    tr = trainer(names, lr=2e-3)
    r = runner(runners, tr, chunk=2, executor="process")
    r.start()
    assert wait_for(lambda: r.steps >= 10)
    before = r.steps
    r.with_trainer(lambda t: t.set_lr(5e-4))  # ends the job in flight, then applies
    assert wait_for(lambda: r.steps >= before + 20)
    r.pause(wait=10)
    assert tr.config.lr == 5e-4
    assert all(g["lr"] == 5e-4 for g in tr.optimizer.param_groups)
    steps = [s for s, _ in tr.loss_hist]
    assert steps == sorted(set(steps)) and steps[-1] == tr.steps  # no step lost or repeated


def test_process_runners_share_one_slot_in_turn(names, runners):
    limiter = SlotLimiter(1)
    rs = [runner(runners, trainer(names, seed=s), limiter=limiter, chunk=2, quantum=0.3, executor="process")
          for s in range(3)]
    take_turns(rs, limiter, min_steps=6)


def _ended(pid: int) -> bool:
    """The process is gone or a zombie (it can no longer run anything)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_process_runner_survives_a_killed_worker(names, runners):
    """Not a bug but a short wait: a fresh worker must import torch before the first
    step after the kill (~20 s at load 9, more than the old 60 s wait under a full
    suite on a busy machine)."""
    from rnnviz import worker

    tr = trainer(names)
    r = runner(runners, tr, chunk=2, executor="process")
    r.start()
    assert wait_for(lambda: r.steps >= 10)
    killed = set(worker.POOL.pids())
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: r.status == "paused")
    # every killed process has really ended (a loaded machine can deliver SIGKILL late;
    # an idle worker still running then would take the next job and die under it)
    assert wait_for(lambda: all(_ended(pid) for pid in killed))
    snap = r.snapshot()
    assert "ended unexpectedly" in snap.message and "press Train" in snap.message
    kept = r.steps
    assert kept >= 10 and r.thread_alive
    r.start()  # a fresh worker takes over from the kept state
    assert wait_for(lambda: r.steps >= kept + 10), (r.status, r.steps, r.snapshot().message, worker.POOL.pids())
    assert worker.POOL.pids() and not killed & set(worker.POOL.pids())
    losses = [s for s, _ in tr.loss_hist]
    assert losses == sorted(set(losses))  # continued from the kept step: none repeated


def test_process_runner_reports_a_listener_it_cannot_send(names, runners):
    r = runner(runners, trainer(names), chunk=2, executor="process")
    r.add_listener(lambda tr: None)  # a lambda cannot be pickled to a worker
    r.start()
    assert wait_for(lambda: r.status == "paused")
    assert "Training stopped" in r.snapshot().message and r.steps == 0


def test_runner_stays_active_until_a_pause_has_landed(names, runners, executor):
    """Pages poll while ``active``: it must not turn false before the status settles, or
    a page would stop polling with "running" on screen (the worker ends its chunk first)."""
    r = runner(runners, trainer(names), chunk=50, executor=executor)
    r.start()
    assert wait_for(lambda: r.steps >= 50)
    r.pause()  # no wait, like a page that redraws at once
    seen = []

    def settled():
        active, status = r.active, r.status
        seen.append((active, status))
        return not active

    assert wait_for(settled)
    assert all(active or status not in ("running", "queued") for active, status in seen), seen
    assert r.status == "paused"


def test_elastic_slots_lend_idle_cores_only_while_nobody_waits():
    lim = SlotLimiter(3)
    a, b = object(), object()
    assert lim.acquire(a) and lim.grow(a, 3) == 3 and lim.free == 0 and lim.in_use() == 3
    got = []
    t = threading.Thread(target=lambda: got.append(lim.acquire(b)), daemon=True)
    t.start()
    assert wait_for(lambda: lim.waiting() == 1)
    assert lim.grow(a, 3) == 3 and lim.shrink(a, 1) == 1  # someone waits: give back, never grow
    t.join(timeout=WAIT)
    assert got == [True] and lim.held(b) == 1 and lim.grow(a, 3) == 2  # the one free slot, queue empty
    assert lim.in_use() == 3 and lim.shrink(a, 1) == 1 and lim.free == 1
    assert lim.grow(object(), 3) == 0  # a ticket that holds nothing cannot grow


def test_a_lone_elastic_trainer_uses_every_core_and_hands_them_back(runners):
    """Alone, a trainer's worker steps with as many torch threads as there are slots; when a
    second student starts, the first gives its extra slot back and both train, never more
    threads in all than slots; once alone again it takes the idle core back."""
    from tests.race_toy import ThreadProbe

    lim = SlotLimiter(2)
    a = runner(runners, ThreadProbe(seed=1), limiter=lim, executor="process", elastic=True, chunk=5)
    a.start()
    assert wait_for(lambda: a.trainer.torch_threads == 2 and a.steps > 20), (a.trainer.torch_threads, a.steps)
    assert lim.held(a) == 2
    b = runner(runners, ThreadProbe(seed=2), limiter=lim, executor="process", elastic=True, chunk=5)
    b.start()
    over = []

    def both_train():
        if lim.in_use() > 2:
            over.append(lim.in_use())
        return b.steps > 20 and lim.held(a) == 1 and a.trainer.torch_threads == 1 and b.trainer.torch_threads == 1

    start_a = a.steps
    assert wait_for(both_train), (lim.held(a), lim.held(b), a.trainer.torch_threads, b.trainer.torch_threads)
    assert not over and a.steps > start_a
    b.stop()
    assert wait_for(lambda: lim.held(a) == 2 and a.trainer.torch_threads == 2)


def test_a_worker_whose_server_is_gone_exits_quietly():
    """A server stopped in the middle of a job (Ctrl+C, a redeploy) closes the pipe the
    worker answers on: the worker ends with status 0 and no traceback in the server's log."""
    import subprocess
    import sys

    from rnnviz import worker

    root = os.path.dirname(os.path.dirname(os.path.abspath(worker.__file__)))
    child = subprocess.Popen([sys.executable, "-c", "from rnnviz.worker import _child_main; _child_main()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root,
                             env=dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS="1"))
    child.stdout.close()  # the server side is gone before the worker answers
    worker._write(child.stdin, {"op": "ping"})
    child.stdin.close()
    err = child.stderr.read()  # until the worker ends
    child.wait(timeout=WAIT)
    assert child.returncode == 0 and b"Traceback" not in err, err.decode(errors="replace")[-2000:]
