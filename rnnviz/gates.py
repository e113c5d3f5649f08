"""Gate statistics and the one-step arithmetic behind the "LSTM gates" page.

Three things a lesson about gates needs, all computed from a model's own weights:

* ``saturation`` - for every gate unit, the fraction of time it is
  left-saturated (< 0.1, nearly closed) and right-saturated (> 0.9, nearly open),
  as in Karpathy, Johnson & Fei-Fei (2015), Fig. 3.
* ``inspect_step`` - every quantity of one time step of one unit (input part,
  recurrent part and bias of each gate's pre-activation, the gate values, the new
  c and h), recomputed in float64 from the weights and the previous state. The
  page prints these numbers inside the lecture equations, so they must reproduce
  ``models.trace`` (tested to 1e-6).
* ``open_runs`` / ``retention`` - how long a forget gate stays open and how much of
  a cell's old content survives, the "conveyor belt" that carries information
  (and gradients) across many steps.

Around them sit the small pieces of analysis the page shows as tables (the biggest
pushes from h_{t-1}, the saturation summary, the longest open runs), the history of
a live model's saturation while it trains (with its step-0 weights), and
``TraceMemo``, the server-wide trace cache bounded by bytes rather than by entries
(a count bound let 24 traces of up to 29 MB each pile up).

PyTorch conventions are kept: LSTM gate rows i, f, g, o; GRU rows r, z, n with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) and h' = (1 - z) * n + z * h.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

from .models import GATE_SIGNALS, CharModel, Trace, layer_weights, split_state, trace

LOW, HIGH = 0.1, 0.9  # saturation thresholds of the paper
# Row blocks of the stacked weight matrices, by cell type (PyTorch order).
BLOCKS = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": ("a",)}
GATE_NAMES = {
    "i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate",
    "r": "reset gate", "z": "update gate", "n": "candidate", "a": "pre-activation",
}


# ------------------------------------------------------------------ saturation


@dataclass
class Saturation:
    """Per (layer, gate): fraction of steps each unit spends < low and > high."""

    cell: str
    layers: int
    gates: tuple
    chars: int
    left: dict = field(default_factory=dict)  # (layer, gate) -> [H] float array
    right: dict = field(default_factory=dict)
    low: float = LOW
    high: float = HIGH
    step: int | None = None  # training step of the model, when known

    def summary(self) -> dict:
        """(layer, gate) -> (share of units mostly closed, share mostly open).

        A unit counts as "mostly closed/open" when it spends more than half of the
        time saturated on that side.
        """
        return {
            key: (float(np.mean(self.left[key] > 0.5)), float(np.mean(self.right[key] > 0.5)))
            for key in self.left
        }


def saturation_from_trace(tr: Trace, *, low: float = LOW, high: float = HIGH, step=None) -> Saturation:
    gates = GATE_SIGNALS[tr.cell]
    if not gates:
        raise ValueError("A vanilla RNN has no gates, so there is nothing to saturate. Pick an LSTM or GRU.")
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"The thresholds must satisfy 0 <= low < high <= 1 (got {low}, {high}).")
    out = Saturation(tr.cell, len(tr.layers), gates, int(tr.ids.numel()), low=low, high=high, step=step)
    for k in range(len(tr.layers)):
        for g in gates:
            v = tr.numpy(k, g)
            out.left[(k, g)] = (v < low).mean(axis=0).astype(np.float32)
            out.right[(k, g)] = (v > high).mean(axis=0).astype(np.float32)
    return out


def saturation(model: CharModel, ids, *, low: float = LOW, high: float = HIGH, step=None) -> Saturation:
    """Saturation statistics of every gate unit of ``model`` over the text ``ids``."""
    if GATE_SIGNALS[model.config.cell] == ():
        raise ValueError("A vanilla RNN has no gates, so there is nothing to saturate. Pick an LSTM or GRU.")
    ids = np.asarray(ids).reshape(-1)
    if len(ids) < 2:
        raise ValueError("Saturation needs at least two characters of text.")
    with torch.inference_mode():
        tr = trace(model, ids)
    return saturation_from_trace(tr, low=low, high=high, step=step)


def corpus_saturation(model: CharModel, corpus, chars: int, *, step=None) -> Saturation:
    """Saturation over ``chars`` characters of ``corpus``'s validation text (evenly spaced excerpts)."""
    if corpus is None:
        raise ValueError("This model does not say which built-in text it was trained on, so there is no "
                         "validation text to measure its gates on.")
    return saturation(model, corpus_sample(corpus.val_ids, chars), step=step)


def corpus_sample(ids, chars: int, pieces: int = 4) -> np.ndarray:
    """``chars`` ids taken as ``pieces`` evenly spaced excerpts (more varied than one block).

    The excerpts are concatenated; the state simply runs on across the seams,
    which changes a few steps and not the statistics.
    """
    ids = np.asarray(ids).reshape(-1)
    chars = int(chars)
    if chars <= 0:
        raise ValueError("The sample must contain at least one character.")
    if len(ids) <= chars:
        return ids.copy()
    pieces = max(1, min(int(pieces), chars))
    size = chars // pieces
    starts = np.linspace(0, len(ids) - size, pieces).astype(int)
    return np.concatenate([ids[s : s + size] for s in starts])


# ------------------------------------------------------------------ step inspector


def _f64(t) -> np.ndarray:
    return t.detach().to(torch.float64).numpy()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_input(model: CharModel, tr: Trace, layer: int) -> np.ndarray:
    """[T, D] what layer ``layer`` reads at each step: the embedding or the h below."""
    if layer == 0:
        return _f64(tr.embeddings)
    return _f64(tr.layers[layer - 1]["h"])


def previous_state(model: CharModel, tr: Trace, layer: int, t: int):
    """(h_{t-1}, c_{t-1}) of one layer as float64 vectors (c is None unless LSTM)."""
    if t > 0:
        h = _f64(tr.layers[layer]["h"][t - 1])
        c = _f64(tr.layers[layer]["c"][t - 1]) if tr.cell == "lstm" else None
        return h, c
    hs, cs = split_state(model, tr.initial)
    return _f64(hs[layer]), (_f64(cs[layer]) if cs is not None else None)


def inspect_step(model: CharModel, tr: Trace, layer: int, t: int, unit: int, *, top: int = 5) -> dict:
    """Every number of one step of one unit, recomputed from the weights.

    Returns a dict with ``x`` (the layer input), ``h_prev``/``c_prev`` (the unit's
    previous values), per block (i, f, g, o / r, z, n / a) the pieces of the
    pre-activation ``{"x": W_x x_t, "h": W_h h_{t-1}, "b_x"/"b_h": biases,
    "pre": the sum, "value": after the non-linearity}`` plus ``rec``/``bias``, the
    recurrent and bias addends exactly as they enter ``pre`` (for the GRU's n they
    are scaled by r), so ``x + rec + bias == pre`` for every block; then the
    resulting ``c`` and ``h``. ``top`` lists the previous-state units that push
    each block hardest. Inputs come from the trace; nothing computed here is
    copied from it.
    """
    cfg = model.config
    cell = cfg.cell
    if cell != tr.cell:
        raise ValueError("The trace was made with a different model.")
    T = int(tr.ids.numel())
    if not 0 <= layer < cfg.layers:
        raise ValueError(f"Layer {layer + 1} does not exist: the model has {cfg.layers} layer(s).")
    if not 0 <= t < T:
        raise ValueError(f"Position {t} is outside the text (0 to {T - 1}).")
    if not 0 <= unit < cfg.hidden:
        raise ValueError(f"Cell {unit} does not exist: layers have {cfg.hidden} cells (0 to {cfg.hidden - 1}).")
    H = cfg.hidden
    w = layer_weights(model, layer)
    x = layer_input(model, tr, layer)[t]
    h_prev, c_prev = previous_state(model, tr, layer, t)
    w_ih, w_hh, b_ih, b_hh = _f64(w.w_ih), _f64(w.w_hh), _f64(w.b_ih), _f64(w.b_hh)
    parts = {}
    for k, name in enumerate(BLOCKS[cell]):
        row = k * H + unit
        terms = w_hh[row] * h_prev
        order = np.argsort(-np.abs(terms))[:top]
        parts[name] = {
            "x": float(w_ih[row] @ x),
            "h": float(terms.sum()),
            "b_x": float(b_ih[row]),
            "b_h": float(b_hh[row]),
            "top": [(int(j), float(w_hh[row, j]), float(h_prev[j]), float(terms[j])) for j in order],
        }
    out = {
        "cell": cell, "layer": layer, "t": t, "unit": unit,
        "char_id": int(tr.ids[t]), "x": x, "h_prev": float(h_prev[unit]),
        "c_prev": float(c_prev[unit]) if c_prev is not None else None,
        "h_prev_norm": float(np.linalg.norm(h_prev)), "parts": parts,
    }
    if cell == "lstm":
        for name in ("i", "f", "g", "o"):
            p = parts[name]
            p["b"] = p["b_x"] + p["b_h"]
            p["pre"] = p["x"] + p["h"] + p["b"]
            p["value"] = float(np.tanh(p["pre"]) if name == "g" else _sigmoid(p["pre"]))
        i, f, g, o = (parts[n]["value"] for n in ("i", "f", "g", "o"))
        c = f * out["c_prev"] + i * g
        out.update(keep=f * out["c_prev"], write=i * g, c=c, tanh_c=float(np.tanh(c)), h=o * float(np.tanh(c)))
    elif cell == "gru":
        for name in ("r", "z"):
            p = parts[name]
            p["b"] = p["b_x"] + p["b_h"]
            p["pre"] = p["x"] + p["h"] + p["b"]
            p["value"] = float(_sigmoid(p["pre"]))
        r, z = parts["r"]["value"], parts["z"]["value"]
        p = parts["n"]
        p["b"] = p["b_x"] + p["b_h"]
        p["gated"] = r * (p["h"] + p["b_h"])  # reset gate scales W_hn h + b_hn (PyTorch)
        p["pre"] = p["x"] + p["b_x"] + p["gated"]
        p["value"] = float(np.tanh(p["pre"]))
        n = p["value"]
        out.update(keep=z * out["h_prev"], write=(1.0 - z) * n, h=(1.0 - z) * n + z * out["h_prev"])
    else:
        p = parts["a"]
        p["b"] = p["b_x"] + p["b_h"]
        p["pre"] = p["x"] + p["h"] + p["b"]
        act = cfg.nonlinearity
        p["value"] = float(np.tanh(p["pre"]) if act == "tanh" else max(0.0, p["pre"]))
        out.update(activation=act, h=p["value"])
    for name, p in parts.items():  # the three addends of each pre-activation, as added
        r = parts["r"]["value"] if name == "n" else 1.0
        p["rec"] = r * p["h"]
        p["bias"] = p["b_x"] + r * p["b_h"]
    return out


# ------------------------------------------------------------------ conveyor belt


def open_runs(values, threshold: float = HIGH):
    """Longest run of consecutive steps with value > threshold, per unit.

    ``values`` is [T, H]; returns (length[H], start[H]) as int arrays. A forget
    gate that stays open for a long run keeps its cell's content that long.
    """
    v = np.asarray(values) > threshold
    T, H = v.shape
    best = np.zeros(H, dtype=np.int64)
    best_start = np.zeros(H, dtype=np.int64)
    cur = np.zeros(H, dtype=np.int64)
    for t in range(T):
        cur = np.where(v[t], cur + 1, 0)
        better = cur > best
        best = np.where(better, cur, best)
        best_start = np.where(better, t - cur + 1, best_start)
    return best, best_start


def retention(forget, start: int = 0):
    """[T, H]: share of c_start still present at step t, i.e. the product of f over (start, t].

    Zero before ``start``; 1 at ``start``. With c_t = f_t c_{t-1} + i_t g_t, this is
    the factor by which the old content was scaled, and also d c_t / d c_start
    along the additive path.
    """
    f = np.asarray(forget, dtype=np.float64)
    T = f.shape[0]
    if not 0 <= start < T:
        raise ValueError(f"The start position must be between 0 and {T - 1}.")
    out = np.zeros_like(f)
    out[start] = 1.0
    if start + 1 < T:
        out[start + 1 :] = np.cumprod(f[start + 1 :], axis=0)
    return out


def rank_memory_cells(forget, threshold: float = HIGH, count: int = 4) -> list[int]:
    """Units whose forget (or GRU update) gate stays open longest, best first."""
    length, _ = open_runs(forget, threshold)
    mean = np.asarray(forget).mean(axis=0)
    order = np.lexsort((-mean, -length))
    return [int(u) for u in order[:count]]


def signal_scale(values, quantile: float = 0.99) -> float:
    """A symmetric colour range for a signed signal: +-1 for bounded ones, else a robust max."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    m = float(np.quantile(v, quantile))
    return 1.0 if m <= 1.0 else round(m, 2)


def top_varying_units(values, count: int = 3) -> list[int]:
    """The ``count`` units whose value changes most over the text (largest std), best first."""
    v = np.asarray(values, dtype=np.float64)
    return [int(u) for u in np.argsort(-v.std(axis=0), kind="stable")[:count]]


def clamp(value, lo: int, hi: int) -> int:
    """``value`` as an int inside [lo, hi] (a window start after the text got shorter)."""
    return max(int(lo), min(int(hi), int(value)))


@dataclass(frozen=True)
class BeltSpec:
    """Which signals make a cell type's conveyor belt: its memory, the gate that keeps it
    (1 = keep) and the gate that writes into it (``write=None``: 1 - keep, as in the GRU)."""

    memory: str
    keep: str
    write: str | None
    memory_label: str
    keep_label: str
    write_label: str


# Cell types with a belt; the vanilla RNN has none (its state goes through a matrix every step).
BELTS = {
    "lstm": BeltSpec("c", "f", "i", "cell state c_t", "forget gate f (1 = keep)", "input gate i (1 = write)"),
    "gru": BeltSpec("h", "z", None, "hidden state h_t (the GRU's only memory)", "update gate z (1 = keep)",
                    "1 − z (1 = overwrite with n)"),
}


def keep_gate(cell: str) -> str | None:
    """The gate that says "keep the memory" (f, or the GRU's z); None without a belt."""
    spec = BELTS.get(cell)
    return spec.keep if spec else None


@dataclass
class Belt:
    """[T, H] memory, keep and write values of one layer, with their labels."""

    memory: np.ndarray
    keep: np.ndarray
    write: np.ndarray
    labels: dict


def belt(tr: Trace, layer: int) -> Belt | None:
    """The conveyor belt of one layer of a trace, or None for a cell type without one."""
    spec = BELTS.get(tr.cell)
    if spec is None:
        return None
    keep = tr.numpy(layer, spec.keep)
    write = tr.numpy(layer, spec.write) if spec.write else 1.0 - keep
    labels = {"memory_label": spec.memory_label, "keep_label": spec.keep_label, "write_label": spec.write_label}
    return Belt(tr.numpy(layer, spec.memory), keep, write, labels)


# ------------------------------------------------------------------ tables


def part_rows(d: dict) -> list[dict]:
    """One row per block of ``inspect_step``'s result: the addends of its pre-activation."""
    return [{
        "block": f"{name}: {GATE_NAMES[name]}",
        "from x_t": round(q["x"], 4),
        "from h_{t-1}": round(q["rec"], 4),
        "bias": round(q["bias"], 4),
        "pre-activation": round(q["pre"], 4),
        "value": round(q["value"], 4),
    } for name, q in d["parts"].items()]


def push_rows(d: dict, block: str) -> list[dict]:
    """The previous-state cells that push ``block``'s pre-activation hardest (weight x h)."""
    if block not in d["parts"]:
        raise ValueError(f"This cell has no block {block!r}; it has {', '.join(d['parts'])}.")
    return [{"cell j": j, "weight W[unit, j]": round(w, 4), "h_{t-1}[j]": round(h, 4), "weight × h": round(p, 4)}
            for j, w, h, p in d["parts"][block]["top"]]


def saturation_rows(sat: Saturation) -> list[dict]:
    """Per layer and gate: share of units mostly closed, mostly open, and hardly ever saturated."""
    rows = []
    for (k, g), (closed, opened) in sat.summary().items():
        between = float(np.mean((sat.left[(k, g)] + sat.right[(k, g)]) < 0.1))
        rows.append({"layer": k + 1, "gate": g, "closed": f"{closed:.0%}", "open": f"{opened:.0%}",
                     "in between": f"{between:.0%}"})
    return rows


def open_run_rows(text: str, keep, count: int = 8, width: int = 60) -> list[dict]:
    """The ``count`` cells whose keep gate stays open longest over ``text``, with that stretch of text."""
    length, where = open_runs(keep)
    rows = []
    for u in np.argsort(-length, kind="stable")[:count]:
        a, n = int(where[u]), int(length[u])
        snippet = text[a : a + n]
        snippet = snippet[:width] + " …" if len(snippet) > width else snippet
        rows.append({"cell": int(u), "open for (chars)": n, "from t": a, "text": snippet.replace("\n", " ↵ ")})
    return rows


def step_check(tr: Trace, d: dict) -> tuple[dict, float]:
    """The network's own values of the inspected step (``{"c": .., "h": ..}``, c only when the
    trace has it) and the largest difference from ``inspect_step``'s recomputation."""
    layer, t, unit = d["layer"], d["t"], d["unit"]
    ref = {name: float(tr.layers[layer][name][t, unit]) for name in ("c", "h") if name in tr.layers[layer]}
    return ref, max(abs(v - d[name]) for name, v in ref.items())


# What a student should know to read the inspector's numbers, by cell type: (text, first layer only).
STEP_NOTES = {
    "gru": [("PyTorch applies the reset gate after the matrix product, r ⊙ (W_hn h + b_hn), where some "
             "textbooks write W (r ⊙ h). With z = 1 the old state is kept; with z = 0 it is replaced by n.", False)],
    "rnn": [("In layer 1, x_t is the character's learned embedding vector, so the input part W_xh x_t is the "
             "same number every time this character appears; only the recurrent part carries context.", True)],
}


def step_notes(cell: str, layer: int) -> list[str]:
    """The notes under the inspector's equations for this cell type and layer."""
    return [text for text, first_only in STEP_NOTES.get(cell, []) if layer == 0 or not first_only]


# ------------------------------------------------------------------ live saturation


def step0_saturation(model: CharModel, initial_weights, ids) -> Saturation | None:
    """Saturation of ``model``'s architecture with its weights before training, if they are known.

    ``model`` is not changed (a copy gets ``initial_weights``); None when there are no
    initial weights or they do not fit the model.
    """
    if not initial_weights:
        return None
    fresh = model.copy()
    try:
        fresh.load_state_dict(initial_weights)
    except (RuntimeError, KeyError):
        return None
    return saturation(fresh, ids, step=0)


def measured_ids(corpus, min_val: int = 200) -> np.ndarray:
    """The ids a live run's saturation is measured on: its validation text, or all of its
    text when the validation split is too short to say much (under ``min_val`` characters)."""
    ids = corpus.val_ids
    return ids if len(ids) >= min_val else corpus.ids


COMPARE = {"first": "the first measurement", "previous": "the previous measurement", "none": "nothing"}


class SaturationHistory:
    """Saturation measurements of one live run while it trains.

    ``owner`` identifies the run and ``chars`` the measured sample; a page keeps one
    history and starts a new one when either changes. The first measurement is kept
    (step 0 when the run's initial weights are known) together with the latest ones,
    ``keep`` in all.
    """

    def __init__(self, owner, chars: int, keep: int = 8):
        self.owner, self.chars, self.keep = owner, int(chars), max(2, int(keep))
        self.items: list[Saturation] = []

    def matches(self, owner, chars: int) -> bool:
        return self.owner == owner and self.chars == int(chars)

    @classmethod
    def kept(cls, store, key: str, owner, chars: int) -> "SaturationHistory":
        """The history held in ``store[key]`` (a session's state), new when the run or the sample changed."""
        hist = store.get(key)
        if hist is None or not hist.matches(owner, chars):
            hist = store[key] = cls(owner, chars)
        return hist

    def due(self, steps: int, every: int, running: bool) -> bool:
        """Measure now? First time, every ``every`` steps, and once more after training stops."""
        if not self.items:
            return True
        last = self.items[-1].step or 0
        return steps - last >= every or (not running and steps != last)

    def measure(self, model: CharModel, ids, step: int, initial_weights=None) -> Saturation:
        """Measure ``model`` (the run's weights at ``step``), first adding step 0 when possible."""
        if not self.items and step > 0:
            first = step0_saturation(model, initial_weights, ids)
            if first is not None:
                self.items.append(first)
        sat = saturation(model, ids, step=int(step))
        self.items.append(sat)
        while len(self.items) > self.keep:
            del self.items[1]
        return sat

    def measure_run(self, checkpoint, trainer) -> Saturation:
        """Measure a live run from a private ``checkpoint`` of it and its ``trainer``'s text
        and initial weights."""
        ids = corpus_sample(measured_ids(trainer.corpus), self.chars)
        step = int(checkpoint.card.get("steps") or 0)
        return self.measure(checkpoint.model, ids, step, getattr(trainer, "initial_weights", None))

    def compared(self, mode: str) -> Saturation | None:
        """The grey measurement for ``mode`` (a key of ``COMPARE``), or None."""
        if mode not in COMPARE:
            raise ValueError(f"Unknown comparison {mode!r}; choose one of {', '.join(COMPARE)}.")
        if len(self.items) < 2 or mode == "none":
            return None
        return self.items[0] if mode == "first" else self.items[-2]


# ------------------------------------------------------------------ trace cache


def trace_nbytes(tr: Trace) -> int:
    """Memory a trace holds in its tensors (signals, logits, embeddings)."""
    tensors = [t for layer in tr.layers for t in layer.values()] + [tr.logits, tr.embeddings]
    return int(sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor)))


class TraceMemo:
    """A thread-safe LRU of traces shared by every session, bounded by the bytes they hold.

    ``get(key, make)`` returns the cached value for ``key`` or stores ``make()``; the
    oldest entries go once the total passes ``budget`` bytes (the newest entry always
    stays, whatever its size). Values must be treated as read-only.
    """

    def __init__(self, budget: int, size=trace_nbytes):
        self.budget, self.size = int(budget), size
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = make()  # outside the lock: tracing takes a while, other sessions go on
        n = int(self.size(value))
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, n)
                self._bytes += n
            while self._bytes > self.budget and len(self._items) > 1:
                _, (_, gone) = self._items.popitem(last=False)
                self._bytes -= gone
            return self._items[key][0] if key in self._items else value

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
