"""What the cell explorer shows, computed without Streamlit: a text, a hypothesis over it
and a traced model (``explore``), and one chosen cell of it (``Exploration.cell``).

The page only lays out widgets around these objects, so everything it computes is
unit-tested here: the feature (or the message why there is none), every column's r,
the order of the cells, and the headline that names the cell on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ui import html as H  # string builders only (no Streamlit)
from .finder import ORDERS, CellMatrix, cell_order
from .hypotheses import HYPOTHESES, Hypothesis, constant_warning, feature


@dataclass(frozen=True)
class Panel:
    """One coloured-text panel: escaped HTML, a download name and title, and optionally an
    "Inspect" button (label, widget key, (layer, signal, unit[, found_with]))."""

    fragment: str
    name: str
    title: str
    button: tuple | None = None


def heat_panel(text: str, values, lo: int, hi: int, *, name: str, caption: str, signal: str = "value",
               gate: bool = False, height: int = 320, button=None) -> Panel:
    """``values`` over text[lo:hi] coloured on 0..1 (a gate) or ±(largest |value|, at least 1)."""
    v = np.asarray(values)
    m = 1.0 if gate else max(1.0, float(np.abs(v).max()) if v.size else 1.0)
    frag = H.heat_text(text[lo:hi], v[lo:hi], vmin=0.0 if gate else -m, vmax=m, label=signal, max_height=height,
                       caption=caption)
    return Panel(frag, name, caption or name, button)


def sample_panels(res, what: str, value: float) -> list[Panel]:
    """The two samples of a clamp comparison, coloured by how sure the model was."""
    caps = ("without the clamp", f"with the clamp ({what} = {value:+.2f})")
    return [Panel(H.prob_text(s.text, s.probs, s.top, prime=s.prime, max_height=420, caption=cap), name, cap)
            for s, cap, name in zip((res.plain, res.clamped), caps, ("sample-plain", "sample-clamped"))]


@dataclass
class CellPick:
    layer: int
    signal: str
    order_key: str
    order: np.ndarray  # cell numbers in the chosen order
    pos: int  # position in that order
    unit: int  # the cell number at ``pos``
    block: np.ndarray  # [T, H] values of (layer, signal)
    rl: np.ndarray  # r of each cell of (layer, signal)
    gate: bool  # a gate (values in 0..1)?

    @property
    def values(self) -> np.ndarray:
        return self.block[:, self.unit]

    @property
    def vmax(self) -> float:
        """The colour range of this cell's text: 1 for a gate, else its largest |value| (at least 1)."""
        return 1.0 if self.gate else max(1.0, float(np.abs(self.values).max()))


@dataclass
class Exploration:
    text: str
    context: str  # characters before ``text`` (lexer context)
    language: str
    hyp: Hypothesis
    pattern: str | None
    cm: CellMatrix
    y: np.ndarray | None  # the hypothesis per character, None when it cannot be computed
    r: np.ndarray  # Pearson r of every column of ``cm`` with ``y`` (zeros without y)
    error: str | None = None  # why there is no ``y``
    warning: str | None = None  # ``y`` is constant: no cell can correlate
    extra: dict = field(default_factory=dict)

    @property
    def T(self) -> int:
        return len(self.text)

    @property
    def found_with(self) -> dict:
        """The hypothesis as the Intervene view scores with it (see ``scoring``)."""
        return {"hyp": self.hyp.key, "lang": self.language, "pattern": self.pattern}

    def cell(self, layer: int, signal: str, order_key: str, pos: int, gates=()) -> CellPick:
        """The cell at position ``pos`` of (layer, signal) in the order ``order_key``."""
        block, rl = self.cm.block(layer, signal), self.cm.r_of(self.r, layer, signal)
        order = cell_order(block, rl, order_key)
        pos = int(np.clip(pos, 0, len(order) - 1))
        return CellPick(layer, signal, order_key, order, pos, int(order[pos]), block, rl, signal in gates)

    def cell_panels(self, c: CellPick, lo: int, hi: int, *, compare: bool = False) -> list[Panel]:
        """The chosen cell over text[lo:hi], and the hypothesis under it when ``compare``."""
        out = [heat_panel(self.text, c.values, lo, hi, name=f"cell-{c.layer + 1}-{c.signal}-{c.unit}", caption="",
                          signal=c.signal, gate=c.gate, height=460)]
        if compare and self.y is not None:
            out.append(heat_panel(self.text, self.y, lo, hi, name=f"hypothesis-{self.hyp.key}",
                                  caption=f"{self.hyp.label} (blue = high; hover for the value)"))
        return out

    def box_panels(self, c: CellPick, a: int, b: int, cells, *, pad: int = 30, top: int = 6) -> list[Panel]:
        """The cells of a box selection on [a, b), each over the box with ``pad`` characters around."""
        lo, hi = max(0, a - pad), min(self.T, b + pad)
        return [heat_panel(self.text, c.block[:, u], lo, hi, name=f"box-cell-{u}", signal=c.signal, height=180,
                           caption=f"cell {u} · mean in box {float(c.block[a:b, u].mean()):+.2f} · r = {float(c.rl[u]):+.2f}",
                           button=(f"Inspect cell {u}", f"cx_pick_{u}", (c.layer, c.signal, int(u))))
                for u in list(cells)[:top]]

    def top_panels(self, cells, lo: int, hi: int) -> list[Panel]:
        """The hypothesis and the finder's best cells (``CellScore``s) side by side over text[lo:hi]."""
        out = [heat_panel(self.text, self.y, lo, hi, name=f"hypothesis-{self.hyp.key}",
                          caption=f"hypothesis: {self.hyp.label}")]
        for i, s in enumerate(cells):
            out.append(heat_panel(self.text, self.cm.block(s.layer, s.signal)[:, s.unit], lo, hi, name=f"top-{i + 1}",
                                  signal=s.signal, caption=f"#{i + 1} layer {s.layer + 1} · {s.signal} · cell {s.unit} "
                                                           f"· r = {s.r:+.2f}",
                                  button=(f"Inspect #{i + 1}", f"cx_open_{i}", (s.layer, s.signal, s.unit, self.found_with))))
        return out

    def match_panels(self, found) -> list[Panel]:
        """The other places a ``search_pattern`` found, coloured by the mean of its cells."""
        from ..plots.cells import span_fragment

        return [Panel(span_fragment(self.text, mt.start, mt.end, pad=30, values=found.mean, max_height=150,
                                    caption=f"characters {mt.start:,} to {mt.end:,} · length {mt.end - mt.start} · "
                                            f"score {mt.score:.2f}"), f"match-{i + 1}", f"Match {i + 1}")
                for i, mt in enumerate(found.matches)]

    def finder_intro(self, ranking) -> str:
        return (f"Ranked **{ranking.n_ranked:,}** (layer, signal, cell) columns by Pearson r with "
                f"**{self.hyp.label.lower()}** over {self.T:,} characters.")

    def headline(self, c: CellPick, signal_label: str) -> str:
        """Markdown naming the cell on screen (our own words and numbers only)."""
        return (f"**Layer {c.layer + 1} · {signal_label} · cell {c.unit}** (position {c.pos} {ORDERS[c.order_key]}) "
                f"· r with {self.hyp.label.lower()} = **{float(c.rl[c.unit]):+.2f}**")


def explore(cm: CellMatrix, text: str, language: str, key: str, *, pattern: str | None = None,
            context: str = "") -> Exploration:
    """Hypothesis ``key`` over ``text`` and its r with every traced column of ``cm``. A
    hypothesis that cannot be computed (a bad pattern) leaves ``y`` None and says why."""
    y, error = None, None
    try:
        y = feature(key, text, language, pattern=pattern, prefix=context)
    except ValueError as e:
        error = str(e)
    r = cm.correlate(y) if y is not None else np.zeros(cm.X.shape[1])
    return Exploration(text, context, language, HYPOTHESES[key], pattern, cm, y, r, error,
                       constant_warning(HYPOTHESES[key], y))
