"""Real text for the tagging lab: Shakespeare, cleaned to a small alphabet and split
by position into a training part and a held-out part.

The tags of this lab are about words (where a word ends, how long it is), so the
text is kept simple: lower case, the 26 letters, one space between words and a
few punctuation marks. Apostrophes are dropped ("o'er" -> "oer") so that a word
is just a run of letters; line breaks and tabs become spaces; any other
character (digits, brackets, accents) is removed. The held-out part is the last
10 % of the cleaned text, so no training window overlaps it.

``prepare`` does the same to a sentence a student types and says what it changed;
characters it cannot map get the project's one unknown-character message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from .. import corpora

LETTERS = "abcdefghijklmnopqrstuvwxyz"
PUNCTUATION = " !,-.:;?"
VOCAB = corpora.Vocab(tuple(sorted(LETTERS + PUNCTUATION)))
HELD_OUT = 0.10
MAX_INPUT = 200  # characters of typed text traced at once (the heatmaps' width)

_TABLE = np.zeros(256, dtype=np.uint8)
_TABLE[[ord(c) for c in VOCAB.chars]] = np.arange(len(VOCAB), dtype=np.uint8)
_SPACES = re.compile(r"\s+")
_DROP = re.compile(f"[^{re.escape(LETTERS + PUNCTUATION)}]")


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped, every run of white space one space."""
    return _SPACES.sub(" ", str(text).lower().replace("'", "").replace("\u2019", ""))


@dataclass(frozen=True)
class Split:
    """The cleaned corpus as ids, cut at ``cut``: ``ids[:cut]`` trains, ``ids[cut:]`` is held out."""

    text: str
    cut: int

    @functools.cached_property
    def ids(self) -> np.ndarray:
        """uint8 ids of the whole text (a table look-up: the cleaned text is ASCII)."""
        return _TABLE[np.frombuffer(self.text.encode("ascii"), dtype=np.uint8)]

    @property
    def train_text(self) -> str:
        return self.text[: self.cut]

    @property
    def held_out_text(self) -> str:
        return self.text[self.cut:]


@functools.lru_cache(maxsize=1)
def shakespeare() -> Split:
    """The cleaned Shakespeare corpus (cached; read-only)."""
    text = _DROP.sub("", normalise(corpora.load("shakespeare").text))
    text = _SPACES.sub(" ", text).strip()
    cut = text.rfind(" ", 0, int(len(text) * (1 - HELD_OUT)))  # cut between two words
    return Split(text, cut + 1)


def excerpts(split: Split, n: int = 12, length: int = 80) -> list[str]:
    """``n`` held-out sentences-ish, each starting at a word and ending at a word
    boundary, spread evenly over the held-out text (for the page's picker)."""
    held = split.held_out_text
    out = []
    for i in range(n):
        start = held.find(" ", (i * (len(held) - 2 * length)) // max(1, n)) + 1
        end = held.rfind(" ", start, start + length)
        out.append(held[start:end if end > start else start + length])
    return out


@dataclass(frozen=True)
class Prepared:
    text: str  # what the models read
    notes: tuple[str, ...]  # what was changed, in sentences for the student
    error: str | None = None  # set when the text cannot be read (then ``text`` is "")


def prepare(raw: str, cap: int = MAX_INPUT) -> Prepared:
    """A typed sentence as the models read it, with a note for every change made."""
    notes = []
    raw = str(raw or "")
    text = normalise(raw)
    if text != raw:
        changes = []
        if raw.lower() != raw:
            changes.append("capital letters became small ones")
        if "'" in raw or "\u2019" in raw:
            changes.append("apostrophes were dropped")
        if _SPACES.sub(" ", raw) != raw:
            changes.append("line breaks, tabs and repeated spaces became one space")
        if changes:
            notes.append("The models were trained on cleaned text, so " + ", ".join(changes) + ".")
    if len(text) > cap:
        notes.append(f"The text has {len(text):,} characters; only the first {cap:,} are shown.")
        text = text[:cap]
    if not text.strip():
        return Prepared("", tuple(notes), "Type a few words first.")
    message = VOCAB.unknown_message(text)
    if message:
        return Prepared("", tuple(notes), message)
    return Prepared(text, tuple(notes))
