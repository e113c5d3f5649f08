"""Excerpts of a corpus that start at a line start and end at a line end, with the
text before them from a "clean" position, so that a lexer knows which strings and
comments were already open when the excerpt begins."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .languages import _check_language

# A short text that shows most hypotheses at once (the explorer's "paste" default).
EXAMPLE_PYTHON = '''def greet(name, excited=False):
    """Say hello to someone."""
    if excited and (name != ""):
        message = "Hello, " + name + "!"
    else:
        message = 'hello ' + name  # quiet version
    for i in range(3):
        print(message)
    return message
'''

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
