"""Core benchmark: is the library's overhead small, and is inspection interactive?

Measured in one run (so machine noise largely cancels in the ratios):

* trainer speed / bare PyTorch loop - ``Trainer.step`` against a hand-written
  loop (same 2x128 LSTM, Adam, clipping, B=32, T=64, same thread count), in
  many short alternating blocks so that load from other processes hits both. Reported twice: on the trainer's own step time (periodic
  validation and milestone samples excluded, as the bare loop has none) and on
  wall time (everything included).
* ``trace`` of 2,000 characters through a 2x256 LSTM under inference_mode, and
  sampling 500 characters from it (medians of several runs); the same trace again
  while another thread runs pure Python, as Streamlit's threads do (each torch call
  must win the GIL back, so a trace of many tiny calls used to take seconds).
* training FLOP/s of the default model / measured fp32 matmul FLOP/s. Per
  character, the forward pass costs 2*(in*4H + H*4H) multiply-adds x2 FLOPs per
  LSTM layer (in = embed for layer 0, H above) plus 2*H*V for the read-out; the
  embedding lookup is free. Training ~= 3x forward (backward ~= 2x forward).
  The ceiling is a 2048 x 2048 fp32 matmul (2*n^3 FLOPs).
* time-to-loss: wall seconds for the Train page's default config (``TrainConfig()``
  on Shakespeare) to reach validation loss 1.7 nats/char, validation included.

Threads: ``RNNVIZ_BENCH_THREADS`` (default 1, one CPU slot as the classroom
server gives each trainer).
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time

import torch
import torch.nn.functional as F

from .. import corpora
from ..checkpoint import load_pretrained, pretrained_names
from ..models import CharModel, build, trace
from ..sample import sample
from ..train import TrainConfig, Trainer
from . import result

TARGET_LOSS = 1.7


def _threads() -> int:
    return max(1, int(os.environ.get("RNNVIZ_BENCH_THREADS", "1")))


def _median_time(fn, runs: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


# ------------------------------------------------------------------ trainer vs bare loop


class BareLoop:
    """The reference: the plainest PyTorch loop for the same model and batches."""

    def __init__(self, data: torch.Tensor, cfg: TrainConfig, vocab_size: int):
        torch.manual_seed(cfg.seed)
        self.model = CharModel(cfg.model_config(vocab_size)).train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.data, self.cfg, self.V = data, cfg, vocab_size
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.offsets = torch.arange(cfg.seq_len + 1)[None, :]

    def steps(self, n: int):
        T, B = self.cfg.seq_len, self.cfg.batch_size
        for _ in range(n):
            starts = torch.randint(0, len(self.data) - T - 1, (B,), generator=self.gen)
            chunk = self.data[starts[:, None] + self.offsets]
            logits, _ = self.model(chunk[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, self.V), chunk[:, 1:].reshape(-1))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_value)
            self.opt.step()


def bench_trainer(corpus, quick: bool) -> list[dict]:
    cfg = TrainConfig(cell="lstm", layers=2, hidden=128, batch_size=32, seq_len=64)
    blocks, n = (8, 5) if quick else (60, 10)  # many short alternating blocks: load noise hits both
    tr = Trainer(corpus, cfg)  # its step-0 validation + sample happen here, untimed
    bare = BareLoop(tr.train_data, cfg, len(corpus.vocab))
    tr.step(5)
    bare.steps(5)
    t_own = t_wall = t_ref = 0.0
    for _ in range(blocks):
        t_train, t0 = tr.train_time, time.perf_counter()
        tr.step(n)
        t_wall += time.perf_counter() - t0
        t_own += tr.train_time - t_train
        t0 = time.perf_counter()
        bare.steps(n)
        t_ref += time.perf_counter() - t0
    chars = blocks * n * cfg.batch_size * cfg.seq_len
    ratio_own, ratio_wall = t_ref / t_own, t_ref / t_wall
    detail = dict(model="2x128 LSTM", batch=32, seq_len=64, steps=blocks * n, block=n,
                  trainer_chars_per_s=round(chars / t_own), bare_chars_per_s=round(chars / t_ref),
                  trainer_wall_chars_per_s=round(chars / t_wall), eval_every=cfg.eval_every)
    return [
        result("trainer chars/s / bare PyTorch loop (step time)", ratio_own, "x", ">= 0.95", ratio_own >= 0.95,
               **detail),
        result("trainer chars/s / bare loop (wall, incl. validation)", ratio_wall, "x", None, None, **detail),
        result("trainer speed, 2x128 LSTM B=32 T=64", chars / t_own, "chars/s", None, None),
    ]


# ------------------------------------------------------------------ inspection


def _inspect_model():
    """The bundled 2x256 Shakespeare LSTM (or a random one of the same shape)."""
    if "shakespeare_lstm" in pretrained_names():
        cp = load_pretrained("shakespeare_lstm")
        if (cp.model.config.layers, cp.model.config.hidden, cp.model.config.cell) == (2, 256, "lstm"):
            return cp.model, cp.vocab, "pretrained/shakespeare_lstm"
    corpus = corpora.load("shakespeare")
    return build("lstm", len(corpus.vocab), 2, 256, 64, seed=0).eval(), corpus.vocab, "random 2x256 LSTM"


def bench_inspection(quick: bool) -> list[dict]:
    model, vocab, which = _inspect_model()
    for p in model.parameters():
        p.requires_grad_(False)
    text = corpora.load("shakespeare").val_text
    text = "".join(c for c in text[:4000] if c in vocab)[:2000]
    ids = torch.as_tensor(vocab.encode(text))
    runs = 3 if quick else 7

    def do_trace():
        with torch.inference_mode():
            trace(model, ids)

    t_trace, all_trace = _median_time(do_trace, runs)
    t_busy, all_busy = _with_busy_python_thread(lambda: _median_time(do_trace, runs))
    prime = "ROMEO:\n"
    t_sample, all_sample = _median_time(lambda: sample(model, vocab, 500, prime=prime, seed=1), runs)
    return [
        result("trace 2,000 chars, 2x256 LSTM (inference_mode)", t_trace * 1000, "ms", "<= 150",
               t_trace <= 0.150, model=which, runs_ms=[round(t * 1000, 1) for t in all_trace]),
        result("trace 2,000 chars beside a busy Python thread (GIL)", t_busy * 1000, "ms", "<= 500",
               t_busy <= 0.500, model=which, runs_ms=[round(t * 1000, 1) for t in all_busy]),
        result("sample 500 chars, 2x256 LSTM", t_sample * 1000, "ms", "<= 120", t_sample <= 0.120,
               model=which, runs_ms=[round(t * 1000, 1) for t in all_sample]),
    ]


def _with_busy_python_thread(fn):
    """Run ``fn`` while another thread spins in pure Python (holding the GIL)."""
    stop = threading.Event()

    def spin():
        x = 0
        while not stop.is_set():
            for i in range(1000):
                x += i

    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        return fn()
    finally:
        stop.set()
        th.join()


# ------------------------------------------------------------------ FLOP/s


def lstm_forward_flops_per_char(embed: int, hidden: int, layers: int, vocab: int) -> int:
    flops = 0
    for k in range(layers):
        inp = embed if k == 0 else hidden
        flops += 2 * (inp * 4 * hidden + hidden * 4 * hidden)
    return flops + 2 * hidden * vocab


def matmul_flops(quick: bool) -> float:
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    t, _ = _median_time(lambda: torch.mm(a, b), 3 if quick else 7)
    return 2 * n**3 / t


def bench_flops(corpus, quick: bool) -> list[dict]:
    cfg = TrainConfig()  # the Train page's default model
    tr = Trainer(corpus, cfg)
    tr.step(3)
    t0, c0 = tr.train_time, tr.chars_seen
    tr.step(20 if quick else 100)
    cps = (tr.chars_seen - c0) / (tr.train_time - t0)
    per_char = 3 * lstm_forward_flops_per_char(cfg.embed, cfg.hidden, cfg.layers, len(corpus.vocab))
    train_fs = per_char * cps
    peak = matmul_flops(quick)
    frac = train_fs / peak
    return [
        result("fp32 matmul 2048^2", peak / 1e9, "GFLOP/s", None, None),
        result(f"default model training ({cfg.layers}x{cfg.hidden} {cfg.cell.upper()})", train_fs / 1e9, "GFLOP/s",
               None, None, flops_per_char=per_char, chars_per_s=round(cps)),
        result("training FLOP/s / matmul FLOP/s", frac, "x", None, None,
               formula="3 * (sum_l 2*(in_l*4H + H*4H) + 2*H*V) FLOPs per char"),
    ]


# ------------------------------------------------------------------ time to loss


def bench_time_to_loss(corpus, quick: bool) -> list[dict]:
    budget = 15.0 if quick else 300.0
    cfg = TrainConfig()
    t0 = time.perf_counter()
    tr = Trainer(corpus, cfg)
    reached = None
    while time.perf_counter() - t0 < budget:
        tr.step(min(10, cfg.eval_every - tr.steps % cfg.eval_every))  # small chunks: the budget holds
        if tr.diverged:
            break
        if tr.last_val is not None and tr.last_val <= TARGET_LOSS:
            reached = time.perf_counter() - t0
            break
    if reached is None and not tr.diverged and tr.steps % cfg.eval_every:
        tr.record_val()  # the loss reached when the budget ran out (measured after the clock stopped)
    best = min(v for _, v in tr.val_hist) if tr.val_hist else math.nan
    detail = dict(config="TrainConfig() defaults on shakespeare", steps=tr.steps, val_loss=round(best, 4),
                  budget_s=budget, train_seconds=round(tr.train_time, 1))
    if reached is not None:
        return [result(f"time to val loss {TARGET_LOSS} (default config)", reached, "s", None, None, **detail)]
    return [
        result(f"time to val loss {TARGET_LOSS} (default config)", None, "s", f"reach within {budget:.0f} s",
               False, **detail),
        result(f"val loss reached in {budget:.0f} s (default config)", best, "nats/char", None, None, **detail),
    ]


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(_threads())
    corpus = corpora.load("shakespeare")
    rows = []
    rows += bench_trainer(corpus, quick)
    rows += bench_inspection(quick)
    rows += bench_flops(corpus, quick)
    rows += bench_time_to_loss(corpus, quick)
    for r in rows:
        r["detail"].setdefault("threads", torch.get_num_threads())
    return rows
