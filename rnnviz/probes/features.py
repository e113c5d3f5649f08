"""Per-character features that need no registry: column, indentation depth, bracket
depth and the inside of ``if`` conditions. The value at character t is what is true
*after reading* t, which is all a left-to-right network can know."""

from __future__ import annotations

import re

import numpy as np

INDENT_UNIT = 4  # spaces per indentation level; a tab advances to the next multiple
MAX_PROBE_CHARS = 200_000

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
