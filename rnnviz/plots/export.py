"""Exports for figures and coloured-text views: a figure's data as CSV, and an
escaped HTML fragment as a standalone page.

``figure_csv`` reads the traces of any Plotly figure the app builds (lines, bars,
scatter points, heatmaps), so every chart gets a data download without per-chart
code: one long table with a ``trace`` column, ``x``/``y`` (and ``z``, ``text`` or
``customdata`` when present). Heatmaps become one row per cell. ``standalone_html``
wraps a fragment built by ``rnnviz.ui.html`` (already escaped character by
character) in a complete UTF-8 document; only the title is escaped here.
"""

from __future__ import annotations

import csv
import html
import io

import numpy as np

_COLUMNS = ("trace", "x", "y", "z", "text")


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else repr(float(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


_KEYS = ("type", "name", "x", "y", "z", "text")


def figure_data(fig) -> list[dict]:
    """Just what ``figure_csv`` reads from a figure: per trace its type, name and x / y /
    z / text arrays (the figure's own arrays, not copies). A chart's deferred download
    keeps this, not the figure (measured for a 120 x 256 heatmap: 0.18 MB against 0.47 MB)."""
    return [{k: getattr(tr, k, None) for k in _KEYS} for tr in fig.data]


def figure_rows(fig) -> list[dict]:
    """One dict per data point of every trace (heatmaps: one per cell), of a figure or of
    its ``figure_data``."""
    rows: list[dict] = []
    for i, tr in enumerate(fig if isinstance(fig, list) else figure_data(fig)):
        kind = tr.get("type") or "scatter"
        name = tr.get("name") or f"{kind} {i + 1}"
        z, x, y = (tr.get(k) for k in ("z", "x", "y"))
        if kind == "heatmap" and z is not None:
            Z = np.asarray(z, dtype=float)
            if Z.ndim != 2:
                continue
            xs = list(x) if x is not None else list(range(Z.shape[1]))
            ys = list(y) if y is not None else list(range(Z.shape[0]))
            for r in range(Z.shape[0]):
                for c in range(Z.shape[1]):
                    rows.append({"trace": name, "x": xs[c] if c < len(xs) else c,
                                 "y": ys[r] if r < len(ys) else r, "z": Z[r, c]})
            continue
        xs = list(x) if x is not None else None
        ys = list(y) if y is not None else None
        n = max(len(xs or ()), len(ys or ()))
        if n == 0:
            continue
        text = tr.get("text")
        texts = list(text) if text is not None and not isinstance(text, str) else None
        for k in range(n):
            rows.append({
                "trace": name,
                "x": xs[k] if xs is not None and k < len(xs) else (k if xs is None else None),
                "y": ys[k] if ys is not None and k < len(ys) else None,
                "text": texts[k] if texts is not None and k < len(texts) else None,
            })
    return rows


def figure_csv(fig) -> str:
    """The data of a figure (or of its ``figure_data``) as CSV text (columns: trace, x, y, z, text; empty columns dropped)."""
    rows = figure_rows(fig)
    used = [c for c in _COLUMNS if any(r.get(c) is not None for r in rows)] or ["trace"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(used)
    for r in rows:
        w.writerow([_csv_safe(_cell(r.get(c))) for c in used])
    return out.getvalue()


def _csv_safe(s: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula; data labels here
    # can be user text (characters, words), so quote such cells as text.
    if s and s[0] in "=+-@\t\r" and not _is_number(s):
        return "'" + s
    return s


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def standalone_html(fragment: str, title: str) -> str:
    """A complete HTML document around an already-escaped fragment."""
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}</style>"
        f"</head><body>\n<h1 style=\"font-size:1.3rem\">{html.escape(title)}</h1>\n{fragment}\n</body></html>\n"
    )
