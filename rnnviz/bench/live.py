"""Live-training benchmarks: classroom sharing, trainer overhead, time to a good loss.

* ``aggregate_ratio`` - four trainers started together (one torch thread each,
  one global limiter with slots = cores) versus one trainer alone: characters
  trained per wall second, summed over the four, divided by the lone trainer's.
  Both windows run in this one process, one after the other. Goal >= 0.9: the
  limiter must keep the cores busy without oversubscribing them.
* ``overhead`` - ``BackgroundTrainer`` (thread, lock, chunking, listeners, the
  page's periodic sample) versus a bare PyTorch loop on the same model, data
  shape and optimiser, in alternating blocks; reported without and with the
  trainer's periodic validation. Goal <= 5 % for the training machinery.
* ``executors`` - one trainer's chars/s in a runner whose steps run in its own
  thread versus in a worker process (``rnnviz.worker``, what the server uses),
  each alone and beside a thread spinning in pure Python, as page scripts do in
  the server. Each torch op must win the GIL back, so a thread trainer beside
  busy Python crawls (a GIL convoy); the process one should not care. Goal: the
  process runner beside busy Python keeps >= 0.8 of the thread runner alone.
* ``seconds_to_val`` - wall seconds until the validation loss reaches 1.7 and 1.6
  nats/char on Shakespeare with the page's default settings (bounded).
* ``bf16_vs_fp32`` - bfloat16 autocast against float32, side by side: a GEMM of
  the size the page's model multiplies, and training with the page defaults
  (speed and loss after the same batches). bf16 would only be worth turning on
  where the CPU has bf16 instructions *and* the loss matches; where the CPU
  emulates it (AVX2 only) or oneDNN has no bf16 LSTM, the rows say so and the
  trainer stays in float32.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F

from .. import corpora
from ..live import BackgroundTrainer, PeriodicSampler, SlotLimiter, cpu_cores
from ..train import TrainConfig, Trainer
from ..trainsetup import default_config
from . import result

TARGETS = (1.7, 1.6)  # validation losses (nats/char) timed by seconds_to_val; the goal is on the first


def _config(**kw) -> TrainConfig:
    """The Train & sample page's defaults (``trainsetup.default_config``), with changes."""
    return dataclasses.replace(default_config(), **kw)


def _describe(cfg: TrainConfig) -> str:
    return (f"page defaults: {cfg.layers}x{cfg.hidden} {cfg.cell.upper()}, B={cfg.batch_size}, T={cfg.seq_len}, "
            f"lr {cfg.lr:g}" + (f", warm-up {cfg.warmup}" if cfg.warmup else "")
            + (f", decay over {cfg.decay_steps}" if cfg.decay_steps else ""))


def _window(runners, seconds: float) -> float:
    """Start ``runners`` together; chars trained per wall second over ``seconds``."""
    for r in runners:
        r.start()
    t_wait = time.monotonic() + 60
    while any(r.steps == 0 for r in runners) and time.monotonic() < t_wait:
        time.sleep(0.05)  # skip start-up (thread spawn, first slot grants)
    c0 = sum(r.trainer.chars_seen for r in runners)
    t0 = time.monotonic()
    time.sleep(seconds)
    c1 = sum(r.trainer.chars_seen for r in runners)
    dt = time.monotonic() - t0
    for r in runners:
        r.stop()
    return (c1 - c0) / dt


def aggregate_ratio(corpus, seconds: float, n: int = 4) -> dict:
    cfg = dict(eval_every=10**9, milestones=())
    limiter = SlotLimiter(cpu_cores())
    alone = _window([BackgroundTrainer(Trainer(corpus, _config(**cfg)), threads=1, limiter=limiter,
                                       idle_timeout=0, quantum=2.0)], seconds)
    limiter = SlotLimiter(cpu_cores())
    group = [BackgroundTrainer(Trainer(corpus, _config(seed=k, **cfg)), threads=1, limiter=limiter,
                               idle_timeout=0, quantum=2.0) for k in range(n)]
    together = _window(group, seconds)
    return dict(alone=alone, together=together, ratio=together / alone, slots=limiter.slots)


def _bare_block(model, opt, data, steps: int, B: int, T: int, gen) -> float:
    params = list(model.parameters())
    t0 = time.perf_counter()
    for _ in range(steps):
        starts = torch.randint(0, len(data) - T - 1, (B,), generator=gen)
        idx = starts[:, None] + torch.arange(T + 1)[None, :]
        chunk = data[idx]
        x, y = chunk[:, :-1], chunk[:, 1:]
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        float(loss.detach())
        opt.step()
    return steps * B * T / (time.perf_counter() - t0)


class _Finish:
    """Listener that timestamps the chunk reaching ``target`` (no polling thread)."""

    def __init__(self):
        self.target = None
        self.done = threading.Event()
        self.t = 0.0

    def __call__(self, trainer):
        if self.target is not None and trainer.steps >= self.target and not self.done.is_set():
            self.t = time.perf_counter()
            self.done.set()


def _runner_block(runner, finish: _Finish, steps: int) -> float:
    tr = runner.trainer
    finish.target = tr.steps + steps
    finish.done.clear()
    runner.max_steps = finish.target
    c0 = tr.chars_seen
    t0 = time.perf_counter()
    runner.start()
    finish.done.wait(timeout=3600)
    return (tr.chars_seen - c0) / (finish.t - t0)


def overhead(corpus, steps: int, rounds: int, with_eval: bool) -> dict:
    """Median over alternating blocks of 1 - runner chars/s / bare chars/s."""
    torch.set_num_threads(1)
    cfg = _config(eval_every=100 if with_eval else 10**9, milestones=())
    trainer = Trainer(corpus, cfg)
    runner = BackgroundTrainer(trainer, threads=1, limiter=SlotLimiter(cpu_cores()), chunk=10, idle_timeout=0)
    runner.add_listener(PeriodicSampler(every=3.0))  # what the page adds
    finish = _Finish()
    runner.add_listener(finish)
    bare_model = trainer.model.copy()
    for p in bare_model.parameters():
        p.requires_grad_(True)
    bare_opt = torch.optim.Adam(bare_model.parameters(), lr=cfg.lr)
    data = torch.as_tensor(corpus.train_ids)
    gen = torch.Generator().manual_seed(0)
    _bare_block(bare_model, bare_opt, data, 5, cfg.batch_size, cfg.seq_len, gen)  # warm-up
    _runner_block(runner, finish, 10)
    ratios, bare, live = [], [], []
    for _ in range(rounds):
        b = _bare_block(bare_model, bare_opt, data, steps, cfg.batch_size, cfg.seq_len, gen)
        r = _runner_block(runner, finish, steps)
        bare.append(b)
        live.append(r)
        ratios.append(1.0 - r / b)
    runner.stop()
    return dict(overhead=float(np.median(ratios)), bare=float(np.median(bare)), runner=float(np.median(live)),
                ratios=[round(x, 4) for x in ratios])


def _spin(stop: threading.Event):
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i


def _one_runner_rate(corpus, executor: str, seconds: float, busy: bool, elastic: bool = False) -> float:
    cfg = _config(eval_every=10**9, milestones=())
    runner = BackgroundTrainer(Trainer(corpus, cfg), threads=1, limiter=SlotLimiter(cpu_cores()),
                               idle_timeout=0, executor=executor, chunk=10, elastic=elastic)
    stop = threading.Event()
    spinner = threading.Thread(target=_spin, args=(stop,), daemon=True)
    if busy:
        spinner.start()
    try:
        return _window([runner], seconds)
    finally:
        stop.set()
        if busy:
            spinner.join()


def executors(corpus, seconds: float) -> dict:
    from .. import worker

    worker.POOL.prewarm(1)
    out = {}
    for executor in ("thread", "process"):
        for busy in (False, True):
            out[(executor, busy)] = _one_runner_rate(corpus, executor, seconds, busy)
    return out


def elastic_ratio(corpus, seconds: float, rounds: int = 3) -> dict:
    """A lone trainer in a worker process: elastic (every idle slot) vs one thread, in
    alternating windows so machine noise hits both."""
    rates = {False: [], True: []}
    for _ in range(rounds):
        for elastic in (False, True):
            rates[elastic].append(_one_runner_rate(corpus, "process", seconds, busy=False, elastic=elastic))
    one, many = float(np.median(rates[False])), float(np.median(rates[True]))
    return dict(one=one, elastic=many, ratio=many / one)


def seconds_to_val(corpus, bound: float, targets=TARGETS) -> dict:
    """As on the server: the worker-process executor, elastic slots, nobody else training.
    Wall seconds (and steps) until the validation loss first reaches each target."""
    trainer = Trainer(corpus, _config())
    runner = BackgroundTrainer(trainer, threads=1, limiter=SlotLimiter(cpu_cores()), idle_timeout=0,
                               executor="process", elastic=True)
    t0 = time.monotonic()
    runner.start()
    reached = {}
    while time.monotonic() - t0 < bound and len(reached) < len(targets):
        time.sleep(0.5)
        runner.touch()
        vals = list(trainer.val_hist)
        for target in targets:
            hit = next((step for step, v in vals if v <= target), None)
            if target not in reached and hit is not None:
                reached[target] = (time.monotonic() - t0, hit)
    runner.stop()
    last = trainer.val_hist[-1] if trainer.val_hist else (0, float("nan"))
    return dict(reached=reached, steps=trainer.steps, last_val=last[1], wall=time.monotonic() - t0)


def _gemm_seconds(dtype, n: int = 128, k: int = 256, reps: int = 2) -> float:
    a, b = torch.randn(n, k).to(dtype), torch.randn(k, 4 * k).to(dtype)
    a @ b  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return (time.perf_counter() - t0) / reps


def bf16_vs_fp32(corpus, steps: int, block: int = 10) -> dict:
    """fp32 and bf16-autocast trainers on the same seed and batches, in alternating
    blocks of ``block`` steps, plus a GEMM (128 x 256 @ 256 x 1024, a slice of the LSTM's input
    projection at the page defaults) in both precisions."""
    out = dict(cpu=torch.backends.cpu.get_cpu_capability(), gemm_fp32_s=_gemm_seconds(torch.float32),
               gemm_bf16_s=_gemm_seconds(torch.bfloat16))
    trainers = {k: Trainer(corpus, _config(eval_every=10**9)) for k in ("fp32", "bf16")}
    spent = dict.fromkeys(trainers, 0.0)
    try:
        for _ in range(max(1, steps // block)):
            for k, tr in trainers.items():
                ctx = torch.autocast("cpu", dtype=torch.bfloat16) if k == "bf16" else contextlib.nullcontext()
                t0 = time.perf_counter()
                with ctx:
                    tr.step(block)
                spent[k] += time.perf_counter() - t0
    except RuntimeError as e:  # e.g. oneDNN: no bf16 LSTM primitive without AVX512-BF16 / AMX
        out["error"] = str(e).split(".")[0]
        return out
    for k, tr in trainers.items():
        out[f"{k}_chars_s"] = tr.chars_seen / spent[k]
        out[f"{k}_loss"] = float(np.mean([v for _, v in list(tr.loss_hist)[-block:]]))
    return out


def run(quick: bool = False) -> list[dict]:
    torch.set_num_threads(1)
    corpus = corpora.load("shakespeare")
    _ = corpus.ids
    rows = []

    agg = aggregate_ratio(corpus, seconds=8.0 if quick else 45.0)
    rows.append(result("4 trainers together / 1 alone (aggregate chars/s)", agg["ratio"], "x", ">= 0.9",
                       agg["ratio"] >= 0.9, alone=round(agg["alone"]), together=round(agg["together"]),
                       slots=agg["slots"], config=_describe(_config())))
    rows.append(result("one trainer alone", agg["alone"], "chars/s"))

    ex = executors(corpus, seconds=6.0 if quick else 20.0)
    base = ex[("thread", False)]
    for (executor, busy), rate in ex.items():
        label = f"one trainer, steps in {'a worker process' if executor == 'process' else 'its own thread'}" + (
            ", beside a busy Python thread" if busy else " alone")
        goal = executor == "process" and busy
        rows.append(result(label, rate / base, "x thread alone", ">= 0.8" if goal else None,
                           rate / base >= 0.8 if goal else None, chars_s=round(rate)))

    el = elastic_ratio(corpus, seconds=6.0 if quick else 15.0, rounds=2 if quick else 3)
    rows.append(result(f"lone trainer: every idle slot ({cpu_cores()}) / one slot (chars/s)", el["ratio"], "x",
                       "> 1.2" if cpu_cores() > 1 else None, el["ratio"] > 1.2 if cpu_cores() > 1 else None,
                       one_slot_chars_s=round(el["one"]), elastic_chars_s=round(el["elastic"])))

    for with_eval in (False, True):
        ov = overhead(corpus, steps=60 if quick else 200, rounds=3 if quick else 5, with_eval=with_eval)
        label = "trainer overhead vs bare PyTorch loop" + (" (incl. validation every 100 steps)" if with_eval else "")
        rows.append(result(label, ov["overhead"] * 100, "%", None if with_eval else "<= 5 %",
                           None if with_eval else ov["overhead"] <= 0.05, bare_chars_s=round(ov["bare"]),
                           runner_chars_s=round(ov["runner"]), per_round=ov["ratios"]))

    bf = bf16_vs_fp32(corpus, steps=40 if quick else 200)
    gemm = bf["gemm_fp32_s"] / bf["gemm_bf16_s"]
    rows.append(result("bf16 / fp32 GEMM speed (128x256 @ 256x1024)", gemm, "x", None, None, cpu=bf["cpu"],
                       note="below 1: this CPU emulates bf16" if gemm < 1 else "this CPU computes bf16 natively"))
    if "error" in bf:
        rows.append(result("bf16 autocast / fp32, page-default training speed", 0.0, "x",
                           "> 1 and the same loss, else fp32 stays", None, cpu=bf["cpu"], error=bf["error"],
                           note="bf16 training does not run here; the trainer stays in fp32"))
    else:
        ratio = bf["bf16_chars_s"] / bf["fp32_chars_s"]
        same = abs(bf["bf16_loss"] - bf["fp32_loss"]) <= 0.05
        rows.append(result("bf16 autocast / fp32, page-default training speed", ratio, "x",
                           "> 1 and the same loss, else fp32 stays", None, cpu=bf["cpu"],
                           fp32_loss=round(bf["fp32_loss"], 3), bf16_loss=round(bf["bf16_loss"], 3),
                           loss_matches=same, fp32_chars_s=round(bf["fp32_chars_s"]),
                           bf16_chars_s=round(bf["bf16_chars_s"]),
                           note="bf16 would help" if ratio > 1 and same else "the trainer stays in fp32"))

    bound = 60.0 if quick else 600.0
    tv = seconds_to_val(corpus, bound)
    for target, goal in zip(TARGETS, (70.0, None)):
        name = f"seconds to val loss {target} (shakespeare, page defaults)"
        if target not in tv["reached"]:
            rows.append(result(name, float(bound), "s", f"reached within {bound:.0f} s",
                               None if quick or goal is None else False, steps=tv["steps"],
                               last_val=round(tv["last_val"], 3), config=_describe(_config()),
                               note="not reached within the bound" + (" (quick run: bound too short)" if quick else "")))
        else:
            seconds, step = tv["reached"][target]
            rows.append(result(name, seconds, "s", f"<= {goal:.0f} s" if goal else None,
                               seconds <= goal if goal else None, at_step=step, config=_describe(_config())))
    return rows
