"""Housekeeping for the web server process: GIL switch interval, memory, imports.

* GIL switch interval (``SWITCH_INTERVAL``, 0.1 ms): each torch op releases the GIL
  and must take it back, and while another thread runs pure Python (a page script
  building a figure) every take-back waits up to the interval. Measured here beside
  one busy Python thread: sampling 300 characters from a 2x256 LSTM took 25 s at the
  default 5 ms, 2.3 s at 1 ms and 0.37 s at 0.1 ms (0.04 s alone). Training runs in
  worker processes for the same reason (``rnnviz.worker``).
* Memory: Streamlit's default full ``gc.collect(2)`` after *every* script run held
  the GIL for 13 % of a 30-student load test, so ``.streamlit/config.toml`` turns it
  off. Instead one background thread collects every ``GC_EVERY`` seconds and hands
  freed heap memory back to the OS (glibc ``malloc_trim``). Streamlit runs every page
  script on a new thread, and glibc gives threads their own malloc arenas whose freed
  memory otherwise stays in the process, so the server's RSS crept upward.
* Imports (``finish_lazy_imports``): torch imports its optimiser's compiler stack on
  the first optimiser step, and that import calls ``ast.parse`` dozens of times
  (through ``inspect.signature``). CPython 3.11's ``ast.parse`` is not safe in two
  threads at once (python/cpython#106905: "AST constructor recursion depth
  mismatch"), so the server pays these imports once, before any page script runs,
  instead of in a background thread beside one.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time

SWITCH_INTERVAL = float(os.environ.get("RNNVIZ_SWITCH_INTERVAL", "1e-4"))
GC_EVERY = float(os.environ.get("RNNVIZ_GC_EVERY", "20"))
THREAD_NAME = "rnnviz-gc"

_started = threading.Lock()
_thread: threading.Thread | None = None


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): collection only
        return None


def trim() -> int:
    """One full collection, then return free heap memory to the OS; returns the
    number of unreachable objects found."""
    found = gc.collect()
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    return found


def _loop(every: float):
    while True:
        time.sleep(every)
        trim()


def finish_lazy_imports() -> None:
    """Pay the lazy imports now, before two page scripts can race for them: torch's (one
    Adam step on a one-element tensor), pandas (Streamlit imports it on first use of some
    elements, and Plotly's array validators pick up whatever ``sys.modules`` holds: a
    page building a figure while another page's first pandas import was under way saw a
    half-initialised module, "partially initialized module 'pandas' has no attribute
    'Series'") and Plotly's figure machinery."""
    import pandas  # noqa: F401
    import plotly.graph_objects as go
    import torch

    go.Figure(go.Heatmap(z=[[0.0, 1.0]], text=[["a", "b"]], hovertemplate=["%{z}"]))

    from . import train  # noqa: F401  (the trainer module and what it imports)

    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p])
    p.sum().backward()
    opt.step()


def start(every: float = GC_EVERY, switch_interval: float = SWITCH_INTERVAL) -> threading.Thread | None:
    """Once per process: set the switch interval and start the collector thread."""
    global _thread
    with _started:
        sys.setswitchinterval(switch_interval)
        if _thread is None and every > 0:
            _thread = threading.Thread(target=_loop, args=(every,), name=THREAD_NAME, daemon=True)
            _thread.start()
        return _thread
