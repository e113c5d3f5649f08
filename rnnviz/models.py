"""Character-level RNN / LSTM / GRU models and an exact step-by-step ``trace``.

Training goes through PyTorch's fused ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (several
times faster than a Python loop on CPU). Inspection goes through ``trace``, which
replays a sequence one time step at a time with the *same* weights and keeps every
intermediate value a lesson wants to show: h, c and the gates. ``trace`` agrees with
the fused forward to float32 round-off (tested to 1e-5).

Without gradients and clamps (the inspection pages), ``trace`` does not step at all:
one fused call per layer gives h for every step, one matmul gives every gate from
[h_0, h_1, ...], and the LSTM's cell state is a NumPy scan. That is O(layers) torch
calls instead of O(T): each torch call releases the GIL and must win it back, which
takes up to ``sys.getswitchinterval()`` (5 ms) whenever another thread runs Python
(a Streamlit server always has one), so thousands of tiny calls turned 0.15 s into
seconds or minutes. NumPy ufuncs keep the GIL for at most 500 elements, so the scan
runs in blocks of at most that many units (one block for every bundled model).

PyTorch's weight layout is kept as is (gate order i, f, g, o for the LSTM and
r, z, n for the GRU), so the equations in the lessons map one-to-one onto
``weight_ih_l{k}`` / ``weight_hh_l{k}`` slices.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn

CELLS = ("rnn", "lstm", "gru")
CELL_LABELS = {"rnn": "Vanilla RNN", "lstm": "LSTM", "gru": "GRU"}
# Signals trace() records per layer, by cell type.
SIGNALS = {
    "rnn": ("pre", "h"),
    "lstm": ("i", "f", "g", "o", "c", "tanh_c", "h"),
    "gru": ("r", "z", "n", "h"),
}
SIGNAL_LABELS = {
    "h": "hidden state h",
    "c": "cell state c",
    "tanh_c": "tanh(c)",
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "candidate n",
    "pre": "pre-activation a",
}
GATE_SIGNALS = {"lstm": ("i", "f", "o"), "gru": ("r", "z"), "rnn": ()}
# A trace keeps every signal of every layer for every character (float32): one
# request must not take a classroom server's memory. See ``check_trace_size``.
MAX_TRACE_BYTES = 256 * 1024 * 1024


@dataclass
class ModelConfig:
    cell: str = "lstm"
    vocab_size: int = 65
    layers: int = 2
    hidden: int = 128
    embed: int = 64
    dropout: float = 0.0
    nonlinearity: str = "tanh"  # vanilla RNN only: tanh or relu

    def validate(self) -> "ModelConfig":
        if self.cell not in CELLS:
            raise ValueError(f"Unknown cell {self.cell!r}; choose rnn, lstm or gru.")
        if not 1 <= int(self.layers) <= 3:
            raise ValueError(f"Layers must be between 1 and 3 (got {self.layers}).")
        if not 16 <= int(self.hidden) <= 1024:
            raise ValueError(f"Hidden size must be between 16 and 1024 (got {self.hidden}).")
        if not 1 <= int(self.embed) <= 1024:
            raise ValueError(f"Embedding size must be between 1 and 1024 (got {self.embed}).")
        if not 2 <= int(self.vocab_size) <= 100_000:
            raise ValueError(f"Vocabulary size must be at least 2 (got {self.vocab_size}).")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"Dropout must be in [0, 1) (got {self.dropout}).")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError("The vanilla RNN's activation must be tanh or relu.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


class CharModel(nn.Module):
    """Embedding -> fused recurrent stack -> linear read-out over the vocabulary."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed)
        kwargs = dict(batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        if c.cell == "lstm":
            self.rnn = nn.LSTM(c.embed, c.hidden, c.layers, **kwargs)
        elif c.cell == "gru":
            self.rnn = nn.GRU(c.embed, c.hidden, c.layers, **kwargs)
        else:
            self.rnn = nn.RNN(c.embed, c.hidden, c.layers, nonlinearity=c.nonlinearity, **kwargs)
        self.head = nn.Linear(c.hidden, c.vocab_size)

    @property
    def cell(self) -> str:
        return self.config.cell

    def init_state(self, batch: int = 1):
        c = self.config
        z = torch.zeros(c.layers, batch, c.hidden)
        return (z, z.clone()) if c.cell == "lstm" else z

    def forward(self, ids: torch.Tensor, state=None):
        """ids [B, T] -> logits [B, T, V], final state (fused kernels)."""
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def copy(self) -> "CharModel":
        """A private deep copy (never mutate a cached, shared model)."""
        return copy.deepcopy(self)


# ------------------------------------------------------------------ stepping


@dataclass
class LayerWeights:
    w_ih: torch.Tensor
    w_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor


def layer_weights(model: CharModel, layer: int) -> LayerWeights:
    r = model.rnn
    return LayerWeights(
        getattr(r, f"weight_ih_l{layer}"),
        getattr(r, f"weight_hh_l{layer}"),
        getattr(r, f"bias_ih_l{layer}"),
        getattr(r, f"bias_hh_l{layer}"),
    )


def cell_step(cell, w: LayerWeights, xproj, h, c=None, activation="tanh", clamp=None):
    """One time step of one layer, for a single sequence.

    ``xproj`` is W_ih x_t + b_ih (precomputed for a whole sequence in ``trace``).
    Returns (h_new, c_new, signals) where ``signals`` maps names of ``SIGNALS[cell]``
    to 1-D tensors. ``clamp`` is an optional (indices, values, signal) triple that
    overwrites units of c (LSTM) or h after they are computed; h is then derived
    from the clamped c, so the intervention propagates like a real cell value.
    """
    if cell == "lstm":
        gates = torch.addmv(xproj + w.b_hh, w.w_hh, h)
        H = h.shape[0]
        sig = torch.sigmoid(gates)
        i, f, o = sig[:H], sig[H : 2 * H], sig[3 * H :]
        g = torch.tanh(gates[2 * H : 3 * H])
        c_new = f * c + i * g
        if clamp is not None and clamp[2] == "c":
            c_new = c_new.index_put((clamp[0],), clamp[1])
        tc = torch.tanh(c_new)
        h_new = o * tc
        if clamp is not None and clamp[2] == "h":
            h_new = h_new.index_put((clamp[0],), clamp[1])
        return h_new, c_new, {"i": i, "f": f, "g": g, "o": o, "c": c_new, "tanh_c": tc, "h": h_new}
    if cell == "gru":
        hp = torch.addmv(w.b_hh, w.w_hh, h)
        H = h.shape[0]
        rz = torch.sigmoid(xproj[: 2 * H] + hp[: 2 * H])
        r, z = rz[:H], rz[H:]
        n = torch.tanh(xproj[2 * H :] + r * hp[2 * H :])
        h_new = n + z * (h - n)  # = (1 - z) * n + z * h
        if clamp is not None:
            h_new = h_new.index_put((clamp[0],), clamp[1])
        return h_new, None, {"r": r, "z": z, "n": n, "h": h_new}
    pre = torch.addmv(xproj + w.b_hh, w.w_hh, h)
    if activation == "tanh":
        h_new = torch.tanh(pre)
    elif activation == "relu":
        h_new = torch.relu(pre)
    elif activation == "linear":
        h_new = pre
    else:
        raise ValueError(f"Unknown activation {activation!r}.")
    if clamp is not None:
        h_new = h_new.index_put((clamp[0],), clamp[1])
    return h_new, None, {"pre": pre, "h": h_new}


def split_state(model: CharModel, state):
    """Normalise a state to per-layer lists of 1-D tensors (h list, c list or None)."""
    c = model.config
    if state is None:
        zeros = [torch.zeros(c.hidden) for _ in range(c.layers)]
        return zeros, ([torch.zeros(c.hidden) for _ in range(c.layers)] if c.cell == "lstm" else None)

    def layers_of(t):
        t = torch.as_tensor(t, dtype=torch.float32)
        if t.dim() == 3:
            if t.shape[1] != 1:
                raise ValueError("trace() replays one sequence; the state must have batch size 1.")
            t = t[:, 0]
        if t.shape != (c.layers, c.hidden):
            raise ValueError(
                f"State shape {tuple(t.shape)} does not match the model "
                f"({c.layers} layers x {c.hidden} units)."
            )
        return [t[k] for k in range(c.layers)]

    if c.cell == "lstm":
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError("An LSTM state is a pair (h, c).")
        return layers_of(state[0]), layers_of(state[1])
    return layers_of(state), None


def join_state(model: CharModel, hs, cs):
    """Per-layer lists -> the fused modules' state format ([L, 1, H] or a pair)."""
    h = torch.stack(hs).unsqueeze(1)
    if model.config.cell == "lstm":
        return h, torch.stack(cs).unsqueeze(1)
    return h


def trace_memory_bytes(config: "ModelConfig", chars: int) -> int:
    """Memory a ``trace`` of ``chars`` characters keeps: every signal of every layer
    (layers x hidden x signals) plus the logits, float32, per character."""
    per_char = int(config.layers) * int(config.hidden) * len(SIGNALS[config.cell]) + int(config.vocab_size)
    return 4 * per_char * int(chars)


def max_trace_chars(config: "ModelConfig") -> int:
    """The longest text ``trace`` accepts for this model (``MAX_TRACE_BYTES``)."""
    return MAX_TRACE_BYTES // trace_memory_bytes(config, 1)


def check_trace_size(config: "ModelConfig", chars: int, what: str = "the text") -> None:
    """Raise ValueError, naming the cap, if tracing ``chars`` characters needs too much memory."""
    need = trace_memory_bytes(config, chars)
    if need > MAX_TRACE_BYTES:
        c = config
        raise ValueError(
            f"Tracing {int(chars):,} characters through this {c.layers} x {c.hidden} {CELL_LABELS[c.cell]} would "
            f"keep about {need / 2**20:,.0f} MB ({len(SIGNALS[c.cell])} signals x {c.layers} layers x {c.hidden} "
            f"cells per character); the limit is {MAX_TRACE_BYTES // 2**20:,} MB, which is "
            f"{max_trace_chars(c):,} characters for this model. Use a shorter part of {what}."
        )


@dataclass
class Trace:
    """Everything a sequence did inside the network, one row per time step.

    ``layers[k][name]`` is a [T, H] tensor for each name in ``SIGNALS[cell]``;
    ``steps[k]['h']`` / ``steps[k]['c']`` hold the per-step 1-D tensors that were
    actually used in the computation, so ``torch.autograd.grad`` can differentiate
    a loss with respect to h_t or c_t when the trace ran with gradients enabled
    (``steps[k]`` is None when the trace took the fused path: no gradients, no clamps).
    """

    cell: str
    ids: torch.Tensor
    layers: list[dict]
    steps: list[dict]
    logits: torch.Tensor  # [T, V]; row t predicts the character after ids[t]
    state: object  # final state in the fused modules' format
    embeddings: torch.Tensor  # [T, E] input embeddings (a leaf-like point for saliency)
    initial: object = None

    @property
    def probs(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=-1)

    def numpy(self, layer: int, signal: str):
        """[T, H] float32 NumPy array of one signal of one layer."""
        return self.layers[layer][signal].detach().to(torch.float32).numpy()

    def signals(self) -> tuple[str, ...]:
        return SIGNALS[self.cell]


def trace(
    model: CharModel,
    ids,
    state=None,
    *,
    activation: str | None = None,
    clamp: dict | None = None,
    embeddings: torch.Tensor | None = None,
) -> Trace:
    """Replay ``ids`` (1-D) step by step with the model's own weights.

    Works with gradients enabled (for the gradient page) and under
    ``torch.inference_mode()``. Without gradients and clamps (and with the model's own
    activation) every layer is computed with a fixed number of torch calls instead
    of stepping (see the module docstring); the result is the same to float32
    round-off. Dropout is not applied (inspection = eval mode).
    ``activation`` overrides the vanilla RNN's non-linearity ("tanh", "relu",
    "linear") for experiments; ``clamp`` maps (layer, signal, unit) -> value;
    ``embeddings`` replaces the embedding lookup (e.g. a tensor that requires grad).
    Texts whose trace would exceed ``MAX_TRACE_BYTES`` are refused (``check_trace_size``).
    """
    cfg = model.config
    ids = torch.as_tensor(ids, dtype=torch.long).reshape(-1)
    if ids.numel() == 0:
        raise ValueError("Nothing to trace: the text is empty.")
    check_trace_size(cfg, ids.numel())
    if int(ids.max()) >= cfg.vocab_size or int(ids.min()) < 0:
        raise ValueError("The ids are outside the model's vocabulary.")
    act = activation or cfg.nonlinearity
    hs, cs = split_state(model, state)
    x = model.embed(ids) if embeddings is None else embeddings
    emb = x
    clamps = _group_clamps(clamp, cfg)
    layers, steps, final_h, final_c = [], [], [], []
    T = ids.shape[0]
    # Fused (O(layers) torch calls) unless per-step tensors or interventions are needed.
    fused = not clamps and not torch.is_grad_enabled() and (cfg.cell != "rnn" or act == cfg.nonlinearity)
    for k in range(cfg.layers):
        if fused:
            layer = _fused_layer(cfg.cell, act, layer_weights(model, k), x, hs[k], cs[k] if cs else None)
            layers.append(layer)
            steps.append(None)
            final_h.append(layer["h"][-1])
            final_c.append(layer["c"][-1] if cs else None)
            x = layer["h"]
            continue
        w = layer_weights(model, k)
        xproj = torch.addmm(w.b_ih, x, w.w_ih.t())  # [T, G*H]: input part for all steps
        h, c = hs[k], (cs[k] if cs is not None else None)
        rec = {name: [] for name in SIGNALS[cfg.cell]}
        hk = clamps.get(k)
        for t in range(T):
            h, c, sig = cell_step(cfg.cell, w, xproj[t], h, c, act, hk)
            for name, v in sig.items():
                rec[name].append(v)
        layer = {name: torch.stack(v) for name, v in rec.items()}
        layers.append(layer)
        steps.append({"h": rec["h"], "c": rec.get("c")})
        final_h.append(h)
        final_c.append(c)
        x = layer["h"]
    logits = model.head(x)
    return Trace(
        cell=cfg.cell,
        ids=ids,
        layers=layers,
        steps=steps,
        logits=logits,
        state=join_state(model, final_h, final_c if cfg.cell == "lstm" else None),
        embeddings=emb,
        initial=state,
    )


_NUMPY_GIL_BLOCK = 500  # NumPy ufuncs release the GIL above 500 elements


def _fused_layer(cell, act, w: LayerWeights, x, h0, c0=None) -> dict:
    """One layer over all T steps with O(1) torch calls (no autograd, no clamps).

    The fused kernel gives h_t for every t; the gates follow from [h_0 .. h_{T-1}] in
    one matmul, with the same formulas as ``cell_step``. The LSTM's c_t = f_t c_{t-1}
    + i_t g_t is a scan in NumPy, whose small ops never release the GIL; h is then
    o * tanh(c), exactly as ``cell_step`` defines it.
    """
    params = [w.w_ih, w.w_hh, w.b_ih, w.b_hh]
    flags = (True, 1, 0.0, False, False, False)  # biases, 1 layer, no dropout, eval, 1 direction, [T, B, *]
    if cell == "lstm":
        out = torch.lstm(x[:, None], (h0[None, None], c0[None, None]), params, *flags)[0][:, 0]
    else:
        fn = torch.gru if cell == "gru" else (torch.rnn_relu if act == "relu" else torch.rnn_tanh)
        out = fn(x[:, None], h0[None, None], params, *flags)[0][:, 0]
    H = h0.shape[0]
    h_prev = torch.cat([h0[None], out[:-1]])
    xp = torch.addmm(w.b_ih, x, w.w_ih.t())
    hp = torch.addmm(w.b_hh, h_prev, w.w_hh.t())
    if cell == "rnn":
        return {"pre": xp + hp, "h": out}
    if cell == "gru":
        rz = torch.sigmoid(xp[:, : 2 * H] + hp[:, : 2 * H])
        r, z = rz[:, :H], rz[:, H:]
        n = torch.tanh(xp[:, 2 * H :] + r * hp[:, 2 * H :])
        return {"r": r.contiguous(), "z": z.contiguous(), "n": n, "h": out}
    pre = xp + hp
    sig = torch.sigmoid(pre)
    i, f, o = sig[:, :H], sig[:, H : 2 * H].contiguous(), sig[:, 3 * H :]
    g = torch.tanh(pre[:, 2 * H : 3 * H])
    c = torch.from_numpy(_lstm_cell_scan(f.numpy(), (i * g).numpy(), c0.detach().numpy()))
    tanh_c = torch.tanh(c)
    return {"i": i.contiguous(), "f": f, "g": g, "o": o.contiguous(), "c": c, "tanh_c": tanh_c, "h": o * tanh_c}


def _lstm_cell_scan(f: np.ndarray, ig: np.ndarray, c0: np.ndarray) -> np.ndarray:
    """c_t = f_t * c_{t-1} + ig_t for t = 0..T-1 (float32, [T, H]), in unit blocks
    small enough that NumPy keeps the GIL (see the module docstring)."""
    T, H = f.shape
    c = np.empty((T, H), dtype=np.float32)
    for lo in range(0, H, _NUMPY_GIL_BLOCK):
        hi = min(H, lo + _NUMPY_GIL_BLOCK)
        fb = np.ascontiguousarray(f[:, lo:hi], dtype=np.float32)
        igb = np.ascontiguousarray(ig[:, lo:hi], dtype=np.float32)
        cb = c if hi - lo == H else np.empty((T, hi - lo), dtype=np.float32)
        prev = np.asarray(c0[lo:hi], dtype=np.float32)
        multiply, add = np.multiply, np.add
        for ft, igt, ct in zip(fb, igb, cb):
            multiply(ft, prev, out=ct)
            add(ct, igt, out=ct)
            prev = ct
        if cb is not c:
            c[:, lo:hi] = cb
    return c


def _group_clamps(clamp, cfg):
    """{(layer, signal, unit): value} -> {layer: (idx tensor, value tensor, signal)}."""
    if not clamp:
        return {}
    out = {}
    for (layer, signal, unit), value in clamp.items():
        layer, unit = int(layer), int(unit)
        if not 0 <= layer < cfg.layers:
            raise ValueError(f"Layer {layer} does not exist (the model has {cfg.layers}).")
        if not 0 <= unit < cfg.hidden:
            raise ValueError(f"Cell {unit} does not exist (layers have {cfg.hidden} cells).")
        if signal not in ("h", "c") or (signal == "c" and cfg.cell != "lstm"):
            raise ValueError("Only h (or c for an LSTM) can be clamped.")
        prev = out.setdefault(layer, ([], [], signal))
        if prev[2] != signal:
            raise ValueError("Clamp either h or c within one layer, not both.")
        prev[0].append(unit)
        prev[1].append(float(value))
    return {
        k: (torch.tensor(i, dtype=torch.long), torch.tensor(v, dtype=torch.float32), s)
        for k, (i, v, s) in out.items()
    }


def build(cell="lstm", vocab_size=65, layers=2, hidden=128, embed=64, dropout=0.0, seed=None, **kw):
    """Convenience constructor; ``seed`` makes the initial weights reproducible."""
    cfg = ModelConfig(cell=cell, vocab_size=vocab_size, layers=layers, hidden=hidden,
                      embed=embed, dropout=dropout, **kw)
    if seed is not None:
        from .seeds import check_seed

        seed = check_seed(seed)
        g = torch.random.fork_rng()
        with g:
            torch.manual_seed(seed)
            return CharModel(cfg)
    return CharModel(cfg)
