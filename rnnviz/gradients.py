"""Gradient flow through time: how much of a loss reaches each earlier step.

Back-propagation through time multiplies one Jacobian per step,
dh_t/dh_{t-1} = diag(g'(a_t)) W_hh, so the gradient that reaches a step k
positions back behaves like a product of k matrices. This module measures that
on real networks instead of on a product of scalars:

* ``gradient_profile`` - ||dL_T/dh_t|| (and ||dL_T/dc_t|| for an LSTM) for every
  step t and layer, where L_T is the loss of predicting the last character.
* ``scale_recurrent`` / ``spectral_norms`` - the "break it" experiments: rescale
  W_hh on a private copy to a chosen largest singular value; with the bound
  ||dL/dh_t|| <= ||dL/dh_T|| (beta_W beta_h)^(T-t) (``GradientProfile.bound``).
* ``connectivity`` - ||d log p(x_t) / d e_k|| for every earlier input embedding
  e_k (Distill's "connectivity" view of memorisation).
* ``batch_profile`` - ||dL/dh_t|| per time step for a training-like batch of the
  live model (an RNNbow-style view of where the gradient of a batch comes from).
* ``clipping_demo`` - the same vanilla RNN trained twice from one seed with a
  high learning rate, with and without gradient-norm clipping.
* ``init_model``, ``break_profile``, ``summary``, ``layer_report``,
  ``live_batch`` - the page-level recipes built from the above (the page only
  caches and draws them).

Everything runs ``models.trace`` with autograd on and asks
``torch.autograd.grad`` for the per-step tensors the replay really used. Given
models are never changed: parameters are not touched (their ``requires_grad``
stays as it is; gradients flow from an embedding tensor we create), and the
experiments work on copies.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import celltypes, corpora
from .models import CharModel, build, layer_weights, trace
from .threads import one_thread
from .train import TrainConfig, Trainer

ACTIVATIONS = ("tanh", "relu", "linear")
# sup |g'| of each activation: tanh' <= 1, relu' in {0, 1}, linear' = 1.
BETA_H = {"tanh": 1.0, "relu": 1.0, "linear": 1.0}
MAX_STEPS = 400  # longest text a profile replays (a step-by-step Python loop)
INIT_SEED = 0  # seed of the "at initialisation" copies, so every view shows the same init
WEIGHTS = {"trained": "trained", "init": "at initialisation"}
LAYER_CHOICES = ("all", "1", "2")  # which W_hh a "break it" rescale touches (stable, for links)
SUMMARY_DISTANCE = 50  # the summary compares the gradient this many steps back with the one at the loss

DEFAULT_TEXT = (
    "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
    "It is the east, and Juliet is the sun.\n"
    "Arise, fair sun, and kill the envious moon,\n"
    "Who is already sick and pale with grief,\n"
    "That thou her maid art far more fair than she:\n"
    "Be not her maid, since she is envious;\n"
)


# ------------------------------------------------------------------ helpers


def _single_threaded(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_thread():
            return fn(*args, **kwargs)
    return wrapper


def encode(vocab: corpora.Vocab, text: str, *, min_chars: int = 2, max_chars: int = MAX_STEPS + 1) -> np.ndarray:
    """Text -> ids for a gradient experiment, or a ValueError a student can act on."""
    if not isinstance(text, str) or len(text) == 0:
        raise ValueError("The text is empty. Type or paste at least a few characters.")
    if len(text) < min_chars:
        raise ValueError(
            f"The text needs at least {min_chars} characters: the model reads all but the last "
            "one, and the loss is measured on predicting the last one."
        )
    if len(text) > max_chars:
        raise ValueError(f"The text is {len(text):,} characters long; use at most {max_chars:,} here.")
    return vocab.encode(text)  # raises ValueError naming unknown characters


def spectral_norm(w: torch.Tensor) -> float:
    """Largest singular value of a matrix (its operator 2-norm)."""
    return float(torch.linalg.matrix_norm(w.detach().to(torch.float64), ord=2))


@_single_threaded
def spectral_norms(model: CharModel) -> list[float]:
    """Largest singular value of W_hh for every layer (all gates stacked for LSTM/GRU)."""
    return [spectral_norm(layer_weights(model, k).w_hh) for k in range(model.config.layers)]


def spectral_radius(w: torch.Tensor) -> float | None:
    """Largest |eigenvalue| of a square matrix (None for the stacked gate matrices)."""
    if w.shape[0] != w.shape[1]:
        return None
    return float(torch.linalg.eigvals(w.detach().to(torch.float64)).abs().max())


@_single_threaded
def scale_recurrent(model: CharModel, sigma: float, layers=None, *, orthogonal: bool = False) -> CharModel:
    """A private copy whose W_hh (in ``layers``; all by default) has largest singular value ``sigma``.

    Plain scaling multiplies W_hh by one number, so its shape (the ratios of its
    singular values, its eigenvectors) is kept. ``orthogonal=True`` (vanilla RNN
    only) first replaces W_hh by its nearest orthogonal matrix U V^T, so *every*
    singular value - and every |eigenvalue| - equals ``sigma``: then the gradient
    of a linear RNN changes by exactly ``sigma`` per step.
    """
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and 0 < sigma <= 100):
        raise ValueError(f"The target singular value must be a positive number up to 100 (got {sigma}).")
    if orthogonal and model.config.cell != "rnn":
        raise ValueError("The orthogonal option applies to the vanilla RNN's square W_hh only.")
    m = model.copy()
    todo = range(m.config.layers) if layers is None else layers
    with torch.no_grad():
        for k in todo:
            if not 0 <= int(k) < m.config.layers:
                raise ValueError(f"Layer {int(k) + 1} does not exist (the model has {m.config.layers}).")
            w = layer_weights(m, int(k)).w_hh
            if orthogonal:
                u, _, vh = torch.linalg.svd(w.detach().to(torch.float64))
                w.copy_((u @ vh).to(w.dtype))
            s = spectral_norm(w)
            if s > 0:
                w.mul_(sigma / s)
    return m


@_single_threaded
def fresh_like(model: CharModel, seed: int = 0) -> CharModel:
    """The same architecture at initialisation (PyTorch's default init, fixed seed)."""
    c = model.config
    return build(c.cell, c.vocab_size, c.layers, c.hidden, c.embed, seed=seed,
                 nonlinearity=c.nonlinearity).eval()


def init_model(model: CharModel, seed: int = INIT_SEED) -> CharModel:
    """``fresh_like`` with frozen parameters: safe to cache and share between sessions."""
    m = fresh_like(model, seed=seed)
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def plain_recurrence(cell: str) -> bool:
    """True when one step's Jacobian is diag(g') W_hh with a square W_hh (the vanilla RNN).

    Only then can the activation be switched, W_hh made orthogonal, and the
    textbook bound (beta_W beta_h)^(T-t) be drawn; gated cells stack their gate
    matrices in W_hh and their Jacobian depends on the gates.
    """
    return not celltypes.of(cell).has_gates


def layers_to_scale(choice: str) -> list[int] | None:
    """A ``LAYER_CHOICES`` entry -> the layer indices to rescale (None: all layers)."""
    if choice not in LAYER_CHOICES:
        raise ValueError(f"Unknown layer choice {choice!r}; choose one of {', '.join(LAYER_CHOICES)}.")
    return None if choice == "all" else [int(choice) - 1]


def last_steps(text: str, length: int) -> str:
    """The last ``length`` + 1 characters: same prediction, a history of ``length`` steps."""
    length = int(length)
    if length < 1:
        raise ValueError("The sequence needs at least one step before the loss.")
    return text[-(length + 1):]


def _leaf_embeddings(model: CharModel, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        e = model.embed(ids)
    return e.detach().clone().requires_grad_(True)


def _norms(grads) -> np.ndarray:
    out = np.empty(len(grads), dtype=np.float64)
    for i, g in enumerate(grads):
        out[i] = 0.0 if g is None else float(torch.linalg.vector_norm(g.to(torch.float64)))
    return out


# ------------------------------------------------------------------ profile


@dataclass
class GradientProfile:
    """Gradient norms of the last step's loss with respect to every earlier state.

    ``h[k, t]`` = ||dL_T/dh_t|| in layer k (t = 0 .. T-1; step t read character
    ``text[t]``); ``c`` likewise for an LSTM's cell state, else None. ``L_T`` is
    the cross-entropy of predicting ``text[-1]`` after reading ``text[:-1]``.
    """

    cell: str
    text: str
    h: np.ndarray  # [L, T]
    c: np.ndarray | None
    loss: float
    prob: float  # p(last character) under the model
    activation: str
    sigma: list  # largest singular value of W_hh per layer
    beta_h: float
    radius: list = field(default_factory=list)  # largest |eigenvalue| of W_hh per layer (vanilla RNN)

    @property
    def steps(self) -> int:
        return self.h.shape[1]

    @property
    def layers(self) -> int:
        return self.h.shape[0]

    @property
    def offsets(self) -> np.ndarray:
        """x positions t - T for plotting: 0 is the step next to the loss, -k is k steps back."""
        return np.arange(self.steps) - (self.steps - 1)

    @property
    def finite(self) -> bool:
        ok = np.isfinite(self.h).all() and math.isfinite(self.loss)
        return bool(ok and (self.c is None or np.isfinite(self.c).all()))

    def bound(self, layer: int | None = None) -> np.ndarray:
        """||dL/dh_T|| (beta_W beta_h)^(T-t) for the top layer of a vanilla RNN.

        Exact as a bound for the top layer: there, the loss at T reaches h_t only
        through h_{t+1}, whose Jacobian has norm <= beta_W beta_h.
        """
        k = self.layers - 1 if layer is None else layer
        rate = self.sigma[k] * self.beta_h
        dist = np.arange(self.steps)[::-1].astype(np.float64)
        with np.errstate(over="ignore"):
            return self.h[k, -1] * np.power(rate, dist)

    def ratio_per_step(self, layer: int | None = None, window: int = 20) -> float:
        """Geometric-mean shrink (<1) or growth (>1) factor per step back over the last ``window`` steps."""
        k = self.layers - 1 if layer is None else layer
        v = self.h[k][-(window + 1):]
        v = v[np.isfinite(v)]
        if len(v) < 2 or v[-1] <= 0 or v[0] <= 0:
            return float("nan")
        return float((v[0] / v[-1]) ** (1.0 / (len(v) - 1)))


@_single_threaded
def gradient_profile(model: CharModel, ids, *, activation: str | None = None, text: str = "") -> GradientProfile:
    """||dL_T/dh_t|| for all t and layers; ``ids`` holds the inputs and, last, the target."""
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long).reshape(-1)
    if ids.numel() < 2:
        raise ValueError("The text needs at least 2 characters (inputs plus the character to predict).")
    if model.config.cell != "rnn" and activation not in (None, "tanh"):
        raise ValueError("Only the vanilla RNN's activation can be switched.")
    act = activation or model.config.nonlinearity
    if act not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {act!r}; choose tanh, relu or linear.")
    x, y = ids[:-1], ids[-1:]
    with torch.enable_grad():
        emb = _leaf_embeddings(model, x)
        tr = trace(model, x, activation=act if model.config.cell == "rnn" else None, embeddings=emb)
        logp = F.log_softmax(tr.logits[-1:].to(torch.float64), dim=-1)
        loss = -logp[0, y[0]]
        wanted = []
        for k in range(model.config.layers):
            wanted += tr.steps[k]["h"]
            if tr.cell == "lstm":
                wanted += tr.steps[k]["c"]
        grads = torch.autograd.grad(loss, wanted, allow_unused=True)
    L, T = model.config.layers, x.numel()
    per = 2 * T if tr.cell == "lstm" else T
    h = np.zeros((L, T))
    c = np.zeros((L, T)) if tr.cell == "lstm" else None
    for k in range(L):
        chunk = grads[k * per:(k + 1) * per]
        h[k] = _norms(chunk[:T])
        if c is not None:
            c[k] = _norms(chunk[T:])
    lv = float(loss.detach())
    return GradientProfile(
        cell=tr.cell, text=text, h=h, c=c, loss=lv, prob=math.exp(-lv) if math.isfinite(lv) else float("nan"),
        activation=act if tr.cell == "rnn" else "tanh", sigma=spectral_norms(model),
        beta_h=BETA_H.get(act, 1.0),
        radius=[spectral_radius(layer_weights(model, k).w_hh) for k in range(L)],
    )


def break_profile(model: CharModel, ids, *, activation: str = "tanh", sigma: float | None = None,
                  layers=None, orthogonal: bool = False, text: str = "") -> tuple[list[float], GradientProfile]:
    """The "break it" experiment: (beta_W per layer before the change, profile after it).

    ``sigma`` None keeps W_hh; otherwise W_hh of ``layers`` is rescaled on a
    private copy (``scale_recurrent``). ``activation`` and ``orthogonal`` only
    apply to a plain recurrence and are ignored for gated cells, so one set of
    controls works for every model.
    """
    plain = plain_recurrence(model.config.cell)
    before = spectral_norms(model)
    if sigma is not None:
        model = scale_recurrent(model, float(sigma), layers, orthogonal=bool(orthogonal and plain))
    return before, gradient_profile(model, ids, activation=activation if plain else None, text=text)


def far_ratio(p: GradientProfile, far: int = SUMMARY_DISTANCE) -> tuple[int, float] | None:
    """(distance, ||dL/dh|| that many steps back / ||dL/dh|| at the loss) for the top layer, or None."""
    top = p.h[-1]
    far = min(int(far), p.steps - 1)
    if far <= 0 or not top[-1] > 0 or not np.isfinite(top[-1 - far]):
        return None
    return far, float(top[-1 - far] / top[-1])


def summary(p: GradientProfile) -> str:
    """One Markdown sentence (our words, our numbers) on how much gradient survives."""
    fr = far_ratio(p)
    tail = f"; {fr[0]} steps back the gradient is **{fr[1]:.1e}** x its size next to the loss" if fr else ""
    return f"p(last character) = {p.prob:.3f}{tail}."


def layer_report(p: GradientProfile, before: list[float]) -> list[tuple[str, str, str]]:
    """(label, value, change) per layer for the "break it" metrics: beta_W now, before, |eigenvalue|."""
    rows = []
    for k in range(p.layers):
        rad = p.radius[k] if k < len(p.radius) else None
        extra = f", largest |eigenvalue| {rad:.2f}" if rad is not None else ""
        rows.append((f"Layer {k + 1}: beta_W of W_hh", f"{p.sigma[k]:.2f}",
                     f"{p.sigma[k] - before[k]:+.2f} (was {before[k]:.2f}){extra}"))
    return rows


def experiment(what: str, model: CharModel, vocab: corpora.Vocab, text: str, **kw):
    """One named experiment on ``text``: "profile", "break" (``break_profile``) or
    "connectivity" (``kw["position"]``); one entry point the page caches."""
    ids = encode(vocab, text)
    if what == "profile":
        return gradient_profile(model, ids, text=text)
    if what == "break":
        return break_profile(model, ids, text=text, **kw)
    if what == "connectivity":
        return connectivity(model, ids, kw["position"])
    raise ValueError(f"Unknown experiment {what!r}.")


# ------------------------------------------------------------------ connectivity


@_single_threaded
def connectivity(model: CharModel, ids, position: int) -> tuple[np.ndarray, float]:
    """||d log p(x_pos | x_<pos) / d e_k|| for k = 0 .. pos-1, and p(x_pos).

    ``ids`` is the whole text; ``position`` (>= 1) is the character whose
    prediction we explain. e_k is the input embedding of character k.
    """
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long).reshape(-1)
    position = int(position)
    if not 1 <= position < ids.numel():
        raise ValueError(
            f"Choose a position between 1 and {ids.numel() - 1}: the first character has nothing before it."
        )
    x = ids[:position]
    with torch.enable_grad():
        emb = _leaf_embeddings(model, x)
        tr = trace(model, x, embeddings=emb)
        logp = F.log_softmax(tr.logits[-1].to(torch.float64), dim=-1)[ids[position]]
        (g,) = torch.autograd.grad(logp, emb)
    return torch.linalg.vector_norm(g.to(torch.float64), dim=-1).numpy(), math.exp(float(logp.detach()))


# ------------------------------------------------------------------ batch view


def batch_windows(ids: np.ndarray, seq_len: int, batch: int, seed: int) -> np.ndarray:
    """``batch`` random windows of ``seq_len`` + 1 ids, drawn the way the trainer draws batches."""
    ids = np.asarray(ids)
    seq_len = int(min(seq_len, len(ids) - 1))
    if seq_len < 2:
        raise ValueError("The corpus is too short to cut a batch from it.")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - seq_len, size=int(batch))
    return np.stack([ids[s:s + seq_len + 1] for s in starts])


@dataclass
class BatchProfile:
    """||dL/dh_t|| for the summed loss of every step of each sequence of a batch.

    ``h[b, k, t]`` for sequence b, layer k, step t; ``loss[b, t]`` is the loss at
    step t (predicting character t+1); ``windows`` are the ids used.
    """

    h: np.ndarray  # [B, L, T]
    loss: np.ndarray  # [B, T]
    windows: np.ndarray  # [B, T+1]

    @property
    def mean(self) -> np.ndarray:
        """[L, T] batch mean."""
        return self.h.mean(axis=0)


@_single_threaded
def batch_profile(model: CharModel, windows: np.ndarray) -> BatchProfile:
    """The training loss (mean cross-entropy over all steps) of each window, back to every h_t."""
    windows = np.asarray(windows)
    B, T = windows.shape[0], windows.shape[1] - 1
    L = model.config.layers
    h = np.zeros((B, L, T))
    losses = np.zeros((B, T))
    for b in range(B):
        ids = torch.as_tensor(windows[b], dtype=torch.long)
        with torch.enable_grad():
            emb = _leaf_embeddings(model, ids[:-1])
            tr = trace(model, ids[:-1], embeddings=emb)
            per = F.cross_entropy(tr.logits, ids[1:], reduction="none")
            wanted = [t for k in range(L) for t in tr.steps[k]["h"]]
            grads = torch.autograd.grad(per.mean(), wanted, allow_unused=True)
        for k in range(L):
            h[b, k] = _norms(grads[k * T:(k + 1) * T])
        losses[b] = per.detach().numpy()
    return BatchProfile(h=h, loss=losses, windows=windows)


def live_batch(checkpoint, train_ids, seq_len: int, batch: int, seed: int) -> tuple[BatchProfile, list[str]]:
    """A training-like batch through ``checkpoint`` (``.model``, ``.vocab``): gradients and each window's text."""
    windows = batch_windows(train_ids, seq_len, batch, seed=seed)
    return batch_profile(checkpoint.model, windows), [checkpoint.vocab.decode(w[:-1]) for w in windows]


def needs_refresh(cached_steps: int | None, steps: int, every: int) -> bool:
    """Recompute the live batch view? (nothing yet, a restarted run, or ``every`` steps on)."""
    return cached_steps is None or steps < cached_steps or steps - cached_steps >= int(every)


@dataclass
class LiveBatch:
    """The live view's last result: what it was computed for, at which step."""

    key: tuple
    steps: int
    profile: BatchProfile
    texts: list


def refresh_live(held: LiveBatch | None, key: tuple, steps: int, every: int, compute) -> LiveBatch:
    """``held`` while it is still current, else a new ``LiveBatch`` from ``compute()`` -> (profile, texts)."""
    if held is not None and held.key == key and not needs_refresh(held.steps, steps, every):
        return held
    return LiveBatch(key, int(steps), *compute())


# ------------------------------------------------------------------ clipping demo


@dataclass
class ClipDemoConfig:
    """A vanilla RNN set up to blow up without clipping (measured: 16 of 16 seeds
    diverge within 14 steps without clipping, none with clipping at 0.05)."""

    hidden: int = 64
    embed: int = 16
    nonlinearity: str = "relu"
    seq_len: int = 64
    batch_size: int = 16
    lr: float = 3.0  # SGD with momentum 0.9
    clip_value: float = 0.05
    steps: int = 200
    seed: int = 0
    chars: int = 40_000  # size of the Shakespeare excerpt trained on

    def train_config(self, clip: bool) -> TrainConfig:
        return TrainConfig(
            cell="rnn", layers=1, hidden=int(self.hidden), embed=int(self.embed), seq_len=int(self.seq_len),
            batch_size=int(self.batch_size), optimizer="sgd", lr=float(self.lr), clip=clip,
            clip_value=float(self.clip_value), seed=int(self.seed), eval_every=max(1, int(self.steps)),
            eval_chars=4096, sample_len=1, milestones=(), nonlinearity=self.nonlinearity,
            stop_on_blowup=False,  # let the unclipped run go all the way to Inf/NaN, as in the lecture
        )

    def key(self) -> tuple:
        """Everything that decides the result (the runs are deterministic given the seed)."""
        return dataclasses.astuple(self)

    def validate(self) -> "ClipDemoConfig":
        if not 1 <= int(self.steps) <= 2000:
            raise ValueError(f"Steps must be between 1 and 2,000 (got {self.steps}).")
        self.train_config(True).validate()
        self.train_config(False).validate()
        return self


@dataclass
class ClipRun:
    label: str
    clip: bool
    loss: list  # (step, loss)
    grad: list  # (step, gradient norm before clipping)
    steps: int
    divergence: str | None  # Trainer.divergence.message(), if it blew up
    diverged_at: int | None
    final_loss: float | None
    blowup: tuple | None = None  # (what, value) that stopped the run: ("loss", nan), ("loss", 16.2), ...

    def report(self) -> tuple[bool, str]:
        """(finished cleanly, one sentence for the student)."""
        if self.divergence:
            return False, self.divergence
        fl = f"{self.final_loss:.3f}" if self.final_loss is not None else "n/a"
        return True, f"Trained all {self.steps:,} steps without overflow; last loss {fl} nats/char."


@dataclass
class ClipDemo:
    config: ClipDemoConfig
    runs: list = field(default_factory=list)  # [without clipping, with clipping]


def demo_corpus(chars: int = 40_000) -> corpora.Corpus:
    """A fixed excerpt of the Shakespeare corpus (the plays, not the licence header)."""
    text = corpora.load("shakespeare").text
    start = min(100_000, max(0, len(text) - chars))
    return corpora.from_text(text[start:start + chars], name="Shakespeare excerpt")


@_single_threaded
def clipping_demo(config: ClipDemoConfig | None = None, corpus: corpora.Corpus | None = None,
                  progress=None, chunk: int = 10) -> ClipDemo:
    """Train twice from the same seed, without and with clipping; never raises on NaN.

    ``progress(fraction, text)`` is called between chunks of steps.
    """
    cfg = (config or ClipDemoConfig()).validate()
    corpus = corpus or demo_corpus(cfg.chars)
    out = ClipDemo(config=cfg)
    total = 2 * int(cfg.steps)
    for i, clip in enumerate((False, True)):
        label = f"with clipping (threshold {cfg.clip_value:g})" if clip else "without clipping"
        tr = Trainer(corpus, cfg.train_config(clip))
        while tr.steps < cfg.steps and not tr.diverged:
            tr.step(min(chunk, cfg.steps - tr.steps))
            if progress is not None:
                done = i * cfg.steps + (cfg.steps if tr.diverged else tr.steps)
                progress(min(1.0, done / total), f"Training {label}: step {tr.steps:,} of {cfg.steps:,}")
        out.runs.append(ClipRun(
            label=label, clip=clip, loss=list(tr.loss_hist), grad=list(tr.grad_hist), steps=tr.steps,
            divergence=tr.divergence.message() if tr.divergence else None,
            diverged_at=tr.divergence.step if tr.divergence else None,
            final_loss=tr.last_loss,
            blowup=(tr.divergence.what, float(tr.divergence.value)) if tr.divergence else None,
        ))
    return out


class ClipDemoStore:
    """The last few clipping-demo results by configuration, shared and thread-safe.

    The demo takes seconds of CPU, so it only runs on request; keeping results by
    configuration lets a shared link with the same settings show the same figure
    at once, and keeps a session's result across reruns. Results are never changed
    after they are stored.
    """

    def __init__(self, maxsize: int = 16):
        self.maxsize = int(maxsize)
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, config: ClipDemoConfig) -> ClipDemo | None:
        with self._lock:
            hit = self._items.get(config.key())
            if hit is not None:
                self._items.move_to_end(config.key())
            return hit

    def run(self, config: ClipDemoConfig, corpus: corpora.Corpus | None = None, progress=None) -> ClipDemo:
        """Run the demo (raises ValueError for a bad configuration) and keep its result."""
        result = clipping_demo(config, corpus=corpus, progress=progress)
        with self._lock:
            self._items[config.key()] = result
            self._items.move_to_end(config.key())
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return result
