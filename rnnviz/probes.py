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
  characters: the ceiling a single cell is compared with.
* ``select_cells`` / ``find_matches`` - LSTMVis-style (Strobelt et al. 2016): the
  cells that are on inside a chosen range and off around it, and other places in
  the text where the same cells switch on together.
* ``compare_clamp`` - sample with and without holding cells fixed (same seed).
* ``report`` - the best |r| for indentation, column and strings on a model's
  validation text (``python -m rnnviz.probes python_lstm``) for model cards.
"""

from __future__ import annotations

import functools
import io
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
                   "1 from the opening quote of a string up to (not including) its closing quote.",
                   ("python", "c"), True),
        Hypothesis("double_quote", "Inside double quotes",
                   "1 inside text opened by a double quote (\" or \u201c), until it is closed.",
                   LANGUAGES, True),
        Hypothesis("single_quote", "Inside single quotes",
                   "1 inside text opened by a single quote (' or \u2018); apostrophes inside words "
                   "do not count in prose.", LANGUAGES, True),
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
            # A closed string/block comment is left once its last character is read;
            # a line comment ends at the newline (not part of the span).
            end = e - 1 if closed and (k == "string" or e > s + 1 and self.text[e - 2 : e] == "*/") else e
            m[s:max(s, end)] = 1.0
        return m

    def code(self) -> np.ndarray:
        """True on characters that are code (not inside any string or comment)."""
        m = np.ones(len(self.text), dtype=bool)
        for _, s, e, _, _ in self.spans:
            m[s:e] = False
        return m


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


def _lex_text(text: str) -> Lexed:
    """Quotes in prose: straight quotes toggle, curly ones open/close; a blank line
    (new paragraph) closes anything left open. Apostrophes inside words are ignored."""
    n, spans = len(text), []
    open_at = {'"': None, "'": None}

    def close(q, j, closed):
        if open_at[q] is not None:
            spans.append(("string", open_at[q], j, q, closed))
            open_at[q] = None

    for i, ch in enumerate(text):
        if ch == "\n" and text.startswith("\n\n", i):
            close('"', i, False)
            close("'", i, False)
        elif ch in '"\u201c\u201d':
            if open_at['"'] is None and ch != "\u201d":
                open_at['"'] = i
            elif open_at['"'] is not None and ch != "\u201c":
                close('"', i + 1, True)
        elif ch in "'\u2018\u2019":
            prev_alpha = i > 0 and text[i - 1].isalnum()
            next_alpha = i + 1 < n and text[i + 1].isalnum()
            if prev_alpha and next_alpha:
                continue  # don't, o'clock
            if open_at["'"] is None and not prev_alpha and next_alpha and ch != "\u2019":
                open_at["'"] = i
            elif open_at["'"] is not None and not next_alpha and ch != "\u2018":
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


def regex_feature(text: str, pattern: str) -> np.ndarray:
    if not pattern:
        raise ValueError("Type a regular expression first, e.g. \\bself\\b or \"[^\"]*\".")
    try:
        rx = re.compile(pattern, re.MULTILINE)
    except re.error as e:
        raise ValueError(f"That regular expression is not valid: {e}. Check brackets and backslashes.") from None
    out = np.zeros(len(text), dtype=np.float32)
    for m in rx.finditer(text):
        out[m.start() : m.end()] = 1.0
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
        for last in re.finditer(p, window):
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
    r2: float  # cross-validated R^2 of the ridge probe on all columns
    best_cell: int  # column a single-cell model picks (on the training folds, most often)
    best_cell_r2: float  # cross-validated R^2 of a line fitted to one column (chosen per fold)
    accuracy: float | None  # binary features: cross-validated accuracy (prediction >= 0.5)
    baseline: float | None  # accuracy of always guessing the majority class
    lam: float
    n_features: int
    n_chars: int
    folds: int


def fold_ids(T: int, block: int = 50, folds: int = 5) -> np.ndarray:
    """Fold of every character: whole blocks of ``block`` characters, dealt round-robin.

    Neighbouring characters are almost the same example, so a random split would
    leak; blocks spread over the text keep every fold fair and representative.
    """
    return (np.arange(T) // block) % folds


def linear_probe(X, y, *, binary: bool | None = None, lams=(0.1, 1.0, 10.0, 100.0, 1000.0),
                 block: int = 50, folds: int = 5) -> ProbeResult:
    """Ridge regression from all columns of X [T, D] to y [T], cross-validated.

    Every character is predicted by a probe fitted on the other folds (blocks of
    text), so the R^2 is measured on text the probe did not see. The ridge strength
    (lambda x T/1000 on standardised columns) is the one with the lowest pooled
    held-out error. One Gram matrix for all folds; one linear solve per fold and lambda.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    T, D = X.shape
    if len(y) != T:
        raise ValueError("The probe needs one target per character.")
    if T < 2 * folds * block:
        raise ValueError(f"The linear probe needs at least {2 * folds * block} characters of text (got {T}).")
    if binary is None:
        binary = bool(np.isin(np.unique(y), (0.0, 1.0)).all())
    import torch  # its LAPACK honours torch.set_num_threads; OpenBLAS threads thrash on a busy box

    sd = X.std(0)
    sd[sd < 1e-6] = 1.0
    Z = torch.from_numpy((X - X.mean(0)) / sd)
    yt_all = torch.from_numpy(y)
    G = Z.T @ Z
    fold = torch.from_numpy(fold_ids(T, block, folds))
    pred = torch.zeros((len(lams), T), dtype=torch.float64)
    single = torch.zeros(T, dtype=torch.float64)
    picks = np.zeros(D, dtype=np.int64)
    eye = torch.eye(D, dtype=torch.float64)
    total = Z.sum(0)
    for f in range(folds):
        te = fold == f
        tr = ~te
        n = int(tr.sum())
        Zf = Z[te]
        mu = (total - Zf.sum(0)) / n
        S = G - Zf.T @ Zf - n * torch.outer(mu, mu)  # centred Gram of the training folds
        ym = yt_all[tr].mean()
        b = Z[tr].T @ (yt_all[tr] - ym)
        Zc = Zf - mu
        A = torch.stack([S + lam * n / 1000.0 * eye for lam in lams])
        W = torch.linalg.solve(A, b.expand(len(lams), D).unsqueeze(-1)).squeeze(-1)  # [L, D]
        pred[:, te] = W @ Zc.T + ym
        diag = torch.clamp(torch.diagonal(S), min=1e-12)
        j = int(torch.argmax(b.abs() / diag.sqrt()))
        picks[j] += 1
        single[te] = ym + b[j] / diag[j] * Zc[:, j]
    pred, single = pred.numpy(), single.numpy()
    sst = ((y - y.mean()) ** 2).sum()
    errs = ((pred - y) ** 2).sum(1)
    best = int(np.argmin(errs))

    def r2(sse):
        return float(1.0 - sse / sst) if sst > 1e-12 else float("nan")

    acc = base = None
    if binary:
        acc = float(((pred[best] >= 0.5) == (y >= 0.5)).mean())
        p = float((y >= 0.5).mean())
        base = max(p, 1.0 - p)
    return ProbeResult(
        r2=r2(errs[best]), best_cell=int(np.argmax(picks)), best_cell_r2=r2(((single - y) ** 2).sum()),
        accuracy=acc, baseline=base, lam=float(lams[best]), n_features=D, n_chars=T, folds=folds,
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


def report(checkpoint, text: str | None = None, *, language: str | None = None, length: int = 5000,
           keys=("indent", "column", "string")) -> dict:
    """Best |r| per hypothesis on text the model did not train on.

    With ``text=None`` the excerpt comes from the validation split of the corpus
    named in the checkpoint's card. Returns {key: {"r", "abs_r", "layer", "signal",
    "unit", "probe_r2"}} plus "chars", "language" and "corpus".
    """
    from . import corpora

    card = checkpoint.card or {}
    corpus_name = card.get("corpus")
    if text is None:
        if corpus_name not in corpora.builtin_names():
            raise ValueError("This model's corpus is not built in; pass the text to measure on.")
        language = language or language_for(corpus_name)
        ex = validation_excerpt(corpora.load(corpus_name), language, length)
        text, prefix = ex.text, ex.context
    else:
        prefix = ""
    language = language or language_for(corpus_name, text)
    arrays = trace_arrays(checkpoint.model, checkpoint.vocab.encode(text))
    cm = CellMatrix(arrays)
    L = checkpoint.model.config.layers
    state = ("h", "c") if checkpoint.model.config.cell == "lstm" else ("h",)
    out = {"chars": len(text), "language": language, "corpus": corpus_name}
    for key in keys:
        y = feature(key, text, language, prefix=prefix)
        best = cm.rank(y, 1)[0]
        probes = probe_layers(arrays, y, range(L), state) if len(text) >= 1000 else {}
        out[key] = {
            "r": round(best.r, 4), "abs_r": round(abs(best.r), 4), "layer": best.layer,
            "signal": best.signal, "unit": best.unit,
            "probe_r2": {k: round(p.r2, 4) for k, p in probes.items()},
        }
    return out


def main(argv=None):
    import argparse
    import json

    import torch

    from . import checkpoint as ckpt

    p = argparse.ArgumentParser(prog="python -m rnnviz.probes",
                                description="Best interpretable-cell correlations of a model.")
    p.add_argument("model", help="a bundled model name (e.g. python_lstm) or a checkpoint folder")
    p.add_argument("--chars", type=int, default=5000)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cp = ckpt.load_pretrained(args.model) if args.model in ckpt.pretrained_names() else ckpt.load(args.model)
    print(json.dumps(report(cp, length=args.chars), indent=2))


if __name__ == "__main__":
    main()
