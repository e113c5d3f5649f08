"""Per-session objects: the session's background trainer ("live model").

The trainer itself lives in ``rnnviz.live`` and never calls Streamlit; this module
keeps the handle in ``st.session_state["rnnviz_runner"]``, hands out private
copies of its model to the inspection pages, and makes sure the thread ends with
the session:

* a session-scoped ``st.cache_resource`` holder whose ``on_release`` stops the
  runner when the browser tab goes away (Streamlit 1.67 releases it within seconds
  of the websocket closing, so a student whose Wi-Fi dropped presses Train again:
  ``revive()`` keeps the weights and histories);
* the runner's own watchdog (no poll for ``IDLE_TIMEOUT`` seconds, or more than
  ``MAX_WALL`` seconds of training without the student pressing Train again).

A runner whose thread the watchdog ended keeps its trainer (weights, histories);
``revive()`` wraps the same trainer in a fresh thread when the student presses
Train or Step again.
"""

from __future__ import annotations

import os
import threading

import streamlit as st

from .. import checkpoint as ckpt
from ..live import BackgroundTrainer, PeriodicSampler

RUNNER_KEY = "rnnviz_runner"
SAMPLER_KEY = "rnnviz_runner_sampler"
THREADS = 1  # torch threads per trainer; the global limiter has one slot per core
CHUNK = 10  # steps per "Step" press and between listener calls
IDLE_TIMEOUT = 180.0  # seconds without a page poll before the watchdog stops training
MAX_WALL = 30 * 60.0  # seconds of training per press of Train
SAMPLE_EVERY = 3.0  # seconds between fresh "current" samples while training
# Steps run in worker processes, outside the server's GIL (see rnnviz.worker).
EXECUTOR = os.environ.get("RNNVIZ_EXECUTOR", "process")


class _Holder:
    """What the session-scoped cache keeps: the runners this session started."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runners: list = []

    def add(self, runner):
        with self.lock:
            self.runners = [r for r in self.runners if r.thread_alive] + [runner]

    def release(self):
        with self.lock:
            runners, self.runners = self.runners, []
        for r in runners:
            r.stop("The browser tab was closed.", join=False)


def _release(holder: _Holder):
    holder.release()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _holder() -> _Holder:
    return _Holder()


def get_runner() -> BackgroundTrainer | None:
    return st.session_state.get(RUNNER_KEY)


def get_sampler() -> PeriodicSampler | None:
    return st.session_state.get(SAMPLER_KEY)


def new_runner(trainer, *, max_steps: int | None = None) -> BackgroundTrainer:
    """Wrap ``trainer`` in a background runner owned by this session (replacing any)."""
    drop_runner()
    sampler = PeriodicSampler(every=SAMPLE_EVERY, length=trainer.config.sample_len,
                              seed=trainer.config.seed)
    runner = _make(trainer, sampler, max_steps)
    st.session_state[SAMPLER_KEY] = sampler
    st.session_state[RUNNER_KEY] = runner
    return runner


def _make(trainer, sampler, max_steps):
    runner = BackgroundTrainer(trainer, threads=THREADS, chunk=CHUNK, max_steps=max_steps,
                               max_wall=MAX_WALL, idle_timeout=IDLE_TIMEOUT, executor=EXECUTOR)
    runner.add_listener(sampler)
    _holder().add(runner)
    return runner


def revive() -> BackgroundTrainer | None:
    """The session's runner, with a fresh thread if its watchdog had ended the old one."""
    runner = get_runner()
    if runner is None or runner.status != "stopped":
        return runner
    sampler = get_sampler() or PeriodicSampler(every=SAMPLE_EVERY)
    fresh = _make(runner.trainer, sampler, runner.max_steps)
    st.session_state[SAMPLER_KEY] = sampler
    st.session_state[RUNNER_KEY] = fresh
    return fresh


def drop_runner():
    """Stop the session's runner (if any) and forget it."""
    runner = st.session_state.pop(RUNNER_KEY, None)
    st.session_state.pop(SAMPLER_KEY, None)
    if runner is not None:
        runner.stop(join=True)


def live_checkpoint() -> ckpt.Checkpoint | None:
    """A private copy of the live model (weights as of now), or None."""
    runner = get_runner()
    if runner is None:
        return None
    return runner.checkpoint_copy()
