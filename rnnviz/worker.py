"""Training worker processes: the optimisation runs outside the web server's GIL.

Why: every PyTorch op releases the GIL and takes it back afterwards. In the
Streamlit server some thread is nearly always running pure Python (page scripts,
Plotly figures), and then each take-back waits up to ``sys.getswitchinterval()``.
A training step makes dozens of ops, so a trainer thread beside one busy Python
thread fell from 83 to 2.4 steps/s here (a GIL "convoy"). Training in a separate
process has its own GIL and keeps its full speed.

Shape: a small pool with one process per CPU slot (``live.SLOTS``), started on
first use. A ``BackgroundTrainer`` that holds a slot borrows a worker and sends it
a *job*: its trainer's class and state, how long to run, when to stop. The worker
streams progress back (weights, new history points, the listeners' state such as
the sampler's latest text) about twice a second and ends the job with the full
trainer state, so the server's copy of the trainer — the one pages read — is never
more than half a second behind. The worker keeps the last trainer it ran, so a job
that continues where the previous one ended sends no state at all.

What travels is defined by the trainer protocol (``rnnviz.protocol.LiveTrainer``):
``static_state`` / ``static_key`` once per worker, ``dynamic_state`` per job,
``cls.rebuild`` in the worker, ``progress`` / ``apply_progress`` while it runs and
``apply_state`` at the end. This module knows no trainer by name, so any lab's
trainer runs here unchanged; its class travels by reference (module and name), so
it must live in an importable module.

Messages are length-prefixed pickles over the child's stdin/stdout. This is
process-internal plumbing between the server and its own children, never user
data or checkpoints (those are safetensors + JSON).
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict

_HEADER = struct.Struct("<Q")
PROGRESS_EVERY = 0.5  # seconds between progress messages
NICE = int(os.environ.get("RNNVIZ_TRAINER_NICE", "5"))  # page scripts come first
STATIC_CACHE = 4  # static parts kept per worker (students mostly share the built-in data)


def _write(f, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_HEADER.pack(len(data)))
    f.write(data)
    f.flush()


def _read_exact(fd: int, n: int) -> bytes:
    # Raw os.read on the descriptor: a buffered reader could read ahead into the next
    # message, which select() would then never report.
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        buf += chunk
    return bytes(buf)


def _read(fd: int):
    (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    return pickle.loads(_read_exact(fd, n))


# ====================================================================== child side


class _Child:
    """The worker process: runs jobs one at a time, forever (until stdin closes)."""

    def __init__(self, fin: int, fout):
        self.fin, self.fout = fin, fout
        self.static: OrderedDict = OrderedDict()  # key -> static dict (LRU)
        self.cached = None  # (key, version, trainer, listeners)

    def serve(self):
        while True:
            try:
                msg = _read(self.fin)
            except EOFError:
                return
            except Exception as e:  # noqa: BLE001 - e.g. a trainer class this process cannot import
                _write(self.fout, {"op": "error", "error": f"{type(e).__name__}: {e}"})
                continue
            if msg.get("op") == "job":
                self.job(msg)
            elif msg.get("op") == "ping":
                _write(self.fout, {"op": "pong", "pid": os.getpid()})

    def _stop_requested(self, job_id) -> bool:
        # A stop meant for an earlier job (it crossed that job's "done") is ignored.
        while select.select([self.fin], [], [], 0)[0]:
            msg = _read(self.fin)
            if msg.get("op") == "stop" and msg.get("job") == job_id:
                return True
        return False

    def job(self, msg):
        import torch

        key, version, skey = msg["key"], msg["version"], msg["static_key"]
        if "static" in msg:
            self.static[skey] = msg["static"]
        if skey not in self.static:
            _write(self.fout, {"op": "need_state", "static": True})
            return
        self.static.move_to_end(skey)
        while len(self.static) > STATIC_CACHE:
            self.static.popitem(last=False)
        if "state" in msg:
            tr = msg["cls"].rebuild(self.static[skey], msg["state"])
            listeners = msg["listeners"]
        elif self.cached is not None and self.cached[:2] == (key, version):
            tr, listeners = self.cached[2], self.cached[3]
        else:
            _write(self.fout, {"op": "need_state", "static": False})
            return
        self.cached = None
        torch.set_num_threads(max(1, int(msg.get("threads", 1))))
        plan = msg["plan"]
        deadline = time.monotonic() + plan["seconds"]
        max_steps, chunk = plan.get("max_steps"), max(1, int(plan["chunk"]))
        marks = tr.history_marks()
        t_sent = time.monotonic()
        reason, error = "time", None
        run_seconds = 0.0
        while True:
            t0 = time.monotonic()
            n = chunk if max_steps is None else min(chunk, max_steps - tr.steps)
            try:
                if n > 0:
                    tr.step(n)
                for fn in listeners:
                    try:
                        fn(tr)
                    except Exception:  # a listener must never kill training
                        pass
            except Exception as e:  # noqa: BLE001 - reported to the page, training stops
                reason, error = "error", f"{type(e).__name__}: {e}"
                break
            run_seconds += time.monotonic() - t0
            if tr.diverged:
                reason = "diverged"
                break
            if max_steps is not None and tr.steps >= max_steps:
                reason = "finished"
                break
            if plan.get("single"):
                reason = "single"
                break
            if self._stop_requested(msg.get("job")):
                reason = "stopped"
                break
            now = time.monotonic()
            if now >= deadline:
                break
            if now - t_sent >= PROGRESS_EVERY:
                _write(self.fout, self._progress(tr, listeners, marks, run_seconds))
                run_seconds = 0.0
                t_sent = now
        final = self._progress(tr, listeners, marks, run_seconds)
        final.update(op="done", reason=reason, error=error, state=tr.dynamic_state())
        _write(self.fout, final)
        self.cached = (key, version + 1, tr, listeners)

    @staticmethod
    def _progress(tr, listeners, marks, run_seconds) -> dict:
        msg = tr.progress(marks)
        msg.update(op="progress", listeners=[getattr(fn, "__dict__", {}) for fn in listeners],
                   run_seconds=run_seconds)
        return msg


def _warm():
    """Pay torch's lazy imports (the optimiser's compiler stack) before the first job."""
    import torch

    from . import protocol  # noqa: F401

    torch.set_num_threads(1)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p])
    p.sum().backward()
    opt.step()


def _child_main():
    # Keep the protocol pipe private: anything printed goes to stderr.
    fin = os.dup(0)
    fout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        os.nice(NICE)
    except OSError:
        pass
    _warm()
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, b"rnnviz-worker", 0, 0, 0)
    except (OSError, AttributeError):
        pass
    try:
        _Child(fin, fout).serve()
    except BrokenPipeError:  # the server is gone (stopped mid-job): nobody to report to
        os._exit(0)


# ====================================================================== server side


class WorkerDied(RuntimeError):
    pass


class Worker:
    """Handle on one worker process (server side)."""

    def __init__(self):
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from rnnviz.worker import _child_main; _child_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root,
        )
        self.cached = None  # (key, version) the child holds
        self.has_static: set = set()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, obj):
        try:
            _write(self.proc.stdin, obj)
        except (BrokenPipeError, OSError) as e:
            raise WorkerDied("The training worker process ended unexpectedly.") from e

    def recv(self, timeout: float):
        """The next message, or None after ``timeout`` seconds."""
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return None
        try:
            return _read(fd)
        except (EOFError, OSError, pickle.UnpicklingError) as e:
            raise WorkerDied("The training worker process ended unexpectedly.") from e

    def kill(self):
        """For a worker left in an unknown state (its job was abandoned)."""
        self.proc.kill()
        self.proc.wait()

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class WorkerPool:
    """Idle workers; a trainer that holds a CPU slot borrows one (prefers the one
    that already holds its state)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._all: list[Worker] = []

    def borrow(self, key=None) -> Worker:
        with self._lock:
            self._idle = [w for w in self._idle if w.alive]
            for w in self._idle:
                if w.cached is not None and w.cached[0] == key:
                    self._idle.remove(w)
                    return w
            if self._idle:
                return self._idle.pop()
        return self._new()  # slow (imports torch) but outside the lock

    def give_back(self, w: Worker):
        with self._lock:
            if w.alive:
                self._idle.append(w)

    def prewarm(self, n: int):
        """Start workers until ``n`` exist (they warm up torch while idle)."""
        while True:
            with self._lock:
                if len([w for w in self._all if w.alive]) >= n:
                    return
            self.give_back(self._new())

    def _new(self) -> Worker:
        w = Worker()
        with self._lock:
            self._all.append(w)
        return w

    def pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._all if w.alive]

    def shutdown(self):
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for w in workers:
            w.close()


POOL = WorkerPool()


def run_job(worker: Worker, *, key, version, job_id, trainer, listeners, plan, threads, on_progress,
            should_stop):
    """Run one job on ``worker`` and apply its messages with ``on_progress(msg)``.

    ``should_stop()`` is polled ~10x a second; when it turns true the worker is asked
    to stop after the chunk in flight. Returns the final ("done") message, or an
    "error" one when the worker could not read the job (e.g. it cannot import the
    trainer's class).
    """
    skey = trainer.static_key()
    base = {"op": "job", "key": key, "version": version, "static_key": skey, "job": job_id, "plan": plan,
            "threads": threads}
    full = worker.cached != (key, version)
    stop_sent = False
    for _attempt in range(2):
        msg = dict(base)
        if full:
            msg["cls"] = type(trainer)
            msg["state"] = trainer.dynamic_state()
            msg["listeners"] = listeners
        if skey not in worker.has_static:
            msg["static"] = trainer.static_state()
        worker.send(msg)
        while True:
            reply = worker.recv(0.1)
            if reply is None:
                if not stop_sent and should_stop():
                    worker.send({"op": "stop", "job": job_id})
                    stop_sent = True
                if not worker.alive:
                    raise WorkerDied("The training worker process ended unexpectedly.")
                continue
            if reply.get("op") == "need_state":  # the worker lost what we thought it had
                worker.cached = None
                if reply.get("static"):
                    worker.has_static.discard(skey)
                full = True
                break
            if reply.get("op") == "error":  # the worker could not read the job
                worker.cached = None
                return dict(reply, reason="error")
            worker.has_static.add(skey)
            on_progress(reply)
            if reply.get("op") == "done":
                worker.cached = (key, version + 1)
                return reply
    raise WorkerDied("The training worker did not accept the job.")
