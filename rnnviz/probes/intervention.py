"""Intervention: hold cells at a value while the model writes. A suggested clamp
value that still moves h (saturated cells flagged), and sampling with and without
the clamp from the same seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


SATURATED = 0.995  # |tanh| (or a gate's distance from 0/1) beyond which a change is invisible
SATURATED_SHARE = 0.95  # a cell is flagged when it is saturated on this share of characters
C_CLAMP_LIMIT = float(np.arctanh(0.95))  # beyond |c| = 1.83, tanh(c) hardly moves any more


def saturation(values, signal: str) -> float:
    """Share of characters on which the cell is saturated, so that changing its value
    would hardly change the output: |tanh(c)| (for c), |value| (tanh(c), h, g, n, a
    pre-activation of a tanh RNN) or the gate (i, f, o, r, z) within 0.005 of 0 or 1."""
    v = np.asarray(values, dtype=np.float64)
    if not v.size:
        return 0.0
    if signal == "c":
        v = np.tanh(v)
    if signal in ("i", "f", "o", "r", "z"):
        return float(np.mean((v < 1 - SATURATED) | (v > SATURATED)))
    return float(np.mean(np.abs(v) > SATURATED))


def is_saturated(values, signal: str) -> bool:
    return saturation(values, signal) >= SATURATED_SHARE


@dataclass(frozen=True)
class ClampSuggestion:
    value: float
    saturated: bool
    note: str


def clamp_suggestion(values, signal: str, r: float = 1.0) -> ClampSuggestion:
    """A clamp value that moves the cell's output: what it does when it is "on" for a
    hypothesis (``on_value``), kept where it still changes h.

    h = o * tanh(c) only feels c through tanh, so a c value beyond +-1.83 (tanh 0.95)
    is pulled back to that range. A cell saturated on almost every character (tanh(c)
    near -1 all the time, say) has no "on" value that differs from its usual one:
    then the suggestion is the opposite side, the one clamp that can change something.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return ClampSuggestion(0.0, False, "No values to suggest from; 0 switches the cell off.")
    sat = is_saturated(v, signal)
    if signal in ("c", "h", "tanh_c"):
        t = np.tanh(v) if signal == "c" else np.clip(v, -1.0, 1.0)
        if sat:
            side = -np.sign(np.median(t)) or 1.0
            target = side * 0.9
            note = (f"This cell is saturated: {saturation(v, signal):.0%} of the time "
                    f"{'tanh(c)' if signal == 'c' else signal} is beyond ±{SATURATED}, so its usual values all "
                    "act alike. The suggestion is the opposite side, where the output really changes.")
        else:
            target = float(np.clip(on_value(t, r), -0.95, 0.95))
            note = ("Suggested: what this cell does when it is on for the hypothesis (95th percentile on "
                    "this text, 5th if r is negative), kept inside the range where it still changes h.")
        value = float(np.arctanh(target)) if signal == "c" else float(target)
        return ClampSuggestion(round(value, 3), sat, note)
    return ClampSuggestion(round(on_value(v, r), 3), sat,
                           "Suggested: the 95th percentile of this value on this text (5th if r is negative).")


@dataclass
class ClampComparison:
    plain: object  # rnnviz.sample.Sample
    clamped: object
    n_diff: int
    first_diff: int | None

    def summary(self, what: str, value: float) -> str:
        """One Markdown sentence: what was clamped to what, and how much of the text changed."""
        first = "no difference at all" if self.first_diff is None else f"first at character {self.first_diff + 1}"
        return (f"Clamped **{what}** to **{value:+.2f}**. **{self.n_diff}** of {len(self.plain.text)} written "
                f"characters differ ({first}). Colours show how sure the model was of each character.")


def compare_clamp(model, vocab, clamp: dict, *, prime: str = "", length: int = 200, seed: int = 0,
                  temperature: float = 1.0, top_k: int | None = None, greedy: bool = False) -> ClampComparison:
    """Sample twice from the same seed, without and with ``clamp`` (the keywords of
    ``rnnviz.ui.pickers.Sampling.kwargs()`` fit)."""
    from ..sample import sample

    if not clamp:
        raise ValueError("Choose at least one cell to clamp.")
    kw = dict(length=length, prime=prime, temperature=temperature, top_k=top_k, seed=seed, greedy=greedy)
    plain = sample(model, vocab, **kw)
    clamped = sample(model, vocab, clamp=clamp, **kw)
    diff = [i for i, (a, b) in enumerate(zip(plain.text, clamped.text)) if a != b]
    n_diff = len(diff) + abs(len(plain.text) - len(clamped.text))
    return ClampComparison(plain, clamped, n_diff, diff[0] if diff else None)


# What the model continues in the Intervene view: a string just opened, so that a
# string or quote cell has something to do.
PRIMES = {"python": 'def greet(name):\n    print("', "c": 'int main(void) {\n    printf("', "text": '"'}


def written_share(smp, key: str, language: str, pattern: str | None = None) -> float:
    """The mean of hypothesis ``key`` over what a sample wrote (its prime left out, but
    lexed first, so a string the prime opened counts): the share of characters inside
    a string, the mean indentation, ... 0 when nothing was written."""
    from .hypotheses import feature

    f = feature(key, smp.full_text, language, pattern=pattern)[len(smp.prime):]
    return float(f.mean()) if len(f) else 0.0


def clamp_effect(res: ClampComparison, key: str, language: str, pattern: str | None = None):
    """(without, with): ``written_share`` of the plain and the clamped sample."""
    return written_share(res.plain, key, language, pattern), written_share(res.clamped, key, language, pattern)


def scoring(found: dict | None, layer: int, unit: int, current: dict) -> dict:
    """Which hypothesis scores a clamp of (layer, unit): the one the finder found this very
    cell with (``found`` = {"layer", "unit", "hyp", "lang", "pattern"}), else ``current``
    ({"hyp", "lang", "pattern"}). Adds "found": whether it was the finder's."""
    found = found or {}
    if found.get("layer") == layer and found.get("unit") == unit:
        return {**{k: found[k] for k in ("hyp", "lang", "pattern")}, "found": True}
    return {**current, "found": False}


@dataclass(frozen=True)
class ClampPlan:
    """What the Intervene view clamps: one cell or a whole layer, with a suggested value."""

    layer: int
    signal: str
    units: tuple
    what: str  # in words, for the result line
    suggestion: ClampSuggestion | None  # only for a single cell

    def spec(self, value: float) -> dict:
        return clamp_spec(self.layer, self.units, value, self.signal)

    @property
    def default_value(self) -> float:
        """The suggestion (rounded for a number input), or 1 for a whole layer."""
        return round(float(self.suggestion.value), 2) if self.suggestion else 1.0


def plan_clamp(cm, r, *, layer: int, unit: int, signal: str, whole_layer: bool = False) -> ClampPlan:
    """Clamp ``unit`` (or every cell) of ``signal`` in ``layer`` of the traced ``cm``; ``r``
    is every column's correlation with the hypothesis (it sets the "on" side)."""
    n = cm.block(layer, signal).shape[1]
    if whole_layer:
        return ClampPlan(layer, signal, tuple(range(n)), f"all {n} cells of layer {layer + 1} ({signal})", None)
    sug = clamp_suggestion(cm.block(layer, signal)[:, unit], signal, float(cm.r_of(r, layer, signal)[unit]))
    return ClampPlan(layer, signal, (int(unit),), f"layer {layer + 1}, {signal}, cell {unit}", sug)


def effect_metrics(res: ClampComparison, score: dict):
    """(caption, [(label, value, delta)]) scoring both samples with ``score`` (from
    ``scoring``), or None when its hypothesis cannot be computed any more."""
    from .hypotheses import HYPOTHESES

    try:
        before, after = clamp_effect(res, score["hyp"], score["lang"], score["pattern"])
    except ValueError:
        return None
    h = HYPOTHESES[score["hyp"]]
    name = h.label + ("" if h.binary else " (mean)")
    caption = f"Scored with “{h.label}”, the hypothesis " + ("this cell was found with." if score["found"]
                                                             else "selected above.")
    return caption, [(f"{name}, without clamp", f"{before:.2f}", None),
                     (f"{name}, with clamp", f"{after:.2f}", f"{after - before:+.2f}")]
