"""Per-character HTML renderers. Every character is escaped, always.

User text and model samples can contain anything (``<script>``, ``<style>``,
quotes...). Each character goes through ``html.escape(quote=True)`` on its own;
colours and tooltips are built only from our own numbers, and tooltip text is
escaped as well. The result is shown with ``st.html`` (DOMPurify-sanitised), never
with ``unsafe_allow_html``.

``md`` is the one escaper for text we did not write (file names, checkpoint card
fields, error messages that quote user text) on its way into a Markdown sink:
``st.markdown``, captions, alerts, ``st.table`` cells, widget and metric labels.
"""

from __future__ import annotations

import html as _html
import math
import re
import string

import numpy as np

NEWLINE_GLYPH = "\u21b5"  # ↵ shown before a line break so newlines can be coloured
TAB_GLYPH = "\u2192"

BOX_STYLE = (
    "font-family: 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace; "
    "font-size: 14px; line-height: 1.55; white-space: pre-wrap; word-break: break-all; "
    "padding: 10px 12px; border-radius: 8px; border: 1px solid rgba(128,128,128,0.35); "
    "background: #ffffff; color: #111111; max-height: {max_height}px; overflow-y: auto;"
)


WORD_JOINER = "\u2060"  # invisible; breaks GFM autolinks, which survive backslash escapes
_MD_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MD_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)")
# Characters that make markup anywhere in a line (an ``_`` between two letters or
# digits cannot, so "names_gru" stays as it is); plus what starts a block at the
# beginning: a list number "1." / "1)" or any leading punctuation (# > - + = ...).
_MD_INLINE = re.compile(r"[\\`*\[\]<>&$~:|]|(?<![^\W_])_|_(?![^\W_])")
_MD_START = re.compile(r"^(\s*\d*)([%s])" % re.escape(string.punctuation))


def md(text) -> str:
    """Text we did not write, shown literally by any Markdown sink, on one line.

    Every character that can start markup is backslash-escaped, which stops links,
    images, emphasis, code, HTML tags, entities, ``$...$`` (KaTeX), strike-through,
    Streamlit's ``:color[...]`` directives and ``:emoji:`` / ``:material/...:``
    shortcodes; harmless punctuation (``.``, ``/``, ``_`` inside a word...) stays
    as it is, so the text still reads and searches normally. GitHub-style
    autolinks (``http://``, ``www.``, e-mail addresses) are found in the
    already-unescaped text, so an invisible word joiner is put into them. Line
    breaks and control characters become spaces, and a leading "1." or "#" is
    escaped, so no heading, list or code block can start.
    """
    s = _MD_AUTOLINK.sub(WORD_JOINER, _MD_BREAKS.sub(" ", str(text)))
    s = _MD_INLINE.sub(lambda m: "\\" + m.group(0), s)
    if s.lstrip().startswith("\\"):
        return s
    return _MD_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s, count=1)


def esc(ch: str) -> str:
    """Escape one character (or a short string) for HTML text and attributes."""
    return _html.escape(ch, quote=True)


def _visible(ch: str) -> str:
    if ch == "\n":
        return f'<span style="opacity:0.45">{NEWLINE_GLYPH}</span>\n'
    if ch == "\t":
        return TAB_GLYPH + "   "
    if ch == " ":
        return " "
    if ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0:
        return esc(f"\\x{ord(ch):02x}")
    return esc(ch)


def _finite(v: float, default: float = 0.0) -> float:
    return float(v) if v is not None and math.isfinite(float(v)) else default


def diverging_rgb(v: float, vmin: float = -1.0, vmax: float = 1.0) -> tuple[int, int, int]:
    """-1 red ... 0 white ... +1 blue (the colour convention of Karpathy et al. 2015)."""
    v = _finite(v)
    span = max(abs(vmin), abs(vmax), 1e-9)
    x = max(-1.0, min(1.0, v / span))
    if x >= 0:  # white -> blue
        return (int(255 - 200 * x), int(255 - 150 * x), 255)
    x = -x  # white -> red
    return (255, int(255 - 190 * x), int(255 - 190 * x))


def prob_rgb(p: float) -> tuple[int, int, int]:
    """Probability 0 -> red, 0.5 -> yellow-ish, 1 -> green (how sure the model was)."""
    p = max(0.0, min(1.0, _finite(p)))
    if p < 0.5:
        t = p / 0.5
        return (255, int(120 + 110 * t), int(120 - 20 * t))
    t = (p - 0.5) / 0.5
    return (int(255 - 130 * t), int(230 - 10 * t), int(100 + 40 * t))


def char_spans(chars, colors=None, titles=None, *, max_height: int = 420, bold=None, caption: str | None = None) -> str:
    """Build a monospace block: one ``<span>`` per character.

    ``colors`` are (r, g, b) tuples (our numbers only); ``titles`` are hover texts
    (escaped here). Newlines are shown as a faint ↵ followed by a real line break.
    """
    parts = []
    for k, ch in enumerate(chars):
        style = ""
        if colors is not None and colors[k] is not None:
            r, g, b = (int(max(0, min(255, c))) for c in colors[k])
            style = f"background-color: rgb({r},{g},{b});"
        if bold is not None and bold[k]:
            style += "font-weight: 700; text-decoration: underline;"
        title = f' title="{esc(titles[k])}"' if titles is not None and titles[k] else ""
        st = f' style="{style}"' if style else ""
        parts.append(f"<span{st}{title}>{_visible(ch)}</span>")
    cap = f'<div style="font-size:12px;color:#555;margin-bottom:4px">{esc(caption)}</div>' if caption else ""
    return (
        f'<div class="rnnviz-text">{cap}<div style="{BOX_STYLE.format(max_height=max_height)}">'
        + "".join(parts)
        + "</div></div>"
    )


def describe_char(ch: str) -> str:
    if ch == "\n":
        return "newline"
    if ch == " ":
        return "space"
    if ch == "\t":
        return "tab"
    return repr(ch)


def heat_text(text: str, values, *, vmin: float = -1.0, vmax: float = 1.0, label: str = "value",
              max_height: int = 420, caption: str | None = None) -> str:
    """Colour each character by one value (e.g. a cell's activation)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(text):
        raise ValueError("heat_text needs one value per character.")
    colors = [diverging_rgb(v, vmin, vmax) for v in values]
    titles = [f"{describe_char(ch)}  {label} = {_finite(v):+.3f}" for ch, v in zip(text, values)]
    return char_spans(list(text), colors, titles, max_height=max_height, caption=caption)


def prob_text(text: str, probs, top=None, *, prime: str = "", max_height: int = 420, caption: str | None = None) -> str:
    """Colour sampled characters by the probability they were drawn with.

    ``top`` (per character, a list of (char, prob)) becomes the hover text, so a
    student can see which alternatives the model considered. The prime is shown
    uncoloured in bold.
    """
    chars = list(prime) + list(text)
    colors = [None] * len(prime)
    titles = ["prime text (given, not sampled)"] * len(prime)
    bold = [True] * len(prime) + [False] * len(text)
    for k, ch in enumerate(text):
        p = float(probs[k])
        colors.append(prob_rgb(p))
        tip = f"{describe_char(ch)}  p = {p:.3f}"
        if top is not None and k < len(top):
            alts = ", ".join(f"{describe_char(c)} {q:.2f}" for c, q in top[k])
            tip += f"\ntop 5: {alts}"
        titles.append(tip)
    return char_spans(chars, colors, titles, max_height=max_height, bold=bold, caption=caption)


def legend(kind: str = "diverging", label: str = "", ends: tuple[str, str] | None = None) -> str:
    """A small colour legend bar (static HTML from our own numbers).

    ``kind`` "diverging" (-1 red ... +1 blue), "prob", or "gate" (0 white ... 1
    blue: ``heat_text(..., vmin=0, vmax=1)``); ``ends`` overrides the end labels.
    """
    if kind == "prob":
        stops = [(p, prob_rgb(p)) for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
        default_ends = ("p = 0 (surprised)", "p = 1 (certain)")
    elif kind == "gate":
        stops = [(v, diverging_rgb(v, 0.0, 1.0)) for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
        default_ends = ("0 (closed)", "1 (open)")
    else:
        stops = [(v, diverging_rgb(v)) for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        default_ends = ("-1", "+1")
    ends = ends or default_ends
    grad = ", ".join(f"rgb{c}" for _, c in stops)
    return (
        '<div style="display:flex;align-items:center;gap:8px;font-size:12px;color:#444;">'
        f"<span>{esc(ends[0])}</span>"
        f'<div style="width:180px;height:12px;border-radius:3px;border:1px solid #ccc;'
        f'background:linear-gradient(to right, {grad});"></div>'
        f"<span>{esc(ends[1])}</span><span style='margin-left:8px'>{esc(label)}</span></div>"
    )
