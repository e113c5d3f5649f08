"""The tagging tasks: one tag (0 or 1) per character, computed from the text alone.

Each task is one ``Task`` in ``TASKS``. Some answers lie ahead of the character
("is this the last letter of its word?" needs the next character; "is this word
longer than k letters?" needs the rest of the word), which a forward-only RNN
cannot see. The control ("first letter of each word") depends only on the
character itself and the one before it, so a forward-only RNN can learn it as
well as a bidirectional one. Comparing the two on each task shows that reading
backwards helps exactly when the answer lies in the future.

``positions`` names where every character sits in its word (first, middle,
last, a one-letter word, or not a letter), for accuracy by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .text import LETTERS

K_RANGE = (3, 8)

# position codes (per character)
NOT_LETTER, FIRST, MIDDLE, LAST, SINGLE = range(5)
POSITION_LABELS = {FIRST: "first letter", MIDDLE: "middle letters", LAST: "last letter",
                   SINGLE: "one-letter word", NOT_LETTER: "spaces and punctuation"}
POSITION_KEYS = {FIRST: "first", MIDDLE: "middle", LAST: "last", SINGLE: "single", NOT_LETTER: "other"}

_IS_LETTER = np.zeros(128, dtype=bool)
_IS_LETTER[[ord(c) for c in LETTERS]] = True


def is_letter(text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)
    return _IS_LETTER[np.minimum(codes, 127)]


def word_runs(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(word start, word length) of every character (-1 and 0 where it is not a letter)."""
    letter = is_letter(text)
    edges = np.diff(np.concatenate([[0], letter.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    word = np.cumsum(edges[:-1] == 1) - 1  # index of the word a letter belongs to
    start = np.where(letter, starts[np.maximum(word, 0)] if len(starts) else -1, -1)
    length = np.where(letter, (ends - starts)[np.maximum(word, 0)] if len(starts) else 0, 0)
    return start, length


def positions(text: str) -> np.ndarray:
    """One position code per character (NOT_LETTER, FIRST, MIDDLE, LAST, SINGLE)."""
    start, length = word_runs(text)
    idx = np.arange(len(text))
    out = np.full(len(text), NOT_LETTER, dtype=np.int64)
    letter = length > 0
    out[letter] = MIDDLE
    out[letter & (idx == start)] = FIRST
    out[letter & (idx == start + length - 1)] = LAST
    out[letter & (length == 1)] = SINGLE
    return out


def _last(text: str, k: int) -> np.ndarray:
    p = positions(text)
    return ((p == LAST) | (p == SINGLE)).astype(np.int64)


def _first(text: str, k: int) -> np.ndarray:
    p = positions(text)
    return ((p == FIRST) | (p == SINGLE)).astype(np.int64)


def _long(text: str, k: int) -> np.ndarray:
    return (word_runs(text)[1] > k).astype(np.int64)


@dataclass(frozen=True)
class Task:
    key: str
    label: str  # short and stable: the page writes it into the URL
    tag: Callable[[str, int], np.ndarray] = None  # (text, k) -> 0/1 per character
    explain: str = ""
    uses_k: bool = False
    looks_ahead: bool = True  # does the answer depend on characters after this one?

    def describe(self, k: int) -> str:
        return self.explain.replace("{k}", str(k))

    def tags(self, text: str, k: int = 5) -> np.ndarray:
        return self.tag(text, k)


TASKS: dict[str, Task] = {
    "last": Task("last", "Last letter of each word", _last,
                 "Tag 1 on the last letter of every word. Whether a letter is the last one depends on the "
                 "NEXT character, which a forward-only RNN has not read yet."),
    "long": Task("long", "Letters of long words", _long,
                 "Tag 1 on every letter of a word with more than {k} letters. At the start of a word only the "
                 "letters still to come tell how long it will be.", uses_k=True),
    "first": Task("first", "First letter of each word (control)", _first,
                  "Tag 1 on the first letter of every word. The character before it is a space or punctuation, "
                  "which a forward-only RNN has just read: it needs nothing from the future.", looks_ahead=False),
}


def get(key: str) -> Task:
    try:
        return TASKS[key]
    except KeyError:
        raise ValueError(f"Unknown task {key!r}; choose one of: {', '.join(TASKS)}.") from None


def check_k(k) -> int:
    lo, hi = K_RANGE
    if not (isinstance(k, (int, np.integer)) and lo <= int(k) <= hi):
        raise ValueError(f"The word length k must be a whole number from {lo} to {hi} (got {k!r}).")
    return int(k)
