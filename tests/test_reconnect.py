"""A dropped connection or a new tab finds the same training run (issue 12, item 10).

Two layers:

* ``RunRegistry`` on its own (no Streamlit, no timing): holders, the grace period
  after the last one lets go, expiry, and tokens nobody can guess;
* a real server driven by the websocket client (``scripts/stclient.py``): train,
  drop the connection without a goodbye, come back by resuming the session (what
  a reconnecting tab does) and by opening the address with the run token (a new
  tab or a reload); the step counter continues from where it was. Then nobody
  comes back: after the grace period the trainer thread ends and the link says
  the run has ended.

The server runs with a short grace (``RNNVIZ_RECONNECT_GRACE``) and drop
(``RNNVIZ_TEST_DROP_SECONDS``) to keep the suite quick; it is the same code path
as the classroom default (120 s grace). Run once with
``RNNVIZ_TEST_DROP_SECONDS=60 RNNVIZ_TEST_GRACE=120`` for the real case.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
import urllib.parse

import pytest
from conftest import run_in_fresh_loop, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import loadtest  # noqa: E402
import stclient  # noqa: E402

from rnnviz.ui.session import RunRegistry, new_token, valid_token  # noqa: E402

DROP = float(os.environ.get("RNNVIZ_TEST_DROP_SECONDS", "8"))
GRACE = float(os.environ.get("RNNVIZ_TEST_GRACE", "25"))
DEADLINE = 180.0  # generous: the machine may be busy


class FakeRunner:
    def __init__(self):
        self.stopped: list = []

    def stop(self, reason=None, join=True):
        self.stopped.append(reason)


# ------------------------------------------------------------------ registry (no server)


def test_tokens_are_long_random_and_checked():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(valid_token(t) and len(t) == 43 for t in tokens)
    for bad in (None, 12, "", "abc", "x" * 42, "x" * 44, "a" * 42 + "/", "a" * 42 + "\n"):
        assert not valid_token(bad), bad


def test_a_guessed_or_partial_token_claims_nothing():
    reg = RunRegistry(grace=60)
    token = reg.add(FakeRunner(), object(), "tab-a")
    assert reg.claim(token, "tab-b") is not None
    for guess in (new_token(), token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], token.upper()
                  if token.upper() != token else token.lower(), token + "x", None):
        assert reg.claim(guess, "intruder") is None, guess


def test_last_holder_letting_go_starts_the_grace_period_then_the_run_ends():
    reg = RunRegistry(grace=0.05)
    runner = FakeRunner()
    token = reg.add(runner, "sampler", "tab-a")
    reg.claim(token, "tab-b")
    reg.let_go(token, "tab-a")
    assert reg._runs[token].orphaned_at is None  # tab-b still shows it
    reg.let_go(token, "tab-b")
    assert reg._runs[token].orphaned_at is not None
    wait_for(lambda: not len(reg), poll=0.05)
    assert len(reg) == 0 and reg.claim(token, "tab-c") is None
    assert runner.stopped and "Nobody had this training run open" in runner.stopped[0]


def test_coming_back_within_the_grace_period_keeps_the_run():
    reg = RunRegistry(grace=3600)
    runner = FakeRunner()
    token = reg.add(runner, "sampler", "tab-a")
    reg.let_go(token, "tab-a")
    since = reg._runs[token].orphaned_at
    run = reg.claim(token, "tab-a-after-reload")
    assert run is not None and run.runner is runner and run.sampler == "sampler"
    reg._expire(token, since)  # the countdown started before the claim fires now: no effect
    assert reg.claim(token, "tab-a-after-reload") is run and not runner.stopped
    reg.discard(token)
    assert runner.stopped == [None] and reg.claim(token, "x") is None


def test_replace_keeps_the_token_for_a_revived_runner():
    reg = RunRegistry(grace=3600)
    old, new = FakeRunner(), FakeRunner()
    token = reg.add(old, "s1", "tab")
    reg.replace(token, new, "s2")
    run = reg.claim(token, "tab2")
    assert run.runner is new and run.sampler == "s2"


# ------------------------------------------------------------------ a real server


@pytest.fixture(scope="module")
def grace_server():
    log = os.path.join(tempfile.gettempdir(), f"rnnviz-reconnect-{os.getpid()}.log")
    proc, url = loadtest.start_server(log, env={"RNNVIZ_RECONNECT_GRACE": str(GRACE)})
    yield url, proc.pid
    loadtest.stop_server(proc)


def _steps(sess) -> int | None:
    for label, body in sess.metrics().items():
        if label == "Step":
            return int(body.replace(",", ""))
    return None


async def _wait(cond, what: str, timeout: float = DEADLINE, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        await asyncio.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _token(sess) -> str | None:
    values = urllib.parse.parse_qs(sess.query_string).get("run")
    return values[0] if values else None


async def _start_training(url) -> stclient.Session:
    sess = stclient.Session(url, name="student")
    await sess.connect()
    assert (await sess.open("train", timeout=DEADLINE)).ok
    for key, value in (("tr_hidden", "16"), ("tr_embed", "8"), ("tr_seq", "16"), ("tr_batch", "8"),
                       ("tr_stop", "100,000")):
        assert (await sess.set(key, value, timeout=DEADLINE)).ok
    assert _token(sess) is None  # no run yet, no token
    res = await sess.click("tr_train", timeout=DEADLINE)
    assert res.ok, res
    await _wait(lambda: (_steps(sess) or 0) >= 30, "30 training steps")
    return sess


async def _reopen(url, query: str) -> stclient.Session:
    sess = stclient.Session(url, name="back")
    await sess.connect()
    res = await sess.open("train", query=query, timeout=DEADLINE)
    assert res.ok, res
    return sess


async def _drop_and_come_back(url, pid):
    sess = await _start_training(url)
    token = _token(sess)
    assert valid_token(token), sess.query_string

    # 1. Wi-Fi gone for DROP seconds, then the tab reconnects to its session.
    before = _steps(sess)
    session_id = sess.session_id
    await sess.drop()
    await asyncio.sleep(DROP)  # the outage itself, not a wait for a result
    assert loadtest.trainer_threads(pid) >= 1, "the trainer must outlive a short drop"
    resumed = stclient.Session(url, name="resumed")
    resumed.query_string = sess.query_string
    resumed.pages, resumed.page_hash, resumed.page_name = sess.pages, sess.page_hash, sess.page_name
    await resumed.connect(resume=session_id)
    assert (await resumed.rerun(timeout=DEADLINE)).ok
    assert resumed.session_id in ("", session_id)  # no new session was created
    await _wait(lambda: (_steps(resumed) or 0) > before, f"steps beyond {before} after resuming")
    assert _token(resumed) == token

    # 2. The tab is closed and the student opens the address again (reload / new tab).
    before = _steps(resumed)
    await resumed.drop()
    await asyncio.sleep(DROP)
    back = await _reopen(url, f"run={token}")
    assert back.session_id != session_id
    await _wait(lambda: (_steps(back) or 0) > before, f"steps beyond {before} in a new tab")
    assert _token(back) == token
    assert not any("Press **Train** to start" in t for t in back.texts())

    # 3. Nobody comes back: after the grace period the trainer ends and the link says so.
    await back.drop()
    await _wait(lambda: loadtest.trainer_threads(pid) == 0, "the abandoned trainer to stop",
                timeout=GRACE + DEADLINE)
    late = await _reopen(url, f"run={token}")
    assert _token(late) is None
    assert any("has ended" in t for t in late.texts()), late.texts()
    assert any("Press **Train** to start" in t for t in late.texts())
    await late.close()


# The whole scenario may take four long waits plus the outages and the grace period.
SCENARIO = 4 * DEADLINE + GRACE + 2 * DROP


def test_drop_reconnect_and_reopen_continue_the_same_run(grace_server):
    url, pid = grace_server
    run_in_fresh_loop(lambda: asyncio.wait_for(_drop_and_come_back(url, pid), SCENARIO))


async def _guess(url):
    sess = await _reopen(url, f"run={secrets.token_urlsafe(32)}")
    assert _token(sess) is None
    assert any("has ended" in t for t in sess.texts()), sess.texts()
    assert any("Press **Train** to start" in t for t in sess.texts())
    await sess.close()
    junk = await _reopen(url, "run=" + urllib.parse.quote("<b>x</b>"))
    assert _token(junk) is None and not junk.exceptions
    await junk.close()


def test_a_guessed_token_opens_nothing(grace_server):
    url, _ = grace_server
    run_in_fresh_loop(lambda: asyncio.wait_for(_guess(url), 2 * DEADLINE))
