"""The one live panel: how every page shows a model that trains in the background.

``live_panel(render)`` runs ``render(polling)`` inside a single polling fragment
that ticks every ``POLL_SECONDS`` while the session's runner is training and stops
ticking when it is not (a browser-side timer; see NOTES). ``status_line`` is the
one wording for a run's state, the queue position included, so students read the
same sentence on every page.
"""

from __future__ import annotations

import streamlit as st

from ..live import SLOTS
from . import session

POLL_SECONDS = 1.5


def polling(runner=None) -> bool:
    runner = session.get_runner() if runner is None else runner
    return runner is not None and bool(runner.active)


def live_panel(render, *, runner=None) -> None:
    """Show ``render(polling: bool)`` in the page's one polling fragment."""
    on = polling(runner)
    st.fragment(render, run_every=POLL_SECONDS if on else None)(on)


def status_text(runner, snap) -> tuple[str, str]:
    """(kind, sentence) for a run: kind is "queued", "training", "diverged", "limit",
    "message", "paused" or "idle"."""
    running, waiting = SLOTS.running(), SLOTS.waiting()
    share = f"{running} of {SLOTS.slots} CPU slots in use on this server" + (f", {waiting} waiting" if waiting else "")
    if runner.active and snap.status == "queued" and snap.queue_position:
        return "queued", (f"Waiting for a free training slot — position {snap.queue_position} in the queue "
                          f"({share}). Training starts as soon as a slot frees up.")
    if runner.active:
        return "training", (f"Training: step {snap.steps:,} ({share}; trainers take turns every few seconds "
                            "when others are waiting).")
    if snap.status == "diverged":
        return "diverged", snap.divergence or "Training diverged."
    if snap.status == "finished" or (snap.max_steps is not None and snap.steps >= snap.max_steps):
        return "limit", f"Reached the step limit ({snap.max_steps or snap.steps:,} steps). Raise it and press Train to go on."
    if snap.message:
        return "message", snap.message + ("" if "Train" in snap.message else " Press Train to continue.")
    if snap.steps > 0:
        return "paused", f"Paused at step {snap.steps:,}. Press Train to continue."
    return "idle", "Not trained yet. Press Train to start."


def status_line(runner, snap) -> None:
    """Show the run's state in the one wording (diverged runs explain themselves elsewhere)."""
    kind, text = status_text(runner, snap)
    if kind == "queued":
        st.info(text, icon=":material/hourglass_top:")
    elif kind == "training":
        st.caption(f":material/autorenew: {text}")
    elif kind in ("limit", "message"):
        st.info(text, icon=":material/flag:" if kind == "limit" else ":material/info:")
    elif kind in ("paused", "idle"):
        st.caption(f":material/pause_circle: {text}")
