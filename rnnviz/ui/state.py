"""Cached resources and the shared model picker.

Bundled models and corpora are cached once per server (``scope="global"``) and
shared by every student: treat them as read-only. Anything that trains or edits a
model must call ``checkpoint.model.copy()`` first.
"""

from __future__ import annotations

import contextlib
import threading

import streamlit as st

from .. import checkpoint as ckpt
from .. import corpora

LIVE = "live"  # key of the session's live (training) model in model pickers


@st.cache_resource(show_spinner="Loading model...")
def pretrained(name: str) -> ckpt.Checkpoint:
    """A bundled model, shared by all sessions. Never mutate it: copy first."""
    cp = ckpt.load_pretrained(name)
    for p in cp.model.parameters():
        p.requires_grad_(False)
    return cp


@st.cache_resource(show_spinner="Loading corpus...")
def corpus(name: str) -> corpora.Corpus:
    """A built-in corpus, shared by all sessions (read-only)."""
    c = corpora.load(name)
    _ = c.ids  # encode once, here, rather than in the first student's request
    return c


@st.cache_resource(show_spinner="Loading text...")
def viewable_corpus(name: str) -> corpora.Corpus:
    """What a model's validation text is read from (``corpora.viewable``: a built-in
    corpus, or a pretraining-only one's shipped held-out excerpt), shared (read-only)."""
    return corpora.viewable(name)


def pretrained_label(name: str) -> str:
    try:
        card = pretrained(name).card
    except ValueError:
        return name
    m = card.get("model", {})
    val = card.get("val_loss")
    val_s = f", val {val:.2f} nats/char" if isinstance(val, (int, float)) else ""
    return f"{name} ({m.get('layers')}x{m.get('hidden')} {str(m.get('cell', '')).upper()}{val_s})"


def live_checkpoint() -> ckpt.Checkpoint | None:
    """A private snapshot of this session's live (training) model, or None."""
    from .session import live_checkpoint as _live

    return _live()


def model_picker(label: str = "Model", *, key: str, cells=None, default: str | None = None,
                 allow_live: bool = True, help: str | None = None):
    """A selectbox over bundled models (+ the session's live model).

    Returns (choice_key, Checkpoint) or (None, None) when nothing is available.
    ``cells`` restricts to cell types, e.g. ("lstm", "gru").
    """
    options = []
    for name in ckpt.pretrained_names():
        try:
            cell = pretrained(name).model.config.cell
        except ValueError:
            continue
        if cells is None or cell in cells:
            options.append(name)
    live = live_checkpoint() if allow_live else None
    if live is not None and (cells is None or live.model.config.cell in cells):
        options = [LIVE] + options
    if not options:
        st.info("No model is available yet. Train one on the **Train & sample** page.")
        return None, None
    index = options.index(default) if default in options else 0

    def fmt(o):
        if o == LIVE:
            m = live.model.config
            return f"Your live model ({m.layers}x{m.hidden} {m.cell.upper()}, step {live.card.get('steps', 0):,})"
        return pretrained_label(o)

    choice = st.selectbox(label, options, index=index, format_func=fmt, key=key, help=help)
    return choice, (live if choice == LIVE else pretrained(choice))


_app_run = threading.local()


@contextlib.contextmanager
def through_app():
    """Marks the current script run as one that came through ``app.py`` (app.py wraps
    ``st.navigation(...).run()`` in it); ``ensure_app_navigation`` checks the mark."""
    _app_run.active = True
    try:
        yield
    finally:
        _app_run.active = False


def ensure_app_navigation():
    """Make a deep link on a freshly started server run through ``app.py``.

    Streamlit keeps a legacy mode for apps with a ``pages/`` folder: until some
    session has executed ``st.navigation``, a request for ``/cells`` runs
    ``pages/cells.py`` on its own, with an automatic file-name sidebar and without
    app.py's page config and warm-up. Every page calls this first. A run that did not
    come through app.py (``through_app``) switches the process to app.py's navigation
    and reruns, which lands on the same page (same url path, same page hash) through
    ``app.py``. The check is per run, not the process-wide flag alone: two first
    visits at once both start in legacy mode, and the second one used to see the
    flag already switched by the first and go on without app.py (its first Plotly
    figure then raced app.py's warm-up for pandas and crashed).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
    if not getattr(_app_run, "active", False):
        # Rerun at most once per session: a rerun drops pending button clicks, and
        # AppTest re-enters the legacy mode on every run.
        if not st.session_state.get("_rnnviz_nav_checked"):
            st.session_state["_rnnviz_nav_checked"] = True
            st.rerun()
