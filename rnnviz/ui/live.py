"""The one live panel: how every page shows a model that trains in the background.

``live_panel(render)`` runs ``render(polling)`` inside a single polling fragment
that ticks every ``POLL_SECONDS`` while the session's runner is training and stops
ticking when it is not (a browser-side timer; see NOTES). ``status_line`` is the
one wording for a run's state, the queue position included, so students read the
same sentence on every page. ``lab_panel`` is the shape every lab page shares:
this session's run of the lab when it has one, else the untrained step-0 race.
"""

from __future__ import annotations

import streamlit as st

from ..live import SLOTS
from . import page, session
from .html import md

POLL_SECONDS = 1.5


def polling(runner=None) -> bool:
    runner = session.get_runner() if runner is None else runner
    return runner is not None and bool(runner.active)


def live_panel(render, *, runner=None) -> None:
    """Show ``render(polling: bool)`` in the page's one polling fragment (each tick also
    tells the runner's watchdog that somebody is still watching)."""
    on = polling(runner)

    def tick(on):
        r = session.get_runner()
        if r is not None:
            r.touch()
        render(on)

    st.fragment(tick, run_every=POLL_SECONDS if on else None)(on)


STEP_BUTTONS = (1, 100, 1000)


def run_controls(prefix: str, make, *, kind, settings=None, what: str = "the model", owns=None):
    """The one set of training controls for a lab: Train, Pause, Step 1 / 100 / 1,000, Reset.

    ``make()`` builds a fresh trainer of class ``kind`` from the page's settings (it may
    raise ValueError with a message for the student); ``settings`` is compared with
    the running trainer's ``config`` to say when Reset is needed to apply new ones.
    ``owns(trainer)`` (default: an instance of ``kind``) says whether the session's run
    belongs to this view (e.g. the same dataset too). Returns this lab's runner, or
    None before the first press of Train.
    """
    runner = session.get_runner()
    owns = owns or (lambda tr: isinstance(tr, kind))
    mine = runner if runner is not None and owns(runner.trainer) else None
    cols = st.columns([1.2, 1.1, 1, 1, 1.1, 1.1])
    train = cols[0].button("Train", key=f"{prefix}_train", type="primary", icon=":material/play_arrow:",
                           disabled=mine is not None and mine.wants_run, width="stretch")
    pause = cols[1].button("Pause", key=f"{prefix}_pause", icon=":material/pause:",
                           disabled=mine is None or not mine.active, width="stretch")
    steps = [cols[2 + i].button(f"Step {n:,}", key=f"{prefix}_step{n}", width="stretch",
                                help=f"Train {n:,} step{'s' if n > 1 else ''}, then pause.")
             for i, n in enumerate(STEP_BUTTONS)]
    reset = cols[5].button("Reset", key=f"{prefix}_reset", icon=":material/restart_alt:",
                           disabled=mine is None, width="stretch", help=f"Forget {what} and start again.")
    if runner is not None and mine is None:
        where = ("this lab with other data or another task" if isinstance(runner.trainer, kind)
                 else "another model on another page")
        st.caption(f":material/info: Your session is training {where}; starting here stops that run "
                   "(one run per session).")
    elif mine is not None and settings is not None and getattr(mine.trainer, "config", None) != settings:
        st.caption(":material/info: The settings above differ from the ones training now: press **Reset** to "
                   "start again with them.")
    if reset and mine is not None:
        session.drop_runner()
        st.rerun()  # redraw the page (and these buttons) without the run
    if pause and mine is not None:
        mine.pause(wait=2.0)
        st.rerun()
    wanted = next((n for n, pressed in zip(STEP_BUTTONS, steps) if pressed), None)
    if train or wanted:
        if mine is None:
            try:
                mine = session.new_runner(make())
            except ValueError as e:
                st.error(md(e), icon=":material/error:")
                return None
        else:
            mine = session.revive()
        mine.max_steps = None if train else mine.steps + wanted
        mine.start()
        st.rerun()  # the buttons above were drawn for the state before the press (Pause disabled)
    return mine


def lab_controls(prefix: str, settings, kind, *, what: str, views: dict[str, str]):
    """The top of every race lab under its header: the page's settings (``settings()``,
    validated), the one set of training controls for a ``kind`` race built from them
    (``run_controls``) and the view switch (``?{prefix}_view=``). Returns (config, view),
    or None after saying why the settings cannot be used."""
    try:
        cfg = settings().validate()
    except ValueError as e:
        st.error(md(e), icon=":material/error:")
        return None
    run_controls(prefix, lambda: kind(cfg), kind=kind, settings=cfg, what=what)
    return cfg, page.view_switch(f"{prefix}_view", views)


def own_run(kind):
    """(runner, snapshot) of this session's run when it trains a ``kind`` (after showing
    its status line and any divergence message), else (None, None): the start of
    every lab's live panel."""
    runner = session.get_runner()
    if runner is None or not isinstance(runner.trainer, kind):
        return None, None
    snap = runner.snapshot()
    status_line(runner, snap)
    if snap.divergence:
        st.error(md(snap.divergence), icon=":material/error:")
    return runner, snap


def lab_panel(kind, live_view, fresh_view, *, fresh_note: str | None = None) -> None:
    """The live panel of a lab page, in its one polling fragment: ``live_view(runner,
    snap)`` when this session's run trains a ``kind`` (under its status line, see
    ``own_run``), else ``fresh_view()``, the untrained step-0 race for the page's
    settings, under the caption ``fresh_note``."""

    def panel(polling):
        runner, snap = own_run(kind)
        if runner is not None:
            live_view(runner, snap)
            return
        if fresh_note:
            st.caption(fresh_note)
        fresh_view()

    live_panel(panel)


def status_text(runner, snap) -> tuple[str, str]:
    """(kind, sentence) for a run: kind is "queued", "training", "diverged", "limit",
    "message", "paused" or "idle"."""
    in_use, waiting = SLOTS.in_use(), SLOTS.waiting()
    share = f"{in_use} of {SLOTS.slots} CPU slots in use on this server" + (f", {waiting} waiting" if waiting else "")
    if runner.active and snap.status == "queued" and snap.queue_position:
        return "queued", (f"Waiting for a free training slot — position {snap.queue_position} in the queue "
                          f"({share}). Training starts as soon as a slot frees up.")
    if runner.active:
        return "training", (f"Training: step {snap.steps:,} ({share}; trainers take turns every few seconds "
                            "when others are waiting).")
    if snap.status == "diverged":
        return "diverged", snap.divergence or "Training diverged."
    if snap.status == "finished" or (snap.max_steps is not None and snap.steps >= snap.max_steps):
        return "limit", f"Stopped at step {snap.steps:,}, as many steps as asked for. Press Train to go on."
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
