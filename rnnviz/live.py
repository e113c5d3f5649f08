"""Background training for a whole classroom on one server.

``BackgroundTrainer`` runs any trainer that implements the trainer protocol
(``rnnviz.protocol.LiveTrainer``: the character ``train.Trainer`` and every lab's
own) from its own thread. It knows nothing about what is trained: it steps the
trainer in chunks, copies its declared histories, lists and counters into a
``Snapshot``, and moves its state to and from worker processes through the
protocol. The thread never calls Streamlit: it only touches its own object,
guarded by a lock, and pages poll ``snapshot()`` from an
``st.fragment(run_every=...)``. With ``executor="process"`` (the web server's
choice) the steps themselves run in a worker process (``rnnviz.worker``) and the
thread keeps the server's copy of the trainer current.

Why a slot limiter: PyTorch's CPU kernels use OpenMP thread pools, and two
trainers with two threads each on a two-core machine ran about 18x slower than
one (oversubscription). ``SlotLimiter`` hands out CPU slots (one per torch thread)
so the running trainers never use more threads than there are cores. Waiting
trainers queue in FIFO order and see their position; running trainers give up
their slot after a time quantum when someone is waiting, so a class of students
all see their loss fall (round-robin), while the machine stays fully used.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import torch

from .protocol import LiveTrainer

THREAD_NAME = "rnnviz-trainer"  # also the OS thread name, so ops can count trainers in /proc/PID/task/*/comm


def _set_os_thread_name(name: str) -> None:
    """Name the calling OS thread (Linux prctl; Python 3.11 only names its own Thread object)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # 15 = PR_SET_NAME
    except (OSError, AttributeError):  # not Linux
        pass


def cpu_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class SlotLimiter:
    """FIFO allocation of CPU slots (one slot = one torch thread)."""

    def __init__(self, slots: int | None = None):
        self.slots = slots or cpu_cores()
        self._cond = threading.Condition()
        self._queue: list = []  # waiting tickets, FIFO
        self._held: dict = {}  # ticket -> slots held

    @property
    def free(self) -> int:
        return self.slots - sum(self._held.values())

    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    def running(self) -> int:
        with self._cond:
            return len(self._held)

    def position(self, ticket) -> int | None:
        """1-based queue position of ``ticket``, or None if it is not waiting."""
        with self._cond:
            try:
                return self._queue.index(ticket) + 1
            except ValueError:
                return None

    def acquire(self, ticket, n: int = 1, cancel=lambda: False, timeout: float = 0.25) -> bool:
        """Block until ``n`` slots are free and ``ticket`` is first in line.

        Returns False (and leaves the queue) when ``cancel()`` becomes true.
        """
        n = max(1, min(int(n), self.slots))
        with self._cond:
            if ticket in self._held:
                return True
            self._queue.append(ticket)
            try:
                while True:
                    if self._queue[0] is ticket and self.free >= n:
                        self._queue.pop(0)
                        self._held[ticket] = n
                        self._cond.notify_all()
                        return True
                    if cancel():
                        return False
                    self._cond.wait(timeout)
            finally:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                    self._cond.notify_all()

    def held(self, ticket) -> int:
        with self._cond:
            return self._held.get(ticket, 0)

    def in_use(self) -> int:
        """Slots held by all running trainers (a lone trainer may hold several)."""
        with self._cond:
            return sum(self._held.values())

    def grow(self, ticket, up_to: int) -> int:
        """Lend ``ticket`` (which already holds a slot) every free slot up to ``up_to`` in
        all, but only while nobody waits: a lone trainer uses the idle cores. Returns
        the slots it now holds."""
        with self._cond:
            have = self._held.get(ticket, 0)
            if have and not self._queue:
                have += max(0, min(self.free, int(up_to) - have))
                self._held[ticket] = have
            return have

    def shrink(self, ticket, to: int = 1) -> int:
        """Hand back the slots ``ticket`` holds beyond ``to`` (someone is waiting)."""
        with self._cond:
            have = self._held.get(ticket, 0)
            if have > to:
                self._held[ticket] = have = max(1, int(to))
                self._cond.notify_all()
            return have

    def release(self, ticket):
        with self._cond:
            if self._held.pop(ticket, None) is not None:
                self._cond.notify_all()

    def others_waiting(self) -> bool:
        with self._cond:
            return bool(self._queue)


SLOTS = SlotLimiter()
# "thread": steps run in the runner's own thread (tests, scripts). "process": they run
# in a worker process (rnnviz.worker) and the thread only coordinates -- what the
# web server uses, because page scripts hold the server's GIL (see rnnviz.worker).
EXECUTORS = ("thread", "process")
_RUNNERS: "weakref.WeakSet[BackgroundTrainer]" = weakref.WeakSet()


def active_runners() -> list:
    """Runners whose thread is still alive (for the load test and the teacher)."""
    return [r for r in list(_RUNNERS) if r.thread_alive]


@dataclass
class Snapshot:
    """A consistent copy of a trainer's progress, safe to read without the lock.

    ``histories``, ``appends`` and ``counters`` are copies of the trainer's
    ``HISTORIES``, ``APPENDS`` and ``COUNTERS`` by attribute name, ``extra`` its
    ``summary()``. Each of them also reads as an attribute, by its own name or by a
    short name from the trainer's ``ALIASES`` (e.g. ``snap.loss`` for the loss history).
    """

    status: str
    steps: int
    divergence: str | None
    queue_position: int | None
    elapsed: float
    max_steps: int | None
    message: str | None = None
    histories: dict = field(default_factory=dict)
    appends: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    aliases: dict = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not fields (and never during copy/unpickling).
        if name.startswith("_") or name in self.__dataclass_fields__:
            raise AttributeError(name)
        key = self.aliases.get(name, name)
        for part in (self.histories, self.appends, self.counters, self.extra):
            if key in part:
                return part[key]
        known = sorted({*self.histories, *self.appends, *self.counters, *self.extra, *self.aliases})
        raise AttributeError(f"This trainer's snapshot has no {name!r}; it has {', '.join(known) or 'nothing'}.")


class BackgroundTrainer:
    """A per-session trainer thread with pause/resume, single steps and a watchdog.

    Status values: ``idle`` (created, never started), ``queued`` (waiting for a CPU
    slot), ``running``, ``paused``, ``diverged``, ``finished`` (max steps reached),
    ``stopped`` (released; the thread has ended).
    """

    def __init__(self, trainer: LiveTrainer, *, threads: int = 1, limiter: SlotLimiter | None = None,
                 chunk: int = 5, max_steps: int | None = None, max_wall: float = 30 * 60,
                 idle_timeout: float = 180.0, quantum: float = 5.0, executor: str | None = None,
                 elastic: bool = False):
        executor = executor or os.environ.get("RNNVIZ_EXECUTOR", "thread")
        if executor not in EXECUTORS:
            raise ValueError(f"Unknown executor {executor!r}; use one of {', '.join(EXECUTORS)}.")
        self.executor = executor
        self.trainer = trainer
        self.threads = max(1, int(threads))
        # Elastic (process executor): alone on the server, take every free slot (one torch
        # thread each) and hand the extra ones back as soon as another trainer queues.
        self.elastic = bool(elastic)
        self.job_threads = self.threads  # torch threads of the last job (what the page may report)
        self.limiter = limiter or SLOTS
        self.chunk = max(1, int(chunk))
        self.max_steps = max_steps
        self.max_wall = max_wall
        self.idle_timeout = idle_timeout
        self.quantum = quantum
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._want_run = False
        self._step_requests = 0
        self._stopped = False
        self._status = "idle"
        self._message = None
        self._run_seconds = 0.0
        self._budget_start = 0.0  # _run_seconds when the user last pressed Train
        self._last_poll = time.monotonic()
        self._readers = 0
        self._thread: threading.Thread | None = None
        self._listeners = []  # callables(trainer) run in the trainer thread after each chunk
        # Process executor: the trainer's state version (bumped by every job and every
        # change a page makes), a gate held while a job runs, and a request to end it.
        self._key = f"{os.getpid()}-{id(self)}-{time.monotonic_ns()}"
        self._version = 0
        self._jobs = 0
        self._job_gate = threading.Lock()
        self._interrupt = threading.Event()
        _RUNNERS.add(self)

    # -------------------------------------------------------------- commands
    def _ensure_thread(self):
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def start(self):
        """Train continuously (queued until a slot is free)."""
        if self._stopped:
            return
        with self.lock:
            if self.trainer.diverged:
                return
            if self.max_steps is not None and self.trainer.steps >= self.max_steps:
                return
            self._want_run = True
            self._message = None
            self._last_poll = time.monotonic()
            if self._run_seconds - self._budget_start >= self.max_wall:
                self._budget_start = self._run_seconds  # an explicit Train grants a new budget
        self._ensure_thread()
        self._wake.set()

    resume = start

    def pause(self, wait: float = 0.0):
        """Stop after the step in flight; ``wait`` > 0 blocks (up to that many seconds)
        until the thread has settled, so a page redrawn right after shows final numbers."""
        self._want_run = False
        self._wake.set()
        deadline = time.monotonic() + wait
        while self._status in ("running", "queued") and self.thread_alive and time.monotonic() < deadline:
            time.sleep(0.01)

    def step_once(self):
        """Run one chunk of steps, then pause."""
        if self._stopped:
            return
        with self.lock:
            self._want_run = False
            self._step_requests += 1
        self._ensure_thread()
        self._wake.set()

    def stop(self, reason: str | None = None, join: bool = True):
        """End the thread and release its slot; the trainer object stays readable."""
        self._stopped = True
        self._want_run = False
        if reason:
            self._message = reason
        self._wake.set()
        t = self._thread
        if join and t is not None and t is not threading.current_thread():
            t.join(timeout=10)
        self._status = "stopped"

    def touch(self):
        """Called by the page on every poll; the watchdog stops unpolled trainers."""
        self._last_poll = time.monotonic()

    def add_listener(self, fn):
        """Register ``fn(trainer)``, called under the lock after every chunk."""
        self._listeners.append(fn)

    # -------------------------------------------------------------- reading
    @property
    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        return self._status

    @property
    def wants_run(self) -> bool:
        """True after start() until pause, divergence, the step limit or stop (not for single steps)."""
        return not self._stopped and self._want_run

    @property
    def active(self) -> bool:
        """True while training is wanted, a single step is pending, or the work in flight
        has not settled yet (a page should keep polling until it has: with the process
        executor, a pause lands when the worker ends its chunk)."""
        if self._stopped:
            return False
        return self._want_run or self._step_requests > 0 or (
            self._status in ("running", "queued") and self.thread_alive)

    @property
    def steps(self) -> int:
        return self.trainer.steps

    @contextlib.contextmanager
    def _locked(self):
        """The lock, flagged so the trainer thread yields it between steps."""
        self._readers += 1
        self.lock.acquire()
        self._readers -= 1
        try:
            yield
        finally:
            self.lock.release()

    def snapshot(self) -> Snapshot:
        self.touch()
        with self._locked():
            tr = self.trainer
            return Snapshot(
                status=self._status,
                steps=tr.steps,
                divergence=tr.divergence_message(),
                queue_position=self.limiter.position(self) if self._status == "queued" else None,
                elapsed=self._run_seconds,
                max_steps=self.max_steps,
                message=self._message,
                histories={h: list(getattr(tr, h)) for h in tr.HISTORIES},
                appends={a: list(getattr(tr, a)) for a in tr.APPENDS},
                counters={c: getattr(tr, c) for c in tr.COUNTERS},
                extra=dict(tr.summary()),
                aliases=dict(tr.ALIASES),
            )

    def checkpoint_copy(self, name: str = "live"):
        """A private copy of the current model for the pages (``trainer.checkpoint``)."""
        with self._locked():
            return self.trainer.checkpoint(name)

    @contextlib.contextmanager
    def _changing(self):
        """Exclusive access for a change to the trainer. With the process executor the
        job in flight is ended first (its final state applied), and the next job
        carries the changed state."""
        if self.executor != "process":
            with self._locked():
                yield
            return
        self._interrupt.set()
        try:
            with self._job_gate, self._locked():
                yield
                self._version += 1
        finally:
            self._interrupt.clear()

    def with_trainer(self, fn):
        """Run ``fn(trainer)`` with exclusive access (e.g. restore weights, change lr)."""
        with self._changing():
            return fn(self.trainer)

    def restore_last_good(self) -> int:
        with self._changing():
            step = self.trainer.restore_last_good()
            self._status = "paused"
            self._message = f"Restored the weights from step {step:,}."
            return step

    # -------------------------------------------------------------- thread
    def _loop(self):
        _set_os_thread_name(THREAD_NAME)
        torch.set_num_threads(self.threads)  # per-thread OpenMP setting
        try:
            while not self._stopped:
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                if self._stopped:
                    break
                if self._watchdog():
                    break
                if not self._want_run and self._step_requests == 0:
                    if self._status not in ("diverged", "finished"):
                        self._status = "idle" if self.trainer.steps == 0 and self._status == "idle" else "paused"
                    continue
                self._status = "queued"
                ok = self.limiter.acquire(
                    self, self.threads,
                    cancel=lambda: self._stopped or (not self._want_run and self._step_requests == 0),
                )
                if not ok:
                    continue
                try:
                    self._run_slice()
                finally:
                    self.limiter.release(self)
        finally:
            self.limiter.release(self)
            self._status = "stopped"

    def _watchdog(self) -> bool:
        if self.idle_timeout and time.monotonic() - self._last_poll > self.idle_timeout:
            if self._want_run or self._step_requests:
                self._message = "Training stopped because nobody was watching this page for a while."
            self._stopped = True
            return True
        return False

    def _run_slice(self):
        if self.executor == "process":
            return self._run_slice_process()
        t_slice = time.monotonic()
        self._status = "running"
        while not self._stopped:
            single = False
            if not self._want_run:
                if self._step_requests == 0:
                    break
                single = True
            if self._budget_spent():
                break
            if self._watchdog():
                break
            t0 = time.monotonic()
            n = self.chunk
            if self.max_steps is not None:
                n = min(n, self.max_steps - self.trainer.steps)
            for _ in range(max(0, n)):
                with self.lock:
                    self.trainer.step(1)
                if self._readers:
                    time.sleep(0.001)  # let a waiting page read a snapshot
                if self.trainer.diverged or self._stopped or (not self._want_run and not single):
                    break
            with self.lock:
                for fn in list(self._listeners):
                    try:
                        fn(self.trainer)
                    except Exception:  # a listener must never kill training
                        pass
            self._run_seconds += time.monotonic() - t0
            if self._after_chunk(t_slice, single):
                return
        if self._status == "running":
            self._status = "paused"

    # Shared by both executors' slices.
    def _settle(self, status: str, message: str | None = None):
        """End the slice with nothing pending; ``status`` (and ``message``) for the page."""
        self._want_run = False
        self._step_requests = 0
        self._status = status
        if message:
            self._message = message

    def _over_budget(self) -> bool:
        return self._run_seconds - self._budget_start >= self.max_wall

    def _budget_spent(self) -> bool:
        if not self._over_budget():
            return False
        self._settle("paused", f"Training paused after the {self.max_wall / 60:.0f}-minute limit per session. "
                               "Press Train to continue.")
        return True

    def _after_chunk(self, t_slice: float, single: bool) -> bool:
        """Bookkeeping after a chunk (or a worker job); True when the slice ends."""
        if single:
            with self.lock:
                self._step_requests = max(0, self._step_requests - 1)
        if self.trainer.diverged:
            self._settle("diverged")
            return True
        if self.max_steps is not None and self.trainer.steps >= self.max_steps:
            self._settle("finished")
            return True
        if self.quantum and time.monotonic() - t_slice > self.quantum and self.limiter.others_waiting():
            self._wake.set()  # give the slot to the next in line, then queue again
            self._status = "queued"
            return True
        return False

    def _slice_should_end(self, t_slice: float, single: bool) -> bool:
        if self._stopped or self._interrupt.is_set():
            return True
        if not single and not self._want_run:
            return True
        if self.idle_timeout and time.monotonic() - self._last_poll > self.idle_timeout:
            return True
        if self._over_budget():
            return True
        return bool(self.quantum and time.monotonic() - t_slice > self.quantum and self.limiter.others_waiting())

    def _resize_due(self) -> bool:
        """An elastic job should end early (the next one gets another thread count): its
        extra threads belong to a student who just queued, or a slot has come free."""
        if not self.elastic:
            return False
        if self.limiter.others_waiting():
            return self.job_threads > self.threads
        return self.job_threads < self.limiter.slots and self.limiter.free > 0

    def _apply(self, msg: dict):
        """Bring the server's copy of the trainer up to date with a worker message."""
        with self.lock:
            if msg.get("op") == "done":
                self.trainer.apply_state(msg["state"])
            else:
                self.trainer.apply_progress(msg)
            for fn, d in zip(self._listeners, msg["listeners"]):
                if hasattr(fn, "__dict__"):
                    fn.__dict__.update(d)
            self._run_seconds += msg["run_seconds"]

    def _run_slice_process(self):
        from . import worker as wk

        t_slice = time.monotonic()
        self._status = "running"
        w = None
        try:
            while not self._stopped:
                single = not self._want_run
                if single and self._step_requests == 0:
                    break
                if self._budget_spent():
                    break
                if self._watchdog():
                    break
                if self._slice_should_end(t_slice, single):
                    if self._interrupt.is_set():  # a page is changing the trainer: let it
                        time.sleep(0.01)
                        continue
                    break
                if w is None:
                    w = wk.POOL.borrow(self._key)
                threads = self.threads
                if self.elastic:  # re-decided before every job: grow while alone, shrink when others queue
                    threads = (self.limiter.shrink(self, self.threads) if self.limiter.others_waiting()
                               else self.limiter.grow(self, self.limiter.slots)) or self.threads
                self.job_threads = threads
                plan = {"seconds": 60.0, "chunk": self.chunk, "max_steps": self.max_steps, "single": single}
                self._jobs += 1
                with self._job_gate:
                    done = wk.run_job(
                        w, key=self._key, version=self._version, job_id=self._jobs, trainer=self.trainer,
                        listeners=list(self._listeners), plan=plan, threads=threads,
                        on_progress=self._apply,
                        should_stop=lambda: self._slice_should_end(t_slice, single) or self._resize_due(),
                    )
                    self._version += 1
                if done["reason"] == "error":
                    self._settle("paused", f"Training stopped because of an error in the training process "
                                           f"({done['error']}). The model is kept as of step {self.trainer.steps:,}.")
                    return
                if self._after_chunk(t_slice, single):
                    return
        except wk.WorkerDied as e:
            w = None
            self._settle("paused", f"{e} Your model is kept as of step {self.trainer.steps:,}; press Train to continue.")
            return
        except Exception as e:  # noqa: BLE001 - e.g. a listener that cannot be sent to a worker
            if w is not None:
                w.kill()  # it may still be running the abandoned job: never lend it again
                w = None
            self._settle("paused", f"Training stopped: {type(e).__name__}: {e}")
            return
        finally:
            if w is not None:
                wk.POOL.give_back(w)
        if self._status == "running":
            self._status = "paused"


class PeriodicSampler:
    """A listener (``BackgroundTrainer.add_listener``) that keeps a fresh preview.

    It runs in the trainer thread (or the worker), under the trainer's lock, after a
    chunk: at most every ``every`` seconds (or right after ``request()``), it calls
    ``trainer.preview(seed=seed + steps, **options)`` (for the character trainer, a
    sample of ``length`` characters from the current weights). Doing it there keeps
    its CPU cost inside the trainer's slot instead of in every page poll. ``latest``
    is ``(step, preview)`` or None; reading it is a single attribute access, safe
    without the lock.
    """

    def __init__(self, every: float = 3.0, seed: int = 0, **options):
        self.every = every
        self.seed = seed
        self.options = options
        self.latest = None
        self._t = 0.0
        self._requested = False

    def request(self):
        """Preview after the next chunk whatever the time (e.g. after a single step)."""
        self._requested = True

    def __call__(self, trainer: LiveTrainer):
        now = time.monotonic()
        if self.latest is not None and self.latest[0] == trainer.steps:
            return
        if not self._requested and now - self._t < self.every:
            return
        self._requested = False
        result = trainer.preview(seed=self.seed + trainer.steps, **self.options)
        self._t = time.monotonic()
        if result is not None:
            self.latest = (trainer.steps, result)
