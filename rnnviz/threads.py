"""Torch thread control for the many tiny kernels of step-by-step work.

Traces, gradient profiles and the toy models run thousands of small (<= 256 x 256)
ops; with two OpenMP threads the workers mostly spin and fight the training slots
for the two cores (measured under load: a copy-task run took 145 s on two threads,
9.6 s on one). ``torch.set_num_threads`` is a per-thread setting here, so this
only affects the calling thread.

The web server also shortens the GIL switch interval (``server_switch_interval``):
each torch op releases the GIL and must take it back, and while another thread
runs pure Python (a page script building a figure) every take-back waits up to
the interval. Measured here beside one busy Python thread: sampling 300
characters from a 2x256 LSTM took 25 s at the default 5 ms, 2.3 s at 1 ms and
0.37 s at 0.1 ms (0.04 s alone). Training runs in worker processes for the same
reason (``rnnviz.worker``).
"""

from __future__ import annotations

import contextlib
import os
import sys

import torch


@contextlib.contextmanager
def one_thread():
    """Run the body on one torch thread, then restore the previous setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


SWITCH_INTERVAL = float(os.environ.get("RNNVIZ_SWITCH_INTERVAL", "1e-4"))


def server_switch_interval(seconds: float = SWITCH_INTERVAL) -> float:
    """Set the process-wide GIL switch interval for a server; returns the old one."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    return before
