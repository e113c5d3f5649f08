"""User regular expressions, run with RE2 (linear time) so that no pattern can freeze
a classroom server; unsupported syntax gets a message that names it, and one pattern
over one text is time-boxed (``REGEX_SECONDS``)."""

from __future__ import annotations

import functools
import re
import time

import numpy as np

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
    rx = compile_pattern(pattern)
    out = np.zeros(len(text), dtype=np.float32)
    deadline = time.monotonic() + seconds
    for k, m in enumerate(rx.finditer(text)):
        out[m.start() : m.end()] = 1.0
        if k % 64 == 63 and time.monotonic() > deadline:
            raise ValueError(f"That regular expression took longer than {seconds:g} s on this text, so it "
                             "was stopped. Make it more specific (fewer, longer matches) or use a shorter text.")
    return out
