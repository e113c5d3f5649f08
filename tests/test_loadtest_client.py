"""The load-test client speaks Streamlit's wire protocol against a real server.

Bounded: one connection renders the home page, opens an inspection page and moves
one widget; then a tiny run of ``scripts/loadtest.py --url`` (two sessions,
20 seconds) must produce its report with timed interactions and no error.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import urllib.parse

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE_WAIT = 240  # seconds for one page run or interaction: a busy machine renders slowly
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import loadtest  # noqa: E402
import stclient  # noqa: E402
from conftest import run_in_fresh_loop, start_server, stop_server, wait_for  # noqa: E402


def test_refuses_non_loopback():
    for url in ("http://example.com:8501", "http://10.0.0.5:8501", "http://0.0.0.0:8501"):
        with pytest.raises(ValueError, match="loopback"):
            stclient.require_loopback(url)
    for url in ("http://127.0.0.1:8501", "http://localhost:1", "http://[::1]:8501"):
        assert stclient.require_loopback(url) == url
    with pytest.raises(SystemExit):
        loadtest.parse_args(["--url", "http://192.168.1.10:8501"])
    with pytest.raises(SystemExit):
        loadtest.parse_args(["--duration", "999999"])


def _movable(sess):
    for kind in ("slider", "number_input", "selectbox", "radio"):
        for w in sess.widgets():
            if w.kind == kind and (w.kind != "slider" or w.proto.max > w.proto.min or len(w.proto.options) > 1):
                return w
    return None


async def _session_roundtrip(url):
    sess = stclient.Session(url, name="test")
    await sess.connect()
    try:
        home = await sess.open("", timeout=PAGE_WAIT)
        assert home.ok, home
        assert any("recurrent" in t for t in sess.texts()), sess.texts()[:5]
        assert {"train", "cells", "gates", "gradients"} <= set(sess.pages)

        # The lightest page first (a 3-unit RNN), so the test stays quick on a busy machine.
        for page in ("learn_hello", "gates", "cells", "gradients", "train"):
            res = await sess.open(page, timeout=PAGE_WAIT)
            assert res.ok, (page, res)
            w = _movable(sess)
            if w is not None:
                break
        else:
            pytest.skip("no page has a slider or select yet")
        before = stclient.shown_value(w)
        value, res = await sess.change(w, timeout=PAGE_WAIT)
        assert value != before
        assert res.ok and res.seconds > 0, res
        assert sess.value(w) == value
        assert sess.page_name == page  # the rerun stayed on the page
        after = sess.widget(w.key or w.label)
        assert after.id == w.id
        # A second change moves on from the value we set (the client tracks it).
        value2, res2 = await sess.change(w, timeout=PAGE_WAIT)
        assert res2.ok and value2 != value
        return page
    finally:
        await sess.close()


def test_client_renders_and_interacts(server):
    run_in_fresh_loop(lambda: asyncio.wait_for(_session_roundtrip(server), 110))


async def _visit_home(url):
    sess = stclient.Session(url, name="visit", fragments=False)
    await sess.connect()
    try:
        return await sess.open("", timeout=PAGE_WAIT)
    finally:
        await sess.close()


def test_server_pid_and_threads(server):
    assert run_in_fresh_loop(lambda: _visit_home(server)).ok  # the first visit starts the workers
    port = urllib.parse.urlparse(server).port
    pid = loadtest.pid_listening_on(port)
    assert pid is not None
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert b"streamlit" in f.read()
    wait_for(lambda: loadtest.children(pid), poll=0.1)
    kids = loadtest.children(pid)
    assert kids, "the server starts its training workers at its first visit"
    # Memory: the server's own RSS is what the kernel reports (statm counts pages), and
    # the total adds each worker's; a server that imported torch holds > 100 MB.
    with open(f"/proc/{pid}/statm") as f:
        statm_mb = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    own = loadtest._own_rss_mb(pid)
    assert own > 100 and abs(own - statm_mb) <= 0.1 * statm_mb, (own, statm_mb)
    expected = own + sum(loadtest._own_rss_mb(k) or 0.0 for k in kids)
    assert expected > own and abs(loadtest.rss_mb(pid) - expected) <= 0.1 * expected
    # Threads: one name per /proc task (Tornado, script threads, housekeeping...).
    names = loadtest.thread_names(pid)
    with open(f"/proc/{pid}/status") as f:
        threads = next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
    assert len(names) > 3 and abs(len(names) - threads) <= 3, (len(names), threads)


@pytest.fixture
def own_server():
    """A server of its own: on the shared one, runs that other tests left in their reconnect
    grace period would still be training and count as orphans here."""
    proc, url = start_server(deadline_s=300)
    try:
        yield url
    finally:
        stop_server(proc)


def test_tiny_loadtest_run(own_server, tmp_path):
    server = own_server
    report, out = tmp_path / "LOADTEST.md", tmp_path / "lt.json"
    loadtest.main(["--url", server, "--sessions", "2", "--trainers", "0", "--drop", "0", "--duration", "20",
                   "--solo", "0", "--drain", "0", "--arrival", "1", "--warmup", "0", "--think", "1", "2",
                   "--pages", "learn_hello", "--timeout", str(PAGE_WAIT), "--sample-every", "1", "--quiet",
                   "--report", str(report), "--json", str(out)])
    res = json.loads(out.read_text())
    assert res["errors"] == [], res["errors"]
    lat = res["latency"]
    assert lat["n"] >= 1 and lat["failed"] == 0, lat
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"] <= PAGE_WAIT, lat
    # every timed interaction was on the one page asked for ("page:widget" keys)
    assert all(k.startswith("learn_hello:") for k in lat["by_page"]), lat["by_page"]
    assert sum(v["n"] for v in lat["by_page"].values()) == lat["n"], lat
    # The report's peak memory is the server's (with its workers) as measured here.
    now = loadtest.rss_mb(loadtest.pid_listening_on(urllib.parse.urlparse(server).port))
    assert abs(res["goals"]["max_rss_mb"]["value"] - now) <= 0.25 * now, (res["goals"]["max_rss_mb"], now)
    assert res["goals"]["orphaned_trainer_threads"]["value"] == 0
    text = report.read_text()
    assert "## Goals" in text and "p95" in text


def test_one_slot_solo_measures_a_lone_trainer(own_server):
    """The one-slot baseline: a lone student trains, and its step rate and CPU are read."""
    args = loadtest.parse_args(["--url", own_server, "--warmup", "3", "--timeout", str(PAGE_WAIT),
                                "--progress-every", "1", "--sample-every", "1", "--quiet"])
    args.one_slot = 20
    pid = loadtest.pid_listening_on(urllib.parse.urlparse(own_server).port)
    res = run_in_fresh_loop(lambda: asyncio.wait_for(loadtest.one_slot_solo(args, own_server, pid), 20 + 4 * PAGE_WAIT))
    assert res["errors"] == [], res["errors"]
    t0, t1 = res["window"]
    assert t1 - t0 >= 20 - 3 - 0.5, res["window"]
    assert res["steps_per_s"] > 0, res
    per_step = res["chars_per_s_trained"] / res["steps_per_s"]  # batch x sequence length of the page
    assert per_step == round(per_step) and per_step >= 16, per_step
    # The steps ran in the worker processes, not in the server.
    assert res["cpu"]["workers"] > 0.05 and res["cpu"]["seconds"] >= 10, res["cpu"]


def test_cpu_split_and_seconds():
    S = loadtest.Sample
    samples = [S(t=0, rss_mb=1, server_rss_mb=1, trainer_threads=0, threads=1, connected=0, load1=0,
                 server_cpu_s=5.0, workers_cpu_s=10.0, client_cpu_s=1.0),
               S(t=5, rss_mb=1, server_rss_mb=1, trainer_threads=0, threads=1, connected=0, load1=0,
                 server_cpu_s=6.0, workers_cpu_s=14.0, client_cpu_s=1.5),
               S(t=10, rss_mb=1, server_rss_mb=1, trainer_threads=0, threads=1, connected=0, load1=0,
                 server_cpu_s=7.0, workers_cpu_s=20.0, client_cpu_s=2.0)]
    c = loadtest.cpu_split(samples, 0, 10)
    assert c == {"seconds": 10, "workers": 1.0, "server": 0.2, "client": 0.1}
    assert loadtest.cpu_split(samples, 5, 10)["workers"] == 6.0 / 5
    assert loadtest.cpu_split(samples, 20, 30) is None
    # A worker that ended takes its seconds along: never a negative share.
    samples[2].workers_cpu_s = 2.0
    assert loadtest.cpu_split(samples, 0, 10)["workers"] == 0.0
    before = loadtest.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert loadtest.cpu_seconds(os.getpid()) - before >= 0.2
    assert loadtest.cpu_seconds(2**22 + 12345) is None


def test_one_slot_needs_its_own_server():
    with pytest.raises(SystemExit):
        loadtest.parse_args(["--url", "http://127.0.0.1:8501", "--one-slot", "30"])
    assert loadtest.parse_args(["--url", "http://127.0.0.1:8501"]).one_slot == 0
    assert loadtest.parse_args([]).one_slot == 60
    assert loadtest.parse_args(["--soak"]).one_slot == 0
    assert loadtest.parse_args(["--trainers", "0", "--drop", "0"]).one_slot == 0


def test_trainer_thread_visible_to_the_os():
    """The load test counts trainers by OS thread name; live.BackgroundTrainer must set it."""
    from rnnviz.corpora import from_text
    from rnnviz.live import THREAD_NAME, BackgroundTrainer, SlotLimiter
    from rnnviz.train import TrainConfig, Trainer

    corpus = from_text("hello world, hello rnn. " * 40)
    cfg = TrainConfig(cell="rnn", layers=1, hidden=16, embed=8, seq_len=16, batch_size=2, eval_every=1000,
                      eval_chars=64, sample_len=4, milestones=(0,))
    runner = BackgroundTrainer(Trainer(corpus, cfg), limiter=SlotLimiter(1), chunk=1, max_steps=10_000)
    pid = os.getpid()
    assert loadtest.trainer_threads(pid) == 0
    runner.start()
    try:
        assert wait_for(lambda: loadtest.trainer_threads(pid) == 1, poll=0.05)
        assert THREAD_NAME == loadtest.THREAD_NAME
    finally:
        runner.stop()
    assert not runner.thread_alive
    # the OS thread exits a moment after Python's join returns
    assert wait_for(lambda: loadtest.trainer_threads(pid) == 0, poll=0.05)


def test_metric_numbers_keep_their_suffix():
    """The train page shows speeds like "230 k"; the report must read 230,000."""
    assert loadtest._number("230 k") == 230_000
    assert loadtest._number("1.5 M") == 1_500_000
    assert loadtest._number("2,048") == 2048
    assert loadtest._number("5 keys") == 5
    assert loadtest._number("–") is None


def test_rss_counts_the_training_workers():
    """Memory of a server includes its worker processes (rnnviz.worker children)."""
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(60_000_000); time.sleep(30)"])
    try:
        wait_for(lambda: (loadtest._own_rss_mb(child.pid) or 0) >= 55, poll=0.1)
        assert child.pid in loadtest.children(os.getpid())
        assert loadtest.rss_mb(os.getpid()) >= loadtest._own_rss_mb(os.getpid()) + 55
    finally:
        child.kill()
        child.wait()


def test_sigterm_stops_the_server_the_load_test_started(tmp_path):
    """kill / pkill on a running load test must not leave its Streamlit server behind."""
    import signal
    import subprocess

    script = os.path.join(ROOT, "scripts", "loadtest.py")
    out = tmp_path / "out.txt"
    pid = None
    with open(out, "w") as f:
        lt = subprocess.Popen([sys.executable, script, "--sessions", "1", "--trainers", "0", "--drop", "0",
                               "--solo", "0", "--duration", "600", "--drain", "0", "--quiet"],
                              stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 300
        while pid is None and time.monotonic() < deadline and lt.poll() is None:
            m = re.search(r"\(pid (\d+),", out.read_text())
            pid = int(m.group(1)) if m else None
            time.sleep(0.2)
        assert pid is not None, out.read_text()
        lt.send_signal(signal.SIGTERM)
        assert lt.wait(timeout=120) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.2)
        assert not os.path.exists(f"/proc/{pid}"), "the server outlived the load test"
    finally:
        if lt.poll() is None:
            lt.kill()
        if pid is not None and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)  # never leave a server behind, even when the test fails
