"""LSTMVis-style selection (Strobelt et al. 2016): the cells that are on inside a
chosen range of characters and off around it, and the other places in the text where
the same cells switch on together."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .hypotheses import feature


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


UNBOUNDED = ("c", "pre")  # signals without a fixed range: one threshold would mean different things
THETA = {True: (0.0, 1.0, 0.8), False: (-1.0, 1.0, 0.3)}  # gate? -> (lowest, highest, default) threshold


def bounded_signals(signals) -> list[str]:
    """The signals a single threshold θ can be applied to (gates in [0, 1], tanh in [-1, 1])."""
    return [s for s in signals if s not in UNBOUNDED]


def default_selection(S, text: str, language: str, y=None, *, prefix: str = "", lo: int = 0,
                      hi: int | None = None, theta: float = 0.3, margin: int = 3) -> tuple[int, int]:
    """A first selection that shows the idea: the first candidate (a span of the 0/1
    hypothesis ``y``, a string, an indentation) on which some cell of ``S`` does switch
    on; else the first candidate; else ten characters near ``lo``."""
    hi = len(text) if hi is None else hi
    cands = pattern_candidates(text, language, y, prefix=prefix, lo=lo, hi=hi)
    return first_selective(S, cands, theta, margin) or (cands[0] if cands else (lo + 10, min(hi, lo + 20)))


def near_misses(S, a: int, b: int, margin: int = 3, *, floor: float = -1.0, k: int = 3) -> str:
    """The ``k`` cells closest to matching [a, b): their lowest value inside and highest
    around it (``floor`` stands in for "around" at the ends of the text)."""
    inside, off = contrast(S, a, b, margin)
    near = np.argsort(-(inside - np.where(np.isfinite(off), off, floor)), kind="stable")[:k]
    return "; ".join(f"cell {int(c)}: lowest inside {float(inside[c]):+.2f}, highest around "
                     + (f"{float(off[c]):+.2f}" if np.isfinite(off[c]) else "none") for c in near)


@dataclass(frozen=True)
class BoxPick:
    a: int  # first character (text position)
    b: int  # one past the last character
    cells: list  # cell numbers of the rows inside the box, top to bottom


def box_pick(box: dict, rows, x0: int, width: int) -> BoxPick:
    """The characters and cells under a Plotly box selection on ``cells_time_heatmap``.

    ``box`` has "x" and "y" ranges in data coordinates (x: text positions from ``x0``,
    ``width`` characters shown; y: row index, ``rows`` = the cell number of each row).
    A character or row counts when the box covers its centre; a box thinner than one
    still picks the one it touches. Everything is clipped to what is shown.
    """
    if not rows or width < 1:
        raise ValueError("The heatmap shows no cells or no characters.")
    xs = sorted(float(v) for v in box.get("x", [x0, x0]))
    ys = sorted(float(v) for v in box.get("y", [0, 0]))
    a, b = _covered(xs[0], xs[-1], x0, x0 + width)
    r0, r1 = _covered(ys[0], ys[-1], 0, len(rows))
    return BoxPick(a, b, [int(c) for c in rows[r0:r1]])


def _covered(u0: float, u1: float, lo: int, hi: int) -> tuple[int, int]:
    """The integers in [lo, hi) whose centre lies in [u0, u1], as a range; at least one."""
    a, b = int(np.ceil(u0)), int(np.floor(u1)) + 1
    if b <= a:  # the box lies between two centres: take the nearest one
        a = int(np.floor((u0 + u1) / 2 + 0.5))
        b = a + 1
    a = int(np.clip(a, lo, hi - 1))
    return a, int(np.clip(b, a + 1, hi))


@dataclass
class PatternSearch:
    cells: np.ndarray  # the matching cells, strongest contrast first
    matches: list  # Match: other places where they switch on together
    mean: np.ndarray | None  # [T] mean of the matching cells (for colouring)
    message: str | None  # why there is nothing to show, when there is not

    @property
    def summary(self) -> str:
        """Markdown: how many cells match, and which (the first 30)."""
        shown = ", ".join(str(int(u)) for u in self.cells[:30]) + (" ..." if len(self.cells) > 30 else "")
        return f"**{len(self.cells)} cell(s) match:** {shown}"

    @property
    def matches_header(self) -> str:
        return (f"**Other places where they switch on together** (best {len(self.matches)}, ranked by how close the "
                "length is to your selection). Colour: mean of the selected cells.")


def search_pattern(S, a: int, b: int, theta: float, margin: int = 3, *, min_frac: float = 1.0, floor: float = -1.0,
                   where: str = "this layer", top: int = 8) -> PatternSearch:
    """``select_cells`` on [a, b) and then ``find_matches`` elsewhere, with a message that
    says what to change when either finds nothing (``where`` names the layer and signal)."""
    sel = select_cells(S, a, b, theta, margin)
    if not len(sel):
        return PatternSearch(sel, [], None, f"No cell of {where} matches this selection. "
                             f"{why_no_cells(S, a, b, theta, margin)} You can also try another signal or layer. "
                             f"Closest: {near_misses(S, a, b, margin, floor=floor)}.")
    matches = find_matches(S, sel, theta, b - a, exclude=(a, b), min_frac=min_frac, top=top)
    msg = None if matches else ("These cells are never on together anywhere else in this text. Lower the share of "
                                "cells, or use a longer text.")
    return PatternSearch(sel, matches, np.asarray(S)[:, sel].mean(axis=1), msg)
