"""Classroom load test: a class of simulated students against one real rnnviz server.

    python scripts/loadtest.py                       # 30 sessions, 8 training, 10 min
    python scripts/loadtest.py --sessions 3 --trainers 1 --drop 0 --duration 30 --solo 10 --drain 0
    python scripts/loadtest.py --report docs/LOADTEST.md --json docs/loadtest.json
    python scripts/loadtest.py --soak --json /tmp/soak.json   # 22 inspectors, 30 min, memory only

What it does (loopback only; bounded in time and count; stops by itself):

1. Starts ``streamlit run app.py`` on a free 127.0.0.1 port (or uses ``--url`` of a
   running loopback server) and finds the server's process id.
2. Solo phases: first, on a second server started with ``RNNVIZ_ELASTIC=0``, one
   student trains alone on one CPU slot (``--one-slot``; skipped with ``--url``);
   then, on the class's server, one student trains alone and borrows every idle
   core. Their step rates are the two single-trainer baselines of the class.
3. Class phase: the other students arrive over ``--arrival`` seconds. Trainers open
   the train page and press Train, then watch (their fragment timers poll like a
   browser tab). Inspectors open an inspection page and change a slider every few
   seconds; each change is timed until that run's ``script_finished`` (and until
   the first new figure). Halfway through, ``--drop`` trainers lose their
   connection without a goodbye and never come back (Wi-Fi gone).
4. All sessions close; the script then waits until no ``rnnviz-trainer`` thread is
   left in the server (at most ``--drain`` seconds: a disconnected session lives
   ``server.disconnectedSessionTTL`` = 120 s and an unwatched trainer stops after
   its watchdog timeout) and counts the orphans.

Measured: p50/p95 interaction latency, errors, RSS of the server and its training
worker processes and the server's trainer threads over time (``/proc``), aggregate training chars/s vs the solo trainer, all read from
what the pages show. Output: a markdown report and JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stclient  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREAD_NAME = "rnnviz-trainer"  # live.BackgroundTrainer names its thread so (14 chars < comm's 15)

# Which widget an inspector moves on each page: keys first, then "first slider".
INTERACTIONS = {
    "gates": ["gates_width", "gates_len"],
    "cells": ["cx_cell", "cx_hstart"],
    "gradients": ["grad_show_c"],
    "learn_hello": ["hello_temp"],
}
INSPECT_PAGES = ("cells", "gates", "gradients")
STEP_METRIC = re.compile(r"^\W*steps?\b", re.I)
CHARS_METRIC = re.compile(r"char\w*\s*(/|per)\s*s", re.I)
# Trainers must not hit the page's step limit during the test (its default is 5,000).
DEFAULT_TRAIN_SETTINGS = ("tr_stop=100,000",)
TRAIN_BUTTON = re.compile(r"^\W*(train|start)\b", re.I)
CHARS_PER_S = re.compile(r"([\d][\d,]*(?:\.\d+)?)\s*([kKM])?\s*(?:chars?|characters)\s*(?:/|per\s+)\s*s", re.I)
STEPS = re.compile(r"\b(?:step|steps)\s*:?\s*\**\s*([\d][\d,]*)\b|\b([\d][\d,]*)\s*steps\b", re.I)


# ---------------------------------------------------------------- server side

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f} s")


def start_server(log_path: str, env: dict | None = None):
    """``streamlit run app.py`` on a free loopback port (``env``: extra variables)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
    except Exception:
        proc.kill()
        raise
    return proc, url


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def pid_listening_on(port: int) -> int | None:
    """The pid of the local process listening on ``port`` (via /proc/net/tcp inodes)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except OSError:
            continue
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def _own_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the server's training workers)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def rss_mb(pid: int, kids: list[int] | None = None) -> float | None:
    """RSS of the server plus its worker processes (``kids``: already found)."""
    own = _own_rss_mb(pid)
    if own is None:
        return None
    return own + sum(_own_rss_mb(k) or 0.0 for k in (children(pid) if kids is None else kids))


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (``/proc/PID/stat``)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def thread_names(pid: int) -> list[str]:
    names = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    names.append(f.read().strip())
            except OSError:
                continue
    except OSError:
        pass
    return names


def trainer_threads(pid: int) -> int:
    return sum(1 for n in thread_names(pid) if n == THREAD_NAME)


# ---------------------------------------------------------------- students

@dataclass
class Sample:
    t: float
    rss_mb: float | None
    server_rss_mb: float | None
    trainer_threads: int
    threads: int
    connected: int
    load1: float
    server_cpu_s: float | None = None  # cumulative CPU seconds: the server (page runs, polls)
    workers_cpu_s: float | None = None  # ... its training worker processes alive now
    client_cpu_s: float | None = None  # ... this load-test client


@dataclass
class Interaction:
    t: float
    who: str
    page: str
    widget: str
    seconds: float | None
    figure_seconds: float | None
    ok: bool
    error: str | None = None


@dataclass
class Progress:
    t: float
    steps: int | None
    chars_per_s: float | None


@dataclass
class Student:
    name: str
    role: str  # trainer | inspector
    page: str
    session: stclient.Session | None = None
    dropped: bool = False
    progress: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    widget: str | None = None
    started_training: bool = False
    chars_per_step: int | None = None  # batch x sequence length, read from the train page
    started_at: float | None = None  # when Train was pressed
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set once Train was pressed (or failed)


class Run:
    def __init__(self, args, url: str, pid: int | None):
        self.args = args
        self.url = url
        self.pid = pid
        self.t0 = time.monotonic()
        self.rng = random.Random(args.seed)
        self.samples: list[Sample] = []
        self.interactions: list[Interaction] = []
        self.students: list[Student] = []
        self.errors: list[str] = []
        self.events: list[tuple[float, str]] = []
        self.stop = asyncio.Event()

    def now(self) -> float:
        return time.monotonic() - self.t0

    def event(self, text: str):
        self.events.append((round(self.now(), 1), text))
        if not self.args.quiet:
            print(f"[{self.now():7.1f}s] {text}", flush=True)

    def error(self, who: str, text: str):
        self.errors.append(f"{who}: {text}")
        self.event(f"ERROR {who}: {text}")

    # ------------------------------------------------------------ monitor
    async def monitor(self, until: asyncio.Event):
        while not until.is_set():
            self.sample()
            try:
                await asyncio.wait_for(until.wait(), self.args.sample_every)
            except asyncio.TimeoutError:
                pass

    def sample(self) -> Sample:
        names = thread_names(self.pid) if self.pid else []
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = children(self.pid) if self.pid else []
        workers = [cpu_seconds(k) for k in kids]
        s = Sample(t=round(self.now(), 1), rss_mb=rss_mb(self.pid, kids) if self.pid else None,
                   server_rss_mb=_own_rss_mb(self.pid) if self.pid else None,
                   trainer_threads=sum(1 for n in names if n == THREAD_NAME), threads=len(names),
                   connected=sum(1 for st in self.students if st.session and not st.session.closed),
                   load1=os.getloadavg()[0],
                   server_cpu_s=cpu_seconds(self.pid) if self.pid else None,
                   workers_cpu_s=sum(w for w in workers if w is not None) if self.pid else None,
                   client_cpu_s=own.ru_utime + own.ru_stime)
        self.samples.append(s)
        return s

    # ------------------------------------------------------------ helpers
    async def open(self, st: Student) -> bool:
        st.session = stclient.Session(self.url, name=st.name)
        try:
            await st.session.connect()
            res = await st.session.open(st.page, timeout=self.args.timeout)
        except Exception as e:  # connection refused, timeout...
            self.error(st.name, f"could not open page {st.page!r}: {e}")
            return False
        if not res.ok:
            self.error(st.name, f"page {st.page!r} failed: {res.status} {res.exceptions}")
            return False
        if res.error_alerts:
            self.error(st.name, f"page {st.page!r} shows an error: {res.error_alerts[:2]}")
        return True

    def read_progress(self, st: Student) -> Progress:
        """Steps and chars/s as the train page shows them (metrics first, then any text)."""
        steps = cps = None
        for label, body in st.session.metrics().items():
            num = _number(body)
            if num is None:
                continue
            if STEP_METRIC.match(label):
                steps = int(num)
            elif CHARS_METRIC.search(label):
                cps = num
        texts = " \n ".join(st.session.texts())
        if cps is None:
            for m in CHARS_PER_S.finditer(texts):
                cps = float(m.group(1).replace(",", "")) * {"k": 1e3, "K": 1e3, "M": 1e6}.get(m.group(2) or "", 1)
                break
        if steps is None:
            for m in STEPS.finditer(texts):
                steps = int((m.group(1) or m.group(2)).replace(",", ""))
                break
        return Progress(t=round(self.now(), 1), steps=steps, chars_per_s=cps)

    # ------------------------------------------------------------ roles
    async def trainer(self, st: Student, drop_at: float | None):
        try:
            await self._trainer(st, drop_at)
        finally:
            st.done.set()

    async def _trainer(self, st: Student, drop_at: float | None):
        if not await self.open(st):
            return
        sess = st.session
        try:
            for key in self.args.train_setting or DEFAULT_TRAIN_SETTINGS:
                k, v = key.split("=", 1)
                await sess.set(k, _parse_value(v), timeout=self.args.timeout)
            try:
                st.chars_per_step = int(float(sess.value("tr_batch")) * float(sess.value("tr_seq")))
            except (stclient.ClientError, TypeError, ValueError):
                st.chars_per_step = None  # throughput then compares steps/s
            buttons = [w for w in sess.widgets() if w.kind == "button" and TRAIN_BUTTON.search(w.label)]
            if not buttons:
                raise stclient.ClientError(
                    f"no Train/Start button on the train page (buttons: {[w.label for w in sess.widgets() if w.kind == 'button']})")
            res = await sess.click(buttons[0], timeout=self.args.timeout)
            if not res.ok:
                raise stclient.ClientError(f"pressing {buttons[0].label!r} failed: {res.status} {res.exceptions}")
            st.started_training = True
            st.started_at = self.now()
            self.event(f"{st.name} pressed {buttons[0].label!r}")
            st.done.set()
        except Exception as e:
            self.error(st.name, str(e))
            return
        while not self.stop.is_set():
            if drop_at is not None and self.now() >= drop_at:
                await sess.drop()
                st.dropped = True
                self.event(f"{st.name} dropped its connection mid-training")
                return
            if sess.closed:
                self.error(st.name, f"connection lost: {sess.close_reason}")
                return
            st.progress.append(self.read_progress(st))
            new = sess.exceptions[len(st.errors):]
            for e in new:
                st.errors.append(e)
                self.error(st.name, f"exception on the train page: {e}")
            await self._sleep(self.args.progress_every)

    async def inspector(self, st: Student):
        if not await self.open(st):
            return
        sess = st.session
        widget = self._pick_widget(st)
        if widget is None:
            self.error(st.name, f"no slider/select to move on page {st.page!r}")
            return
        st.widget = widget.key or widget.label
        step = 1
        while not self.stop.is_set():
            await self._sleep(self.rng.uniform(*self.args.think))
            if self.stop.is_set():
                break
            t = self.now()
            try:
                w = sess.widget(st.widget)
                _, res = await sess.change(w, step=step, timeout=self.args.timeout)
                ok = res.ok
                err = None if ok else f"{res.status} {res.exceptions[:1]}"
                if res.error_alerts:
                    err = f"error shown: {res.error_alerts[0][:200]}"
                    ok = False
                self.interactions.append(Interaction(round(t, 1), st.name, st.page, st.widget, res.seconds,
                                                     res.figure_seconds, ok, err))
                if err:
                    self.error(st.name, err)
            except Exception as e:
                self.interactions.append(Interaction(round(t, 1), st.name, st.page, st.widget or "?",
                                                     None, None, False, str(e)))
                self.error(st.name, str(e))
                if sess.closed:
                    return
            step = -step if self.rng.random() < 0.3 else step

    def _pick_widget(self, st: Student):
        sess = st.session
        keys = ([self.args.interact[st.page]] if st.page in self.args.interact else []) + INTERACTIONS.get(st.page, [])
        for k in keys:
            for w in sess.widgets():
                if w.key == k or w.label == k:
                    return w
        for kind in ("slider", "number_input", "selectbox", "radio", "checkbox"):
            for w in sess.widgets():
                if w.kind == kind:
                    return w
        return None

    async def _sleep(self, seconds: float):
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass


def _number(text: str) -> float | None:
    """The first number in a metric's text, with a k / M suffix applied ("230 k" -> 230000)."""
    m = re.search(r"(-?\d[\d,]*(?:\.\d+)?)(?:\s*([kKM])(?![A-Za-z]))?", text or "")
    if not m:
        return None
    return float(m.group(1).replace(",", "")) * {"k": 1e3, "K": 1e3, "M": 1e6}.get(m.group(2) or "", 1)


def _parse_value(v: str):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(v.lower(), v)


# ---------------------------------------------------------------- the run

def throughput(students, t_from: float, t_to: float):
    """Aggregate chars/s shown by the trainers over [t_from, t_to] (mean per trainer, summed)."""
    per = {}
    for st in students:
        vals = [p.chars_per_s for p in st.progress if t_from <= p.t <= t_to and p.chars_per_s is not None]
        if vals:
            per[st.name] = statistics.fmean(vals)
    return per


def step_rate(st: Student, t_from: float, t_to: float) -> float | None:
    pts = [(p.t, p.steps) for p in st.progress if t_from <= p.t <= t_to and p.steps is not None]
    if len(pts) < 2 or pts[-1][0] <= pts[0][0]:
        return None
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def cpu_split(samples, t_from: float, t_to: float) -> dict | None:
    """Cores used over [t_from, t_to] by the trainers' workers, the server and this client.

    Worker processes that ended inside the window take their CPU seconds with them,
    so the workers' share is a lower bound when one was replaced.
    """
    pts = [s for s in samples if t_from <= s.t <= t_to and s.server_cpu_s is not None]
    if len(pts) < 2 or pts[-1].t <= pts[0].t:
        return None
    a, b = pts[0], pts[-1]
    dt = b.t - a.t
    return {"seconds": round(dt, 1),
            "workers": max(0.0, (b.workers_cpu_s - a.workers_cpu_s) / dt),
            "server": (b.server_cpu_s - a.server_cpu_s) / dt,
            "client": (b.client_cpu_s - a.client_cpu_s) / dt}


SOAK = {"sessions": 22, "trainers": 0, "drop": 0, "solo": 0, "one_slot": 0, "duration": 1800, "drain": 0}
SOAK_BAND = 0.05  # the soak's goal: server RSS after warm-up stays within +-5 % of its start


def rss_band(samples, t_from: float, t_to: float, ref_seconds: float = 60.0) -> dict | None:
    """Server RSS over [t_from, t_to] against its mean over the first ``ref_seconds``.

    Returns ref / min / max (MB) and ``deviation``, the largest relative distance of
    any sample from ref (0.05 = 5 %); None without at least two samples.
    """
    pts = [(s.t, s.server_rss_mb) for s in samples if s.server_rss_mb is not None and t_from <= s.t <= t_to]
    if len(pts) < 2:
        return None
    first = [v for t, v in pts if t <= pts[0][0] + ref_seconds]
    ref = statistics.fmean(first)
    vals = [v for _, v in pts]
    return {"ref": ref, "min": min(vals), "max": max(vals),
            "deviation": max(abs(v - ref) for v in vals) / ref}


def pct(values, q: float):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(q / 100 * (len(v) - 1)))))
    return v[k]


async def train_alone(run: Run, st: Student, seconds: float, tasks: list) -> tuple[float, float]:
    """``st`` presses Train and trains alone for ``seconds``; returns the measuring window
    (after the first ``--warmup`` seconds, at most a third of the phase)."""
    tasks.append(asyncio.create_task(run.trainer(st, None)))
    try:
        await asyncio.wait_for(st.done.wait(), run.args.timeout * 3)
    except asyncio.TimeoutError:
        run.error(st.name, "could not start training alone")
    t_press = st.started_at or run.now()
    await asyncio.sleep(seconds)
    return t_press + min(run.args.warmup, seconds / 3), run.now()


async def one_slot_solo(args, url: str, pid: int | None) -> dict:
    """One student trains alone on a server whose trainers keep one thread each.

    The class's own solo phase runs on an elastic server, where a lone trainer borrows
    every idle core; this is the other baseline, one CPU slot, as before elastic slots.
    """
    run = Run(args, url, pid)
    st = Student("one-slot-solo", "trainer", "train")
    mon_stop = asyncio.Event()
    mon = asyncio.create_task(run.monitor(mon_stop))
    tasks = []
    window = await train_alone(run, st, args.one_slot, tasks)
    run.stop.set()
    await asyncio.gather(*tasks)
    if st.session and not st.session.closed:
        await st.session.close()
    mon_stop.set()
    await mon
    steps = step_rate(st, *window)
    return {"seconds": args.one_slot, "window": [round(window[0], 1), round(window[1], 1)],
            "steps_per_s": steps,
            "chars_per_s_trained": steps * st.chars_per_step if steps and st.chars_per_step else None,
            "cpu": cpu_split(run.samples, *window), "errors": run.errors}


async def main_async(args, url: str, pid: int | None, one_slot: dict | None = None) -> dict:
    run = Run(args, url, pid)
    mon_stop = asyncio.Event()
    mon = asyncio.create_task(run.monitor(mon_stop))
    n_tr = min(args.trainers, args.sessions)
    names = [f"trainer{i + 1}" for i in range(n_tr)] + [f"inspector{i + 1}" for i in range(args.sessions - n_tr)]
    pages = [p for p in args.pages]
    for i, name in enumerate(names):
        role = "trainer" if name.startswith("trainer") else "inspector"
        run.students.append(Student(name, role, "train" if role == "trainer" else pages[i % len(pages)]))
    trainers = [s for s in run.students if s.role == "trainer"]
    inspectors = [s for s in run.students if s.role == "inspector"]
    tasks = []
    solo_window = None

    # Solo phase: one trainer alone gives the single-trainer baseline.
    if trainers and args.solo > 0:
        run.event(f"solo phase: {trainers[0].name} trains alone for {args.solo:.0f} s")
        solo_window = await train_alone(run, trainers[0], args.solo, tasks)
        others = trainers[1:]
    else:
        others = trainers

    class_start = run.now()
    drop_at = class_start + args.duration * args.drop_at
    dropping = set(s.name for s in others[-args.drop:]) if args.drop > 0 else set()
    if len(dropping) < args.drop and trainers and args.drop > 0:
        dropping = set(s.name for s in trainers[-args.drop:])
    run.event(f"class phase: {len(run.students)} sessions ({len(trainers)} training) for {args.duration:.0f} s")
    arrivals = others + inspectors
    run.rng.shuffle(arrivals)
    for k, st in enumerate(arrivals):
        delay = args.arrival * k / max(1, len(arrivals))

        async def go(st=st, delay=delay):
            await asyncio.sleep(delay)
            if st.role == "trainer":
                await run.trainer(st, drop_at if st.name in dropping else None)
            else:
                await run.inspector(st)

        tasks.append(asyncio.create_task(go()))
    if trainers and trainers[0].name in dropping:
        pass  # the solo trainer never drops (it carries the baseline)

    await asyncio.sleep(max(0.0, class_start + args.duration - run.now()))
    end_sample = run.sample()
    run.event(f"end of class: {end_sample.trainer_threads} trainer threads, {end_sample.connected} sessions connected")
    run.stop.set()
    for res in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(res, BaseException):
            run.error("loadtest", f"a student task crashed: {type(res).__name__}: {res}")
    for st in run.students:
        if st.session and not st.session.closed:
            await st.session.close()
    class_end = run.now()

    # Drain: wait for every trainer thread to end (session TTL + watchdog), counting orphans.
    drain_start = run.now()
    orphans = run.sample().trainer_threads
    while orphans and run.now() - drain_start < args.drain:
        await asyncio.sleep(min(5.0, args.sample_every))
        orphans = run.sample().trainer_threads
    drain_seconds = run.now() - drain_start
    run.event(f"drain: {orphans} trainer threads left after {drain_seconds:.0f} s")
    mon_stop.set()
    await mon

    # ---------------------------------------------------------------- numbers
    warm = class_start + args.arrival + args.warmup
    window = (warm, drop_at if dropping else class_end)
    lat = [i.seconds for i in run.interactions if i.ok and i.seconds is not None and i.t >= class_start + args.arrival]
    fig = [i.figure_seconds for i in run.interactions if i.ok and i.figure_seconds is not None
           and i.t >= class_start + args.arrival]
    failed = [i for i in run.interactions if not i.ok]
    solo_cps = None
    solo_steps = None
    if solo_window:
        vals = [p.chars_per_s for p in trainers[0].progress if solo_window[0] <= p.t <= solo_window[1] and p.chars_per_s]
        solo_cps = statistics.fmean(vals) if vals else None
        solo_steps = step_rate(trainers[0], *solo_window)
    per = throughput(trainers, *window)
    steps_per = {st.name: step_rate(st, *window) for st in trainers}
    agg_steps = sum(v for v in steps_per.values() if v)
    agg_steps_ratio = agg_steps / solo_steps if solo_steps else None
    one_steps = (one_slot or {}).get("steps_per_s")
    agg_vs_one_slot = agg_steps / one_steps if one_steps and agg_steps else None
    # Chars actually trained per wall second (steps x batch x sequence length); all
    # trainers use the page defaults, so this ratio equals the steps/s ratio.
    cps = {st.name: (steps_per[st.name] or 0) * st.chars_per_step for st in trainers if st.chars_per_step}
    agg_chars = sum(cps.values()) if cps else None
    solo_chars = solo_steps * trainers[0].chars_per_step if solo_steps and trainers[0].chars_per_step else None
    rss = [s.rss_mb for s in run.samples if s.rss_mb is not None]
    rss_after = [s.rss_mb for s in run.samples if s.rss_mb is not None and warm <= s.t <= class_end]
    half = len(rss_after) // 2
    rss_growth = (statistics.fmean(rss_after[half:]) - statistics.fmean(rss_after[:half])) if half >= 2 else None

    goals = {
        "p95_latency_s": (pct(lat, 95), "<= 2.0", pct(lat, 95) is not None and pct(lat, 95) <= 2.0),
        "errors": (len(run.errors), "0", not run.errors),
        "max_rss_mb": (max(rss) if rss else None, "<= 4096", bool(rss) and max(rss) <= 4096),
        "rss_growth_after_warmup_mb": (rss_growth, "flat (< 10 % of RSS)",
                                       rss_growth is not None and rss_growth < 0.10 * max(rss)),
        "orphaned_trainer_threads": (orphans, "0", orphans == 0),
        "aggregate_vs_single": (agg_steps_ratio, ">= 0.9", agg_steps_ratio is not None and agg_steps_ratio >= 0.9),
    }
    if one_slot is not None:
        goals["aggregate_vs_one_slot_solo"] = (agg_vs_one_slot, ">= 1.4",
                                               agg_vs_one_slot is not None and agg_vs_one_slot >= 1.4)
        run.errors[:0] = [f"one-slot solo: {e}" for e in one_slot["errors"]]
        goals["errors"] = (len(run.errors), "0", not run.errors)
    band = rss_band(run.samples, warm, class_end)
    if args.soak:  # memory only: nobody trains
        for k in ("aggregate_vs_single", "aggregate_vs_one_slot_solo", "rss_growth_after_warmup_mb"):
            goals.pop(k, None)
        goals["server_rss_deviation_after_warmup"] = (
            band["deviation"] if band else None, f"<= {SOAK_BAND:.2f} (+-5 %)",
            band is not None and band["deviation"] <= SOAK_BAND)
    client_cpu = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "config": {k: v for k, v in vars(args).items() if k not in ("report", "json")},
        "url": url, "server_pid": pid, "cores": os.cpu_count(),
        "phases": {"solo": solo_window, "class_start": round(class_start, 1), "drop_at": round(drop_at, 1) if dropping else None,
                   "measure_window": [round(window[0], 1), round(window[1], 1)], "class_end": round(class_end, 1),
                   "drain_seconds": round(drain_seconds, 1)},
        "goals": {k: {"value": v, "goal": g, "ok": ok} for k, (v, g, ok) in goals.items()},
        "server_rss_band": band,
        "latency": {"n": len(lat), "failed": len(failed), "p50": pct(lat, 50), "p95": pct(lat, 95), "max": max(lat) if lat else None,
                    "figure_p50": pct(fig, 50), "figure_p95": pct(fig, 95),
                    "by_page": {p: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95)} for p, v in _by_page(run).items()}},
        "training": {"solo_chars_per_s_shown": solo_cps, "solo_steps_per_s": solo_steps,
                     "solo_chars_per_s_trained": solo_chars, "aggregate_chars_per_s_trained": agg_chars,
                     "chars_per_s_trained_in_class": cps,
                     "shown_chars_per_s_in_class": per, "steps_per_s_in_class": steps_per,
                     "aggregate_steps_per_s": agg_steps, "aggregate_vs_single": agg_steps_ratio,
                     "one_slot_solo": one_slot, "aggregate_vs_one_slot_solo": agg_vs_one_slot,
                     "cpu_solo": cpu_split(run.samples, *solo_window) if solo_window else None,
                     "cpu_class": cpu_split(run.samples, *window),
                     "trainers_started": sum(1 for s in trainers if s.started_training), "dropped": sorted(dropping)},
        "threads_at_end_of_class": end_sample.trainer_threads, "orphaned_trainer_threads": orphans,
        "errors": run.errors, "events": run.events,
        "samples": [asdict(s) for s in run.samples],
        "interactions": [asdict(i) for i in run.interactions],
        "client_cpu_seconds": round(client_cpu.ru_utime + client_cpu.ru_stime, 1),
        "wall_seconds": round(run.now(), 1),
    }
    return result


def _by_page(run) -> dict:
    out = {}
    for i in run.interactions:
        if i.ok and i.seconds is not None:
            out.setdefault(f"{i.page}:{i.widget}", []).append(i.seconds)
    return out


# ---------------------------------------------------------------- report

def _f(v, fmt="{:.2f}"):
    return "n/a" if v is None else fmt.format(v)


def _cpu_lines(res: dict) -> list[str]:
    tr = res["training"]
    one = tr.get("one_slot_solo")
    lines = []
    if one:
        lines.append(f"- one-slot solo trainer, measured first on a second server started with "
                     f"`RNNVIZ_ELASTIC=0` ({one['seconds']:.0f} s): {_f(one['steps_per_s'])} steps/s = "
                     f"{_f(one['chars_per_s_trained'], '{:,.0f}')} chars/s trained")
    rows = [("one-slot solo", (one or {}).get("cpu")), ("solo", tr.get("cpu_solo")), ("class", tr.get("cpu_class"))]
    rows = [(n, c) for n, c in rows if c]
    if rows:
        lines += ["", f"Where the {res['cores']} cores went (CPU seconds per wall second over each measured window; "
                  "the load-test client runs on the same machine, a real class's browsers would not):", "",
                  "| phase | training workers | server (page runs, polls) | load-test client | idle |",
                  "|---|---|---|---|---|"]
        for name, c in rows:
            idle = max(0.0, res["cores"] - c["workers"] - c["server"] - c["client"])
            lines.append(f"| {name} | {c['workers']:.2f} | {c['server']:.2f} | {c['client']:.2f} | {idle:.2f} |")
    return lines


def markdown(res: dict) -> str:
    c, g, lat, tr = res["config"], res["goals"], res["latency"], res["training"]
    lines = [
        "# rnnviz classroom load test",
        "",
        f"Generated by `python scripts/loadtest.py` on {time.strftime('%Y-%m-%d %H:%M')} "
        f"({res['cores']} cores). {c['sessions']} websocket sessions ({c['trainers']} training, "
        f"{c['sessions'] - c['trainers']} inspecting on {', '.join(c['pages'])}), {c['duration']:.0f} s class phase, "
        f"{c['drop']} trainers dropping their connection at {c['drop_at']:.0%} of it; solo baseline {c['solo']:.0f} s. "
        "Each session is a light client speaking Streamlit's protobuf websocket protocol "
        "(`scripts/stclient.py`): it renders nothing but sends exactly what a browser sends.",
        "",
        "## Goals",
        "",
        "| measure | value | goal | met |",
        "|---|---|---|---|",
    ]
    for k, v in g.items():
        val = v["value"]
        shown = _f(val) if isinstance(val, float) else str(val)
        lines.append(f"| {k.replace('_', ' ')} | {shown} | {v['goal']} | {'yes' if v['ok'] else '**no**'} |")
    lines += [
        "",
        "## Interaction latency",
        "",
        "Each inspector changes one widget of its page (listed below) every "
        f"{c['think'][0]:.0f}-{c['think'][1]:.0f} s; latency runs from sending the rerun to the "
        "`script_finished` message of that run (the page is complete), and to the first new figure.",
        "",
        f"- interactions: {lat['n']} ok, {lat['failed']} failed",
        f"- complete page: p50 {_f(lat['p50'])} s, p95 {_f(lat['p95'])} s, max {_f(lat['max'])} s",
        f"- first figure: p50 {_f(lat['figure_p50'])} s, p95 {_f(lat['figure_p95'])} s",
        "",
        "| page:widget | n | p50 (s) | p95 (s) |",
        "|---|---|---|---|",
    ]
    for p, v in sorted(lat["by_page"].items()):
        lines.append(f"| {p} | {v['n']} | {_f(v['p50'])} | {_f(v['p95'])} |")
    lines += [
        "",
        "## Training throughput",
        "",
        "Read from the train page of each session (steps and chars/s as shown to the student).",
        "",
        "Throughput is what the trainers really get done: the growth of the *Step* counter per wall-clock "
        "second times batch x sequence length. (The *Characters / s* metric on the page is each model's "
        "speed while it holds a CPU slot, so it does not add up across students who take turns.)",
        "",
        f"- solo trainer (borrowing every idle core): {_f(tr['solo_steps_per_s'])} steps/s = "
        f"{_f(tr['solo_chars_per_s_trained'], '{:,.0f}')} chars/s trained "
        f"(its page shows {_f(tr['solo_chars_per_s_shown'], '{:,.0f}')} chars/s)",
        f"- class, all trainers connected (t = {res['phases']['measure_window'][0]:.0f}-"
        f"{res['phases']['measure_window'][1]:.0f} s): {_f(tr['aggregate_steps_per_s'])} steps/s = "
        f"{_f(tr['aggregate_chars_per_s_trained'], '{:,.0f}')} chars/s summed over "
        f"{tr['trainers_started']} trainers = **{_f(tr['aggregate_vs_single'])} x** the solo trainer"
        + (f", **{_f(tr['aggregate_vs_one_slot_solo'])} x** the one-slot solo trainer"
           if tr.get("one_slot_solo") else ""),
        f"- dropped mid-training: {', '.join(tr['dropped']) or 'none'}",
        *_cpu_lines(res),
        "",
        "| trainer | steps/s in class | chars/s trained | page shows chars/s (mean) |",
        "|---|---|---|---|",
    ]
    for name, v in tr["steps_per_s_in_class"].items():
        lines.append(f"| {name} | {_f(v)} | {_f(tr['chars_per_s_trained_in_class'].get(name), '{:,.0f}')} | "
                     f"{_f(tr['shown_chars_per_s_in_class'].get(name), '{:,.0f}')} |")
    lines += [
        "",
        "## Server memory and trainer threads",
        "",
        f"Trainer threads at the end of the class phase: {res['threads_at_end_of_class']}; "
        f"after all sessions closed and {res['phases']['drain_seconds']:.0f} s of draining: "
        f"**{res['orphaned_trainer_threads']}** (goal 0).",
        "",
        "RSS is the server process plus its training worker processes (`rnnviz.worker`).",
        "",
        "| t (s) | RSS (MB) | of which server (MB) | trainer threads | all threads | connected | load avg |",
        "|---|---|---|---|---|---|---|",
    ]
    samples = res["samples"]
    step = max(1, len(samples) // 25)
    for s in samples[::step] + ([samples[-1]] if samples and (len(samples) - 1) % step else []):
        lines.append(f"| {s['t']:.0f} | {_f(s['rss_mb'], '{:,.0f}')} | {_f(s.get('server_rss_mb'), '{:,.0f}')} | "
                     f"{s['trainer_threads']} | {s['threads']} | "
                     f"{s['connected']} | {s['load1']:.2f} |")
    lines += ["", "## Errors", ""]
    lines += [f"- {e}" for e in res["errors"][:50]] or ["None."]
    if len(res["errors"]) > 50:
        lines.append(f"- ... and {len(res['errors']) - 50} more (see the JSON)")
    lines += ["", f"Load-test client CPU: {res['client_cpu_seconds']} s over {res['wall_seconds']} s "
              "(the client shares the machine with the server).", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=30, help="simulated students (default 30, max 200)")
    p.add_argument("--trainers", type=int, default=8, help="how many of them train (default 8)")
    p.add_argument("--drop", type=int, default=3, help="trainers that drop their connection mid-training (default 3)")
    p.add_argument("--drop-at", type=float, default=0.5, help="when they drop, as a fraction of --duration")
    p.add_argument("--duration", type=float, default=600, help="class phase in seconds (default 600, max 3600)")
    p.add_argument("--solo", type=float, default=60, help="solo-trainer baseline phase in seconds (default 60)")
    p.add_argument("--one-slot", type=float, default=None,
                   help="seconds of a one-slot solo baseline on a second server started with RNNVIZ_ELASTIC=0, "
                        "before the class's server starts (default 60; 0 skips it; not available with --url)")
    p.add_argument("--arrival", type=float, default=20, help="students arrive over this many seconds")
    p.add_argument("--warmup", type=float, default=30, help="seconds after arrival before throughput is measured")
    p.add_argument("--drain", type=float, default=330,
                   help="max seconds to wait for trainer threads to end after the class (default 330 = "
                        "120 s session TTL + 180 s watchdog + margin)")
    p.add_argument("--think", type=float, nargs=2, default=(3.0, 8.0), help="inspector think time range (s)")
    p.add_argument("--pages", nargs="+", default=list(INSPECT_PAGES), help="pages the inspectors use")
    p.add_argument("--interact", action="append", default=[], metavar="PAGE:WIDGET",
                   help="widget key or label an inspector moves on PAGE (repeatable)")
    p.add_argument("--train-setting", action="append", default=[], metavar="KEY=VALUE",
                   help="set a train-page widget before pressing Train (repeatable)")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for one page run")
    p.add_argument("--progress-every", type=float, default=2.0, help="trainers read their page this often (s)")
    p.add_argument("--sample-every", type=float, default=5.0, help="RSS / thread sampling period (s)")
    p.add_argument("--url", help="use a running server (loopback only) instead of starting one")
    p.add_argument("--pid", type=int, help="server pid with --url (default: found from the port)")
    p.add_argument("--report", help="write the markdown report here (e.g. docs/LOADTEST.md)")
    p.add_argument("--json", help="write the full JSON here")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--soak", action="store_true",
                   help="memory soak; defaults " + ", ".join(f"--{k} {v}" for k, v in SOAK.items())
                        + " (other flags still apply); goal: server RSS after warm-up within +-5 %%")
    p.add_argument("--quiet", action="store_true")
    if "--soak" in (sys.argv[1:] if argv is None else argv):
        p.set_defaults(**SOAK)  # the soak's class; flags given explicitly still win
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= 200:
        p.error("--sessions must be between 1 and 200")
    if not 0 < args.duration <= 3600:
        p.error("--duration must be between 1 and 3600 seconds")
    if args.url and args.one_slot:
        p.error("--one-slot starts a server of its own; it cannot be used with --url (pass --one-slot 0)")
    if args.one_slot is None or args.trainers == 0:  # without trainers there is no class to compare
        args.one_slot = 0 if args.url or args.trainers == 0 else 60
    if not 0 <= args.solo <= 600 or not 0 <= args.one_slot <= 600 or not 0 <= args.drain <= 1800:
        p.error("--solo and --one-slot must be 0-600 s and --drain 0-1800 s")
    if args.drop > args.trainers:
        p.error("--drop cannot exceed --trainers")
    if args.url:
        try:
            stclient.require_loopback(args.url)
        except ValueError as e:
            p.error(str(e))
    try:
        args.interact = dict(x.split(":", 1) for x in args.interact)
    except ValueError:
        p.error("--interact wants PAGE:WIDGET")
    return args


def _exit_on_sigterm(signum, frame):
    # SIGTERM (kill, pkill, CI timeouts) would end Python without running ``finally``,
    # leaving the server this script started running; exit the normal way instead.
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    proc = None
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    log_path = os.path.join(tempfile.gettempdir(), f"rnnviz-loadtest-{os.getpid()}.log")
    try:
        one_slot = None
        if args.one_slot > 0:
            one_log = os.path.join(tempfile.gettempdir(), f"rnnviz-loadtest-{os.getpid()}-one-slot.log")
            one_proc, one_url = start_server(one_log, env={"RNNVIZ_ELASTIC": "0"})
            print(f"one-slot server {one_url} (pid {one_proc.pid}, log {one_log})", flush=True)
            try:
                one_slot = _run_async(lambda: asyncio.wait_for(
                    one_slot_solo(args, one_url, one_proc.pid), args.one_slot + args.timeout * 3 + 60))
            finally:
                stop_server(one_proc)
            with open(one_log, errors="replace") as f:
                tb = f.read().count("Traceback")
            if tb:
                one_slot["errors"].append(f"server log has {tb} traceback(s): see {one_log}")
        if args.url:
            url = args.url.rstrip("/")
            wait_healthy(url, timeout=10)
            pid = args.pid or pid_listening_on(urllib.parse.urlparse(url).port or 80)
        else:
            proc, url = start_server(log_path)
            pid = proc.pid
            print(f"server {url} (pid {pid}, log {log_path})", flush=True)
        if pid is None:
            print("warning: server pid not found; RSS and thread counts are unavailable", file=sys.stderr)
        hard_limit = args.solo + args.duration + args.drain + 180
        res = _run_async(lambda: asyncio.wait_for(main_async(args, url, pid, one_slot), hard_limit))
    finally:
        if proc is not None:
            stop_server(proc)
    if proc is not None:
        with open(log_path, errors="replace") as f:
            log = f.read()
        tb = log.count("Traceback")
        res["server_log_tracebacks"] = tb
        if tb:
            res["errors"].append(f"server log has {tb} traceback(s): see {log_path}")
            res["goals"]["errors"].update(value=len(res["errors"]), ok=False)
    text = markdown(res)
    if args.report:
        os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
        with open(args.report, "w") as f:
            f.write(text)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    print(text.split("## Interaction latency")[0])
    return 0 if all(v["ok"] for v in res["goals"].values()) else 1



def _run_async(make_coro):
    """asyncio.run, or asyncio.run in a worker thread when this thread already runs an
    event loop (e.g. inside a pytest session that also drives Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    import threading

    out = {}

    def work():
        try:
            out["value"] = asyncio.run(make_coro())
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=work, name="loadtest-loop")
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")

if __name__ == "__main__":
    sys.exit(main())
