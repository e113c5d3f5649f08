"""A light Streamlit client that speaks the websocket wire format, for load tests.

A browser tab talks to ``streamlit run`` over one websocket (``/_stcore/stream``):
it sends ``BackMsg`` protobufs (mostly ``rerun_script`` with the page and all
widget values) and receives ``ForwardMsg`` protobufs (a ``new_session`` per run,
``delta`` messages that add elements at a ``delta_path``, ``auto_rerun`` timers
for ``st.fragment(run_every=...)``, and ``script_finished``). This module does the
same with the ``websockets`` package that ships with Streamlit, so thirty
"students" cost a few megabytes instead of thirty Chromium processes.

``Session`` keeps the current element tree, finds widgets by ``key`` or label,
sends widget changes and button clicks, emulates fragment timers like the
browser, keeps the page's query string the way the address bar does (and can
open a page with one, like following a link), can resume its server session
after a drop like a reconnecting tab, and times each interaction: from sending the rerun to the first new
figure and to the ``script_finished`` message of that run.

Only loopback servers are accepted: this is a test tool, not a crawler.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

FINISHED = ForwardMsg.ScriptFinishedStatus
WIDGET_KINDS = ("button", "button_group", "checkbox", "color_picker", "multiselect", "number_input",
                "radio", "selectbox", "slider", "text_area", "text_input", "download_button")
TEXT_FIELDS = {"markdown": "body", "text": "body", "heading": "body", "alert": "body", "code": "code_text",
               "exception": "message", "html": "body", "toast": "body"}
ALERT_ERROR = 1  # Alert.Format.ERROR


class ClientError(RuntimeError):
    """The server misbehaved or an interaction could not be done."""


def require_loopback(url: str) -> str:
    """Return ``url`` if its host is a loopback address, else raise ValueError."""
    host = urllib.parse.urlparse(url).hostname or ""
    if host == "localhost":
        return url
    try:
        if ipaddress.ip_address(host).is_loopback:
            return url
    except ValueError:
        pass
    raise ValueError(f"Refusing to load-test {url!r}: only loopback servers (127.0.0.1, ::1, localhost) are allowed.")


@dataclass
class Widget:
    id: str
    kind: str
    label: str
    proto: object
    path: tuple

    @property
    def key(self) -> str | None:
        """The user ``key=`` (Streamlit puts it at the end of keyed widget ids)."""
        m = re.match(r"^\$\$ID-[0-9a-f]+-(.+)$", self.id)
        return m.group(1) if m and m.group(1) != "None" else None


@dataclass
class RunResult:
    """One full script run triggered by this client."""

    seconds: float  # send -> script_finished
    figure_seconds: float | None  # send -> first plotly figure of the run (None: no figure)
    status: str
    exceptions: list = field(default_factory=list)
    error_alerts: list = field(default_factory=list)
    figures: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED_SUCCESSFULLY" and not self.exceptions


class Session:
    """One simulated browser tab."""

    def __init__(self, base_url: str, *, name: str = "session", fragments: bool = True,
                 open_timeout: float = 30.0):
        base = require_loopback(base_url).rstrip("/")
        self.ws_url = "ws" + base[len("http"):] + "/_stcore/stream" if base.startswith("http") else base
        self.name = name
        self.fragments = fragments  # emulate st.fragment(run_every=...) timers like a browser
        self.open_timeout = open_timeout
        self.ws = None
        self.elements: dict[tuple, object] = {}  # delta_path -> Element proto
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.page_hash = ""
        self.page_name = ""
        self.query_string = ""  # the address bar's ?query, updated by st.query_params like the browser
        self.session_id = ""  # the server's id for this session (a reconnect resumes it)
        self.values: dict[str, object] = {}  # widget id -> WidgetState we send every rerun
        self.current: dict[str, object] = {}  # widget id -> the Python value we set
        self.known: dict[str, object] = {}  # widget id -> value on screen (the browser's memory)
        self.running = False
        self.closed = False
        self.close_reason: str | None = None
        self.exceptions: list[str] = []  # every exception element ever received
        self.fragment_runs = 0
        self.messages = 0
        self.bytes = 0
        self.on_message = None  # optional callback(session, ForwardMsg)
        self._timers: dict[str, asyncio.Task] = {}
        self._reader: asyncio.Task | None = None
        self._pending: asyncio.Future | None = None
        self._run_seen: set = set()
        self._run_t0 = 0.0
        self._run_figure: float | None = None
        self._run_figures = 0
        self._run_exceptions: list = []
        self._run_alerts: list = []
        self._full_run = False

    # ------------------------------------------------------------ connection
    async def connect(self, resume: str | None = None):
        """Open the websocket; ``resume`` = a session id to resume, as a reconnecting tab does."""
        # Streamlit reads the subprotocol list as: protocol, XSRF token, session to resume.
        protocols = ["streamlit", "none", resume] if resume else ["streamlit"]
        self.closed = False
        self.close_reason = None
        self.ws = await connect(self.ws_url, subprotocols=protocols, max_size=None, compression=None,
                                open_timeout=self.open_timeout, ping_interval=20, ping_timeout=60,
                                max_queue=None)
        self._reader = asyncio.create_task(self._read(), name=f"{self.name}-reader")
        return self

    async def close(self):
        """A normal tab close (websocket close handshake)."""
        self._cancel_timers()
        if self.ws is not None and not self.closed:
            self.closed = True
            await self.ws.close()
        if self._reader:
            self._reader.cancel()

    async def drop(self):
        """Wi-Fi gone: the TCP connection vanishes without a close handshake."""
        self._cancel_timers()
        self.closed = True
        if self.ws is not None:
            self.ws.transport.abort()
        if self._reader:
            self._reader.cancel()

    def _cancel_timers(self):
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()

    # ------------------------------------------------------------ reading
    async def _read(self):
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self.messages += 1
                self.bytes += len(raw)
                self._handle(msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # connection lost
            self.close_reason = f"{type(e).__name__}: {e}"
        finally:
            if not self.closed:
                self.closed = True
                self.close_reason = self.close_reason or "server closed the websocket"
            if self._pending is not None and not self._pending.done():
                self._pending.set_exception(ClientError(f"{self.name}: connection lost ({self.close_reason})"))

    def _handle(self, msg):
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            if msg.new_session.initialize.session_id:
                self.session_id = msg.new_session.initialize.session_id
            if not self.page_hash:
                self.page_hash = msg.new_session.page_script_hash
            if not list(msg.metadata.run.fragment_ids):
                self._full_run = True
                self._run_seen = set()
        elif kind == "navigation":
            for p in msg.navigation.app_pages:
                self.pages[p.url_pathname] = p.page_script_hash
            if msg.navigation.page_script_hash:  # the page st.navigation chose (new_session has app.py's)
                self.page_hash = msg.navigation.page_script_hash
                for p in msg.navigation.app_pages:
                    if p.page_script_hash == self.page_hash:
                        self.page_name = p.url_pathname
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "delta":
            self._delta(msg)
        elif kind == "auto_rerun":
            if self.fragments and not self.closed:
                fid = msg.auto_rerun.fragment_id
                if fid not in self._timers:
                    self._timers[fid] = asyncio.create_task(self._timer(fid, max(0.2, msg.auto_rerun.interval)))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                t = self._timers.pop(fid, None)
                if t:
                    t.cancel()
        elif kind == "script_finished":
            self._finished(msg.script_finished)
        elif kind == "page_not_found":
            self._run_alerts.append(f"page not found: {msg.page_not_found.page_name}")
        if self.on_message is not None:
            self.on_message(self, msg)

    def _delta(self, msg):
        path = tuple(msg.metadata.delta_path)
        d = msg.delta
        dk = d.WhichOneof("type")
        if dk == "new_element":
            el = d.new_element
            self.elements[path] = el
            self._run_seen.add(path)
            ek = el.WhichOneof("type")
            if ek in WIDGET_KINDS and ek not in ("button", "download_button"):
                w = getattr(el, ek)
                # Like the browser: a widget's value is what the server set (session_state,
                # first render), else what it was on screen before.
                if getattr(w, "set_value", False) or w.id not in self.known:
                    try:
                        self.known[w.id] = shown_value(Widget(w.id, ek, w.label, w, path))
                    except Exception:  # an exotic widget; we only need the ones we move
                        self.known[w.id] = None
            if ek == "plotly_chart":
                self._run_figures += 1
                if self._run_figure is None:
                    self._run_figure = time.perf_counter() - self._run_t0
            elif ek == "exception":
                text = f"{el.exception.type}: {el.exception.message}"
                self.exceptions.append(text)
                self._run_exceptions.append(text)
            elif ek == "alert" and el.alert.format == ALERT_ERROR:
                self._run_alerts.append(el.alert.body)
        elif dk == "add_block":
            self.elements[path] = None  # a container; children live below it
            self._run_seen.add(path)

    def _finished(self, status):
        name = FINISHED.Name(status)
        if status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.fragment_runs += 1
            return
        if status == FINISHED.FINISHED_EARLY_FOR_RERUN:
            return  # a newer run replaces this one; wait for that
        if status == FINISHED.FINISHED_SUCCESSFULLY and self._full_run:
            # Like the browser: elements the finished run did not write are stale.
            seen = self._run_seen
            self.elements = {p: e for p, e in self.elements.items() if p in seen}
        self._full_run = False
        fut = self._pending
        if fut is not None and not fut.done():
            fut.set_result(RunResult(
                seconds=time.perf_counter() - self._run_t0, figure_seconds=self._run_figure, status=name,
                exceptions=list(self._run_exceptions), error_alerts=list(self._run_alerts),
                figures=self._run_figures))

    async def _timer(self, fragment_id: str, interval: float):
        try:
            while not self.closed:
                await asyncio.sleep(interval)
                if self._pending is None or self._pending.done():
                    await self._send_rerun(fragment_id=fragment_id, auto=True)
        except asyncio.CancelledError:
            pass
        except Exception:  # connection gone; the reader records why
            pass

    # ------------------------------------------------------------ sending
    async def _send_rerun(self, *, fragment_id: str = "", auto: bool = False, extra=()):
        bm = BackMsg()
        cs = bm.rerun_script
        cs.query_string = self.query_string
        cs.page_script_hash = self.page_hash
        cs.page_name = self.page_name
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        for ws in self.values.values():
            cs.widget_states.widgets.append(ws)
        for ws in extra:
            cs.widget_states.widgets.append(ws)
        await self.ws.send(bm.SerializeToString())

    async def _run(self, timeout: float, **kw) -> RunResult:
        if self.closed:
            raise ClientError(f"{self.name}: the websocket is closed ({self.close_reason})")
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        self._run_t0 = time.perf_counter()
        self._run_figure = None
        self._run_figures = 0
        self._run_exceptions = []
        self._run_alerts = []
        await self._send_rerun(**kw)
        try:
            return await asyncio.wait_for(self._pending, timeout)
        except asyncio.TimeoutError:
            raise ClientError(f"{self.name}: no script_finished within {timeout:.0f} s") from None
        finally:
            self._pending = None

    async def open(self, page: str = "", timeout: float = 60.0, query: str = "") -> RunResult:
        """Open a page by its url path ("" = home) and query string, like typing the address.

        A new page forgets the widget values of the previous one.
        """
        self.query_string = query
        self.page_name = page
        self.page_hash = self.pages.get(page, "") if page else ""
        self.values.clear()
        self.current.clear()
        self.known.clear()
        self._cancel_timers()
        return await self._run(timeout)

    async def rerun(self, timeout: float = 60.0) -> RunResult:
        return await self._run(timeout)

    # ------------------------------------------------------------ widgets
    def widgets(self) -> list[Widget]:
        out = []
        for path in sorted(self.elements):
            el = self.elements[path]
            if el is None:
                continue
            kind = el.WhichOneof("type")
            if kind in WIDGET_KINDS:
                w = getattr(el, kind)
                out.append(Widget(id=w.id, kind=kind, label=getattr(w, "label", ""), proto=w, path=path))
        return out

    def widget(self, which: str, kind: str | None = None) -> Widget:
        """Find a widget by ``key`` first, then by exact label, then by label prefix."""
        ws = [w for w in self.widgets() if kind is None or w.kind == kind]
        for test in (lambda w: w.key == which, lambda w: w.label == which,
                     lambda w: w.label.lower().startswith(which.lower())):
            hits = [w for w in ws if test(w)]
            if hits:
                return hits[0]
        shown = ", ".join(f"{w.kind}:{w.key or w.label!r}" for w in ws) or "none"
        raise ClientError(f"{self.name}: no widget {which!r} on page {self.page_name!r} (widgets: {shown})")

    def value(self, which):
        """The value a widget shows now (what we set, else what the server rendered)."""
        w = which if isinstance(which, Widget) else self.widget(which)
        if w.id in self.current:
            return self.current[w.id]
        return self.known.get(w.id, shown_value(w))

    async def set(self, which, value, timeout: float = 60.0) -> RunResult:
        """Change a widget (a Widget, key or label) to ``value`` and wait for the rerun."""
        w = which if isinstance(which, Widget) else self.widget(which)
        self.values[w.id] = _state(w, value)
        self.current[w.id] = value
        return await self._run(timeout)

    async def change(self, which, step: int = 1, timeout: float = 60.0) -> tuple:
        """Move a widget to another valid value; returns (value, RunResult)."""
        w = which if isinstance(which, Widget) else self.widget(which)
        value = other_value(w, self.value(w), step)
        return value, await self.set(w, value, timeout)

    async def click(self, which, timeout: float = 60.0) -> RunResult:
        """Press a button (its trigger is sent for this one run only)."""
        w = which if isinstance(which, Widget) else self.widget(which, kind="button")
        trig = BackMsg().rerun_script.widget_states.widgets.add()
        trig.id = w.id
        trig.trigger_value = True
        return await self._run(timeout, extra=[trig])

    # ------------------------------------------------------------ reading the page
    def texts(self) -> list[str]:
        """Every piece of text currently on screen (markdown, captions, metrics, alerts...)."""
        out = []
        for path in sorted(self.elements):
            el = self.elements[path]
            if el is None:
                continue
            kind = el.WhichOneof("type")
            if kind in TEXT_FIELDS:
                out.append(getattr(getattr(el, kind), TEXT_FIELDS[kind]))
            elif kind == "metric":
                out.append(f"{el.metric.label}: {el.metric.body} {el.metric.delta}".strip())
            elif kind == "progress":
                out.append(el.progress.text)
        return out

    def metrics(self) -> dict[str, str]:
        """``st.metric`` values on screen, by label."""
        out = {}
        for path in sorted(self.elements):
            el = self.elements[path]
            if el is not None and el.WhichOneof("type") == "metric":
                out[el.metric.label] = el.metric.body
        return out

    def find_text(self, pattern: str) -> list[re.Match]:
        rx = re.compile(pattern)
        return [m for t in self.texts() for m in rx.finditer(t)]


def _state(w: Widget, value):
    """Encode a Python value the way the browser encodes it for this widget kind."""
    ws = BackMsg().rerun_script.widget_states.widgets.add()
    ws.id = w.id
    k = w.kind
    if k == "slider":
        if w.proto.type == w.proto.SELECT_SLIDER or len(w.proto.options):
            vals = value if isinstance(value, (list, tuple)) else [value]
            ws.string_array_value.data.extend(str(v) for v in vals)
        else:
            vals = value if isinstance(value, (list, tuple)) else [value]
            ws.double_array_value.data.extend(float(v) for v in vals)
    elif k in ("checkbox",):
        ws.bool_value = bool(value)
    elif k == "number_input":
        ws.double_value = float(value)
    elif k in ("selectbox", "radio", "text_input", "text_area", "color_picker"):
        ws.string_value = str(value)
    elif k in ("multiselect", "button_group"):
        vals = value if isinstance(value, (list, tuple)) else [value]
        ws.string_array_value.data.extend(str(v) for v in vals)
    else:
        raise ClientError(f"setting a {k} widget is not supported")
    return ws


def options(w: Widget) -> list[str]:
    """The option labels of a selectbox/radio/select_slider/multiselect."""
    if w.kind == "button_group":
        return [o.content for o in w.proto.options]
    return list(getattr(w.proto, "options", []))


def shown_value(w: Widget):
    """The value the page shows for ``w`` when this client never changed it."""
    p = w.proto
    opts = options(w)
    if w.kind == "slider":
        if p.set_value and len(p.raw_value):  # value set through session_state (select_slider: labels)
            vals = list(p.raw_value) if opts else [float(v) for v in p.raw_value]
        elif p.set_value and len(p.value):
            vals = list(p.value)
        else:
            vals = list(p.default)
        if opts:
            vals = [opts[int(v)] if not isinstance(v, str) and 0 <= int(v) < len(opts) else v for v in vals]
        return vals[0] if len(vals) == 1 else vals
    if w.kind in ("selectbox", "radio"):
        if p.HasField("raw_value"):
            return p.raw_value
        return opts[p.default] if p.HasField("default") and 0 <= p.default < len(opts) else None
    if w.kind == "checkbox":
        return p.value if p.set_value else p.default
    if w.kind == "number_input":
        return p.value if p.set_value and p.HasField("value") else (p.default if p.HasField("default") else p.min)
    if w.kind in ("text_input", "text_area"):
        return p.value if p.HasField("value") else (p.default if p.HasField("default") else "")
    return None


def other_value(w: Widget, current=None, step: int = 1):
    """A different valid value for ``w`` (cycling through its range), as a student would pick."""
    p = w.proto
    cur = shown_value(w) if current is None else current
    opts = options(w)
    if opts:
        i = opts.index(cur) if cur in opts else 0
        return opts[(i + step) % len(opts)]
    if w.kind == "slider":
        cur = cur[0] if isinstance(cur, list) else cur
        span = p.max - p.min
        if span <= 0:
            return cur
        st = p.step or (1 if p.data_type == p.INT else span / 100)
        n = int(round(span / st))
        k = int(round(((cur if cur is not None else p.min) - p.min) / st))
        k = (k + step * max(1, n // 7)) % (n + 1)
        v = p.min + k * st
        return int(round(v)) if p.data_type == p.INT else v
    if w.kind == "checkbox":
        return not cur
    if w.kind == "number_input":
        v = (cur or 0) + (p.step or 1)
        return p.min if p.has_max and v > p.max else v
    raise ClientError(f"don't know how to change a {w.kind}")
