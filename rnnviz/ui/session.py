"""Per-session objects: the session's background trainer ("live model").

The trainer itself lives in ``rnnviz.live`` and never calls Streamlit; this module
keeps the handle in ``st.session_state["rnnviz_runner"]``, hands out private
copies of its model to the inspection pages, and decides how long a run outlives
the browser tab that started it.

Why a run needs more than the session: Streamlit 1.67 keeps a disconnected
session for ``server.disconnectedSessionTTL`` (120 s) so the tab can resume it,
but it clears the session's *session-scoped* ``st.cache_resource`` entries (and
calls their ``on_release``) the moment the websocket closes
(``WebsocketSessionManager.disconnect_session`` -> ``clear_session_caches``).
A reload (F5) is worse: the browser opens a brand-new session with empty
``session_state``. So:

* every run gets an unguessable token (``secrets.token_urlsafe``, 256 bits) that
  is kept in the page address (``?run=...``) while the run exists;
* a server-wide ``RunRegistry`` maps tokens to runners. Each session that shows a
  run *holds* it through a session-scoped cache entry; when the last holder lets
  go (tab closed, Wi-Fi gone) the run keeps training for ``GRACE`` seconds
  (``RNNVIZ_RECONNECT_GRACE``, default 120). A tab that comes back in time - by
  Streamlit's own reconnect or by opening the address with the token - finds the
  same runner, weights and histories. After the grace period the runner is
  stopped and forgotten, so nothing leaks;
* the runner's own watchdog still applies (no poll for ``IDLE_TIMEOUT`` seconds,
  or more than ``MAX_WALL`` seconds of training without the student pressing
  Train again). A runner whose thread the watchdog ended keeps its trainer;
  ``revive()`` wraps the same trainer in a fresh thread when the student presses
  Train or Step again.

Only the address bar knows a token; guessing one means guessing 256 random bits.
Whoever has the full address can open the run, so it is as private as the link.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from .. import checkpoint as ckpt
from ..live import BackgroundTrainer, PeriodicSampler

RUNNER_KEY = "rnnviz_runner"
SAMPLER_KEY = "rnnviz_runner_sampler"
TOKEN_KEY = "rnnviz_run_token"
RUN_PARAM = "run"  # the page address carries ?run=<token> while a run exists
THREADS = 1  # torch threads per trainer; the global limiter has one slot per core
# A lone trainer borrows the idle cores (rnnviz.live.SlotLimiter.grow) and gives them back
# when another student queues; RNNVIZ_ELASTIC=0 keeps every trainer at one thread.
ELASTIC = os.environ.get("RNNVIZ_ELASTIC", "1") != "0"
CHUNK = 10  # steps per "Step" press and between listener calls
IDLE_TIMEOUT = 180.0  # seconds without a page poll before the watchdog stops training
MAX_WALL = 30 * 60.0  # seconds of training per press of Train
SAMPLE_EVERY = 3.0  # seconds between fresh "current" samples while training
GRACE = float(os.environ.get("RNNVIZ_RECONNECT_GRACE", "120"))  # seconds a run waits for its tab
# Steps run in worker processes, outside the server's GIL (see rnnviz.worker).
EXECUTOR = os.environ.get("RNNVIZ_EXECUTOR", "process")

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) produces


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid_token(token) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


@dataclass
class Run:
    """One registered run: its runner and sampler, and who is looking at it."""

    runner: BackgroundTrainer
    sampler: PeriodicSampler
    holders: set = field(default_factory=set)
    orphaned_at: float | None = None  # monotonic time the last holder let go


class RunRegistry:
    """Server-wide map from run tokens to runs, with a grace period for reconnects.

    Holders are opaque objects (one per session); the registry never calls
    Streamlit, so ``on_release`` callbacks and timers may use it from any thread.
    """

    def __init__(self, grace: float = GRACE):
        self.grace = grace
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}

    def __len__(self):
        with self._lock:
            return len(self._runs)

    def add(self, runner, sampler, holder, token: str | None = None) -> str:
        token = token or new_token()
        with self._lock:
            self._runs[token] = Run(runner, sampler, {holder})
        return token

    def replace(self, token: str, runner, sampler):
        """The same run continues in a new runner (``revive``)."""
        with self._lock:
            run = self._runs.get(token)
            if run is not None:
                run.runner, run.sampler = runner, sampler

    def claim(self, token, holder) -> Run | None:
        """Hold the run ``token`` names (cancelling its grace countdown), or None."""
        if not valid_token(token):
            return None
        with self._lock:
            run = self._runs.get(token)
            if run is not None:
                run.holders.add(holder)
                run.orphaned_at = None
            return run

    def let_go(self, token: str, holder):
        """``holder`` no longer shows the run; the last one starts the grace period."""
        with self._lock:
            run = self._runs.get(token)
            if run is None:
                return
            run.holders.discard(holder)
            if run.holders or run.orphaned_at is not None:
                return
            run.orphaned_at = since = time.monotonic()
        timer = threading.Timer(self.grace, self._expire, (token, since))
        timer.name = "rnnviz-run-grace"
        timer.daemon = True
        timer.start()

    def _expire(self, token: str, since: float):
        with self._lock:
            run = self._runs.get(token)
            if run is None or run.orphaned_at != since:
                return  # somebody came back (or the run was replaced) in the meantime
            del self._runs[token]
        run.runner.stop(f"Nobody had this training run open for {self.grace:.0f} seconds.", join=False)

    def discard(self, token: str | None):
        """Forget a run (Reset, or a new model replaces it) and stop its runner."""
        with self._lock:
            run = self._runs.pop(token, None) if token else None
        if run is not None:
            run.runner.stop(join=False)


REGISTRY = RunRegistry()


class _Holder:
    """What the session-scoped cache keeps: the run tokens this session holds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens: set[str] = set()

    def hold(self, token: str):
        with self.lock:
            self.tokens.add(token)

    def release(self):
        with self.lock:
            tokens, self.tokens = self.tokens, set()
        for t in tokens:
            REGISTRY.let_go(t, self)


def _release(holder: _Holder):
    holder.release()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _holder() -> _Holder:
    return _Holder()


def _claim(token: str) -> Run | None:
    holder = _holder()
    run = REGISTRY.claim(token, holder)
    if run is not None:
        holder.hold(token)
    return run


def _show_token(token: str | None):
    if token is None:
        if RUN_PARAM in st.query_params:
            del st.query_params[RUN_PARAM]
    elif st.query_params.get(RUN_PARAM) != token:
        st.query_params[RUN_PARAM] = token


def restore():
    """Call once per full page run (``app.py``), before the page.

    Keeps this session's run in the registry and its token in the address bar
    (switching pages drops query parameters), and after a reload or a new tab
    picks up the run the address names.
    """
    token = st.session_state.get(TOKEN_KEY)
    runner = st.session_state.get(RUNNER_KEY)
    if token and runner is not None:
        if _claim(token) is None:  # the grace period ran out while Streamlit kept the session
            REGISTRY.add(runner, st.session_state.get(SAMPLER_KEY) or _sampler(runner.trainer), _holder(), token)
            _holder().hold(token)
        _show_token(token)
        return
    wanted = st.query_params.get(RUN_PARAM)
    if not wanted:
        return
    run = _claim(wanted)
    if run is None:
        _show_token(None)
        st.toast("The training run in this link has ended: a run waits "
                 f"{REGISTRY.grace / 60:.0f} minutes for its tab to come back, and no longer than the server "
                 "runs. Start a new one on **Train & sample**.", icon=":material/info:")
        return
    st.session_state[RUNNER_KEY] = run.runner
    st.session_state[SAMPLER_KEY] = run.sampler
    st.session_state[TOKEN_KEY] = wanted


def get_runner() -> BackgroundTrainer | None:
    return st.session_state.get(RUNNER_KEY)


def get_sampler() -> PeriodicSampler | None:
    return st.session_state.get(SAMPLER_KEY)


def _sampler(trainer) -> PeriodicSampler:
    """The preview listener; a lab trainer without a ``config.sample_len`` gets no length option."""
    config = getattr(trainer, "config", None)
    options = {"length": config.sample_len} if hasattr(config, "sample_len") else {}
    return PeriodicSampler(every=SAMPLE_EVERY, seed=int(getattr(config, "seed", 0) or 0), **options)


def new_runner(trainer, *, max_steps: int | None = None) -> BackgroundTrainer:
    """Wrap ``trainer`` in a background runner owned by this session (replacing any)."""
    drop_runner()
    sampler = _sampler(trainer)
    runner = _make(trainer, sampler, max_steps)
    token = REGISTRY.add(runner, sampler, _holder())
    _holder().hold(token)
    st.session_state[SAMPLER_KEY] = sampler
    st.session_state[RUNNER_KEY] = runner
    st.session_state[TOKEN_KEY] = token
    _show_token(token)
    return runner


def _make(trainer, sampler, max_steps):
    runner = BackgroundTrainer(trainer, threads=THREADS, chunk=CHUNK, max_steps=max_steps,
                               max_wall=MAX_WALL, idle_timeout=IDLE_TIMEOUT, executor=EXECUTOR, elastic=ELASTIC)
    runner.add_listener(sampler)
    return runner


def revive() -> BackgroundTrainer | None:
    """The session's runner, with a fresh thread if its watchdog had ended the old one."""
    runner = get_runner()
    if runner is None or runner.status != "stopped":
        return runner
    sampler = get_sampler() or _sampler(runner.trainer)
    fresh = _make(runner.trainer, sampler, runner.max_steps)
    st.session_state[SAMPLER_KEY] = sampler
    st.session_state[RUNNER_KEY] = fresh
    token = st.session_state.get(TOKEN_KEY)
    if token:
        REGISTRY.replace(token, fresh, sampler)
    return fresh


def drop_runner():
    """Stop the session's runner (if any) and forget it."""
    runner = st.session_state.pop(RUNNER_KEY, None)
    st.session_state.pop(SAMPLER_KEY, None)
    token = st.session_state.pop(TOKEN_KEY, None)
    REGISTRY.discard(token)
    _show_token(None)
    if runner is not None:
        runner.stop(join=True)


def live_checkpoint() -> ckpt.Checkpoint | None:
    """A private copy of the live model (weights as of now), or None."""
    runner = get_runner()
    if runner is None:
        return None
    return runner.checkpoint_copy()
