"""Per-session objects: the session's background trainer ("live model").

The trainer itself lives in ``rnnviz.live`` and never calls Streamlit; this module
only keeps a handle to it in ``st.session_state`` and hands out private copies of
its model to the inspection pages.
"""

from __future__ import annotations

import streamlit as st

from .. import checkpoint as ckpt

RUNNER_KEY = "rnnviz_runner"


def get_runner():
    return st.session_state.get(RUNNER_KEY)


def live_checkpoint() -> ckpt.Checkpoint | None:
    """A private copy of the live model (weights as of now), or None."""
    runner = get_runner()
    if runner is None:
        return None
    return runner.checkpoint_copy()
