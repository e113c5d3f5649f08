"""The three languages the hypotheses know (Python, C/C++, prose) and how a text's
language is found: from its corpus, its file extension, or a guess from the text."""

from __future__ import annotations

import re

LANGUAGES = ("python", "c", "text")
LANGUAGE_LABELS = {"python": "Python", "c": "C / C++", "text": "Prose"}
CORPUS_LANGUAGE = {"python": "python", "cpp": "c", "shakespeare": "text", "names": "text", "kernel": "c",
                   "austen": "text"}

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
