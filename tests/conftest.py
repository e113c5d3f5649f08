"""Shared fixtures: tiny corpora/models, AppTest start-up, and a real browser.

Browser tests use the system Chromium (``apt-get install -y chromium``) through
Playwright; they never download a browser. Set RNNVIZ_REQUIRE_BROWSER=1 (CI does)
to fail instead of skip when Chromium is missing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
BROWSER_TIMEOUT_MS = 240_000  # per Playwright wait; condition waits return as soon as they are met
# The deadline of every condition wait on training, workers or servers (``wait_for``,
# ``wait_until``). It only matters when a test would fail: a met condition returns at
# once. Generous because a busy 2-core machine trains 10-50x slower than a quiet one
# (two waits of 240 s ran out in a run beside a pretraining job and a 22-session soak).
WAIT = 900.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

torch.set_num_threads(1)
# Training workers run at the test's own priority, not 5 below it: on a busy machine a
# niced worker that has to import torch got so little CPU that it took minutes to
# start (the killed-worker test's restart waited > 240 s with pytest under `nice`).
os.environ.setdefault("RNNVIZ_TRAINER_NICE", "0")
CONFIG = os.path.join(ROOT, ".streamlit", "config.toml")


def apply_runner_config() -> dict:
    """Give AppTest the server's ``[runner]`` settings from the project's config.toml.

    Streamlit reads ``.streamlit/config.toml`` from the *current directory*, so pytest
    started elsewhere would run pages with the defaults (magic on, which parses every
    page with ``ast.parse``). Runner settings change how a page is compiled and run, so
    tests must see the same ones as the server. Returns what was applied.
    """
    import tomllib

    from streamlit import config

    with open(CONFIG, "rb") as f:
        runner = tomllib.load(f).get("runner", {})
    for key, value in runner.items():
        config.set_option(f"runner.{key}", value, where_defined=CONFIG)
    return runner


@pytest.fixture
def app_test():
    """Factory: AppTest started from app.py, optionally switched to a page."""
    from streamlit.testing.v1 import AppTest

    apply_runner_config()

    def make(page: str | None = None, timeout: float = 120):
        at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=timeout)
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(deadline_s: float = 90, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` on a free loopback port and wait (up to
    ``deadline_s``) until it answers its health check; returns (process, base URL)."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    pytest.fail(f"streamlit server did not become healthy in {deadline_s:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def server():
    """A real ``streamlit run app.py`` on a free loopback port; yields its base URL."""
    proc, url = start_server()
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("RNNVIZ_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip("system Chromium not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("RNNVIZ_REQUIRE_BROWSER"):
            raise
        pytest.skip("playwright not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def browser_context(browser, width: int = 1400, height: int = 1000):
    """A fresh browser context (own cookies and storage) whose waits all get a generous
    deadline: Playwright's 30 s defaults are too short for a busy 2-core CI machine,
    where the first page of a cold server can take minutes."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
    return ctx


@pytest.fixture
def page(browser):
    ctx = browser_context(browser)
    pg = ctx.new_page()
    yield pg
    ctx.close()


SCRIPT_STATE = "[data-testid='stApp'][data-test-script-state='{}']"  # Streamlit's own run state


def settled(page, timeout: float = None):
    """Wait until the app has no script run in progress: the run the last action started
    (if it starts within 1.5 s) and any run after it. Acting on a page that is still
    re-rendering can type into, or click, an element that is about to be replaced."""
    timeout = BROWSER_TIMEOUT_MS if timeout is None else timeout
    try:
        page.wait_for_selector(SCRIPT_STATE.format("running"), timeout=1_500)
    except Exception:  # the run was over before we looked (or the action started none)
        pass
    page.wait_for_selector(SCRIPT_STATE.format("notRunning"), timeout=timeout)


def pick(page, label: str, option: str):
    """Choose ``option`` in the selectbox called ``label``: filter the list, take its first
    match with Enter (clicking an option can race a re-render), wait for the run it starts."""
    box = page.get_by_role("combobox", name=label).first
    box.click()
    box.press_sequentially(option)
    page.get_by_role("option", name=re.compile(re.escape(option))).first.wait_for()
    box.press("Enter")
    settled(page)


def open_app(page, server, path: str = "", wait_text: str | None = None, timeout: float = None):
    """Navigate to the app (``path`` like "train") and wait until it has rendered."""
    timeout = BROWSER_TIMEOUT_MS if timeout is None else timeout
    page.goto(f"{server}/{path}", wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    if wait_text:
        page.get_by_text(wait_text, exact=False).first.wait_for(timeout=timeout)
    return page


def another_trainer_ran(limiter, corpus, steps: int = 10, timeout: float = WAIT) -> bool:
    """Train a throwaway tiny model for ``steps`` steps on *all* of ``limiter``'s slots.

    The check for "this runner stays paused": a runner that still held a slot would
    keep this one queued (False after ``timeout``), and one that stepped without a
    slot would have made steps meanwhile. Waiting on another trainer's progress,
    instead of sleeping, holds on a busy machine too. True when it finished in time.
    """
    from rnnviz.live import BackgroundTrainer
    from rnnviz.train import TrainConfig, Trainer

    cfg = TrainConfig(cell="rnn", layers=1, hidden=16, embed=8, seq_len=8, batch_size=2, eval_every=10_000,
                      eval_chars=64, milestones=(0,), sample_len=4, seed=0)
    w = BackgroundTrainer(Trainer(corpus, cfg), threads=limiter.slots, limiter=limiter, chunk=2,
                          max_steps=steps, executor="thread", idle_timeout=0)
    try:
        w.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if w.status == "finished":
                return w.steps == steps
            time.sleep(0.05)
        return False
    finally:
        w.stop()


def wait_for(cond, timeout: float = WAIT, poll: float = 0.01) -> bool:
    """Poll ``cond()`` until it holds or ``timeout`` seconds pass; True if it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(poll)
    return bool(cond())


def wait_until(at, cond, timeout: float = WAIT, poll: float = 0.2) -> bool:
    """Rerun an AppTest until ``cond(at)`` holds (``run_every`` never fires in AppTest)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(poll)
        at.run()
        if cond(at):
            return True
    return False


# ------------------------------------------------------------------ train page (AppTest)


def tiny(at, *, corpus="names", cell="lstm", hidden=16, lr=None, clip=True, source="Built-in"):
    """Set the train page to a tiny, fast model (names corpus unless told) and rerun."""
    at.radio(key="tr_source").set_value(source)
    if source == "Built-in":
        at.selectbox(key="tr_corpus").set_value(corpus)
    at.radio(key="tr_cell").set_value(cell)
    at.select_slider(key="tr_hidden").set_value(hidden)
    at.select_slider(key="tr_embed").set_value(8)
    at.select_slider(key="tr_seq").set_value(16)
    at.select_slider(key="tr_batch").set_value(8)
    if lr is not None:
        at.select_slider(key="tr_lr").set_value(lr)
    at.toggle(key="tr_clip").set_value(clip)
    return at.run()


def steps(at) -> int:
    """The Step metric the train page shows (-1 if none)."""
    for m in at.metric:
        if m.label == "Step":
            return int(m.value.replace(",", ""))
    return -1


def runner(at):
    """The session's background trainer, or None."""
    return at.session_state["rnnviz_runner"] if "rnnviz_runner" in at.session_state else None



def run_in_fresh_loop(make_coro):
    """``asyncio.run(make_coro())`` in a worker thread: Playwright's sync API (used by
    the browser tests in the same pytest session) leaves an event loop running on
    this thread."""
    import asyncio
    import threading

    out = {}

    def work():
        try:
            out["value"] = asyncio.run(make_coro())
        except BaseException as e:  # re-raised in the test thread
            out["error"] = e

    t = threading.Thread(target=work)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


def open_app_page(page: str, params: dict | None = None, timeout: float = 300):
    """AppTest from app.py with ``params`` in the query string, switched to ``page``, no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=timeout)
    at.run()
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plotly_specs(at) -> list[dict]:
    """The Plotly figures an AppTest run drew, as dicts."""
    import json

    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
