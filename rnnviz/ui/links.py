"""Links a teacher can share: the address of exactly what is on screen.

Every choice that decides what a page shows is a widget bound to the URL, so the
page address already describes the view. ``share_link`` (drawn in the sidebar by
``app.py`` after the page has run, when every widget has written its value) shows
that address in a code box with a copy button, without the session's private
``?run=`` token: a link shows the same view, never somebody's training run.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from .session import RUN_PARAM


def view_url(base: str, params: dict) -> str:
    """``base`` (any URL of the page) with ``params`` as its query, the run token dropped."""
    parts = urlsplit(base)
    query = []
    for k, v in params.items():
        if k == RUN_PARAM:
            continue
        for item in (v if isinstance(v, (list, tuple)) else [v]):
            query.append((k, str(item)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def current_params() -> dict:
    qp = st.query_params
    return {k: (qp.get_all(k) if len(qp.get_all(k)) > 1 else qp.get(k)) for k in qp.keys()}


def page_url(url_path: str) -> str:
    """The absolute address of a page of this app (``url_path`` as in ``st.Page.url_path``)."""
    parts = urlsplit(st.context.url or "http://localhost:8501/")
    return urlunsplit((parts.scheme, parts.netloc, "/" + url_path.lstrip("/"), "", ""))


def share_link(url_path: str) -> str:
    """The sidebar's "copy link to this view" box for the page at ``url_path``; returns the link."""
    url = view_url(page_url(url_path), current_params())
    with st.sidebar.popover("Share this view", icon=":material/link:", width="stretch"):
        st.caption("Anyone who opens this address sees this page with the same settings "
                   "(your own training run is not part of it). Copy it with the icon on the right.")
        st.code(url, language=None, wrap_lines=True)
    return url
