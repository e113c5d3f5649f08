"""The one way pages show a figure or a coloured-text view, with its exports.

``chart`` shows a Plotly figure with the modebar's PNG export switched on (named
after the chart) and a CSV download of the figure's data under it
(``rnnviz.plots.export.figure_csv``); in presenter mode the fonts grow. It sends
non-numeric arrays as lists (``plain_arrays``: an orjson leak).
``html_view`` shows an escaped fragment from ``rnnviz.ui.html`` with ``st.html``
and offers it as a standalone HTML file; with per-character ``details`` a pinned
panel shows one character's values in large type while presenting.
"""

from __future__ import annotations

import re

import numpy as np
import streamlit as st

from ..plots import export
from . import present
from .html import esc


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "chart"


def chart_config(name: str) -> dict:
    return {
        "displaylogo": False,
        "displayModeBar": True,
        "toImageButtonOptions": {"format": "png", "filename": _slug(name), "scale": 2},
    }


NUMERIC_KINDS = "biuf"  # NumPy dtype kinds that Plotly sends as typed (base64) arrays


def plain_arrays(fig):
    """Turn every non-numeric NumPy array in ``fig`` (object or string dtype: hover labels,
    tick texts) into a list, in place.

    Plotly serialises a figure with orjson when it is installed. orjson refuses such an
    array, Plotly falls back to the standard encoder, and some orjson releases (3.8.3,
    found on our machines) leak a reference to the refused array. The array is never
    freed: on the gates page that was one 256 x 120 hover array per heatmap per page run,
    the server's memory creep under a class (docs/LOADTEST.md). Lists serialise without
    the detour, with any orjson.
    """
    def walk(props, path):
        for k, v in list(props.items()):
            if isinstance(v, np.ndarray) and v.dtype.kind not in NUMERIC_KINDS:
                yield path + (k,), v.tolist()
            elif isinstance(v, dict):
                yield from walk(v, path + (k,))

    for obj in (*fig.data, fig.layout):
        props = getattr(obj, "_props", None)  # Plotly's own property dict (no copy)
        if props is None:
            props = obj.to_plotly_json()
        for path, value in list(walk(props, ())):
            key = ".".join(path)
            obj[key] = None  # Plotly skips an assignment that compares equal to the old value
            obj[key] = value
    return fig


MODEBAR_PX = 36  # the height of Plotly's toolbar, drawn over the top-right corner of the figure


def room_for_modebar(fig, scale: float = 1.0):
    """Grow the top margin so the toolbar (now always on: PNG export) sits above the plot,
    its subplot titles, a legend placed above the plot and the title, never on them."""
    notes = any(getattr(a, "yref", None) == "paper" and (a.y or 0) >= 0.98 for a in fig.layout.annotations or ())
    legend = fig.layout.legend
    legend_above = bool(legend and legend.orientation == "h" and (legend.y or 0) >= 1)
    title = bool(fig.layout.title and fig.layout.title.text)
    need = MODEBAR_PX + scale * (22 * notes + 26 * legend_above + 30 * title)
    top = fig.layout.margin.t
    if top is not None and top < need:
        fig.update_layout(margin_t=int(round(need)))
    return fig


def chart(fig, *, key: str, name: str, csv: bool = True, **kwargs):
    """``st.plotly_chart`` with presenter styling, PNG export and a CSV download."""
    present.style_figure(fig)
    plain_arrays(fig)
    room_for_modebar(fig, present.FONT_SCALE if present.presenting() else 1.0)
    kwargs.setdefault("config", chart_config(name))
    out = st.plotly_chart(fig, key=key, **kwargs)
    if csv:
        data = export.figure_data(fig)  # the arrays only, not the figure (or a caller's later edits)
        st.download_button(
            # Deferred: the table is written when the button is pressed, not on every run.
            # (A gates heatmap's CSV is 4 MB and took over a second; built eagerly, every
            # inspecting session rebuilt and stored it on every rerun.)
            "CSV", lambda: export.figure_csv(data), file_name=f"{_slug(name)}.csv", mime="text/csv",
            key=f"{key}__csv", icon=":material/download:", type="tertiary", on_click="ignore",
            help="The numbers behind this chart, as a table (PNG: the camera icon above the chart).")
    return out


def html_view(fragment: str, *, name: str, title: str, key: str | None = None, details=None,
              chars=None) -> None:
    """Show an escaped HTML fragment and offer it as a standalone HTML file.

    ``details`` (one string per character, e.g. the hover texts) and ``chars`` turn on
    the pinned panel while presenting: a position stepper and that character's details
    in large type.
    """
    st.html(fragment)
    st.download_button(
        "HTML", lambda: export.standalone_html(fragment, title), file_name=f"{_slug(name)}.html",
        mime="text/html", key=f"{key or _slug(name)}__html", icon=":material/download:", type="tertiary",
        on_click="ignore", help="This coloured text as a web page you can open offline.")
    if details is not None and chars is not None and present.presenting() and len(details):
        pinned(chars, details, key=f"{key or _slug(name)}__pin")


def pinned(chars, details, *, key: str) -> int:
    """A pinned panel: choose a character position, read its details in large type."""
    n = len(details)
    c1, c2 = st.columns([1, 3])
    k = int(c1.number_input(f"Pinned character (0 to {n - 1})", 0, n - 1, key=key, step=1))
    ch = chars[k]
    shown = {"\n": "newline", " ": "space", "\t": "tab"}.get(ch, ch)
    rows = "".join(f"<div>{esc(line)}</div>" for line in str(details[k]).splitlines())
    c2.html(f'<div class="rnnviz-pinned"><b>{esc(shown)}</b> at position {k}{rows}</div>')
    return k
