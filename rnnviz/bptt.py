"""Truncated backpropagation through time (TBPTT) on a toy "copy after a gap" task.

A long stream is cut into chunks of k steps. The hidden state is carried over every
chunk border but detached there, so a loss's gradient stops at the start of its chunk
(min-char-rnn's scheme). ``gradient_reach`` measures exactly where it stops, with and
without truncation. ``train_copy_task`` shows what that costs: each record is a letter
x, G dots, a cue ``?`` and x again, so predicting the repeat needs memory G + 1 steps
back; with k shorter than that the network never gets a learning signal to store x.

The RNN is the one of ``rnnviz.hello`` (same ``rnn_step``, float64 tensors). Every
run is seeded and takes seconds on one CPU thread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .hello import DTYPE, PARAM_NAMES, encode, rnn_step
from .seeds import check_seed
from .threads import one_thread

__all__ = ["COPY_NOTE", "COPY_SHARES", "COPY_VOCAB", "CopyRun", "Reach", "chunk_bounds", "compare_runs", "copy_rows", "diagram_params", "runs_for", "copy_stream", "default_loss_position",
           "dependency_span", "gradient_reach", "train_copy_task"]


COPY_VOCAB = ["a", "b", ".", "?"]


def copy_stream(gap: int, records: int, seed: int = 0) -> str:
    """Records ``x . . . ? x``: a random letter x in {a, b}, ``gap`` dots, a cue ``?``,
    then x again. Only that repeat needs memory; the next record's x is a coin flip."""
    if not 1 <= int(gap) <= 30:
        raise ValueError(f"The gap must be between 1 and 30 steps (got {gap}).")
    rng = np.random.default_rng(int(seed))
    letters = rng.choice(["a", "b"], size=int(records))
    return "".join(f"{x}{'.' * int(gap)}?{x}" for x in letters)


def dependency_span(gap: int) -> int:
    """Steps from reading x to the prediction that needs it (input '?' predicts x)."""
    return int(gap) + 1


def chunk_bounds(length: int, k: int) -> list[tuple[int, int]]:
    """[start, end) of each TBPTT chunk of ``k`` steps over ``length`` inputs."""
    if int(k) < 1:
        raise ValueError(f"The chunk length k must be at least 1 (got {k}).")
    return [(s, min(s + int(k), length)) for s in range(0, length, int(k))]


@dataclass
class Reach:
    """||dL_t/dh_s|| for one loss position t, with and without truncation."""

    text: str
    t: int
    k: int
    full: np.ndarray       # [t+1]
    truncated: np.ndarray  # [t+1], exactly 0 before the start of t's chunk
    chunk_start: int
    h_norms: np.ndarray    # ||h_s|| in the truncated run (the carried state is never zero)

    def caption(self, source: str) -> str:
        """What the reach figures show, measured on ``source`` (a model description)."""
        s0, t = self.chunk_start, self.t
        return (f"Gradient norms measured on {source}. With truncation the gradient of L{t + 1} reaches steps "
                f"{s0 + 1}–{t + 1} and is exactly 0 before; the hidden state itself still arrives from earlier "
                f"chunks (its norm at step {s0 + 1} is {self.h_norms[s0]:.3f}, not 0).")


def gradient_reach(params, vocab: list[str], text: str, k: int, t: int) -> Reach:
    """Forward the inputs text[:-1] (targets text[1:]), detaching h every ``k`` steps,
    and measure how far back the loss at step ``t`` sends gradient."""
    ids = encode(text, vocab)
    T = len(ids) - 1
    if not 0 <= int(t) < T:
        raise ValueError(f"The loss position must be between 0 and {T - 1} (got {t}).")
    t, k = int(t), int(k)
    chunk_bounds(T, k)
    H = params["W_hh"].shape[0]
    leaf = {name: params[name].detach().clone().requires_grad_(True) for name in PARAM_NAMES}
    res = {}
    for mode in ("full", "truncated"):
        h = torch.zeros(1, H, dtype=DTYPE)
        hs, loss_t = [], None
        for s in range(t + 1):
            if mode == "truncated" and s > 0 and s % k == 0:
                h = h.detach()
            _, _, h, logits = rnn_step(leaf, torch.tensor([ids[s]]), h)
            hs.append(h)
            if s == t:
                loss_t = torch.nn.functional.cross_entropy(logits, torch.tensor([ids[s + 1]]), reduction="sum")
        gs = torch.autograd.grad(loss_t, hs, allow_unused=True)
        res[mode] = np.array([0.0 if g is None else float(g.norm()) for g in gs])
        res[mode + "_h"] = np.array([float(h.detach().norm()) for h in hs])
    return Reach(text=text, t=t, k=k, full=res["full"], truncated=res["truncated"],
                 chunk_start=(t // k) * k, h_norms=res["truncated_h"])


@dataclass
class CopyRun:
    k: int
    gap: int
    steps: list          # characters of training text seen (per stream) at each measurement
    acc_dependent: list  # accuracy on the repeated letter (needs memory)
    acc_other: list      # accuracy on the predictable dots and cue
    p_dependent: list    # mean probability given to the correct repeated letter
    contained: float     # share of dependencies whose whole span lies inside one chunk
    params: dict
    seconds: float = 0.0

    @property
    def final_dependent(self) -> float:
        return self.acc_dependent[-1]


def _evaluate_copy(params, ids: torch.Tensor, gap: int) -> tuple[float, float, float]:
    """Accuracy of the greedy next-letter guess on a held-out batch of streams,
    carrying state through the whole stream (no resets)."""
    B, N = ids.shape
    H = params["W_hh"].shape[0]
    h = torch.zeros(B, H, dtype=DTYPE)
    qmark = COPY_VOCAB.index("?")
    dep_hits = dep_n = other_hits = other_n = 0
    p_sum = 0.0
    with torch.no_grad():
        for s in range(N - 1):
            _, _, h, logits = rnn_step(params, ids[:, s], h)
            target = ids[:, s + 1]
            guess = logits.argmax(-1)
            is_dep = ids[:, s] == qmark
            # The first letter of a record follows the previous repeat: a coin flip, not scored.
            is_other = (~is_dep) & (target != COPY_VOCAB.index("a")) & (target != COPY_VOCAB.index("b"))
            dep_hits += int((guess == target)[is_dep].sum())
            dep_n += int(is_dep.sum())
            other_hits += int((guess == target)[is_other].sum())
            other_n += int(is_other.sum())
            if is_dep.any():
                p = torch.softmax(logits, -1)[torch.arange(B), target]
                p_sum += float(p[is_dep].sum())
    return dep_hits / max(dep_n, 1), other_hits / max(other_n, 1), p_sum / max(dep_n, 1)


def train_copy_task(gap: int = 6, k: int = 4, **kw) -> CopyRun:
    """Train a fresh vanilla RNN on the copy stream with TBPTT chunks of ``k`` steps
    (see ``_train_copy_task``); runs on one thread."""
    with one_thread():
        return _train_copy_task(gap, k, **kw)


def _train_copy_task(gap: int = 6, k: int = 4, *, chars: int = 2400, hidden: int = 16, batch: int = 16,
                    lr: float = 0.01, seed: int = 0, evals: int = 12) -> CopyRun:
    """Train a fresh vanilla RNN on the copy stream with TBPTT chunks of ``k`` steps.

    ``batch`` parallel streams of ``chars`` characters are swept left to right ``k``
    steps at a time (so every k sees the same text; a short k gets more, shorter
    updates). The hidden state is carried across chunk borders and detached there
    (min-char-rnn's scheme). Adam, gradient norm clipped to 5.
    """
    gap, k = int(gap), int(k)
    if not 1 <= k <= 64:
        raise ValueError(f"The chunk length k must be between 1 and 64 (got {k}).")
    if not 100 <= chars <= 50_000:
        raise ValueError(f"Training characters per stream must be between 100 and 50000 (got {chars}).")
    updates = int(chars) // k
    eval_every = max(1, updates // int(evals))
    t0 = time.perf_counter()
    L = gap + 3
    g = torch.Generator().manual_seed(check_seed(seed))
    rng = np.random.default_rng(int(seed))
    V, H = len(COPY_VOCAB), int(hidden)
    params = {
        "W_xh": torch.randn(H, V, generator=g, dtype=DTYPE) * 0.5,
        "W_hh": torch.randn(H, H, generator=g, dtype=DTYPE) * (1.0 / math.sqrt(H)),
        "b_h": torch.zeros(H, dtype=DTYPE),
        "W_hy": torch.randn(V, H, generator=g, dtype=DTYPE) * (1.0 / math.sqrt(H)),
        "b_y": torch.zeros(V, dtype=DTYPE),
    }
    for p in params.values():
        p.requires_grad_(True)
    opt = torch.optim.Adam(list(params.values()), lr=lr)

    def streams(n_rows, n_chars, sd):
        rows = []
        for r in range(n_rows):
            text = copy_stream(gap, n_chars // L + 2, seed=sd * 1000 + r)
            rows.append([COPY_VOCAB.index(c) for c in text[: n_chars + 1]])
        return torch.tensor(rows)

    # Training streams long enough for updates * k steps per row (one pass, no reuse).
    n_train = updates * k
    train_ids = streams(batch, n_train, int(rng.integers(1 << 30)))
    eval_ids = streams(32, 20 * L, int(rng.integers(1 << 30)) + 7)
    qmark = COPY_VOCAB.index("?")
    # Share of dependencies (x read at s-gap-1, predicted at step s) whose span fits in one chunk.
    deps = (train_ids[:, :n_train] == qmark).nonzero()[:, 1].numpy()
    contained = float(np.mean((deps // k) == ((deps - gap - 1) // k))) if len(deps) else 0.0

    steps, acc_d, acc_o, p_d = [], [], [], []

    def evaluate(step):
        d, o, p = _evaluate_copy(params, eval_ids, gap)
        steps.append(step)
        acc_d.append(d)
        acc_o.append(o)
        p_d.append(p)

    evaluate(0)
    h = torch.zeros(batch, H, dtype=DTYPE)
    for u in range(updates):
        s0 = u * k
        h = h.detach()  # the state is carried, the gradient is not
        loss = 0.0
        for s in range(s0, s0 + k):
            _, _, h, logits = rnn_step(params, train_ids[:, s], h)
            loss = loss + torch.nn.functional.cross_entropy(logits, train_ids[:, s + 1], reduction="sum")
        opt.zero_grad()
        (loss / batch).backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 5.0)
        opt.step()
        if (u + 1) % eval_every == 0 or u + 1 == updates:
            evaluate((u + 1) * k)
    final = {k_: v.detach().clone() for k_, v in params.items()}
    return CopyRun(k=k, gap=gap, steps=steps, acc_dependent=acc_d, acc_other=acc_o, p_dependent=p_d,
                   contained=contained, params=final, seconds=time.perf_counter() - t0)


COPY_SHARES = ("dependencies inside one chunk", "accuracy on the repeated letter", "best during training",
               "accuracy on dots and ?")
COPY_NOTE = ("Both runs read the same 2,400 characters per stream (16 streams); the shorter k simply makes more, "
             "shorter updates. Accuracy is measured on fresh text with the state carried through, greedy guess at "
             "every '?'. 0.5 is a coin flip. A short k can get lucky for a while (the output layer learns to read "
             "whatever the state happens to carry), but nothing trains the state to keep the letter, so the "
             "skill does not last.")


def compare_runs(gap: int, seed: int, ks) -> dict:
    """Train one copy-task RNN per chunk length in ``ks`` on the same streams:
    ``{"gap", "seed", "order": ks, k: CopyRun, ...}``."""
    if len(set(ks)) != len(ks):
        raise ValueError("Pick two different chunk lengths to compare.")
    return {"gap": gap, "seed": seed, "order": list(ks), **{k: train_copy_task(gap=gap, k=k, seed=seed) for k in ks}}


def runs_for(runs: dict | None, gap: int, seed: int) -> dict | None:
    """``runs`` (from ``compare_runs``) if they were trained on this gap and seed, else None."""
    return runs if runs and (runs["gap"], runs["seed"]) == (gap, seed) else None


def diagram_params(runs: dict | None, k: int, seed: int) -> tuple[dict, str]:
    """The weights the reach figures are measured on, and how to describe them: the
    run trained with chunks of ``k`` if ``runs`` (from ``compare_runs``) has one, else a
    fresh untrained 8-unit RNN."""
    if runs and runs.get(k) is not None:
        return runs[k].params, f"the model trained with k = {k} below"
    from .hello import init_params

    return init_params(len(COPY_VOCAB), 8, seed, 0.5), \
        "a fresh untrained 8-unit RNN (run the comparison to use a trained one)"


def copy_rows(runs: list[CopyRun], span: int) -> list[dict]:
    """One table row per run of the comparison (what it learned, how fast)."""
    return [{"chunk length k": r.k, "k > span?": "yes" if r.k > span else "no",
             "dependencies inside one chunk": r.contained, "accuracy on the repeated letter": r.final_dependent,
             "best during training": max(r.acc_dependent), "accuracy on dots and ?": r.acc_other[-1],
             "updates": r.steps[-1] // r.k, "seconds": r.seconds} for r in runs]


def default_loss_position(text: str, k: int) -> int:
    """The '?' step (the loss that needs memory) that sits deepest inside its chunk."""
    q_positions = [i for i, ch in enumerate(text[:-1]) if ch == "?"]
    if not q_positions:
        raise ValueError("The stream has no '?' cue to predict from.")
    return max(q_positions, key=lambda q: (q % int(k), q))
