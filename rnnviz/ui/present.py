"""Presenter mode: the app as a teacher projects it (``?present=1``).

The toggle lives in the sidebar (drawn by ``app.py`` before the page runs) and is
bound to the URL, so a shared link opens in the same mode. While presenting, type
is larger everywhere (coloured text and chart labels too), the page uses the full
width, secondary controls sit in one collapsed expander (``controls()``), lesson
text starts collapsed, and a character's details are shown in a pinned panel
(``pinned``) rather than in a small hover tooltip that nobody at the back can read.
"""

from __future__ import annotations

import contextlib

import streamlit as st

PARAM = "present"
FONT_SCALE = 1.35  # chart fonts, relative to normal mode

_CSS = """<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
.rnnviz-text > div { font-size: 21px !important; line-height: 1.6 !important; }
.rnnviz-pinned { font-size: 1.25rem; }
</style>"""


def toggle() -> bool:
    """The presenter-mode switch (sidebar, URL-bound). Call once per run, in app.py."""
    return st.sidebar.toggle(
        "Presenter mode", key=PARAM, bind="query-params",
        help="Large type for a projector: the main figure full width, settings tucked into one "
             "expander, lesson text collapsed. The mode is part of the page address.")


def presenting() -> bool:
    return bool(st.session_state.get(PARAM, False))


def style() -> None:
    """Our own CSS for presenter mode (no user text in it)."""
    if presenting():
        st.html(_CSS)


@contextlib.contextmanager
def controls(label: str = "Settings"):
    """Secondary controls: a collapsed expander while presenting, in place otherwise."""
    if presenting():
        with st.expander(f":material/tune: {label}", expanded=False):
            yield
    else:
        with st.container():
            yield


def style_figure(fig):
    """Larger fonts on a Plotly figure while presenting (returns the figure)."""
    if presenting():
        size = (fig.layout.font.size or 12) * FONT_SCALE
        fig.update_layout(font=dict(size=size))
        fig.update_annotations(font_size=size)
        if fig.layout.title and fig.layout.title.text:
            fig.update_layout(title_font_size=size * 1.15)
    return fig
