"""Hypotheses about what single cells track, and the tools that test them.

Karpathy, Johnson & Fei-Fei (2015) found LSTM cells that switch on inside quotes,
count the position in a line or follow the nesting depth of code. They found
them by eye. This module turns each such idea into a *feature*: one number per
character of a text (``1`` inside a string, the indentation depth, ...). A cell
"tracks" the idea when its activation over the text correlates with the feature.

* ``feature(key, text, language)`` - the hypotheses in ``HYPOTHESES``. Python
  strings and comments come from ``tokenize`` (excerpts that do not tokenize fall
  back to a small lexer), C/C++ from a small lexer that knows ``//``, ``/* */``
  and escaped string/char literals. Convention: the value at character t is what
  is true *after reading* t, which is all a left-to-right network can know. So an
  opening quote is already "inside" and a closing quote is already "outside".
* ``CellMatrix.rank`` - Pearson r of every (layer, signal, cell) with a feature,
  vectorised: one matrix product for all cells.
* ``linear_probe`` - ridge regression on all cells of a layer, scored on held-out
  characters with nested cross-validation (standardisation and ridge strength
  chosen inside each training fold; Cholesky solves, safe with several threads):
  the ceiling a single cell is compared with.
* ``select_cells`` / ``find_matches`` - LSTMVis-style (Strobelt et al. 2016): the
  cells that are on inside a chosen range and off around it, and other places in
  the text where the same cells switch on together.
* ``clamp_suggestion`` / ``compare_clamp`` - a clamp value that still moves h
  (saturated cells flagged), and sampling with and without it (same seed).
* User regular expressions run with RE2 (linear time), so no pattern can freeze
  a classroom server; unsupported syntax gets a message that names it.
* ``report`` / ``python -m rnnviz.probes CHECKPOINT [--text FILE] [--hypotheses ...]
  [--html OUT]`` - the finder and probes on any model and any text as JSON (the
  model cards' numbers), with an optional standalone, escaped HTML page; the text
  length is capped by the memory the trace needs.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np

LANGUAGES = ("python", "c", "text")
LANGUAGE_LABELS = {"python": "Python", "c": "C / C++", "text": "Prose"}
CORPUS_LANGUAGE = {"python": "python", "cpp": "c", "shakespeare": "text", "names": "text"}
INDENT_UNIT = 4  # spaces per indentation level; a tab advances to the next multiple
MAX_PROBE_CHARS = 200_000


# ------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Hypothesis:
    key: str
    label: str
    description: str
    languages: tuple[str, ...]
    binary: bool  # 0/1 feature (probe reports accuracy too) or a count


HYPOTHESES = {
    h.key: h
    for h in (
        Hypothesis("indent", "Indentation depth",
                   "Leading whitespace of the current line, in levels of 4 spaces (a tab is one level), "
                   "as far as it has been typed: inside the indentation it grows with each space, "
                   "from the first code character on it is the line's depth. Blank lines keep the "
                   "depth of the line before.", LANGUAGES, False),
        Hypothesis("column", "Column (position in line)",
                   "How many characters came before this one on its line (0 = first character).",
                   LANGUAGES, False),
        Hypothesis("string", "Inside a string literal",
                   "1 from the opening quote of a string up to (not including) its closing quote. "
                   "For a triple-quoted string all three opening quotes are inside and all three "
                   "closing quotes are outside.", ("python", "c"), True),
        Hypothesis("double_quote", "Inside double quotes",
                   "1 inside text opened by a double quote (\" or \u201c), until it is closed. "
                   "In prose a quote still open at a blank line (a new paragraph) ends there.",
                   LANGUAGES, True),
        Hypothesis("single_quote", "Inside single quotes",
                   "1 inside text opened by a single quote (' or \u2018), until it is closed. In prose, "
                   "apostrophes are not quotes: inside words (don't, o'er), elisions ('Tis, 'twixt, "
                   "th', rock 'n' roll) and possessives (the students' books); a quote still open "
                   "at a blank line (a new paragraph) ends there.", LANGUAGES, True),
        Hypothesis("comment", "Inside a comment",
                   "1 inside a # comment (Python) or a // or /* */ comment (C/C++).",
                   ("python", "c"), True),
        Hypothesis("bracket", "Bracket depth",
                   "How many (, [ and { are open (brackets inside strings and comments are ignored in code).",
                   LANGUAGES, False),
        Hypothesis("if_cond", "Inside an if condition",
                   "1 from the keyword if / elif up to the colon (Python) or up to the closing "
                   "parenthesis of if ( ... ) (C/C++).", ("python", "c"), True),
        Hypothesis("regex", "Your regular expression",
                   "1 on every character of every match of a regular expression you type.",
                   LANGUAGES, True),
    )
}
BENCH_KEYS = ("indent", "column", "string", "comment", "bracket", "if_cond")


def available(language: str) -> list[Hypothesis]:
    """Hypotheses that make sense for a language ("python", "c" or "text")."""
    _check_language(language)
    return [h for h in HYPOTHESES.values() if language in h.languages]


# A file's extension names its language before its text is guessed at (short files).
EXTENSION_LANGUAGE = {".py": "python", ".pyw": "python", ".c": "c", ".h": "c", ".cc": "c", ".cpp": "c",
                      ".cxx": "c", ".hpp": "c", ".hh": "c", ".txt": "text", ".md": "text"}


def language_for(corpus_name: str | None, text: str = "") -> str:
    """The language of a built-in corpus, or a guess from the text itself."""
    if corpus_name in CORPUS_LANGUAGE:
        return CORPUS_LANGUAGE[corpus_name]
    sample = text[:20_000]
    py = len(re.findall(r"^\s*(def |class |import |from \S+ import |elif |return\b)", sample, re.M))
    c = len(re.findall(r"(;\s*$|^\s*#include|\{\s*$|^\s*//)", sample, re.M))
    if py >= 3 and py >= c:
        return "python"
    if c >= 3:
        return "c"
    return "text"


def _check_language(language):
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}.")


# ------------------------------------------------------------------ lexing


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


# ------------------------------------------------------------------ features


def _line_index(text):
    """Per character: the start offset of its line."""
    n = len(text)
    starts = np.zeros(n, dtype=np.int64)
    if n == 0:
        return starts
    nl = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) == 10
    # a newline belongs to the line it ends; the next line starts after it
    begin = np.zeros(n, dtype=bool)
    begin[0] = True
    begin[1:] = nl[:-1]
    idx = np.where(begin, np.arange(n), 0)
    return np.maximum.accumulate(idx)


def column(text: str) -> np.ndarray:
    n = len(text)
    return (np.arange(n) - _line_index(text)).astype(np.float32)


def indent_depth(text: str, unit: int = INDENT_UNIT) -> np.ndarray:
    """Indentation depth as a left-to-right reader can know it.

    A model reading character by character cannot know a line's depth before it has
    read the indentation, so inside the leading whitespace the value is the width
    typed so far; from the first non-blank character to the end of the line (its
    newline included) it is the line's depth. Blank lines keep the previous depth.
    """
    out = np.zeros(len(text), dtype=np.float32)
    pos, depth = 0, 0.0
    for line in text.split("\n"):
        body = line.lstrip(" \t")
        end = min(len(text), pos + len(line) + 1)
        if body.strip():
            width = 0
            for k, ch in enumerate(line[: len(line) - len(body)]):
                width = (width // unit + 1) * unit if ch == "\t" else width + 1
                out[pos + k] = width / unit
            depth = width / unit
            out[pos + len(line) - len(body) : end] = depth
        else:
            out[pos:end] = depth
        pos = end
    return out


def bracket_depth(text: str, code: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(len(text), dtype=np.float32)
    d = 0
    for i, ch in enumerate(text):
        if code is None or code[i]:
            if ch in "([{":
                d += 1
            elif ch in ")]}":
                d = max(0, d - 1)
        out[i] = d
    return out


_PY_IF = re.compile(r"(?:el)?if\b")


def if_condition(text: str, language: str, code: np.ndarray) -> np.ndarray:
    out = np.zeros(len(text), dtype=np.float32)
    n = len(text)
    if language == "python":
        depth = bracket_depth(text, code)
        pos = 0
        prev_cont = False
        for line in text.split("\n"):
            body_at = pos + len(line) - len(line.lstrip(" \t"))
            before = depth[pos - 1] if pos > 0 else 0
            if (not prev_cont and before == 0 and body_at < n and code[body_at]
                    and _PY_IF.match(text, body_at)):
                end, d, j = n, 0, body_at
                while j < n:
                    c = text[j]
                    if code[j]:
                        if c in "([{":
                            d += 1
                        elif c in ")]}":
                            d -= 1
                            if d < 0:
                                end = j
                                break
                        elif c == ":" and d == 0 and text[j + 1 : j + 2] != "=":
                            end = j
                            break
                        elif c == "\n" and d == 0 and (j == 0 or text[j - 1] != "\\"):
                            end = j
                            break
                    j += 1
                out[body_at:end] = 1.0
            prev_cont = line.endswith("\\")
            pos += len(line) + 1
        return out
    for m in re.finditer(r"\bif\s*\(", text):
        s = m.start()
        if not code[s]:
            continue
        ls = text.rfind("\n", 0, s) + 1
        if text[ls:s].strip() == "#":
            continue  # preprocessor #if (...)
        d, j, end = 0, m.end() - 1, n
        while j < n:
            if code[j]:
                if text[j] == "(":
                    d += 1
                elif text[j] == ")":
                    d -= 1
                    if d == 0:
                        end = j
                        break
            j += 1
        out[s:end] = 1.0
    return out


MAX_PATTERN_CHARS = 500
REGEX_SECONDS = 1.0  # time box for one pattern over one text (RE2 is linear; this is a backstop)
# What RE2 refuses, found in the pattern before compiling, in the words a student needs.
_UNESCAPED = r"(?<!\\)(?:\\\\)*"  # preceded by an even number of backslashes
_RE2_UNSUPPORTED = (
    (re.compile(_UNESCAPED + r"(?:\\[1-9]|\(\?P=|\\g<|\\k<)"), "backreferences (\\1, (?P=name))"),
    (re.compile(_UNESCAPED + r"\(\?<?[=!]"), "look-ahead and look-behind ((?=...), (?!...), (?<=...), (?<!...))"),
    (re.compile(_UNESCAPED + r"\(\?>"), "atomic groups ((?>...))"),
    (re.compile(_UNESCAPED + r"[*+?}]\+"), "possessive quantifiers (a++, a*+)"),
    (re.compile(_UNESCAPED + r"\\Z"), "\\Z (use $ or \\z for the end of the text)"),
)


@functools.lru_cache(maxsize=64)
def compile_pattern(pattern: str):
    """A user's regular expression compiled with RE2 (linear-time matching, so no
    pattern can freeze the server), ``^``/``$`` matching at line breaks.

    Raises ValueError with a message that says what to change.
    """
    import re2

    if not pattern:
        raise ValueError("Type a regular expression first, e.g. \\bself\\b or \"[^\"]*\".")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"That regular expression has {len(pattern):,} characters; keep it under "
                         f"{MAX_PATTERN_CHARS} characters.")
    for rx, what in _RE2_UNSUPPORTED:
        if rx.search(pattern):
            raise ValueError(f"That regular expression uses {what}, which this app does not support: "
                             "patterns run with RE2, which guarantees an answer in linear time. "
                             "Rewrite it without them.")
    opts = re2.Options()
    opts.log_errors = False
    try:
        re2.compile(pattern, opts)  # errors name the user's pattern, not our (?m) prefix
        return re2.compile("(?m)" + pattern, opts)
    except re2.error as e:
        msg = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        hint = ("Repetition counts like {n} are limited to 1,000." if "repetition size" in msg
                else "It may be too large to match quickly; simplify it." if "too large" in msg
                else "Check brackets and backslashes.")
        raise ValueError(f"That regular expression is not valid here ({msg}). {hint}") from None


def regex_feature(text: str, pattern: str, *, seconds: float = REGEX_SECONDS) -> np.ndarray:
    """1 on every character of every match of ``pattern`` (see ``compile_pattern``).

    Stops with a ValueError when matching takes longer than ``seconds`` (checked
    between matches): RE2 already bounds the work, this keeps a classroom safe
    even from a pattern with a huge number of matches.
    """
    import time

    rx = compile_pattern(pattern)
    out = np.zeros(len(text), dtype=np.float32)
    deadline = time.monotonic() + seconds
    for k, m in enumerate(rx.finditer(text)):
        out[m.start() : m.end()] = 1.0
        if k % 64 == 63 and time.monotonic() > deadline:
            raise ValueError(f"That regular expression took longer than {seconds:g} s on this text, so it "
                             "was stopped. Make it more specific (fewer, longer matches) or use a shorter text.")
    return out


def feature(key: str, text: str, language: str = "python", *, pattern: str | None = None,
            prefix: str = "") -> np.ndarray:
    """One float32 value per character of ``text`` for hypothesis ``key``.

    ``prefix`` is text that came before (see ``context_start``): it is lexed so that
    strings, comments and brackets opened earlier are known, then cut off again.
    """
    if prefix and key not in ("column", "regex"):
        return _feature(key, prefix + text, language, pattern)[len(prefix):]
    return _feature(key, text, language, pattern)


def _feature(key, text, language, pattern):
    if key not in HYPOTHESES:
        raise ValueError(f"Unknown hypothesis {key!r}; choose one of {', '.join(HYPOTHESES)}.")
    _check_language(language)
    if language not in HYPOTHESES[key].languages:
        raise ValueError(
            f"'{HYPOTHESES[key].label}' does not apply to {LANGUAGE_LABELS[language]} text; "
            "pick another hypothesis or language."
        )
    if len(text) > MAX_PROBE_CHARS:
        raise ValueError(f"The text is longer than {MAX_PROBE_CHARS:,} characters; use an excerpt.")
    if key == "column":
        return column(text)
    if key == "indent":
        return indent_depth(text)
    if key == "regex":
        return regex_feature(text, pattern or "")
    lx = lex(text, language)
    if key == "string":
        return lx.mask("string")
    if key == "double_quote":
        return lx.mask("string", "\"")
    if key == "single_quote":
        return lx.mask("string", "'")
    if key == "comment":
        return lx.mask("comment")
    code = lx.code() if language != "text" else None
    if key == "bracket":
        return bracket_depth(text, code)
    return if_condition(text, language, code)


_CLEAN = {
    "python": (r"\n\n\n(?=[A-Za-z_@#])", r"\n\n(?=(?:def|class|import|from|@)\b)", r"\n(?=(?:def|class)\b)"),
    "c": (r"\n\n(?=[#A-Za-z_])", r"\n(?=#)"),
    "text": (r"\n\n(?=\S)",),
}


def context_start(text: str, pos: int, language: str, lookback: int = 100_000) -> int:
    """The latest "clean" position before ``pos`` (a top-level statement of code, a
    paragraph of prose) from which a lexer sees strings and comments correctly.

    An excerpt that begins inside a docstring would flip every string feature, so
    features of an excerpt are computed with the text from here as ``prefix``.
    """
    _check_language(language)
    pos = max(0, min(int(pos), len(text)))
    lo = max(0, pos - lookback)
    window = text[lo:pos]
    for p in _CLEAN[language]:
        last = None
        for last in re.finditer(p, window):  # noqa: B007 - keep the last match
            pass
        if last is not None:
            return lo + last.end()
    return lo


@dataclass
class Excerpt:
    text: str  # what the model reads
    context: str  # the text before it, from a clean start (for the lexer only)
    start: int  # offset of ``text`` in the source


def excerpt(source: str, offset: int, length: int, language: str) -> Excerpt:
    """``length`` characters of ``source`` from the line start at or after ``offset``,
    ending at a line end, with lexer context (see ``context_start``)."""
    offset = max(0, min(int(offset), max(0, len(source) - 1)))
    if offset > 0 and source[offset - 1] != "\n":
        nl = source.find("\n", offset)
        offset = nl + 1 if 0 <= nl < len(source) - 1 else offset
    chunk = source[offset : offset + int(length)]
    cut = chunk.rfind("\n")
    if cut > len(chunk) // 2 and offset + len(chunk) < len(source):
        chunk = chunk[: cut + 1]
    c0 = context_start(source, offset, language)
    return Excerpt(chunk, source[c0:offset], offset)


def validation_excerpt(corpus, language: str, length: int = 5000, offset: int = 0) -> Excerpt:
    """An excerpt of the corpus's validation split (text the model did not train on).

    ``offset`` counts from the start of the validation split; the lexer context may
    reach back into the training part (it only decides where strings begin).
    """
    split = corpus.split_index
    ex = excerpt(corpus.text, split + int(offset), length, language)
    return Excerpt(ex.text, ex.context, ex.start - split)


# ------------------------------------------------------------------ the finder


@dataclass(frozen=True)
class CellScore:
    layer: int
    signal: str
    unit: int
    r: float

    @property
    def name(self) -> str:
        return f"layer {self.layer} · {self.signal} · cell {self.unit}"


class CellMatrix:
    """All recorded signals of a trace side by side: X is [T, N] float32.

    Column statistics are computed once, so ranking against a new hypothesis is a
    single matrix product X^T y.
    """

    def __init__(self, arrays: dict):
        if not arrays:
            raise ValueError("No signals to rank.")
        keys = list(arrays)
        blocks = [np.asarray(arrays[k], dtype=np.float32) for k in keys]
        T = blocks[0].shape[0]
        if any(b.ndim != 2 or b.shape[0] != T for b in blocks):
            raise ValueError("Every signal must be a [T, H] array over the same characters.")
        self.keys = keys
        self.offsets, pos = {}, 0
        for k, b in zip(keys, blocks):
            self.offsets[k] = (pos, pos + b.shape[1])
            pos += b.shape[1]
        self.X = np.ascontiguousarray(np.concatenate(blocks, axis=1))
        self.layer = np.concatenate([np.full(b.shape[1], k[0]) for k, b in zip(keys, blocks)])
        self.signal = np.concatenate([np.full(b.shape[1], k[1], dtype=object) for k, b in zip(keys, blocks)])
        self.unit = np.concatenate([np.arange(b.shape[1]) for b in blocks])
        self.T = T
        self.mean = self.X.mean(axis=0, dtype=np.float64)
        var = np.empty(self.X.shape[1])
        for s in range(0, self.X.shape[1], 1024):  # chunks keep the centred copy small
            xc = self.X[:, s : s + 1024] - self.mean[s : s + 1024].astype(np.float32)
            var[s : s + 1024] = np.einsum("ij,ij->j", xc, xc, dtype=np.float64) / T
        self.std = np.sqrt(var)

    @classmethod
    def from_trace(cls, tr, signals=None, layers=None) -> "CellMatrix":
        signals = signals or tr.signals()
        layers = range(len(tr.layers)) if layers is None else layers
        return cls({(k, s): tr.numpy(k, s) for k in layers for s in signals if s in tr.layers[k]})

    def correlate(self, Y) -> np.ndarray:
        """Pearson r of every column with every feature: [N] for 1-D Y, else [N, m].

        Constant columns or features get r = 0 (no linear relation can be measured).
        """
        Y = np.asarray(Y, dtype=np.float64)
        one = Y.ndim == 1
        Y = Y.reshape(self.T, -1) if Y.ndim == 1 or Y.shape[0] == self.T else None
        if Y is None:
            raise ValueError("The feature needs one value per character of the traced text.")
        yc = Y - Y.mean(axis=0)
        ys = np.sqrt((yc * yc).mean(axis=0))
        import torch  # zero-copy; torch's BLAS honours set_num_threads (OpenBLAS threads thrash)

        xy = torch.from_numpy(self.X).T @ torch.from_numpy(np.ascontiguousarray(yc, dtype=np.float32))
        cov = xy.numpy().astype(np.float64) / self.T  # X^T yc = Xc^T yc because yc sums to 0
        den = self.std[:, None] * ys[None, :]
        ok = den > 1e-9 * max(1.0, float(np.abs(cov).max(initial=0.0)))
        R = np.zeros_like(cov)
        np.divide(cov, den, out=R, where=ok & (self.std[:, None] > 1e-7) & (ys[None, :] > 1e-12))
        np.clip(R, -1.0, 1.0, out=R)
        return R[:, 0] if one else R

    def scores(self, r, order) -> list[CellScore]:
        return [CellScore(int(self.layer[j]), str(self.signal[j]), int(self.unit[j]), float(r[j])) for j in order]

    def rank(self, y, k: int = 10) -> list[CellScore]:
        """The k columns with the largest |r| (ties: earlier layer/signal/cell first)."""
        r = self.correlate(y)
        order = np.argsort(-np.abs(r), kind="stable")[: max(0, int(k))]
        return self.scores(r, order)

    def block(self, layer: int, signal: str) -> np.ndarray:
        """The [T, H] values of one signal of one layer (a view, no copy)."""
        if (layer, signal) not in self.offsets:
            raise ValueError(f"Layer {layer} has no recorded signal {signal!r}.")
        s, e = self.offsets[(layer, signal)]
        return self.X[:, s:e]

    @property
    def nbytes(self) -> int:
        return int(self.X.nbytes)

    def column_of(self, layer: int, signal: str, unit: int) -> np.ndarray:
        j = np.flatnonzero((self.layer == layer) & (self.signal == signal) & (self.unit == unit))
        if not len(j):
            raise ValueError(f"No recorded column for layer {layer}, {signal}, cell {unit}.")
        return self.X[:, j[0]]


def rank_cells(arrays: dict, y, k: int = 10) -> list[CellScore]:
    """Convenience: rank every (layer, signal, cell) of ``arrays`` against feature y."""
    return CellMatrix(arrays).rank(y, k)


# ------------------------------------------------------------------ linear probe


@dataclass
class ProbeResult:
    r2: float  # nested cross-validated R^2 of the ridge probe on all columns
    best_cell: int  # column a single-cell model picks (on the training folds, most often)
    best_cell_r2: float  # cross-validated R^2 of a line fitted to one column (chosen per fold)
    accuracy: float | None  # binary features: cross-validated accuracy (prediction >= 0.5)
    baseline: float | None  # accuracy of always guessing the majority class
    lam: float  # the ridge strength the inner cross-validation chose most often
    n_features: int
    n_chars: int
    folds: int


def fold_ids(T: int, block: int = 50, folds: int = 5) -> np.ndarray:
    """Fold of every character: whole blocks of ``block`` characters, dealt round-robin.

    Neighbouring characters are almost the same example, so a random split would
    leak; blocks spread over the text keep every fold fair and representative.
    """
    return (np.arange(T) // block) % folds


def _ridge_solve(A, b):
    """Solve the SPD system A w = b with a Cholesky factorisation (one matrix at a
    time: batched LU solves fail in torch 2.13 with more than one thread)."""
    import torch

    L, info = torch.linalg.cholesky_ex(A)
    if int(info) != 0:  # numerically not positive definite: a little more ridge
        jitter = 1e-6 * float(torch.diagonal(A).abs().max()) + 1e-9
        L = torch.linalg.cholesky(A + jitter * torch.eye(A.shape[0], dtype=A.dtype))
    return torch.cholesky_solve(b.reshape(-1, 1), L).reshape(-1)


class _FoldStats:
    """Per-fold sums (count, Σx, Σy, XᵀX, Xᵀy) so that the standardised ridge system of
    any union of folds is built without touching the other folds' rows."""

    def __init__(self, X, y, fold, folds):
        self.parts = []
        for f in range(folds):
            sel = fold == f
            Xf, yf = X[sel], y[sel]
            self.parts.append((int(sel.sum()), Xf.sum(0), float(yf.sum()), Xf.T @ Xf, Xf.T @ yf))

    def fit(self, use, lams):
        """Ridge weights W [L, D] for every lambda on the folds in ``use``, standardised on
        those folds only. Returns (mu, sd, ym, W, bz, diag S): the training mean and std
        of X, the mean of y, the weights, and the standardised X^T y and Gram diagonal."""
        import torch

        n = sum(self.parts[f][0] for f in use)
        sx = sum(self.parts[f][1] for f in use)
        sy = sum(self.parts[f][2] for f in use)
        G = sum(self.parts[f][3] for f in use)
        gy = sum(self.parts[f][4] for f in use)
        mu, ym = sx / n, sy / n
        C = G - n * torch.outer(mu, mu)  # centred Gram of the training rows
        by = gy - mu * sy  # centred X^T y
        sd = torch.sqrt(torch.clamp(torch.diagonal(C) / n, min=0.0))
        sd = torch.where(sd < 1e-6, torch.ones_like(sd), sd)
        S = C / torch.outer(sd, sd)
        bz = by / sd
        eye = torch.eye(S.shape[0], dtype=S.dtype)
        W = torch.stack([_ridge_solve(S + lam * n / 1000.0 * eye, bz) for lam in lams])
        return mu, sd, ym, W, bz, torch.diagonal(S)


def linear_probe(X, y, *, binary: bool | None = None, lams=(0.1, 1.0, 10.0, 100.0, 1000.0),
                 block: int = 50, folds: int = 5) -> ProbeResult:
    """Ridge regression from all columns of X [T, D] to y [T], with nested cross-validation.

    Every character is predicted by a probe fitted on the other folds (blocks of
    text), so the R^2 is measured on text the probe did not see. Inside each
    training set everything is chosen again without the held-out fold: the
    standardisation (mean and std of the training characters only) and the ridge
    strength lambda (x n/1000 on standardised columns), picked by an inner
    cross-validation over the remaining folds. ``lam`` reports the value chosen
    most often. Systems are SPD, so they are solved by Cholesky factorisation.
    """
    import torch  # its LAPACK honours torch.set_num_threads; OpenBLAS threads thrash on a busy box

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    T, D = X.shape
    if len(y) != T:
        raise ValueError("The probe needs one target per character.")
    if T < 2 * folds * block:
        raise ValueError(f"The linear probe needs at least {2 * folds * block} characters of text (got {T}).")
    if binary is None:
        binary = bool(np.isin(np.unique(y), (0.0, 1.0)).all())
    fold_np = fold_ids(T, block, folds)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    fold = torch.from_numpy(fold_np)
    stats = _FoldStats(Xt, yt, fold, folds)
    pred = np.zeros(T)
    single = np.zeros(T)
    picks = np.zeros(D, dtype=np.int64)
    chosen = []
    for f in range(folds):
        train = [g for g in range(folds) if g != f]
        inner_err = np.zeros(len(lams))
        for g in train:  # inner CV: which lambda predicts an unseen training fold best?
            mu, sd, ym, W, _, _ = stats.fit([h for h in train if h != g], lams)
            te = fold == g
            P = ((Xt[te] - mu) / sd) @ W.T + ym
            inner_err += ((P - yt[te][:, None]) ** 2).sum(0).numpy()
        best = int(np.argmin(inner_err))
        chosen.append(best)
        mu, sd, ym, W, bz, dS = stats.fit(train, (lams[best],))
        te = fold == f
        Zt = (Xt[te] - mu) / sd
        pred[fold_np == f] = (Zt @ W[0] + ym).numpy()
        # one column, picked and fitted on the training folds: slope b_j / S_jj
        dS = torch.clamp(dS, min=1e-12)
        j = int(torch.argmax(bz.abs() / dS.sqrt()))
        picks[j] += 1
        single[fold_np == f] = (ym + bz[j] / dS[j] * Zt[:, j]).numpy()
    sst = ((y - y.mean()) ** 2).sum()

    def r2(sse):
        return float(1.0 - sse / sst) if sst > 1e-12 else float("nan")

    acc = base = None
    if binary:
        acc = float(((pred >= 0.5) == (y >= 0.5)).mean())
        p = float((y >= 0.5).mean())
        base = max(p, 1.0 - p)
    return ProbeResult(
        r2=r2(((pred - y) ** 2).sum()), best_cell=int(np.argmax(picks)), best_cell_r2=r2(((single - y) ** 2).sum()),
        accuracy=acc, baseline=base, lam=float(lams[np.bincount(chosen, minlength=len(lams)).argmax()]),
        n_features=D, n_chars=T, folds=folds,
    )


def probe_layers(arrays: dict, y, layers, signals=("h", "c"), **kw) -> dict:
    """A probe per layer on that layer's state (h, plus c for an LSTM)."""
    out = {}
    for k in layers:
        cols = [arrays[(k, s)] for s in signals if (k, s) in arrays]
        if cols:
            out[k] = linear_probe(np.concatenate(cols, axis=1), y, **kw)
    return out


# ------------------------------------------------------------------ LSTMVis selection


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    score: float


def contrast(S, a: int, b: int, margin: int = 3):
    """Per cell: the lowest value inside [a, b) and the highest in the margins around it
    (-inf where there is no margin, at the ends of the text)."""
    S = np.asarray(S, dtype=np.float32)
    T = S.shape[0]
    a, b = int(a), int(b)
    if not 0 <= a < b <= T:
        raise ValueError(f"Pick a character range inside the text (got {a}..{b} for {T} characters).")
    margin = max(0, int(margin))
    inside = S[a:b].min(axis=0)
    around = np.concatenate([S[max(0, a - margin) : a], S[b : min(T, b + margin)]])
    off = around.max(axis=0) if len(around) else np.full(S.shape[1], -np.inf, dtype=np.float32)
    return inside, off


def select_cells(S, a: int, b: int, theta: float, margin: int = 3) -> np.ndarray:
    """Cells whose value is >= theta on every character of [a, b) and < theta on the
    ``margin`` characters on each side (LSTMVis's "on inside, off around").

    S is [T, H]; returns unit indices, strongest contrast first.
    """
    inside, off = contrast(S, a, b, margin)
    units = np.flatnonzero((inside >= theta) & (off < theta))
    gap = inside[units] - np.where(np.isfinite(off[units]), off[units], theta)
    return units[np.argsort(-gap, kind="stable")]


def _runs(mask, lo=0):
    g = np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]])
    d = np.diff(g)
    return [(lo + int(a), lo + int(b)) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def pattern_candidates(text: str, language: str, y=None, *, prefix: str = "", lo: int = 0,
                       hi: int | None = None, longest: int = 20) -> list[tuple[int, int]]:
    """Character ranges worth selecting in [lo, hi): the spans of a 0/1 hypothesis ``y``
    (or of strings / quotes), each also cut to its first ``longest`` characters, and
    the indentation of indented lines. Short, crisp patterns come first."""
    hi = len(text) if hi is None else hi
    guides = [] if y is None else [np.asarray(y)]
    try:
        guides.append(feature("string" if language != "text" else "double_quote", text, language, prefix=prefix))
    except ValueError:
        pass
    spans = []
    for g in guides:
        for a, b in _runs(g[lo:hi] > 0.5, lo):
            spans += [(a, b)] if b - a <= longest else [(a, b), (a, a + longest)]
    indent = [(m.start(1), m.end(1)) for m in re.finditer(r"^([ \t]{2,})\S", text[lo:hi], re.MULTILINE)]
    spans += [(lo + a, lo + b) for a, b in indent]
    seen, out = set(), []
    for sp in sorted(spans, key=lambda sp: (not 3 <= sp[1] - sp[0] <= longest, sp[0])):
        if sp not in seen and sp[1] > sp[0]:
            seen.add(sp)
            out.append(sp)
    return out


def first_selective(S, candidates, theta: float, margin: int = 3, tries: int = 200):
    """The first candidate range on which ``select_cells`` finds at least one cell, or None.
    Ranges with their full margins inside the text are preferred (at the very start of
    a text there is nothing "before" that could be off)."""
    T = np.asarray(S).shape[0]
    inner = [c for c in candidates[:tries] if c[0] >= margin and c[1] + margin <= T]
    for a, b in inner + [c for c in candidates[:tries] if c not in inner]:
        if len(select_cells(S, a, b, theta, margin)):
            return a, b
    return None


def why_no_cells(S, a: int, b: int, theta: float, margin: int = 3) -> str:
    """A sentence saying which condition of ``select_cells`` no cell met."""
    inside, off = contrast(S, a, b, margin)
    n = b - a
    on_all = np.flatnonzero(inside >= theta)
    if np.any(off[on_all] < theta):
        return ""  # some cell does match
    if not len(on_all):
        share = (np.asarray(S[a:b]) >= theta).mean(axis=0)
        best = int(np.argmax(share))
        return (f"No cell stays at or above θ = {theta:.2f} on all {n} selected characters (the closest, cell "
                f"{best}, does on {int(round(share[best] * n))} of them). Lower θ or select fewer characters.")
    return (f"{len(on_all)} cell(s) stay at or above θ = {theta:.2f} on the whole selection, but every one of them "
            f"is also on within the {margin} character(s) around it, so none marks this selection in particular. "
            "Reduce the margin, or widen the selection to the whole pattern (all of the indentation, the whole string).")


def find_matches(S, cells, theta: float, length: int, *, exclude=None, min_frac: float = 1.0,
                 top: int = 10) -> list[Match]:
    """Other runs where (at least ``min_frac`` of) the selected cells are all on.

    Each maximal run is scored by how close its length is to the selection's
    (1 = same length); the selection itself (``exclude`` = (a, b)) is skipped.
    """
    S = np.asarray(S, dtype=np.float32)
    cells = np.asarray(cells, dtype=np.int64)
    if len(cells) == 0:
        return []
    frac = (S[:, cells] >= theta).mean(axis=1)
    on = frac >= min(1.0, max(1e-9, float(min_frac))) - 1e-9
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    L = max(1, int(length))
    out = []
    for s, e in zip(starts, ends):
        if exclude is not None and s < exclude[1] and e > exclude[0]:
            continue
        n = e - s
        out.append(Match(int(s), int(e), float(min(n, L) / max(n, L) * frac[s:e].mean())))
    out.sort(key=lambda m: (-m.score, m.start))
    return out[:top]


# ------------------------------------------------------------------ intervention


def clamp_spec(layer: int, units, value: float, signal: str = "c") -> dict:
    """{(layer, signal, unit): value} for ``rnnviz.sample.sample(clamp=...)``."""
    if not np.isfinite(value):
        raise ValueError("The clamp value must be a finite number.")
    return {(int(layer), signal, int(u)): float(value) for u in units}


def on_value(values, r: float = 1.0, q: float = 95.0) -> float:
    """A value the cell really takes when it is "on" for a hypothesis: its q-th
    percentile over a text when it correlates positively, its (100-q)-th when negatively."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return 0.0
    return float(np.percentile(v, q if r >= 0 else 100.0 - q))


SATURATED = 0.995  # |tanh| (or a gate's distance from 0/1) beyond which a change is invisible
SATURATED_SHARE = 0.95  # a cell is flagged when it is saturated on this share of characters
C_CLAMP_LIMIT = float(np.arctanh(0.95))  # beyond |c| = 1.83, tanh(c) hardly moves any more


def saturation(values, signal: str) -> float:
    """Share of characters on which the cell is saturated, so that changing its value
    would hardly change the output: |tanh(c)| (for c), |value| (tanh(c), h, g, n, a
    pre-activation of a tanh RNN) or the gate (i, f, o, r, z) within 0.005 of 0 or 1."""
    v = np.asarray(values, dtype=np.float64)
    if not v.size:
        return 0.0
    if signal == "c":
        v = np.tanh(v)
    if signal in ("i", "f", "o", "r", "z"):
        return float(np.mean((v < 1 - SATURATED) | (v > SATURATED)))
    return float(np.mean(np.abs(v) > SATURATED))


def is_saturated(values, signal: str) -> bool:
    return saturation(values, signal) >= SATURATED_SHARE


@dataclass(frozen=True)
class ClampSuggestion:
    value: float
    saturated: bool
    note: str


def clamp_suggestion(values, signal: str, r: float = 1.0) -> ClampSuggestion:
    """A clamp value that moves the cell's output: what it does when it is "on" for a
    hypothesis (``on_value``), kept where it still changes h.

    h = o * tanh(c) only feels c through tanh, so a c value beyond +-1.83 (tanh 0.95)
    is pulled back to that range. A cell saturated on almost every character (tanh(c)
    near -1 all the time, say) has no "on" value that differs from its usual one:
    then the suggestion is the opposite side, the one clamp that can change something.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return ClampSuggestion(0.0, False, "No values to suggest from; 0 switches the cell off.")
    sat = is_saturated(v, signal)
    if signal in ("c", "h", "tanh_c"):
        t = np.tanh(v) if signal == "c" else np.clip(v, -1.0, 1.0)
        if sat:
            side = -np.sign(np.median(t)) or 1.0
            target = side * 0.9
            note = (f"This cell is saturated: {saturation(v, signal):.0%} of the time "
                    f"{'tanh(c)' if signal == 'c' else signal} is beyond ±{SATURATED}, so its usual values all "
                    "act alike. The suggestion is the opposite side, where the output really changes.")
        else:
            target = float(np.clip(on_value(t, r), -0.95, 0.95))
            note = ("Suggested: what this cell does when it is on for the hypothesis (95th percentile on "
                    "this text, 5th if r is negative), kept inside the range where it still changes h.")
        value = float(np.arctanh(target)) if signal == "c" else float(target)
        return ClampSuggestion(round(value, 3), sat, note)
    return ClampSuggestion(round(on_value(v, r), 3), sat,
                           "Suggested: the 95th percentile of this value on this text (5th if r is negative).")


@dataclass
class ClampComparison:
    plain: object  # rnnviz.sample.Sample
    clamped: object
    n_diff: int
    first_diff: int | None


def compare_clamp(model, vocab, clamp: dict, *, prime: str = "", length: int = 200, seed: int = 0,
                  temperature: float = 1.0, top_k: int | None = None) -> ClampComparison:
    """Sample twice from the same seed, without and with ``clamp``."""
    from .sample import sample

    if not clamp:
        raise ValueError("Choose at least one cell to clamp.")
    kw = dict(length=length, prime=prime, temperature=temperature, top_k=top_k, seed=seed)
    plain = sample(model, vocab, **kw)
    clamped = sample(model, vocab, clamp=clamp, **kw)
    diff = [i for i, (a, b) in enumerate(zip(plain.text, clamped.text)) if a != b]
    n_diff = len(diff) + abs(len(plain.text) - len(clamped.text))
    return ClampComparison(plain, clamped, n_diff, diff[0] if diff else None)


# ------------------------------------------------------------------ report


def trace_arrays(model, ids) -> dict:
    """{(layer, signal): [T, H] float32} for every recorded signal (no autograd)."""
    import torch

    from .models import trace

    with torch.inference_mode():
        tr = trace(model, ids)
    return {(k, s): tr.numpy(k, s).copy() for k in range(len(tr.layers)) for s in tr.signals()}


TRACE_BUDGET_BYTES = 1 << 30  # memory one measurement may use for traces and probes (1 GiB)


def bytes_per_char(config) -> int:
    """Memory a measurement needs per character of text: every recorded signal of every
    layer as float32, three times (the trace, its NumPy copy and the finder's matrix),
    plus the probe's float64 copy of one layer's state (twice)."""
    from .models import SIGNALS

    n_sig = len(SIGNALS[config.cell])
    n_state = 2 if config.cell == "lstm" else 1
    return 4 * config.layers * config.hidden * n_sig * 3 + 8 * config.hidden * n_state * 2


def max_chars(config, budget: int = TRACE_BUDGET_BYTES) -> int:
    """The longest text a model of ``config`` can be measured on within ``budget``."""
    return min(MAX_PROBE_CHARS, max(1, budget // bytes_per_char(config)))


def check_length(config, chars: int, budget: int = TRACE_BUDGET_BYTES) -> None:
    """Refuse a measurement whose memory (layers x hidden x characters) exceeds the budget."""
    cap = max_chars(config, budget)
    if chars > cap:
        need = chars * bytes_per_char(config)
        raise ValueError(
            f"Measuring {chars:,} characters would need about {need / 2**20:,.0f} MB for this model "
            f"({config.layers} layer(s) x {config.hidden} cells, {bytes_per_char(config) / 1024:.0f} KB per "
            f"character); the limit is {budget / 2**20:,.0f} MB, which allows at most {cap:,} characters. "
            "Use fewer characters."
        )


@dataclass
class Measurement:
    result: dict  # what ``report`` returns (JSON-ready)
    text: str
    cells: CellMatrix
    features: dict  # key -> float32 feature over ``text``


def measure(checkpoint, text: str, *, language: str, keys, prefix: str = "", top: int = 1,
            pattern: str | None = None, probes_from: int = 1000) -> Measurement:
    """The finder and the linear probe for each hypothesis in ``keys`` on ``text``."""
    cfg = checkpoint.model.config
    check_length(cfg, len(text))
    for key in keys:  # bad hypotheses fail before the (slow) trace
        feature(key, text[:1], language, pattern=pattern) if key != "regex" else compile_pattern(pattern or "")
    arrays = trace_arrays(checkpoint.model, checkpoint.vocab.encode(text))
    cm = CellMatrix(arrays)
    state = ("h", "c") if cfg.cell == "lstm" else ("h",)
    out, feats = {"chars": len(text), "language": language, "corpus": (checkpoint.card or {}).get("corpus")}, {}
    for key in keys:
        y = feature(key, text, language, prefix=prefix, pattern=pattern)
        feats[key] = y
        ranked = cm.rank(y, max(1, int(top)))
        best = ranked[0]
        probes = probe_layers(arrays, y, range(cfg.layers), state) if len(text) >= probes_from else {}
        out[key] = {
            "r": round(best.r, 4), "abs_r": round(abs(best.r), 4), "layer": best.layer,
            "signal": best.signal, "unit": best.unit,
            "probe_r2": {k: round(p.r2, 4) for k, p in probes.items()},
            "top": [{"layer": c.layer, "signal": c.signal, "unit": c.unit, "r": round(c.r, 4),
                     "saturated": is_saturated(cm.column_of(c.layer, c.signal, c.unit), c.signal)}
                    for c in ranked],
        }
    return Measurement(out, text, cm, feats)


def report(checkpoint, text: str | None = None, *, language: str | None = None, length: int = 5000,
           keys=("indent", "column", "string"), top: int = 1, pattern: str | None = None) -> dict:
    """Best |r| per hypothesis on text the model did not train on.

    With ``text=None`` the excerpt comes from the validation split of the corpus
    named in the checkpoint's card. Returns {key: {"r", "abs_r", "layer", "signal",
    "unit", "probe_r2", "top"}} plus "chars", "language" and "corpus"; "top" lists
    the ``top`` best cells, each flagged when it is saturated.
    """
    return _measure_report(checkpoint, text, language=language, length=length, keys=keys, top=top,
                           pattern=pattern).result


def _measure_report(checkpoint, text, *, language, length, keys, top, pattern) -> Measurement:
    from . import corpora

    corpus_name = (checkpoint.card or {}).get("corpus")
    if text is None:
        if corpus_name not in corpora.builtin_names():
            raise ValueError("This model's corpus is not built in; pass the text to measure on (--text FILE).")
        language = language or language_for(corpus_name)
        check_length(checkpoint.model.config, int(length))
        ex = validation_excerpt(corpora.load(corpus_name), language, length)
        text, prefix = ex.text, ex.context
    else:
        prefix = ""
    language = language or language_for(corpus_name, text)
    return measure(checkpoint, text, language=language, keys=keys, prefix=prefix, top=top, pattern=pattern)


def html_report(m: Measurement, *, title: str, cells_per_key: int = 3, chars: int = 2000) -> str:
    """A standalone HTML page: for every hypothesis, its feature and its best cells as
    coloured text. Every character of the text and every label is escaped."""
    from .ui import html as H

    text = m.text[:chars]
    intro = (f"{m.result['chars']:,} characters, language: {LANGUAGE_LABELS[m.result['language']]}. Colours: red "
             "for negative, white for zero, blue for positive values; hover a character for its value.")
    parts = [f"<h1>{H.esc(title)}</h1>", f"<p>{H.esc(intro)}</p>"]
    for key, y in m.features.items():
        hyp = HYPOTHESES[key]
        res = m.result[key]
        parts.append(f"<h2>{H.esc(hyp.label)}</h2><p>{H.esc(hyp.description)}</p>")
        ymax = max(1e-9, float(np.abs(y).max()))
        parts.append(H.heat_text(text, y[: len(text)], vmin=-ymax, vmax=ymax, label=key, max_height=300,
                                 caption=f"hypothesis: {hyp.label} (scaled to ±{ymax:.2f})"))
        for i, c in enumerate(res["top"][:cells_per_key]):
            v = m.cells.column_of(c["layer"], c["signal"], c["unit"])
            vmax = max(1.0, float(np.abs(v).max()))
            flag = " · saturated" if c["saturated"] else ""
            parts.append(H.heat_text(text, v[: len(text)], vmin=-vmax, vmax=vmax, label=c["signal"], max_height=300,
                                     caption=f"#{i + 1} layer {c['layer'] + 1} · {c['signal']} · cell {c['unit']} · "
                                             f"r = {c['r']:+.2f}{flag} (scaled to ±{vmax:.2f})"))
    body = "\n".join(parts)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{H.esc(title)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;"
            "padding:0 1em;color:#222}} h2{{margin-top:1.6em}} .rnnviz-text{{margin:0.6em 0}}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def _parse_keys(raw: str, language: str) -> tuple:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if keys == ("all",):
        return tuple(h.key for h in available(language) if h.key != "regex")
    if not keys:
        raise ValueError("Name at least one hypothesis after --hypotheses, e.g. indent,column,string.")
    for k in keys:
        if k not in HYPOTHESES:
            raise ValueError(f"Unknown hypothesis {k!r}; choose from {', '.join(HYPOTHESES)} (or 'all').")
        if language not in HYPOTHESES[k].languages:
            raise ValueError(f"The hypothesis {k!r} does not apply to {LANGUAGE_LABELS[language]} text; "
                             f"for this text choose from {', '.join(h.key for h in available(language))}.")
    return keys


def _read_text(path: str) -> str:
    from . import corpora

    try:
        with open(path, "rb") as fh:
            data = fh.read(corpora.MAX_BYTES + 1)
    except OSError as e:
        raise ValueError(f"Cannot read the text file {path}: {e.strerror or e}.") from None
    text = corpora.decode_bytes(data, what=f"The text file {path}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def main(argv=None) -> int:
    import argparse
    import json
    import sys

    import torch

    from . import checkpoint as ckpt

    p = argparse.ArgumentParser(
        prog="python -m rnnviz.probes",
        description="Find interpretable cells: rank every cell of a model against hypotheses about a text "
                    "(Pearson r) and fit a linear probe per layer. Prints JSON.")
    p.add_argument("checkpoint", help="a bundled model name (e.g. python_lstm) or a checkpoint folder / .safetensors file")
    p.add_argument("--text", metavar="FILE",
                   help="text to measure on (default: the validation split of the model's built-in corpus)")
    p.add_argument("--language", choices=LANGUAGES,
                   help="how strings, comments and quotes are recognised (default: guessed from the text)")
    p.add_argument("--hypotheses", default="indent,column,string", metavar="KEYS",
                   help=f"comma-separated, or 'all'; one of: {', '.join(HYPOTHESES)} (default: indent,column,string, "
                        "keeping those that apply to the language)")
    p.add_argument("--regex", metavar="PATTERN", help="the pattern for the 'regex' hypothesis (RE2 syntax)")
    p.add_argument("--chars", type=int, default=5000,
                   help="how many characters to measure (default 5000; capped by the memory the trace needs)")
    p.add_argument("--top", type=int, default=5, help="how many best cells to list per hypothesis (default 5)")
    p.add_argument("--html", metavar="OUT", help="also write a standalone HTML page with the top cells' coloured text")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)

    def fail(msg):
        print(f"python -m rnnviz.probes: error: {msg}", file=sys.stderr)
        return 2

    if args.chars < 1:
        return fail(f"--chars must be at least 1 (got {args.chars}).")
    if not 1 <= args.top <= 100:
        return fail(f"--top must be between 1 and 100 (got {args.top}).")
    if args.threads < 1:
        return fail(f"--threads must be at least 1 (got {args.threads}).")
    torch.set_num_threads(args.threads)
    try:
        if args.checkpoint in ckpt.pretrained_names():
            cp = ckpt.load_pretrained(args.checkpoint)
        elif os.path.exists(args.checkpoint):
            cp = ckpt.load(args.checkpoint)
        else:
            return fail(f"{args.checkpoint!r} is neither a bundled model ({', '.join(ckpt.pretrained_names())}) "
                        "nor an existing checkpoint folder or file.")
        check_length(cp.model.config, args.chars)
        text = None
        if args.text is not None:
            text = _read_text(args.text)
            if not text.strip():
                return fail(f"The text file {args.text} contains only whitespace; give it some text to measure.")
            if len(text) > args.chars:
                print(f"note: measuring the first {args.chars:,} of {len(text):,} characters (see --chars).",
                      file=sys.stderr)
                text = text[: args.chars]
            missing = cp.vocab.unknown(text)
            if missing:
                shown = ", ".join(repr(c) for c in missing[:12]) + (f" and {len(missing) - 12} more"
                                                                  if len(missing) > 12 else "")
                return fail(f"The text has {len(missing)} character(s) the model never saw in training: {shown}. "
                            "Remove or replace them, or use a model trained on such text.")
        corpus_name = (cp.card or {}).get("corpus")
        language = args.language or (language_for(corpus_name) if text is None
                                     else EXTENSION_LANGUAGE.get(os.path.splitext(args.text)[1].lower())
                                     or language_for(None, text))
        if args.hypotheses == p.get_default("hypotheses"):  # today's three, where they apply
            keys = tuple(k for k in args.hypotheses.split(",") if language in HYPOTHESES[k].languages)
        else:
            keys = _parse_keys(args.hypotheses, language)
        if "regex" in keys and not args.regex:
            return fail("The 'regex' hypothesis needs a pattern: add --regex PATTERN.")
        m = _measure_report(cp, text, language=language, length=args.chars, keys=keys, top=args.top,
                            pattern=args.regex)
    except ValueError as e:
        return fail(str(e))
    m.result["model"] = args.checkpoint
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as fh:
                fh.write(html_report(m, title=f"Interpretable cells of {args.checkpoint}"))
        except OSError as e:
            return fail(f"Cannot write the HTML report to {args.html}: {e.strerror or e}.")
    print(json.dumps(m.result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
