"""Torch thread control for the many tiny kernels of step-by-step work.

Traces, gradient profiles and the toy models run thousands of small (<= 256 x 256)
ops; with two OpenMP threads the workers mostly spin and fight the training slots
for the two cores (measured under load: a copy-task run took 145 s on two threads,
9.6 s on one). ``torch.set_num_threads`` is a per-thread setting here, so this
only affects the calling thread.
"""

from __future__ import annotations

import contextlib

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

