"""Where strings, comments and quotes are in a text: ``lex(text, language)``.

Python strings and comments come from ``tokenize`` (excerpts that do not tokenize
fall back to a small lexer), C/C++ from a small lexer that knows ``//``, ``/* */``
and escaped string/char literals, prose from quote rules that tell apostrophes
('Tis, don't, the students' books) from single quotes.
"""

from __future__ import annotations

import bisect
import functools
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np

from .languages import _check_language


@dataclass
class Lexed:
    """Where strings and comments are. ``spans`` are (kind, start, end, quote, closed)."""

    text: str
    spans: list = field(default_factory=list)

    def mask(self, kind: str, quote: str | None = None) -> np.ndarray:
        """1 where, after reading the character, we are inside such a span."""
        m = np.zeros(len(self.text), dtype=np.float32)
        for k, s, e, q, closed in self.spans:
            if k != kind or (quote is not None and q not in quote):
                continue
            # A closed string/block comment is left once its closing delimiter is read
            # (all three quotes of a triple-quoted string); a line comment ends at the
            # newline (not part of the span).
            end = e
            if closed and k == "string":
                end = e - (3 if _triple(self.text, s, e) else 1)
            elif closed and e > s + 1 and self.text[e - 2 : e] == "*/":
                end = e - 1
            m[s:max(s, end)] = 1.0
        return m

    def code(self) -> np.ndarray:
        """True on characters that are code (not inside any string or comment)."""
        m = np.ones(len(self.text), dtype=bool)
        for _, s, e, _, _ in self.spans:
            m[s:e] = False
        return m


def _triple(text, s, e):
    """Is the closed string text[s:e] (from its first quote) triple-quoted?"""
    q = text[s : s + 1]
    return e - s >= 6 and q in ("'", '"') and text[s : s + 3] == q * 3 and text[e - 3 : e] == q * 3


def _line_starts(lines):
    starts, pos = [], 0
    for ln in lines:
        starts.append(pos)
        pos += len(ln)
    return starts


def _lex_python_tokenize(text: str) -> Lexed | None:
    """Strings and comments via ``tokenize``; None when the fragment defeats it.

    Leading whitespace is stripped from every line before tokenizing (positions are
    mapped back), so excerpts that start or end inside an indented block cannot
    raise IndentationError; it never moves a string or comment boundary.
    """
    lines = text.split("\n")
    lines = [ln + "\n" for ln in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    shift = [len(ln) - len(ln.lstrip(" \t\f")) for ln in lines]
    starts = _line_starts(lines)
    stripped = iter([ln[k:] for ln, k in zip(lines, shift)])

    def off(pos):
        row, col = pos
        if row - 1 >= len(lines):
            return len(text)
        return min(len(text), starts[row - 1] + shift[row - 1] + col)

    def line_end(p):
        j = text.find("\n", p)
        return len(text) if j < 0 else j

    spans = []
    fstart = []
    try:
        for tok in tokenize.generate_tokens(lambda: next(stripped, "")):
            name = tokenize.tok_name.get(tok.type, "")
            if tok.type == tokenize.STRING:
                s, e = off(tok.start), off(tok.end)
                q = _first_quote(text, s, e)
                if q is not None:
                    spans.append(("string", q, e, text[q], True))
            elif name == "FSTRING_START":  # Python >= 3.12
                fstart.append(off(tok.start))
            elif name == "FSTRING_END" and fstart:
                s, e = fstart.pop(), off(tok.end)
                q = _first_quote(text, s, e)
                if q is not None:
                    spans.append(("string", q, e, text[q], True))
            elif tok.type == tokenize.COMMENT:
                spans.append(("comment", off(tok.start), off(tok.end), None, False))
            elif tok.type == tokenize.ERRORTOKEN and tok.string[:1] in ("'", '"'):
                s = off(tok.start)  # an unterminated single-line string
                spans.append(("string", s, line_end(s), tok.string[0], False))
    except tokenize.TokenError as err:
        msg = str(err.args[0]) if err.args else ""
        if "string" in msg and len(err.args) > 1:  # EOF inside a triple-quoted string
            s = off(err.args[1])
            q = _first_quote(text, s, len(text))
            if q is None:
                return None
            spans.append(("string", q, len(text), text[q], False))
        elif "statement" not in msg:  # EOF inside brackets is harmless
            return None
    except (SyntaxError, ValueError):
        return None
    spans.sort(key=lambda sp: sp[1])
    return Lexed(text, spans)


def _first_quote(text, s, e):
    for j in range(s, min(e, s + 4)):  # prefixes are at most two letters (rb, f, ...)
        if text[j] in "'\"":
            return j
    return None


def _lex_python_small(text: str) -> Lexed:
    """A small Python lexer for fragments: # comments, (triple-)quoted strings, escapes."""
    n, i, spans = len(text), 0, []
    while i < n:
        ch = text[i]
        if ch == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            spans.append(("comment", i, j, None, False))
            i = j
        elif ch in "'\"":
            delim = ch * 3 if text.startswith(ch * 3, i) else ch
            j, closed = i + len(delim), False
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if text.startswith(delim, j):
                    j += len(delim)
                    closed = True
                    break
                if len(delim) == 1 and c == "\n":
                    break
                j += 1
            spans.append(("string", i, min(j, n), ch, closed))
            i = max(j, i + 1)
        else:
            i += 1
    return Lexed(text, spans)


def _lex_c(text: str) -> Lexed:
    """A small C/C++ lexer: // and /* */ comments, "strings", 'c'haracters, R"(raw)"."""
    n, i, spans = len(text), 0, []
    while i < n:
        ch = text[i]
        if ch == "/" and text.startswith("//", i):
            j = i
            while True:  # a backslash at the end of the line continues the comment
                j = text.find("\n", j)
                if j < 0:
                    j = n
                    break
                if j > 0 and text[j - 1] == "\\":
                    j += 1
                    continue
                break
            spans.append(("comment", i, j, None, False))
            i = j
        elif ch == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            end, closed = (n, False) if j < 0 else (j + 2, True)
            spans.append(("comment", i, end, None, closed))
            i = end
        elif ch == '"' and i > 0 and text[i - 1] == "R" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_")
                                                           or text[i - 2 : i] in ("uR", "UR", "LR", "8R")):
            m = re.match(r'"([^()\\\s]{0,16})\(', text[i : i + 20])
            if m:
                close = ")" + m.group(1) + '"'
                j = text.find(close, i + m.end())
                end, closed = (n, False) if j < 0 else (j + len(close), True)
                spans.append(("string", i, end, '"', closed))
                i = end
                continue
            i = _c_quoted(text, i, spans)
        elif ch == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum() \
                and _digit_separator(text, i):
            i += 1  # C++14 digit separator: 1'000'000
        elif ch in "'\"":
            i = _c_quoted(text, i, spans)
        else:
            i += 1
    return Lexed(text, spans)


def _digit_separator(text, i):
    j = i - 1
    while j >= 0 and (text[j].isalnum() or text[j] in "'."):
        j -= 1
    return text[j + 1 : j + 2].isdigit()


def _c_quoted(text, i, spans):
    n, q, j, closed = len(text), text[i], i + 1, False
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == q:
            j += 1
            closed = True
            break
        if c == "\n":
            break
        j += 1
    spans.append(("string", i, min(j, n), q, closed))
    return max(min(j, n), i + 1)


# Words that drop letters at their start ('Tis = it is) or end (th' = the): the
# apostrophe there is not a quotation mark. Single letters only in lower case, so
# that 'A horse!' still opens a quote.
ELIDED_START = frozenset(("tis", "twas", "twere", "twill", "twould", "twixt", "tween", "twon", "em", "gainst",
                          "mongst", "midst", "neath", "fore", "bout", "cause", "cos", "til", "tother", "sfoot",
                          "sblood", "sdeath", "swounds"))
ELIDED_START_LOWER = frozenset(("a", "s", "t", "d", "n"))
ELIDED_END = frozenset(("th", "o", "i", "t", "an", "ne", "e", "wi", "gi", "ha"))
_WORD = re.compile(r"\w+")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


def _apostrophes(text: str) -> dict:
    """Single-quote characters of prose, classified: "apos" (never a quote), "open"
    (can only open), "close" (can only close) or "possessive" (s' : closes only when
    no other closing quote follows in the paragraph)."""
    out, n = {}, len(text)
    for i, ch in enumerate(text):
        if ch not in "'\u2018\u2019":
            continue
        prev_w = i > 0 and text[i - 1].isalnum()
        next_w = i + 1 < n and text[i + 1].isalnum()
        if prev_w and next_w:
            kind = "apos"  # don't, o'er, o'clock
        elif next_w:
            word = _WORD.match(text, i + 1).group(0)
            if word.lower() in ELIDED_START or word in ELIDED_START_LOWER or word[:2].isdigit():
                kind = "apos"  # 'Tis, 'twixt, 'em, 's, '90s
            else:
                kind = "open"
        elif prev_w:
            j = i
            while j > 0 and text[j - 1].isalnum():
                j -= 1
            word = text[j:i]
            if word.lower() in ELIDED_END or word == "n" and j > 0 and text[j - 1] in "'\u2018\u2019":
                kind = "apos"  # th', o', rock 'n' roll
            elif len(word) > 1 and word[-1] in "sS":
                kind = "possessive"  # the students' books (or the end of a quote)
            else:
                kind = "close"
        else:
            kind = "close"  # after punctuation: 'Excellent!'
        if ch == "\u2018" and kind != "apos":
            kind = "open"
        elif ch == "\u2019" and kind == "open":
            kind = "apos"  # a right quote never opens
        out[i] = kind
    return out


def _lex_text(text: str) -> Lexed:
    """Quotes in prose: straight quotes toggle, curly ones open/close; a blank line
    (new paragraph) closes anything left open. Apostrophes (inside words, elisions,
    possessives) are told apart from single quotes by ``_apostrophes``."""
    n, spans = len(text), []
    open_at = {'"': None, "'": None}
    para = [m.start() for m in _PARAGRAPH.finditer(text)]  # paragraph breaks
    para_set = set(para)
    apos = _apostrophes(text)
    closers = sorted(i for i, kd in apos.items() if kd in ("close", "possessive"))

    def close(q, j, closed):
        if open_at[q] is not None:
            spans.append(("string", open_at[q], j, q, closed))
            open_at[q] = None

    for i, ch in enumerate(text):
        if i in para_set:
            close('"', i, False)
            close("'", i, False)
        elif ch in '"\u201c\u201d':
            if open_at['"'] is None and ch != "\u201d":
                open_at['"'] = i
            elif open_at['"'] is not None and ch != "\u201c":
                close('"', i + 1, True)
        elif i in apos:
            kind = apos[i]
            if kind == "open" and open_at["'"] is None:
                open_at["'"] = i
            elif kind in ("close", "possessive") and open_at["'"] is not None:
                if kind == "possessive":
                    b = bisect.bisect_left(para, i)
                    brk = para[b] if b < len(para) else n
                    c = bisect.bisect_right(closers, i)
                    if c < len(closers) and closers[c] < brk:
                        continue  # a later quote closes this one: s' is a possessive
                close("'", i + 1, True)
    close('"', n, False)
    close("'", n, False)
    spans.sort(key=lambda sp: sp[1])
    return Lexed(text, spans)


@functools.lru_cache(maxsize=16)
def lex(text: str, language: str) -> Lexed:
    """Strings and comments of ``text`` (cached: several features share it)."""
    _check_language(language)
    if language == "python":
        return _lex_python_tokenize(text) or _lex_python_small(text)
    if language == "c":
        return _lex_c(text)
    return _lex_text(text)
