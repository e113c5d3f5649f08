"""Training a character model in chunks, with everything a live page needs to show.

``Trainer.step(n)`` runs n optimisation steps of truncated back-propagation through
time on the fused model and records bounded histories (train loss, periodic
validation loss, gradient norm, chars/s), samples at milestone steps ("train
more" snapshots), and stops cleanly on a NaN/Inf loss or gradient, keeping the
last good weights. It never touches Streamlit and never starts threads: the live
page wraps it in ``rnnviz.live.BackgroundTrainer``, which only uses the trainer
protocol (``rnnviz.protocol.LiveTrainer``); ``Trainer`` is that protocol's first user.

Command line::

    python -m rnnviz.train --corpus shakespeare --cell lstm --layers 2 --hidden 256 \\
        --minutes 5 --out pretrained/NAME
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .corpora import Corpus
from .models import CELLS, CharModel, ModelConfig
from .protocol import LiveTrainer
from .sample import Sample, sample
from .seeds import check_seed, parse_seed

OPTIMIZERS = ("adam", "sgd", "adagrad")
MILESTONES = (0, 100, 300, 1000, 3000, 10000, 30000, 100000, 300000)
HISTORY = 20_000  # points kept per metric (ring buffers)
BLOWUP_FACTOR = 3.0  # loss > 3 ln|V| (and > 10) counts as diverged


@dataclass
class TrainConfig:
    cell: str = "lstm"
    layers: int = 2
    hidden: int = 128
    embed: int = 64
    dropout: float = 0.0
    seq_len: int = 64
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    clip: bool = True
    clip_value: float = 5.0
    seed: int = 1337
    carry_state: bool = False  # min-char-rnn style: carry h across chunks of each stream
    warmup: int = 0  # steps of linear learning-rate warm-up (from 10 % of lr); 0: none
    decay_steps: int = 0  # cosine decay of lr to 10 % by this step (then flat); 0: none
    eval_every: int = 100
    eval_chars: int = 32_768
    sample_len: int = 200
    sample_temperature: float = 1.0
    milestones: tuple = MILESTONES
    snapshot_every: int = 50
    nonlinearity: str = "tanh"
    stop_on_blowup: bool = True  # also stop on a finite loss > blowup_threshold (not only NaN/Inf)

    def validate(self) -> "TrainConfig":
        self.model_config(2).validate()
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimiser {self.optimizer!r}; choose adam, sgd or adagrad.")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and 0 < self.lr <= 100):
            raise ValueError(f"The learning rate must be a positive number up to 100 (got {self.lr}).")
        if not 2 <= int(self.seq_len) <= 2000:
            raise ValueError(f"Sequence length must be between 2 and 2,000 (got {self.seq_len}).")
        if not 1 <= int(self.batch_size) <= 1024:
            raise ValueError(f"Batch size must be between 1 and 1,024 (got {self.batch_size}).")
        if int(self.seq_len) * int(self.batch_size) > 131_072:
            raise ValueError(
                f"Batch size x sequence length = {self.seq_len * self.batch_size:,} characters "
                "per step is too large for this server (limit 131,072). Lower one of them."
            )
        if self.clip and not (math.isfinite(self.clip_value) and self.clip_value > 0):
            raise ValueError(f"The clipping threshold must be a positive number (got {self.clip_value}).")
        if int(self.eval_every) < 1:
            raise ValueError("Validation must run at least every step count >= 1.")
        if int(self.warmup) < 0 or int(self.decay_steps) < 0:
            raise ValueError("Warm-up and decay lengths are step counts, 0 or more.")
        self.seed = check_seed(self.seed)
        return self

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(
            cell=self.cell, vocab_size=vocab_size, layers=int(self.layers), hidden=int(self.hidden),
            embed=int(self.embed), dropout=float(self.dropout), nonlinearity=self.nonlinearity,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        return d


def _lr_factor(frac: float) -> float:
    """Cosine decay from 1 to 0.1 as ``frac`` goes from 0 to 1."""
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


def lr_factor(step: int, warmup: int = 0, decay_steps: int = 0) -> float:
    """The schedule's multiple of the base learning rate for update number ``step + 1``:
    a straight ramp from 10 % to 100 % over the first ``warmup`` updates (large early
    updates of a fresh LSTM are the ones that blow up), then, if ``decay_steps``,
    cosine decay to 10 % at that step, flat after it (small late steps settle the loss)."""
    f = 1.0
    if warmup and step < warmup:
        f = 0.1 + 0.9 * step / warmup
    if decay_steps:
        f *= _lr_factor(step / decay_steps)
    return f


def make_optimizer(name, params, lr):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(f"Unknown optimiser {name!r}.")


@dataclass
class Divergence:
    step: int
    what: str  # "loss" or "gradient norm"
    value: float
    last_good_step: int

    def message(self) -> str:
        if math.isfinite(self.value):  # blow-up: finite, but far worse than guessing
            what = (f"the {self.what} jumped to {self.value:,.1f} nats per character, far worse than "
                    "guessing uniformly at random")
        else:
            what = f"the {self.what} became {self.value}"
        return (
            f"Training stopped at step {self.step:,}: {what}. "
            "The updates grew so large that the model blew up. Lower the learning rate "
            "(try 10x smaller) or turn gradient clipping on, then reset - or restore the last "
            f"good weights (step {self.last_good_step:,}) and continue more gently."
        )


def blowup_threshold(vocab_size: int) -> float:
    """A training loss above this counts as divergence even if it is finite.

    A model that guesses uniformly scores ln|V|; a loss several times that means the
    weights have been thrown far off (a tanh RNN with a huge learning rate saturates
    instead of overflowing, so its loss stays finite but absurd).
    """
    return max(BLOWUP_FACTOR * math.log(max(2, vocab_size)), 10.0)


def val_loss(model: CharModel, ids: np.ndarray, max_chars: int = 32_768, streams: int = 16) -> float:
    """Mean cross-entropy (nats/char) over the first ``max_chars`` of ``ids``.

    The text is cut into ``streams`` contiguous pieces that run in one batch with
    their hidden state carried, so each character is scored with its full context.
    """
    ids = np.asarray(ids[: max_chars + 1])
    n = (len(ids) - 1) // streams
    if n < 1:
        streams, n = 1, len(ids) - 1
    if n < 1:
        return float("nan")
    x = torch.as_tensor(ids[: streams * n].reshape(streams, n))
    y = torch.as_tensor(ids[1 : streams * n + 1].reshape(streams, n))
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    model.train(was_training)
    return float(loss)


class Trainer(LiveTrainer):
    """Owns a model, its optimiser, the data stream and the metric histories."""

    HISTORIES = ("loss_hist", "val_hist", "grad_hist", "speed_hist")
    APPENDS = ("samples",)
    COUNTERS = ("steps", "chars_seen", "train_time")
    STATIC = ("vocab", "train_data", "val_data")
    SERVER_ONLY = ("corpus", "initial_weights", "source")
    ALIASES: ClassVar[dict[str, str]] = {"loss": "loss_hist", "val": "val_hist", "grad": "grad_hist",
                                         "speed": "speed_hist", "train_seconds": "train_time"}

    def __init__(self, corpus: Corpus, config: TrainConfig | None = None, model: CharModel | None = None,
                 source: str | None = None):
        self.config = config = (config or TrainConfig()).validate()
        self.corpus = corpus
        self.vocab = corpus.vocab
        train_ids = corpus.train_ids
        if len(train_ids) < config.seq_len + 2:
            raise ValueError(
                f"The training part of '{corpus.name}' has {len(train_ids)} characters, fewer than "
                f"one sequence of {config.seq_len} + 1. Use more text or a shorter sequence length."
            )
        self.train_data = torch.as_tensor(train_ids)
        val_ids = corpus.val_ids
        self.val_data = val_ids if len(val_ids) >= 2 else train_ids[-min(len(train_ids), 4096):]
        torch.manual_seed(config.seed)
        if model is None:
            model = CharModel(config.model_config(len(self.vocab)))
        else:
            if model.config.vocab_size != len(self.vocab):
                raise ValueError("The model's vocabulary does not match this corpus.")
            model = model.copy()  # never train someone else's (possibly shared) model
            for p in model.parameters():  # cached / checkpoint copies come frozen
                p.requires_grad_(True)
            config.cell, config.layers, config.hidden = model.config.cell, model.config.layers, model.config.hidden
            config.embed = model.config.embed
        self.model = model.train()
        # Step-0 weights (read-only), so pages can compare "before training" with now.
        self.initial_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.source = source
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.lr)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.steps = 0
        self.chars_seen = 0
        self.train_time = 0.0  # seconds spent in optimisation steps
        self.loss_hist: deque = deque(maxlen=HISTORY)  # (step, loss)
        self.val_hist: deque = deque(maxlen=HISTORY)  # (step, val loss)
        self.grad_hist: deque = deque(maxlen=HISTORY)  # (step, grad norm before clipping)
        self.speed_hist: deque = deque(maxlen=HISTORY)  # (step, chars/s)
        self.samples: list = []  # (step, Sample) at milestones
        self.divergence: Divergence | None = None
        self._state = None
        self._pos = 0
        self._good = None
        self._snapshot()
        self.record_val()
        self._maybe_sample(force=True)

    # -------------------------------------------------------------- data
    def _batch(self):
        cfg, data = self.config, self.train_data
        T, B = cfg.seq_len, cfg.batch_size
        if cfg.carry_state:
            stripe = (len(data) - 1) // B
            if stripe < T + 1:
                B = max(1, (len(data) - 1) // (T + 1))
                stripe = (len(data) - 1) // B
            if self._pos + T + 1 > stripe:
                self._pos = 0
                self._state = None
            starts = torch.arange(B) * stripe + self._pos
            self._pos += T
        else:
            starts = torch.randint(0, len(data) - T - 1, (B,), generator=self.gen)
            self._state = None
        idx = starts[:, None] + torch.arange(T + 1)[None, :]
        chunk = data[idx]
        return chunk[:, :-1], chunk[:, 1:]

    # -------------------------------------------------------------- steps
    def step(self, n: int = 1) -> int:
        """Run up to ``n`` steps; returns how many ran (fewer if training diverged)."""
        done = 0
        model, opt, cfg = self.model, self.optimizer, self.config
        params = [p for p in model.parameters()]
        V = len(self.vocab)
        for _ in range(int(n)):
            if self.divergence is not None:
                break
            t0 = time.perf_counter()
            x, y = self._batch()
            state = self._state
            if state is not None:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            logits, new_state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip:
                norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_value)
            else:
                norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
            lv, gv = float(loss.detach()), float(norm)
            blown = cfg.stop_on_blowup and lv > blowup_threshold(V)
            if not math.isfinite(lv) or not math.isfinite(gv) or blown:
                what, val = ("loss", lv) if not math.isfinite(lv) or blown else ("gradient norm", gv)
                self.divergence = Divergence(self.steps + 1, what, val, self._good[0])
                opt.zero_grad(set_to_none=True)
                break
            if self.steps % cfg.snapshot_every == 0 and self.steps > self._good[0]:
                # Keep the weights *before* this update: they just gave a sane loss, while
                # the update itself may be the one that throws the model off.
                t_snap = time.perf_counter()
                self._snapshot()
                t0 += time.perf_counter() - t_snap
            if cfg.warmup or cfg.decay_steps:
                lr = cfg.lr * lr_factor(self.steps, int(cfg.warmup), int(cfg.decay_steps))
                for g in opt.param_groups:
                    g["lr"] = lr
            opt.step()
            if cfg.carry_state:
                self._state = new_state
            dt = time.perf_counter() - t0
            self.steps += 1
            done += 1
            nchars = x.numel()
            self.chars_seen += nchars
            self.train_time += dt
            self.loss_hist.append((self.steps, lv))
            self.grad_hist.append((self.steps, gv))
            self.speed_hist.append((self.steps, nchars / dt if dt > 0 else 0.0))
            if self.steps % cfg.eval_every == 0:
                self.record_val()
            self._maybe_sample()
        return done

    def record_val(self) -> float:
        v = val_loss(self.model, self.val_data, self.config.eval_chars)
        if not math.isfinite(v) and self.divergence is None:
            self.divergence = Divergence(self.steps, "validation loss", v, self._good[0])
            return v
        self.val_hist.append((self.steps, v))
        return v

    def _snapshot(self):
        self._good = (
            self.steps,
            copy.deepcopy(self.model.state_dict()),
            copy.deepcopy(self.optimizer.state_dict()),
        )

    def restore_last_good(self) -> int:
        """Reload the last good weights and optimiser state; training can continue."""
        step, model_sd, opt_sd = self._good
        self.model.load_state_dict(model_sd)
        self.optimizer.load_state_dict(opt_sd)
        for g in self.optimizer.param_groups:  # keep the learning rate chosen since (often lowered)
            g["lr"] = self.config.lr
        self.divergence = None
        self._state = None
        return step

    def set_lr(self, lr: float):
        if not (math.isfinite(lr) and 0 < lr <= 100):
            raise ValueError(f"The learning rate must be a positive number up to 100 (got {lr}).")
        self.config.lr = lr
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def _maybe_sample(self, force=False):
        if force or self.steps in self.config.milestones:
            self.add_sample()

    def add_sample(self):
        if any(s == self.steps for s, _ in self.samples):
            return
        s = self.preview(seed=self.config.seed + self.steps, length=self.config.sample_len,
                         temperature=self.config.sample_temperature)
        self.samples.append((self.steps, s))

    def preview(self, seed: int = 0, length: int = 200, temperature: float = 1.0) -> Sample:
        """A sample of ``length`` characters from the current weights (training mode kept)."""
        was = self.model.training
        self.model.eval()
        try:
            return sample(self.model, self.vocab, length, temperature=temperature, seed=seed)
        finally:
            self.model.train(was)

    # -------------------------------------------------------------- summaries
    @property
    def last_loss(self) -> float | None:
        return self.loss_hist[-1][1] if self.loss_hist else None

    @property
    def last_val(self) -> float | None:
        return self.val_hist[-1][1] if self.val_hist else None

    def chars_per_second(self) -> float:
        return self.chars_seen / self.train_time if self.train_time > 0 else 0.0

    def card(self, name: str = "model", **extra) -> dict:
        return ckpt.make_card(
            self.model, self.vocab, name=name, corpus=self.corpus.name, train=self.config.to_dict(),
            steps=self.steps, chars_seen=self.chars_seen, train_seconds=round(self.train_time, 1),
            val_loss=self.last_val, source=self.source, **extra,
        )

    # -------------------------------------------------------------- protocol
    def static_key(self) -> str:
        """The static part only depends on the corpus, so trainers on the same text share
        one copy in each worker. ``hash`` of a str is cached by Python."""
        c = self.corpus
        return f"char:{c.name}:{len(c.text)}:{hash(c.text)}"

    def summary(self) -> dict:
        return {"chars_per_second": self.chars_per_second(), "lr": self.config.lr,
                "last_loss": self.last_loss, "last_val": self.last_val}

    def checkpoint(self, name: str = "live") -> ckpt.Checkpoint:
        """A private, frozen copy of the current model with its vocabulary and card."""
        model = self.model.copy().eval()
        for p in model.parameters():
            p.requires_grad_(False)
        return ckpt.Checkpoint(model=model, vocab=self.vocab, card=self.card(name=name))


# ------------------------------------------------------------------ CLI
#
# ``python -m rnnviz.train`` (char-rnn's train.lua for rnnviz). A run writes the last
# model to ``--out`` (every ``--save-every`` steps and at the end) and the model with
# the best periodic validation loss to ``--out``/best. Next to the weights,
# ``train_state.safetensors`` keeps what a resume needs: the optimiser's moments, the
# data sampler's random state and the metric histories (tensors + JSON, never pickle).

STATE_FILE = "train_state.safetensors"
STATE_KEY = "rnnviz_train_state"
BEST_DIR = "best"
# Per-parameter optimiser state a saved run must hold, by optimiser.
OPT_STATE_KEYS = {"adam": {"step", "exp_avg", "exp_avg_sq"}, "sgd": {"momentum_buffer"}, "adagrad": {"step", "sum"}}


def text_digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def save_train_state(tr: Trainer, folder: str, corpus_digest: str, best: dict | None):
    """Write ``folder/train_state.safetensors`` (optimiser moments, sampler RNG, histories)."""
    from safetensors.torch import save as st_save

    tensors = {
        f"opt.{i}.{k}": v.detach().clone().contiguous()
        for i, state in tr.optimizer.state_dict()["state"].items() for k, v in state.items() if torch.is_tensor(v)
    }
    tensors["rng"] = tr.gen.get_state().clone()
    meta = {
        "optimizer": tr.config.optimizer, "steps": tr.steps, "chars_seen": tr.chars_seen,
        "train_time": tr.train_time, "text_sha256": corpus_digest, "best": best,
        "loss": list(tr.loss_hist), "val": list(tr.val_hist), "grad": list(tr.grad_hist),
        "speed": list(tr.speed_hist),
    }
    data = st_save(tensors, metadata={STATE_KEY: json.dumps(meta)})
    tmp = os.path.join(folder, STATE_FILE + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, STATE_FILE))


def read_train_state(folder: str) -> tuple[dict, dict] | None:
    """(metadata, tensors) of a saved run, None if the checkpoint has none. Raises ValueError
    when the file is there but unusable."""
    from safetensors import SafetensorError, safe_open

    path = os.path.join(folder, STATE_FILE)
    if not os.path.isfile(path):
        return None
    bad = f"The training state {path} is damaged"
    if os.path.getsize(path) > ckpt.MAX_CHECKPOINT_BYTES:
        raise ValueError(f"{bad} (it is larger than any rnnviz run needs). Delete it, or use --fine-tune.")
    try:
        with safe_open(path, framework="pt") as fh:
            meta = json.loads((fh.metadata() or {})[STATE_KEY])
            names = fh.keys()
            tensors = {k: fh.get_tensor(k) for k in names}
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{bad} ({type(e).__name__}). Delete it, or use --fine-tune.") from None
    ok = isinstance(meta, dict) and isinstance(meta.get("steps"), int) and meta["steps"] >= 0
    ok = ok and all(
        isinstance(meta.get(k), list) and len(meta[k]) <= HISTORY and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, (int, float)) for x in p) for p in meta[k])
        for k in ("loss", "val", "grad", "speed")
    )
    if not ok:
        raise ValueError(f"{bad} (its metadata is malformed). Delete it, or use --fine-tune.")
    return meta, tensors


def restore_train_state(tr: Trainer, meta: dict, tensors: dict) -> list[str]:
    """Continue ``tr`` where a saved run stopped: step count, histories, sampler RNG and,
    when the optimiser is the same, its moments. Returns notes for the user."""
    notes = []
    params = list(tr.model.parameters())
    if meta.get("optimizer") != tr.config.optimizer:
        notes.append(f"The saved run used {meta.get('optimizer')}, this one {tr.config.optimizer}: "
                     "the optimiser starts fresh.")
    else:
        state: dict = {}
        for key, t in tensors.items():
            if not key.startswith("opt."):
                continue
            _, i, name = key.split(".", 2)
            if not i.isdigit() or int(i) >= len(params):
                raise ValueError("The saved optimiser state does not fit this model. Use --fine-tune.")
            shape = () if name == "step" else tuple(params[int(i)].shape)
            if tuple(t.shape) != shape or not t.dtype.is_floating_point or not torch.isfinite(t).all():
                raise ValueError(f"The saved optimiser state {key} is malformed. Use --fine-tune.")
            state.setdefault(int(i), {})[name] = t
        if any(set(s) != OPT_STATE_KEYS[tr.config.optimizer] for s in state.values()):
            raise ValueError("The saved optimiser state is incomplete. Use --fine-tune.")
        groups = tr.optimizer.state_dict()["param_groups"]  # hyper-parameters come from this command
        tr.optimizer.load_state_dict({"state": state, "param_groups": groups})
    rng = tensors.get("rng")
    if rng is not None and rng.dtype == torch.uint8 and rng.shape == tr.gen.get_state().shape:
        tr.gen.set_state(rng)
    tr.steps, tr.chars_seen = meta["steps"], int(meta.get("chars_seen") or 0)
    tr.train_time = float(meta.get("train_time") or 0.0)
    for name, hist in (("loss", tr.loss_hist), ("val", tr.val_hist), ("grad", tr.grad_hist),
                       ("speed", tr.speed_hist)):
        hist.clear()
        hist.extend((int(s), float(v)) for s, v in meta[name])
    tr.samples.clear()
    tr._snapshot()  # "last good weights" are the resumed ones, at the resumed step
    return notes


def read_text_file(path: str, vocab=None) -> Corpus:
    """A corpus from a text file, with the same checks and messages as an upload. With
    ``vocab`` (a checkpoint's), the text must use only those characters."""
    from . import corpora

    if not os.path.isfile(path):
        raise ValueError(f"There is no file {path}. Check the path.")
    size = os.path.getsize(path)
    if size > corpora.MAX_BYTES:  # refuse before reading a huge file into memory
        raise ValueError(f"{path} is {size / 1e6:.1f} MB, larger than the {corpora.MAX_BYTES // 2**20} MB "
                         "that rnnviz accepts (as for uploads). Use a smaller excerpt.")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise ValueError(f"{path} could not be read ({e.strerror}).") from None
    try:
        return corpora.from_bytes(data, name=os.path.basename(path))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def fit_vocab(corpus: Corpus, cp: ckpt.Checkpoint, model_name: str) -> Corpus:
    """``corpus`` encoded with the checkpoint's vocabulary (a trained model's is fixed)."""
    unknown = sorted(set(corpus.vocab.chars) - set(cp.vocab.chars))
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:12]) + (f" and {len(unknown) - 12} more" if len(unknown) > 12
                                                            else "")
        raise ValueError(
            f"{model_name} knows only the {len(cp.vocab)} characters it was trained on, and {corpus.name} "
            f"uses {len(unknown)} others: {shown}. A trained model cannot learn new characters; remove "
            "them from the text, or train a new model (leave out --init-from)."
        )
    return Corpus(corpus.name, corpus.text, cp.vocab, corpus.description)


class Progress:
    """A tqdm bar over the step or time budget with loss, val loss and chars/s."""

    def __init__(self, steps: int | None, seconds: float | None, quiet: bool):
        from tqdm import tqdm

        self.seconds = seconds
        self.t0 = time.time()
        if seconds:
            self.bar = tqdm(total=round(seconds), unit="s", file=sys.stderr, disable=quiet, dynamic_ncols=True,
                            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [ETA {remaining}{postfix}]")
        else:
            self.bar = tqdm(total=steps, unit="step", file=sys.stderr, disable=quiet, dynamic_ncols=True)

    def update(self, tr: Trainer, done: int):
        val = f"{tr.last_val:.3f}" if tr.last_val is not None else "-"
        loss = f"{tr.last_loss:.3f}" if tr.last_loss is not None else "-"
        self.bar.set_postfix_str(f"step {tr.steps:,}  loss {loss}  val {val}  {tr.chars_per_second():,.0f} chars/s",
                                 refresh=False)
        if self.seconds:
            self.bar.update(min(self.bar.total, time.time() - self.t0) - self.bar.n)
        else:
            self.bar.update(done)

    def close(self):
        self.bar.close()


def load_start(args):
    """The corpus and (optionally) the checkpoint a run starts from; ValueError if unusable."""
    from . import corpora
    from .api import load as load_checkpoint

    cp = load_checkpoint(args.init_from) if args.init_from else None
    name = f"the checkpoint {args.init_from}" if cp else ""
    if args.text:
        corpus = read_text_file(args.text)
    else:
        corpus_name = args.corpus or (cp.card.get("corpus") if cp else None) or "shakespeare"
        if corpus_name not in corpora.builtin_names() and os.path.isfile(corpus_name):
            raise ValueError(f"{corpus_name!r} is not a built-in corpus; to train on your own file, use "
                             f"--text {corpus_name}.")
        if cp and not args.corpus and corpus_name not in corpora.builtin_names():
            raise ValueError(f"{name} was trained on {corpus_name!r}, which is not built in: pass the file "
                             "with --text.")
        corpus = corpora.load(corpus_name)
    if cp is not None:
        corpus = fit_vocab(corpus, cp, name)
    return corpus, cp


ARCH_FLAGS = ("cell", "layers", "hidden", "embed")


def check_arch(args, cp):
    """Architecture flags describe a new model; with --init-from they must agree with it."""
    m = cp.model.config
    for flag in ARCH_FLAGS:
        given = getattr(args, flag)
        if given is not None and given != getattr(m, flag):
            raise ValueError(
                f"--{flag} {given} does not match the checkpoint ({m.cell}, {m.layers} x {m.hidden}, embedding "
                f"{m.embed}): its architecture is fixed. Leave out --{flag}, or train a new model.")


def _save(tr: Trainer, folder: str, card: dict, digest: str, best: dict | None):
    ckpt.save(tr.model, tr.vocab, folder, card)
    save_train_state(tr, folder, digest, best)


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    corpus, cp = load_start(args)
    digest = text_digest(corpus.text)
    state = read_train_state(args.init_from) if cp is not None and os.path.isdir(args.init_from) else None
    if cp is not None:
        check_arch(args, cp)
        if not args.fine_tune:
            trained_on = state[0].get("text_sha256") if state else None
            same = trained_on == digest if trained_on else cp.card.get("corpus") == corpus.name
            if not same:
                raise ValueError(f"The checkpoint {args.init_from} was trained on other text than {corpus.name}. "
                                 "To continue training it on this text, add --fine-tune (the step count and "
                                 "optimiser start afresh).")
    m = cp.model.config if cp is not None else None
    cfg = TrainConfig(
        cell=args.cell or "lstm", layers=args.layers or 2, hidden=args.hidden or 128, embed=args.embed or 64,
        dropout=args.dropout, seq_len=args.seq_len, batch_size=args.batch_size, optimizer=args.optimizer,
        lr=args.lr, clip=args.clip > 0, clip_value=args.clip if args.clip > 0 else 5.0, seed=args.seed,
        eval_every=args.eval_every, eval_chars=args.eval_chars, carry_state=args.carry_state,
        nonlinearity=m.nonlinearity if m else "tanh",
    )
    tr = Trainer(corpus, cfg, model=cp.model if cp is not None else None,
                 source=f"python -m rnnviz.train on {corpus.name}")
    if m is not None:
        tr.config.dropout = m.dropout
    best = None
    if cp is not None and not args.fine_tune:
        if state:
            for note in restore_train_state(tr, *state):
                sys.stderr.write(note + "\n")
            same_folder = args.out and os.path.realpath(args.out) == os.path.realpath(args.init_from)
            best = state[0].get("best") if same_folder else None  # the best so far lives in OUT/best
        else:
            tr.steps = int(cp.card.get("steps") or 0)
            tr.val_hist[-1] = (tr.steps, tr.val_hist[-1][1])
            tr._snapshot()
            sys.stderr.write(f"{args.init_from} has no saved training state: continuing its step count "
                             f"({tr.steps:,}) with a fresh optimiser.\n")
    start, lr0 = tr.steps, args.lr
    name = args.name or (os.path.basename(os.path.normpath(args.out)) if args.out else "model")

    def card(val: float, val_chars: int, wall: float):
        c = tr.card(name, wall_seconds=round(wall, 1), val_chars=val_chars, threads=args.threads,
                    description=args.description or "",
                    init_from=(args.init_from if cp is not None else None),
                    fine_tuned=bool(cp is not None and args.fine_tune))
        c["val_loss"] = val
        return c

    kept: dict = {}  # weights and card of this run's best model

    def maybe_keep_best():
        nonlocal best
        step, v = tr.val_hist[-1]
        if args.out and step == tr.steps and (best is None or v < best["val_loss"]):
            c = card(v, min(args.eval_chars, len(tr.val_data)), time.time() - t0)
            ckpt.save(tr.model, tr.vocab, os.path.join(args.out, BEST_DIR), c)
            best = {"step": step, "val_loss": v}
            kept.update(weights=copy.deepcopy(tr.model.state_dict()), card=c)

    t0 = time.time()
    budget = args.minutes * 60 if args.minutes else None
    bar = Progress(args.steps, budget, args.quiet)
    maybe_keep_best()
    try:
        while True:
            elapsed = time.time() - t0
            if (budget and elapsed >= budget) or (args.steps and tr.steps - start >= args.steps):
                break
            if args.decay:  # cosine decay to 10 % over this run's budget
                tr.set_lr(lr0 * _lr_factor(elapsed / budget if budget else (tr.steps - start) / args.steps))
            n = 10 - tr.steps % 10  # stop on every validation and save step (the weights are the ones measured)
            n = min(n, cfg.eval_every - tr.steps % cfg.eval_every)
            if args.save_every:
                n = min(n, args.save_every - tr.steps % args.save_every)
            if args.steps:
                n = min(n, start + args.steps - tr.steps)
            done = tr.step(n)
            if tr.diverged:
                sys.stderr.write("\n" + tr.divergence.message() + "\n")
                tr.restore_last_good()
                break
            if tr.steps % cfg.eval_every == 0:
                maybe_keep_best()
            if args.save_every and tr.steps % args.save_every == 0:
                _save(tr, args.out, card(tr.last_val, min(args.eval_chars, len(tr.val_data)), time.time() - t0),
                      digest, best)
            bar.update(tr, done)
    except KeyboardInterrupt:
        sys.stderr.write(f"\nInterrupted at step {tr.steps:,}: saving what there is.\n")
    if not tr.val_hist or tr.val_hist[-1][0] != tr.steps:
        tr.record_val()
        maybe_keep_best()
    bar.update(tr, 0)
    bar.close()
    wall = time.time() - t0
    val_chars = min(args.final_eval_chars, len(corpus.val_ids))
    full_val = val_loss(tr.model, corpus.val_ids, args.final_eval_chars)
    final = card(full_val, val_chars, wall)
    if args.out:
        _save(tr, args.out, final, digest, best)
        print(f"saved {args.out}  val loss {full_val:.4f} nats/char  steps {tr.steps:,}  {wall:.0f} s")
        if kept:  # re-measure the best model on the same validation text as the last one
            model = tr.model.copy()
            model.load_state_dict(kept["weights"])
            best_val = val_loss(model, corpus.val_ids, args.final_eval_chars)
            best_card = dict(kept["card"], val_loss=best_val, val_chars=val_chars,
                             best_of_run={"step": best["step"], "periodic_val_loss": best["val_loss"],
                                          "last_step": tr.steps})
            folder = os.path.join(args.out, BEST_DIR)
            ckpt.save(model, tr.vocab, folder, best_card)
            print(f"best  {folder}  val loss {best_val:.4f} nats/char  step {best['step']:,}")
    else:
        print(f"val loss {full_val:.4f} nats/char  steps {tr.steps:,}  {wall:.0f} s")
    return final


def build_parser() -> argparse.ArgumentParser:
    from . import corpora
    from .cli import int_at_least, non_negative_float, positive_float

    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        prog="python -m rnnviz.train",
        description="Train a character-level RNN, LSTM or GRU on a built-in corpus or on your own text file, "
                    "from scratch or starting from a checkpoint.",
        epilog="Examples:\n"
               "  python -m rnnviz.train --text my.txt --hidden 128 --minutes 2 --out runs/mine\n"
               "  python -m rnnviz.train --init-from runs/mine --text my.txt --steps 500 --out runs/mine   (resume)\n"
               "  python -m rnnviz.train --init-from shakespeare_lstm --text sonnets.txt --fine-tune "
               "--steps 300 --out runs/sonnets",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = p.add_argument_group("what to learn from").add_mutually_exclusive_group()
    data.add_argument("--corpus", help=f"a built-in corpus: {', '.join(corpora.builtin_names())} (default: "
                                       "shakespeare, or the corpus of the --init-from checkpoint)")
    data.add_argument("--text", metavar="FILE", help="your own plain-text file (UTF-8, UTF-16 or Latin-1, up to "
                                                     f"{corpora.MAX_BYTES // 2**20} MB); its last 10 %% is "
                                                     "held out for validation")
    start = p.add_argument_group("starting point")
    start.add_argument("--init-from", metavar="CHECKPOINT",
                       help="start from a checkpoint: a bundled model name or a checkpoint folder / .safetensors "
                            "file. By default the run is resumed: the step count, loss curves and (for folders "
                            "written by this command) the optimiser state continue")
    start.add_argument("--fine-tune", action="store_true",
                       help="with --init-from: keep only the weights; the step count and optimiser start afresh "
                            "(needed to continue on other text than the checkpoint's)")
    arch = p.add_argument_group("model (new models only; a checkpoint fixes its own)")
    arch.add_argument("--cell", choices=CELLS, default=None, help="cell type (default lstm)")
    arch.add_argument("--layers", type=int_at_least(1), default=None, help="stacked layers (default 2)")
    arch.add_argument("--hidden", type=int_at_least(1), default=None, help="units per layer (default 128)")
    arch.add_argument("--embed", type=int_at_least(1), default=None, help="character embedding size (default 64)")
    arch.add_argument("--dropout", type=float, default=0.0, help="dropout between layers, 0 to below 1 (default 0)")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--seq-len", type=int_at_least(2), default=64,
                     help="characters per training sequence, i.e. how far back gradients flow (default 64)")
    opt.add_argument("--batch-size", type=int_at_least(1), default=32, help="sequences per step (default 32)")
    opt.add_argument("--carry-state", action="store_true",
                     help="read the text as --batch-size long streams and carry the hidden state from one "
                          "sequence to the next, so the model can learn dependencies longer than --seq-len "
                          "(e.g. a quotation that spans lines); by default every sequence starts afresh")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="optimiser (default adam)")
    opt.add_argument("--lr", type=positive_float, default=2e-3, help="learning rate (default 0.002)")
    opt.add_argument("--decay", action="store_true",
                     help="cosine learning-rate decay to 10 %% of --lr over this run's --steps or --minutes")
    opt.add_argument("--clip", type=non_negative_float, default=5.0,
                     help="gradient-norm clipping threshold; 0 turns clipping off (default 5)")
    opt.add_argument("--seed", type=parse_seed, default=1337,
                     help="random seed: same seed and settings give the same run (default 1337)")
    budget = p.add_argument_group("budget (choose one; default 5 minutes)").add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int_at_least(1), default=None,
                        help="optimisation steps to run now (reproducible; a resumed run adds them to its count)")
    budget.add_argument("--minutes", type=positive_float, default=None, help="wall-clock budget in minutes")
    ev = p.add_argument_group("evaluation and saving")
    ev.add_argument("--eval-every", type=int_at_least(1), default=200,
                    help="measure the validation loss every N steps (default 200)")
    ev.add_argument("--eval-chars", type=int_at_least(2), default=32_768,
                    help="validation characters measured each time (default 32,768)")
    ev.add_argument("--final-eval-chars", type=int_at_least(2), default=200_000,
                    help="validation characters measured at the end, for the model card (default 200,000)")
    ev.add_argument("--out", metavar="FOLDER",
                    help="checkpoint folder for the last model; the model with the best validation loss goes "
                         f"to FOLDER/{BEST_DIR}")
    ev.add_argument("--save-every", type=int_at_least(1), default=None, metavar="N",
                    help="also save the last model every N steps (needs --out)")
    ev.add_argument("--name", help="model name stored in the card (default: the --out folder's name)")
    ev.add_argument("--description", help="one-line description stored in the card")
    misc = p.add_argument_group("machine")
    misc.add_argument("--threads", type=int_at_least(1), default=max(1, min(2, torch.get_num_threads())),
                      help=f"torch threads, at most the {cores} cores of this machine (default "
                           f"{max(1, min(2, torch.get_num_threads()))})")
    misc.add_argument("--quiet", action="store_true", help="no progress bar (the final summary is still printed)")
    return p


def main(argv=None):
    p = build_parser()
    args = p.parse_args(argv)
    if not args.minutes and not args.steps:
        args.minutes = 5.0
    if args.fine_tune and not args.init_from:
        p.error("--fine-tune needs --init-from CHECKPOINT (the model to fine-tune).")
    if args.save_every and not args.out:
        p.error("--save-every needs --out FOLDER (where to save).")
    if args.threads > (os.cpu_count() or 1):
        p.error(f"--threads {args.threads} is more than the {os.cpu_count()} cores of this machine; "
                "extra threads make training much slower.")
    try:
        run(args)
    except ValueError as e:
        p.error(str(e))
    except OSError as e:
        p.error(f"Could not write the checkpoint ({e.strerror or e}): check that --out is a folder you can "
                "write to.")


if __name__ == "__main__":
    main()
