"""The hypotheses registry: what a single cell might track, one entry each.

Every ``Hypothesis`` carries its own ``compute(text, language, pattern)``, which
returns one float32 number per character. ``feature`` only validates and calls it,
and pages list ``available(language)``, so adding a hypothesis is adding one entry
to ``HYPOTHESES`` (see the README). ``uses_context`` says whether the text before an
excerpt matters (an open string does; the column does not), ``takes_pattern``
whether the user types a pattern for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .features import MAX_PROBE_CHARS, bracket_depth, column, if_condition, indent_depth
from .languages import LANGUAGE_LABELS, LANGUAGES, _check_language
from .lexing import lex
from .patterns import regex_feature


@dataclass(frozen=True)
class Hypothesis:
    key: str
    label: str
    description: str
    languages: tuple[str, ...]
    binary: bool  # 0/1 feature (probe reports accuracy too) or a count
    compute: Callable[[str, str, str | None], np.ndarray]  # (text, language, pattern) -> [T] float32
    uses_context: bool = True  # computed over the context before an excerpt too (then cut off)
    takes_pattern: bool = False  # needs a user pattern (``pattern=``)


def _mask(kind, quote=None):
    return lambda text, language, pattern: lex(text, language).mask(kind, quote)


def _code(text, language):
    """Code characters (outside strings and comments); None for prose, where every bracket counts."""
    return lex(text, language).code() if language != "text" else None


HYPOTHESES = {
    h.key: h
    for h in (
        Hypothesis("indent", "Indentation depth",
                   "Leading whitespace of the current line, in levels of 4 spaces (a tab is one level), "
                   "as far as it has been typed: inside the indentation it grows with each space, "
                   "from the first code character on it is the line's depth. Blank lines keep the "
                   "depth of the line before.", LANGUAGES, False,
                   lambda text, language, pattern: indent_depth(text)),
        Hypothesis("column", "Column (position in line)",
                   "How many characters came before this one on its line (0 = first character).",
                   LANGUAGES, False, lambda text, language, pattern: column(text), uses_context=False),
        Hypothesis("string", "Inside a string literal",
                   "1 from the opening quote of a string up to (not including) its closing quote. "
                   "For a triple-quoted string all three opening quotes are inside and all three "
                   "closing quotes are outside.", ("python", "c"), True, _mask("string")),
        Hypothesis("double_quote", "Inside double quotes",
                   "1 inside text opened by a double quote (\" or \u201c), until it is closed. "
                   "In prose a quote still open at a blank line (a new paragraph) ends there.",
                   LANGUAGES, True, _mask("string", "\"")),
        Hypothesis("single_quote", "Inside single quotes",
                   "1 inside text opened by a single quote (' or \u2018), until it is closed. In prose, "
                   "apostrophes are not quotes: inside words (don't, o'er), elisions ('Tis, 'twixt, "
                   "th', rock 'n' roll) and possessives (the students' books); a quote still open "
                   "at a blank line (a new paragraph) ends there.", LANGUAGES, True, _mask("string", "'")),
        Hypothesis("comment", "Inside a comment",
                   "1 inside a # comment (Python) or a // or /* */ comment (C/C++).",
                   ("python", "c"), True, _mask("comment")),
        Hypothesis("bracket", "Bracket depth",
                   "How many (, [ and { are open (brackets inside strings and comments are ignored in code).",
                   LANGUAGES, False,
                   lambda text, language, pattern: bracket_depth(text, _code(text, language))),
        Hypothesis("if_cond", "Inside an if condition",
                   "1 from the keyword if / elif up to the colon (Python) or up to the closing "
                   "parenthesis of if ( ... ) (C/C++).", ("python", "c"), True,
                   lambda text, language, pattern: if_condition(text, language, _code(text, language))),
        Hypothesis("regex", "Your regular expression",
                   "1 on every character of every match of a regular expression you type.",
                   LANGUAGES, True, lambda text, language, pattern: regex_feature(text, pattern or ""),
                   uses_context=False, takes_pattern=True),
    )
}
BENCH_KEYS = ("indent", "column", "string", "comment", "bracket", "if_cond")
# What the cell explorer starts with for each language.
DEFAULT_HYPOTHESIS = {"python": "indent", "c": "comment", "text": "double_quote"}


def available(language: str) -> list[Hypothesis]:
    """Hypotheses that make sense for a language ("python", "c" or "text")."""
    _check_language(language)
    return [h for h in HYPOTHESES.values() if language in h.languages]


def hypothesis(key: str, language: str) -> Hypothesis:
    """The registry entry for ``key``, checked against ``language`` (ValueError with a
    message that says what to pick instead)."""
    if key not in HYPOTHESES:
        raise ValueError(f"Unknown hypothesis {key!r}; choose one of {', '.join(HYPOTHESES)}.")
    _check_language(language)
    h = HYPOTHESES[key]
    if language not in h.languages:
        raise ValueError(f"'{h.label}' does not apply to {LANGUAGE_LABELS[language]} text; "
                         "pick another hypothesis or language.")
    return h


def feature(key: str, text: str, language: str = "python", *, pattern: str | None = None,
            prefix: str = "") -> np.ndarray:
    """One float32 value per character of ``text`` for hypothesis ``key``.

    ``prefix`` is text that came before (see ``context_start``): it is lexed so that
    strings, comments and brackets opened earlier are known, then cut off again.
    """
    h = hypothesis(key, language)
    full = prefix + text if prefix and h.uses_context else text
    if len(full) > MAX_PROBE_CHARS:
        raise ValueError(f"The text is longer than {MAX_PROBE_CHARS:,} characters; use an excerpt.")
    out = np.asarray(h.compute(full, language, pattern), dtype=np.float32)
    return out[len(full) - len(text):]


def constant_warning(h: Hypothesis, y) -> str | None:
    """What to tell a student when ``y`` has one value on every character (no cell can
    correlate with it), or None."""
    if y is None or float(np.ptp(y)) != 0.0:
        return None
    why = "it never holds here, or always does" if h.binary else "it never changes here"
    return (f"'{h.label}' has the same value on every character of this text ({why}), so no cell can "
            "correlate with it. Pick another excerpt or hypothesis.")
