"""What the Train & sample page offers and reports, computed without Streamlit.

The page is a thin layout; the decisions live here so that tests can check them
and the command line or a notebook could reuse them:

* the option lists of every training setting (fixed tuples, so a setting can travel
  in a link) and their defaults;
* architecture labels and parameter counts;
* whether a trained model can continue on a text (it only reads its own characters);
* the live read-outs (step, losses, perplexity, speed, time) and the samples timeline,
  including the height of a sample box, so that no box cuts a sample mid-line.

Markdown returned here has every piece of text we did not write (model and corpus
names from uploads or checkpoint cards) escaped with ``rnnviz.ui.html.md``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from . import corpora
from .models import CELL_LABELS, CharModel, ModelConfig
from .train import OPTIMIZERS, TrainConfig
from .ui.html import md

SOURCES = ("Built-in", "Upload a file", "Paste text")
LAYERS = (1, 2, 3)
HIDDEN = (16, 32, 64, 128, 256, 512)
EMBED = (8, 16, 32, 64, 128)
SEQ_LENS = (8, 16, 32, 64, 128, 256)
BATCHES = (1, 4, 8, 16, 32, 64, 128)
LR_OPTIONS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0,
              50.0, 100.0)
CLIP_OPTIONS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
STOP_OPTIONS = (100, 300, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
OPT_LABELS = {"adam": "Adam", "sgd": "SGD with momentum", "adagrad": "Adagrad"}
assert set(OPT_LABELS) == set(OPTIMIZERS)
DEFAULTS = {
    "source": SOURCES[0], "corpus": "shakespeare", "cell": "lstm", "layers": 1, "hidden": 128, "embed": 32,
    "seq": 64, "batch": 32, "opt": "adam", "lr": 2e-3, "clip": True, "clip_value": 5.0, "seed": 1337,
    "stop": 5_000, "carry": False,
}
# The sample boxes use rnnviz.ui.html's monospace style: 14 px type, line height 1.55,
# 10 px padding and a 1 px border above and below.
BOX_FONT_PX, BOX_LINE_HEIGHT, BOX_CHROME_PX = 14, 1.55, 22


def arch_label(config) -> str:
    """'2 × 128 LSTM' for a ModelConfig (or anything with cell, layers and hidden)."""
    return f"{config.layers} × {config.hidden} {CELL_LABELS[config.cell]}"


@functools.lru_cache(maxsize=128)
def param_count(cell: str, layers: int, hidden: int, embed: int, vocab: int) -> int:
    """Number of trainable parameters of a new CharModel with these sizes."""
    cfg = ModelConfig(cell=cell, vocab_size=vocab, layers=layers, hidden=hidden, embed=embed)
    return CharModel(cfg).num_params()


def arch_of(model_config) -> dict:
    c = model_config
    return dict(cell=c.cell, layers=int(c.layers), hidden=int(c.hidden), embed=int(c.embed))


def train_config(arch: dict, *, seq: int, batch: int, opt: str, lr: float, clip: bool, clip_value: float,
                 seed: int, carry: bool) -> TrainConfig:
    """The TrainConfig for an architecture (``arch_of``) and the page's training settings."""
    return TrainConfig(cell=arch["cell"], layers=int(arch["layers"]), hidden=int(arch["hidden"]),
                       embed=int(arch["embed"]), seq_len=int(seq), batch_size=int(batch), optimizer=opt,
                       lr=float(lr), clip=bool(clip), clip_value=float(clip_value), seed=int(seed),
                       carry_state=bool(carry))


# ---------------------------------------------------------------- model and text


def corpus_caption(c: corpora.Corpus) -> str:
    return (f"{md(c.description)} {len(c.text):,} characters, {len(c.vocab)} distinct; the last 10 % "
            f"({len(c.val_text):,} characters) is held out for validation.")


def base_caption(cp) -> str:
    """What a trained starting point fixes: its architecture and where it comes from."""
    m = cp.model.config
    trained_on = cp.card.get("corpus") or "unknown text"
    return (f"Architecture fixed by the model: {arch_label(m)}, embedding {m.embed}; trained on "
            f"{md(corpora.title(trained_on))} for {cp.card.get('steps') or 0:,} steps.")


@dataclass(frozen=True)
class Fit:
    """Can a trained model continue on a text? ``corpus`` is the text re-encoded with the
    model's own vocabulary (None when it does not fit); ``warning`` says why not."""

    corpus: corpora.Corpus | None
    warning: str | None = None


def fit(cp, corpus: corpora.Corpus) -> Fit:
    """A trained model only reads the characters it was trained on."""
    unknown = sorted(set(corpus.vocab.chars) - set(cp.vocab.chars))
    if not unknown:
        if corpus.vocab == cp.vocab:
            return Fit(corpus)
        return Fit(corpora.Corpus(corpus.name, corpus.text, cp.vocab, corpus.description))
    shown = ", ".join(md(repr(ch)) for ch in unknown[:12])
    if len(unknown) > 12:
        shown += f" and {len(unknown) - 12} more"
    own = cp.card.get("corpus")
    own_s = f" — normally its own corpus, **{md(corpora.title(own))}**" if own else ""
    return Fit(None, f"**{md(cp.name)}** only knows the {len(cp.vocab)} characters it was trained on, and this "
                     f"text uses {len(unknown)} others: {shown}. A trained model can only continue on text made of "
                     f"its own characters{own_s}. Switch the text, or start from a new model.")


def summary(model_config, params: int, corpus_name: str, vocab: int, chars_per_step: int) -> str:
    """One line about the model: size, vocabulary, what a uniform guess scores."""
    return (f"**{arch_label(model_config)}** · **{params:,}** parameters · vocabulary **{vocab}** characters "
            f"({md(corpora.title(corpus_name))}) · {chars_per_step:,} characters per step · a uniform guess "
            f"scores ln {vocab} = **{math.log(vocab):.2f}** nats/char (perplexity {vocab})")


def locked_summary(trainer) -> str:
    m = trainer.model.config
    source = f", continued from **{md(trainer.source)}**." if trainer.source else ", started from random weights."
    return (f"Training on **{md(corpora.title(trainer.corpus.name))}**: **{arch_label(m)}**, embedding "
            f"{m.embed}{source}")


def download_name(trainer) -> str:
    """A file name for the live model, from names we did not write: only safe characters."""
    m = trainer.model.config
    stem = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_"
                   for ch in trainer.corpus.name.split(".")[0])[:40] or "model"
    return f"{stem}_{m.cell}_{m.layers}x{m.hidden}_step{trainer.steps}"


# ---------------------------------------------------------------- live read-outs


@dataclass(frozen=True)
class Metric:
    label: str
    value: str
    help: str | None = None
    delta: str | None = None


def fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def fmt_speed(chars_per_second: float | None) -> str:
    if not chars_per_second:
        return "–"
    return f"{chars_per_second / 1000:,.0f} k" if chars_per_second >= 10_000 else f"{chars_per_second:,.0f}"


def recent_mean(points, n: int = 20) -> float | None:
    vals = [v for _, v in list(points)[-n:] if math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def metrics(snap, vocab: int) -> list[Metric]:
    """The six numbers above the live charts."""
    loss = recent_mean(snap.loss)
    val = snap.val[-1][1] if snap.val else None
    prev = snap.val[-2][1] if len(snap.val) > 1 else None
    recent = [v for _, v in list(snap.speed)[-50:] if math.isfinite(v)]
    speed = float(np.median(recent)) if recent else None
    return [
        Metric("Step", f"{snap.steps:,}"),
        Metric("Train loss", f"{loss:.3f}" if loss is not None else "–",
               "Mean of the last 20 batches, in nats per character."),
        Metric("Val loss", f"{val:.3f}" if val is not None else "–", "On held-out text the model never trains on.",
               f"{val - prev:+.3f}" if val is not None and prev is not None else None),
        Metric("Perplexity", f"{math.exp(val):.1f}" if val is not None else "–",
               "e^(validation loss): how many characters the model is effectively choosing between. "
               f"Guessing uniformly gives {vocab}."),
        Metric("Chars / s", fmt_speed(speed), "Characters trained per second (median of the last 50 steps)."),
        Metric("Time", fmt_time(snap.train_seconds), "Time spent training (minutes:seconds)."),
    ]


def val_at(val, step: int) -> float | None:
    """The latest validation loss measured at or before ``step``."""
    best = None
    for s, v in val:
        if s <= step:
            best = v
    return best


def box_height(text: str, *, min_chars_per_line: int = 40, font_px: float = BOX_FONT_PX) -> int:
    """A max-height (px) for a sample box that shows ``text`` whole, never half a line.

    Every line of the text is wrapped at ``min_chars_per_line`` characters (the
    narrowest box we lay out); a wider box needs fewer rows and simply ends lower, as
    max-height only caps the box.
    """
    rows = sum(max(1, math.ceil(len(line) / min_chars_per_line)) for line in text.split("\n"))
    return math.ceil(rows * font_px * BOX_LINE_HEIGHT) + BOX_CHROME_PX


def timeline(snap) -> list[tuple[int, object, str]]:
    """(step, sample, caption) for every milestone sample, oldest first."""
    out = []
    for step, s in snap.samples:
        v = val_at(snap.val, step)
        out.append((step, s, f"step {step:,}" + (f" · validation loss {v:.2f}" if v is not None else "")))
    return out


def sample_caption(label: str, s) -> str:
    """How a sample was drawn and how sure the model was of it (``label`` is escaped here)."""
    how = "greedy" if s.greedy else f"temperature {s.temperature:g}" + (f", top-{s.top_k}" if s.top_k else "")
    mean_p = float(np.mean(s.probs)) if len(s.probs) else float("nan")
    ppl = math.exp(-s.mean_log_prob()) if len(s.probs) else float("nan")
    return (f"{md(label)} · {how} · {len(s.text):,} characters · mean probability of the chosen characters "
            f"{mean_p:.2f} (perplexity {ppl:.1f}). Bold: your prime.")
