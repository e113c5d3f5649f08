"""The "hello" character model of Lecture 8, with every number exposed.

A vanilla RNN small enough to read by hand: vocabulary [h, e, l, o], training
word "hello", hidden size 3-8, one-hot inputs and explicit parameter tensors

    h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)
    y_t = W_hy h_t + b_y,   p_t = softmax(y_t),   L_t = -log p_t[target_t]

``forward_backward`` runs the word one step at a time and records everything a
lesson shows (x_t, the column of W_xh it selects, h_{t-1}, the pre-activation,
h_t, logits, probabilities, the loss) plus the gradients of the summed loss and,
for the loss at the last step, how much gradient reaches each earlier h_t.
Gradients come from PyTorch autograd in float64, so the page's numbers can be
checked against an independent hand-written NumPy backward pass (the tests do).

Training follows min-char-rnn (Karpathy's 112-line NumPy gist): Adagrad with
every gradient entry clipped to [-5, 5]; Adam and norm clipping are the
alternatives. Sampling starts from a letter and feeds each sampled letter back.

Truncated backpropagation through time lives in ``rnnviz.bptt``; its names are
still reachable as ``hello.<name>`` for older callers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .seeds import check_seed
from .threads import one_thread

DTYPE = torch.float64
PARAM_NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
PARAM_LABELS = {
    "W_xh": "W_xh (input → hidden)",
    "W_hh": "W_hh (hidden → hidden)",
    "b_h": "b_h (hidden bias)",
    "W_hy": "W_hy (hidden → output)",
    "b_y": "b_y (output bias)",
}
WORD = "hello"
HIDDEN_RANGE = (2, 8)
MAX_WORD = 16
WORD_PUNCT = " .,!?-:;"
OPTIMIZERS = ("adagrad", "adam", "sgd")
CLIP_MODES = ("elementwise", "norm", "none")


# --------------------------------------------------------------------------- vocab

def vocab_of(word: str) -> list[str]:
    """Characters of ``word`` in order of first appearance ("hello" -> h, e, l, o)."""
    word = validate_word(word)
    out: list[str] = []
    for ch in word:
        if ch not in out:
            out.append(ch)
    return out


def validate_word(word: str) -> str:
    if not isinstance(word, str) or not word.strip():
        raise ValueError("The training word is empty. Type a short word such as 'hello'.")
    if word != word.strip():
        raise ValueError("The training word has spaces at its start or end; remove them.")
    if len(word) < 2:
        raise ValueError("The training word needs at least 2 characters: the model predicts each next one.")
    if len(word) > MAX_WORD:
        raise ValueError(f"The training word is {len(word)} characters long; keep it to {MAX_WORD} so every "
                         "step fits on screen.")
    bad = sorted({c for c in word if not (c.isalnum() or c in WORD_PUNCT)})
    if bad:
        raise ValueError(f"The training word may only contain letters, digits, spaces and {WORD_PUNCT.strip()} "
                         f"(found {', '.join(map(repr, bad))}).")
    if len(set(word)) < 2:
        raise ValueError("The training word needs at least 2 different characters, otherwise there is nothing "
                         "to predict.")
    return word


# ---------------------------------------------------------------------- parameters

def init_params(vocab_size: int, hidden: int, seed: int = 0, scale: float = 0.5) -> dict[str, torch.Tensor]:
    """Gaussian weights with standard deviation ``scale`` and zero biases.

    min-char-rnn uses 0.01; a larger default keeps the untrained numbers readable.
    """
    lo, hi = HIDDEN_RANGE
    if not lo <= int(hidden) <= hi:
        raise ValueError(f"Hidden size must be between {lo} and {hi} (got {hidden}).")
    if not (math.isfinite(scale) and 0.0 < scale <= 3.0):
        raise ValueError(f"Initial weight scale must be in (0, 3] (got {scale}).")
    g = torch.Generator().manual_seed(check_seed(seed))
    H, V = int(hidden), int(vocab_size)
    p = {
        "W_xh": torch.randn(H, V, generator=g, dtype=DTYPE) * scale,
        "W_hh": torch.randn(H, H, generator=g, dtype=DTYPE) * scale,
        "b_h": torch.zeros(H, dtype=DTYPE),
        "W_hy": torch.randn(V, H, generator=g, dtype=DTYPE) * scale,
        "b_y": torch.zeros(V, dtype=DTYPE),
    }
    return p


def params_numpy(params: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: params[k].detach().numpy().copy() for k in PARAM_NAMES}


# ------------------------------------------------------------------------ forward

def rnn_step(params, x_ids: torch.Tensor, h: torch.Tensor):
    """One batched step. ``x_ids`` [B] letter ids, ``h`` [B, H].

    W_xh @ one_hot(x) is just column x of W_xh, so the input term is a column lookup.
    Returns (column, pre-activation, new h, logits).
    """
    col = params["W_xh"][:, x_ids].T  # [B, H]
    pre = col + h @ params["W_hh"].T + params["b_h"]
    h_new = torch.tanh(pre)
    logits = h_new @ params["W_hy"].T + params["b_y"]
    return col, pre, h_new, logits


@dataclass
class Pass:
    """Everything about one forward + backward pass over a word (NumPy, float64).

    Row t of each [T, ...] array is time step t (input letter t, target letter t+1).
    ``grads`` are gradients of the summed loss L = sum_t L_t. ``reach_last[t]`` is
    ||dL_T/dh_t||: how much of the last step's loss gradient reaches h_t.
    ``jacobian_norms[t]`` is the largest singular value of dh_t/dh_{t-1}
    = diag(1 - h_t^2) W_hh (for t >= 1). ``dh[t]`` is dL/dh_t (the summed loss, so
    it includes what flows back from later steps) and ``da[t]`` = (1 - h_t^2) * dh[t]
    is dL/da_t, the gradient at the pre-activation.
    """

    vocab: list[str]
    inputs: list[int]
    targets: list[int]
    xs: np.ndarray
    cols: np.ndarray
    h_prev: np.ndarray
    pre: np.ndarray
    hs: np.ndarray
    logits: np.ndarray
    probs: np.ndarray
    losses: np.ndarray
    loss: float
    grads: dict[str, np.ndarray]
    reach_last: np.ndarray
    reach_total: np.ndarray
    jacobian_norms: np.ndarray
    params: dict[str, np.ndarray]
    dh: np.ndarray
    da: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.inputs)

    @property
    def p_correct(self) -> np.ndarray:
        return self.probs[np.arange(self.steps), self.targets]

    def grad_norm(self) -> float:
        return float(math.sqrt(sum(float((g ** 2).sum()) for g in self.grads.values())))


def encode(word: str, vocab: list[str]) -> list[int]:
    missing = sorted({c for c in word if c not in vocab})
    if missing:
        raise ValueError(f"Letters {', '.join(map(repr, missing))} are not in the vocabulary "
                         f"[{', '.join(vocab)}].")
    return [vocab.index(c) for c in word]


def forward_backward(params: dict[str, torch.Tensor], vocab: list[str], word: str,
                     h0: np.ndarray | None = None) -> Pass:
    """Run ``word`` through the RNN (inputs word[:-1], targets word[1:]) and backprop."""
    ids = encode(word, vocab)
    inputs, targets = ids[:-1], ids[1:]
    T, H, V = len(inputs), params["W_hh"].shape[0], len(vocab)
    leaf = {k: params[k].detach().clone().requires_grad_(True) for k in PARAM_NAMES}
    h = torch.zeros(1, H, dtype=DTYPE) if h0 is None else torch.as_tensor(h0, dtype=DTYPE).reshape(1, H)
    rec = {k: [] for k in ("cols", "h_prev", "pre", "hs", "logits")}
    hs_graph, losses = [], []
    for t in range(T):
        x = torch.tensor([inputs[t]])
        col, pre, h_new, logits = rnn_step(leaf, x, h)
        rec["h_prev"].append(h)
        rec["cols"].append(col)
        rec["pre"].append(pre)
        rec["hs"].append(h_new)
        rec["logits"].append(logits)
        losses.append(torch.nn.functional.cross_entropy(logits, torch.tensor([targets[t]]), reduction="sum"))
        hs_graph.append(h_new)
        h = h_new
    total = torch.stack(losses).sum()
    reach_last = torch.autograd.grad(losses[-1], hs_graph, retain_graph=True, allow_unused=True)
    reach_total = torch.autograd.grad(total, hs_graph, retain_graph=True)
    grads = torch.autograd.grad(total, [leaf[k] for k in PARAM_NAMES])

    def arr(key):
        return torch.cat(rec[key], 0).detach().numpy().copy()

    hs_np = arr("hs")
    dh = torch.cat(reach_total, 0).detach().numpy().copy()
    W_hh = params["W_hh"].detach().numpy()
    jac = np.zeros(T)
    for t in range(1, T):
        J = (1.0 - hs_np[t] ** 2)[:, None] * W_hh
        jac[t] = np.linalg.norm(J, 2)
    logits_np = arr("logits")
    probs = torch.softmax(torch.cat(rec["logits"], 0), dim=-1).detach().numpy().copy()
    xs = np.zeros((T, V))
    xs[np.arange(T), inputs] = 1.0
    return Pass(
        vocab=list(vocab), inputs=inputs, targets=targets, xs=xs, cols=arr("cols"), h_prev=arr("h_prev"),
        pre=arr("pre"), hs=hs_np, logits=logits_np, probs=probs,
        losses=np.array([float(loss.detach()) for loss in losses]), loss=float(total.detach()),
        grads={k: g.detach().numpy().copy() for k, g in zip(PARAM_NAMES, grads)},
        reach_last=np.array([0.0 if g is None else float(g.norm()) for g in reach_last]),
        reach_total=np.array([float(g.norm()) for g in reach_total]),
        jacobian_norms=jac, params=params_numpy(params), dh=dh, da=(1.0 - hs_np ** 2) * dh,
    )


# ----------------------------------------------------------------------- clipping

def clip_elementwise(grads: dict[str, np.ndarray], limit: float = 5.0) -> dict[str, np.ndarray]:
    """min-char-rnn: every entry is clipped to [-limit, limit] on its own."""
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"The clipping limit must be a positive number (got {limit}).")
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


def clip_norm(grads: dict[str, np.ndarray], max_norm: float = 5.0) -> dict[str, np.ndarray]:
    """Rescale all gradients together if their joint L2 norm exceeds ``max_norm``."""
    if not (math.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"The clipping limit must be a positive number (got {max_norm}).")
    norm = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}


@dataclass
class ClipComparison:
    raw: np.ndarray          # all gradient entries, flattened in PARAM_NAMES order
    elementwise: np.ndarray
    norm: np.ndarray
    labels: list[str]        # "W_hh[1,2]" per entry
    limit: float

    @staticmethod
    def _n(v):
        return float(np.linalg.norm(v))

    def stats(self) -> list[dict]:
        rows = []
        for name, v in (("no clipping", self.raw), (f"elementwise ±{self.limit:g}", self.elementwise),
                        (f"norm ≤ {self.limit:g}", self.norm)):
            nr = self._n(self.raw)
            cos = float(v @ self.raw / (self._n(v) * nr)) if nr > 0 and self._n(v) > 0 else 1.0
            rows.append({
                "method": name,
                "gradient norm": self._n(v),
                "largest |entry|": float(np.abs(v).max()) if v.size else 0.0,
                "entries changed": int(np.sum(~np.isclose(v, self.raw, rtol=0, atol=1e-12))),
                "cosine to raw": cos,
            })
        return rows

    def unchanged_note(self) -> str:
        """A hint when neither method changes this gradient (else "")."""
        rows = self.stats()
        if rows[1]["entries changed"] or rows[2]["entries changed"]:
            return ""
        return (f"With a limit of {self.limit:g} neither method changes this gradient: it is already small. "
                f"Lower the limit below {float(np.abs(self.raw).max()):.3f} to see them act differently.")


def compare_clipping(grads: dict[str, np.ndarray], limit: float = 5.0) -> ClipComparison:
    labels = []
    for k in PARAM_NAMES:
        g = grads[k]
        if g.ndim == 2:
            labels += [f"{k}[{i},{j}]" for i in range(g.shape[0]) for j in range(g.shape[1])]
        else:
            labels += [f"{k}[{i}]" for i in range(g.shape[0])]

    def flat(d):
        return np.concatenate([d[k].reshape(-1) for k in PARAM_NAMES])

    return ClipComparison(raw=flat(grads), elementwise=flat(clip_elementwise(grads, limit)),
                          norm=flat(clip_norm(grads, limit)), labels=labels, limit=float(limit))


# ---------------------------------------------------------------------- optimizer

class Optimizer:
    """Adagrad exactly as min-char-rnn (mem += g^2; p -= lr g / sqrt(mem + 1e-8)),
    Adam (Kingma & Ba, bias-corrected) or plain SGD, on a dict of tensors."""

    def __init__(self, kind: str, lr: float):
        if kind not in OPTIMIZERS:
            raise ValueError(f"Unknown optimiser {kind!r}; choose {', '.join(OPTIMIZERS)}.")
        check_lr(lr)
        self.kind, self.lr, self.t = kind, float(lr), 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def update(self, params: dict[str, torch.Tensor], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k in PARAM_NAMES:
            g = grads[k]
            if self.kind == "sgd":
                step = self.lr * g
            elif self.kind == "adagrad":
                mem = self.v.setdefault(k, np.zeros_like(g))
                mem += g * g
                step = self.lr * g / np.sqrt(mem + 1e-8)
            else:
                m = self.m.setdefault(k, np.zeros_like(g))
                v = self.v.setdefault(k, np.zeros_like(g))
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                mh = m / (1 - 0.9 ** self.t)
                vh = v / (1 - 0.999 ** self.t)
                step = self.lr * mh / (np.sqrt(vh) + 1e-8)
            params[k] -= torch.from_numpy(step)


def check_lr(lr) -> float:
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise ValueError(f"The learning rate must be a number (got {lr!r}).") from None
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"The learning rate must be a positive number (got {lr}).")
    if lr > 10:
        raise ValueError(f"A learning rate of {lr:g} is far too large for this model; try 0.001 to 1.")
    return lr


# ------------------------------------------------------------------------ trainer

DEFAULT_LR = {"adagrad": 0.1, "adam": 0.05, "sgd": 0.1}
MAX_REPLAY = 2000  # training steps a shared link may ask for (each step is a few ms)


@dataclass(frozen=True)
class Segment:
    """A run of training steps taken with one set of settings. A model's list of
    segments is its whole training history: training is deterministic, so replaying
    it on a fresh model of the same word, size, seed and scale gives the same weights."""

    optimizer: str
    lr: float
    clip: str
    clip_limit: float
    steps: int

    def settings(self) -> tuple:
        return self.optimizer, self.lr, self.clip, self.clip_limit


def history_text(history: list[Segment]) -> str:
    """A compact, URL-safe form: ``adagrad:0.1:elementwise:5.0:100,adam:0.05:norm:1.0:10``."""
    return ",".join(f"{s.optimizer}:{s.lr!r}:{s.clip}:{s.clip_limit!r}:{s.steps}" for s in history)


def parse_history(text: str) -> list[Segment]:
    """The inverse of ``history_text``; a clear ValueError for anything else."""
    out: list[Segment] = []
    if not text:
        return out
    for part in str(text).split(","):
        fields = part.split(":")
        if len(fields) != 5:
            raise ValueError(f"The training history {part[:40]!r} should read optimiser:rate:clipping:limit:steps.")
        opt, lr, clip, limit, n = fields
        if opt not in OPTIMIZERS:
            raise ValueError(f"Unknown optimiser {opt[:20]!r} in the training history.")
        if clip not in CLIP_MODES:
            raise ValueError(f"Unknown clipping {clip[:20]!r} in the training history.")
        try:
            lr_f, limit_f, steps = float(lr), float(limit), int(n)
        except ValueError:
            raise ValueError(f"The training history {part[:40]!r} holds something that is not a number.") from None
        check_lr(lr_f)
        if not (math.isfinite(limit_f) and limit_f > 0) or steps < 1:
            raise ValueError(f"The training history {part[:40]!r} needs a positive limit and step count.")
        out.append(Segment(opt, lr_f, clip, limit_f, steps))
    total = sum(s.steps for s in out)
    if total > MAX_REPLAY:
        raise ValueError(f"The training history asks for {total} steps; a link may replay at most {MAX_REPLAY}.")
    return out


@dataclass
class HelloModel:
    """The tiny RNN plus its training history. Kept in the page's session_state."""

    word: str = WORD
    hidden: int = 3
    seed: int = 0
    scale: float = 0.5
    optimizer: str = "adagrad"
    lr: float = 0.1
    clip: str = "elementwise"
    clip_limit: float = 5.0
    params: dict = field(default_factory=dict)
    steps: int = 0
    loss_hist: list = field(default_factory=list)      # (step, summed loss)
    pcorrect_hist: list = field(default_factory=list)  # (step, [p of correct letter per position])
    opt: Optimizer | None = None
    last_message: str = ""
    history: list = field(default_factory=list)        # [Segment]: every training step taken, in order

    def __post_init__(self):
        self.word = validate_word(self.word)
        self.vocab = vocab_of(self.word)
        if self.clip not in CLIP_MODES:
            raise ValueError(f"Unknown clipping {self.clip!r}; choose {', '.join(CLIP_MODES)}.")
        if not self.params:
            self.params = init_params(len(self.vocab), self.hidden, self.seed, self.scale)
        self.opt = Optimizer(self.optimizer, self.lr)
        if not self.loss_hist:
            self._record(self.forward())

    # The current pass (forward + backward at the current weights).
    def forward(self) -> Pass:
        return forward_backward(self.params, self.vocab, self.word)

    def _record(self, p: Pass) -> None:
        self.loss_hist.append((self.steps, p.loss))
        self.pcorrect_hist.append((self.steps, p.p_correct.tolist()))

    def set_optimizer(self, kind: str, lr: float) -> None:
        """Switching optimiser (or its kind) starts fresh optimiser memory."""
        lr = check_lr(lr)
        if kind != self.optimizer or self.opt is None:
            self.opt = Optimizer(kind, lr)
        self.optimizer, self.lr = kind, lr
        self.opt.lr = lr

    def set_clip(self, mode: str, limit: float) -> None:
        if mode not in CLIP_MODES:
            raise ValueError(f"Unknown clipping {mode!r}; choose {', '.join(CLIP_MODES)}.")
        if not (math.isfinite(limit) and limit > 0):
            raise ValueError(f"The clipping limit must be a positive number (got {limit}).")
        self.clip, self.clip_limit = mode, float(limit)

    def train(self, n: int) -> int:
        """Take ``n`` optimiser steps on the word. If the loss turns non-finite the
        last good weights are kept and a ValueError explains what to change."""
        n = int(n)
        if not 1 <= n <= 10_000:
            raise ValueError(f"Number of steps must be between 1 and 10000 (got {n}).")
        before = self.steps
        try:
            with one_thread():
                return self._train(n)
        finally:
            if self.steps > before:
                self._log(self.steps - before)

    def _log(self, n: int) -> None:
        seg = Segment(self.optimizer, self.lr, self.clip, self.clip_limit, n)
        if self.history and self.history[-1].settings() == seg.settings():
            last = self.history.pop()
            seg = Segment(*seg.settings(), last.steps + n)
        self.history.append(seg)

    def replay(self, history: list[Segment]) -> None:
        """Take the steps of ``history`` (from ``parse_history``) with their settings."""
        for seg in history:
            self.set_optimizer(seg.optimizer, seg.lr)
            self.set_clip(seg.clip, seg.clip_limit)
            self.train(seg.steps)

    def _train(self, n: int) -> int:
        done = 0
        p = self.forward()
        for _ in range(n):
            grads = p.grads
            if self.clip == "elementwise":
                grads = clip_elementwise(grads, self.clip_limit)
            elif self.clip == "norm":
                grads = clip_norm(grads, self.clip_limit)
            backup = {k: v.clone() for k, v in self.params.items()}
            self.opt.update(self.params, grads)
            p_new = self.forward()
            if not (math.isfinite(p_new.loss) and all(np.isfinite(g).all() for g in p_new.grads.values())):
                self.params = backup
                self.last_message = (f"Training diverged at step {self.steps + 1} (the loss became "
                                     f"non-finite); the last good weights were kept. Lower the learning rate "
                                     f"or turn clipping on.")
                raise ValueError(self.last_message)
            self.steps += 1
            done += 1
            p = p_new
            self._record(p)
        self.last_message = ""
        return done

    def greedy(self, start: str | None = None, length: int | None = None) -> str:
        start = self.word[0] if start is None else start
        length = len(self.word) - 1 if length is None else length
        chain = sample_chain(self.params, self.vocab, start, length, greedy=True)
        return start + "".join(s.sampled for s in chain)


def from_link(word: str = WORD, hidden: int = 3, seed: int = 0, scale: float = 0.3,
              history: str = "") -> tuple[HelloModel, str]:
    """A model rebuilt from a link: its setup, then the steps of ``history``
    (``history_text``). A bad setup raises ValueError; a bad history gives the
    untrained model and a message saying so."""
    model = HelloModel(word=word, hidden=int(hidden), seed=int(seed), scale=float(scale))
    try:
        model.replay(parse_history(history))
    except ValueError as e:
        return HelloModel(word=word, hidden=int(hidden), seed=int(seed), scale=float(scale)), \
            f"{e} The model starts untrained instead."
    return model, ""


# ----------------------------------------------------------------------- sampling

@dataclass
class ChainStep:
    t: int
    input: str
    h_prev: np.ndarray
    h: np.ndarray
    logits: np.ndarray
    probs: np.ndarray      # softmax(logits / temperature)
    sampled: str
    p_sampled: float


def sample_chain(params, vocab: list[str], start: str = "h", length: int = 4, *, temperature: float = 1.0,
                 seed: int = 0, greedy: bool = False) -> list[ChainStep]:
    """Feed ``start``, pick the next letter from softmax(y / temperature), feed it back."""
    if start not in vocab:
        raise ValueError(f"The start letter {start!r} is not in the vocabulary [{', '.join(vocab)}].")
    if not 1 <= int(length) <= 50:
        raise ValueError(f"The chain length must be between 1 and 50 (got {length}).")
    if not greedy and not (math.isfinite(temperature) and 0.01 <= temperature <= 10):
        raise ValueError(f"Temperature must be between 0.01 and 10 (got {temperature}).")
    rng = np.random.default_rng(check_seed(seed))
    H = params["W_hh"].shape[0]
    h = torch.zeros(1, H, dtype=DTYPE)
    cur = vocab.index(start)
    out = []
    with torch.no_grad():
        for t in range(int(length)):
            _, _, h_new, logits = rnn_step(params, torch.tensor([cur]), h)
            y = logits[0].numpy().astype(np.float64)
            if greedy:
                z = y - y.max()
            else:
                z = y / temperature
                z = z - z.max()
            p = np.exp(z) / np.exp(z).sum()
            nxt = int(np.argmax(y)) if greedy else int(rng.choice(len(vocab), p=p))
            out.append(ChainStep(t=t, input=vocab[cur], h_prev=h[0].numpy().copy(), h=h_new[0].numpy().copy(),
                                 logits=y.copy(), probs=p, sampled=vocab[nxt], p_sampled=float(p[nxt])))
            h, cur = h_new, nxt
    return out


# ------------------------------------------------------------------------- tables
# Rows for the page's tables: plain dicts (column -> value), so they are tested here
# and the page only lays them out.

NO_STEP_BACK = "—"  # σ_max at t = 1: there is no learned state before h1
REACH_NOTE = (f"σ_max: the most one step back can stretch a gradient. At t = 1 it shows {NO_STEP_BACK}: the step "
              "before h1 is the fixed all-zero start state h0, which is not learned, so the gradient has nowhere "
              "further back to go.")


def show(ch: str) -> str:
    """A vocabulary symbol as students read it: a space shows as ␣."""
    return "␣" if ch == " " else ch


def step_labels(p: Pass) -> list[str]:
    """"'h' → 'e'" for every step of a pass (input letter → letter to predict)."""
    return [f"'{show(p.vocab[p.inputs[t]])}' → '{show(p.vocab[p.targets[t]])}'" for t in range(p.steps)]


def position_labels(p: Pass) -> list[str]:
    """"'h'→'e' (t=1)" per position, for chart legends."""
    return [f"'{show(p.vocab[a])}'→'{show(p.vocab[b])}' (t={i + 1})" for i, (a, b) in enumerate(zip(p.inputs, p.targets))]


def summary_metrics(model: HelloModel, p: Pass) -> list[tuple[str, str, str | None]]:
    """(label, value, help) of the model's headline numbers."""
    T, V = p.steps, len(p.vocab)
    return [("Training steps", f"{model.steps}", None),
            ("Loss (sum over the word)", f"{p.loss:.3f}",
             f"Uniform guessing would give {T} × ln {V} = {T * math.log(V):.3f} nats."),
            (f"Greedy continuation of '{show(model.word[0])}'", show(model.greedy()), None),
            ("Mean p(correct next letter)", f"{p.p_correct.mean():.3f}", None)]


def step_metrics(p: Pass, t: int) -> list[tuple[str, str, str | None]]:
    """(label, value, help) of step ``t``: its loss, p(target) and the word's loss."""
    target = p.targets[t]
    return [(f"Loss at step {t + 1}", f"{p.losses[t]:.4f}",
             "Cross-entropy: minus the log of the probability given to the correct letter."),
            (f"p('{show(p.vocab[target])}')", f"{p.probs[t, target]:.4f}", None),
            ("Loss of the whole word", f"{p.loss:.4f}", "The sum of the per-step losses.")]


def train_rows(p: Pass) -> list[dict]:
    """Per position: input, target, p(target), loss and the most likely letter."""
    return [{"step t": i + 1, "input": show(p.vocab[p.inputs[i]]), "target": show(p.vocab[p.targets[i]]),
             "p(target)": float(p.p_correct[i]), "loss": float(p.losses[i]),
             "most likely": show(p.vocab[int(np.argmax(p.probs[i]))])} for i in range(p.steps)]


def reach_rows(p: Pass) -> list[dict]:
    """Per step: the gradient norm from the last loss and from all losses, and σ_max
    of the step Jacobian as text (a dash at t = 1, where nothing learned lies behind)."""
    T = p.steps
    return [{"t": i + 1, f"from L{T}": float(p.reach_last[i]), "from all L": float(p.reach_total[i]),
             "σ_max": f"{p.jacobian_norms[i]:.5f}" if i > 0 else NO_STEP_BACK} for i in range(T)]


def chain_rows(chain: list[ChainStep], vocab: list[str]) -> list[dict]:
    """Per sampled step: the letter fed in, the letter drawn, every probability and h."""
    return [{"t": s.t + 1, "fed in": show(s.input), "drawn": show(s.sampled), "p(drawn)": s.p_sampled,
             **{f"p('{show(v)}')": float(q) for v, q in zip(vocab, s.probs)},
             "h after": ", ".join(f"{x:+.3f}" for x in s.h)} for s in chain]


SAMPLE_CAPTION = ("Sampled text (bold = the start letter; colour = probability of the drawn letter; hover for the "
                  "alternatives)")


def chain_view(chain: list[ChainStep], vocab: list[str]) -> dict:
    """What the coloured sampled text needs: the drawn text, p of each drawn letter,
    every letter's probability per step, and one line of details per step."""
    tops = [[(v, float(q)) for v, q in zip(vocab, s.probs)] for s in chain]
    return {"text": "".join(s.sampled for s in chain), "probs": [s.p_sampled for s in chain], "top": tops,
            "details": [", ".join(f"p('{show(v)}') = {q:.3f}" for v, q in top) for top in tops]}


def unused_letters(p: Pass) -> list[str]:
    """Letters that are never an input: their column of dL/dW_xh is exactly zero."""
    return [show(c) for i, c in enumerate(p.vocab) if i not in p.inputs]


def unused_note(p: Pass) -> str:
    """Why some columns of dL/dW_xh are exactly zero ("" when every letter is read)."""
    unused = unused_letters(p)
    if not unused:
        return ""
    return (f"The column of ∂L/∂W_xh for {', '.join(map(repr, unused))} is exactly zero: that letter is never an "
            "input, so its column is never used and gets no gradient.")


# ------------------------------------------------------------- truncated BPTT names

_BPTT_NAMES = frozenset({"COPY_VOCAB", "CopyRun", "Reach", "chunk_bounds", "copy_stream", "dependency_span",
                         "gradient_reach", "train_copy_task"})


def __getattr__(name: str):
    """``hello.train_copy_task`` etc. resolve to ``rnnviz.bptt`` (imported lazily:
    bptt builds on this module, so a top-level import would be circular)."""
    if name in _BPTT_NAMES:
        from . import bptt
        return getattr(bptt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
