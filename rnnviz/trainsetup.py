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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import checkpoint as ckpt
from . import corpora
from .celltypes import CELL_TYPES
from .models import CharModel, ModelConfig
from .train import OPTIMIZERS, TrainConfig
from .ui.html import md, prob_text

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
    "source": SOURCES[0], "corpus": "shakespeare", "start": "new", "cell": "lstm", "layers": 1, "hidden": 256, "embed": 32,
    "seq": 64, "batch": 32, "opt": "adam", "lr": 5e-3, "clip": True, "clip_value": 5.0, "seed": 1337,
    "stop": 5_000, "carry": False, "sched": True,
}
WARMUP_STEPS = 200  # the schedule's warm-up: from a tenth of the rate to all of it


def _g(v) -> str:
    return f"{v:g}"


def _thousands(v) -> str:
    return f"{v:,}"


@dataclass(frozen=True)
class Setting:
    """One widget of the page: label, options (fixed: they travel in links), help text, how
    a value is written, whether it applies to a running model, and the kind of widget
    ("select_slider", "selectbox", "radio", "segmented_control", "toggle", "checkbox" or
    "number_input")."""

    label: str
    options: tuple
    help: str | None = None
    fmt: Callable = str
    live: bool = False  # False: fixed while a model exists
    kind: str = "select_slider"


def _cell_label(key: str) -> str:
    return CELL_TYPES[key].label


STARTS = {"new": "New", "trained": "Trained"}  # short: the settings column is narrow
SETTINGS = {
    "source": Setting("Text to learn from", SOURCES, kind="radio"),
    "corpus": Setting("Corpus", tuple(corpora.builtin_names()), fmt=corpora.title, kind="selectbox"),
    "start": Setting("Start from", tuple(STARTS), "A trained model continues from its weights (a private copy: "
                     "nobody else's model changes).", fmt=STARTS.get, kind="segmented_control"),
    "layers": Setting("Layers", LAYERS),
    "hidden": Setting("Hidden size", HIDDEN),
    "embed": Setting("Embedding size", EMBED, "Each character is first turned into a vector this long."),
    "cell": Setting("Cell", tuple(CELL_TYPES), fmt=_cell_label, kind="radio"),
    "seq": Setting("Sequence length", SEQ_LENS, "Characters per training sequence: how far back in time gradients "
                   "flow (truncated backpropagation through time)."),
    "batch": Setting("Batch size", BATCHES, "Sequences per step."),
    "opt": Setting("Optimiser", tuple(OPTIMIZERS), fmt=OPT_LABELS.get, kind="selectbox"),
    "lr": Setting("Learning rate (log scale)", LR_OPTIONS, "How big each update is. Adam likes 0.002 to 0.005; far "
                  "larger makes training blow up. Applies immediately, even while training.", _g, True),
    "clip": Setting("Clip gradients", (False, True), "Rescale the gradient whenever its norm exceeds the threshold "
                    "(applies at once).", live=True, kind="toggle"),
    "clip_value": Setting("Clipping threshold (gradient norm)", CLIP_OPTIONS, None, _g, True),
    "seed": Setting("Seed", (0, 2**31 - 1), "Same seed + same settings = same run.", kind="number_input"),
    "stop": Setting("Stop after (steps)", STOP_OPTIONS, "Applies immediately.", _thousands, True),
    "sched": Setting("Warm up, then decay the rate", (False, True), f"Start at a tenth of the learning rate and "
                     f"ramp up over the first {WARMUP_STEPS} steps (big early updates are the ones that blow a "
                     "fresh model up), then let it fall along a cosine to a tenth by *Stop after* (small late "
                     "steps settle the loss). Off: the rate stays as set. Applies immediately.", live=True,
                     kind="toggle"),
    "carry": Setting("Carry the state over", (False, True), "Read the text as long parallel streams "
                     "and pass each stream's hidden state on to its next sequence (as in min-char-rnn), instead of "
                     "random excerpts starting from zeros.", kind="checkbox"),
}
# How the page lays the settings out, row by row.
MODEL_ROWS = (("cell",), ("layers", "hidden"), ("embed",))
TRAINING_ROWS = (("seq", "batch"), ("opt",), ("lr",), ("sched",), ("clip",), ("clip_value",), ("seed", "stop"),
                 ("carry",))
# What the page keeps from before a run (restored after Reset), and which TrainConfig
# field each setting that is fixed during a run shows.
DATA_SETTINGS = ("source", "corpus", "paste", "start", "cell", "layers", "hidden", "embed")
RUN_FIELDS = {"seq": "seq_len", "batch": "batch_size", "opt": "optimizer", "lr": "lr", "clip": "clip",
              "clip_value": "clip_value", "seed": "seed", "carry": "carry_state"}
HELP = {
    "step": "Run {chunk} training steps, then pause.",
}
MESSAGES = {
    "intro": "Pick some text and a network, press **Train**, and watch it learn: the loss falls, and the samples "
             "turn from random letters into words, then into something that looks like the text it reads. "
             "Settings on the left; everything updates live on the right.",
    "no_text": "Choose some text to train on first.",
    "no_model": "The chosen model is not available.",
    "misfit": "The model and the text do not fit together (see the warning on the left).",
    "upload": "Upload a text file to train on it. (A link cannot carry a file: after opening one, upload it again.)",
    "paste": "Paste at least {min} characters to train on them. (A link cannot carry pasted text: after opening "
             "one, paste it again.)",
    "locked": "Text, architecture and batch settings are locked while this model exists; press Reset to change "
              "them. Learning rate, clipping and the step limit apply at once.",
    "at_limit": "The model already reached the step limit ({limit:,}). Raise *Stop after* on the left to train "
                "further.",
    "diverged": "The **learning rate** and **clipping** settings on the left apply to this model at once: lower the "
                "rate (10× smaller is a good start) or turn clipping on, then restore the last good weights and "
                "press Train — or reset and start over.",
    "restored": "Restored the weights from step {step:,}. Adjust the settings, then press Train.",
    "idle": "Press **Train** to start. The loss curves, the samples and their improvement over time appear here. "
            "Tip: start with the defaults — a one-layer LSTM learns Shakespeare's spelling within a minute or two.",
    "current": "**Current sample** — step {step:,}, temperature {temperature:g}. Each character is coloured by the "
               "probability the model gave it; hover to see the five most likely alternatives.",
    "timeline": "**Samples timeline** — the same model sampled at steps 0, 100, 300, 1,000, 3,000, … "
                "(train more ↓)",
    "upload_label": "A plain-text file (up to {mb} MB): .txt, .py, .md, source code...",
    "paste_hint": "Paste a few thousand characters or more: song lyrics, code, a recipe...",
    "reset": "Stop and throw this model away.",
    "generate": "A new sample: the next seed.",
    "prime_hint": "e.g. ROMEO:  or  def ",
    "no_download": "Train a model to download it here.",
    "file": "One file: the weights plus a JSON card (architecture, vocabulary, training settings). Safe to share: "
            "it cannot contain code.",
}
# The sample boxes use rnnviz.ui.html's monospace style: 14 px type, line height 1.55,
# 10 px padding and a 1 px border on each side; presenter mode (rnnviz.ui.present's CSS)
# sets 21 px type and line height 1.6. A monospace character is at most 0.62 em wide.
BOX_FONT = (14, 1.55)
PRESENTER_FONT = (21, 1.6)
BOX_CHROME_PX, CHAR_EM = 22, 0.62
TIMELINE_MIN_PX = 420  # narrowest column of the samples timeline grid
SAMPLE_MAX_ROWS = 14  # a long sample scrolls after this many whole rows

def arch_label(config) -> str:
    """'2 × 128 LSTM' for a ModelConfig (or anything with cell, layers and hidden)."""
    return f"{config.layers} × {config.hidden} {CELL_TYPES[config.cell].label}"


@functools.lru_cache(maxsize=128)
def param_count(cell: str, layers: int, hidden: int, embed: int, vocab: int) -> int:
    """Number of trainable parameters of a new CharModel with these sizes."""
    cfg = ModelConfig(cell=cell, vocab_size=vocab, layers=layers, hidden=hidden, embed=embed)
    return CharModel(cfg).num_params()


def arch_of(model_config) -> dict:
    c = model_config
    return dict(cell=c.cell, layers=int(c.layers), hidden=int(c.hidden), embed=int(c.embed))


def train_config(arch: dict, *, seq: int, batch: int, opt: str, lr: float, clip: bool, clip_value: float,
                 seed: int, carry: bool, sched: bool = False, stop: int = 0) -> TrainConfig:
    """The TrainConfig for an architecture (``arch_of``) and the page's training settings
    (with ``sched``: warm-up, then cosine decay that ends at the step limit ``stop``)."""
    return TrainConfig(cell=arch["cell"], layers=int(arch["layers"]), hidden=int(arch["hidden"]),
                       embed=int(arch["embed"]), seq_len=int(seq), batch_size=int(batch), optimizer=opt,
                       lr=float(lr), clip=bool(clip), clip_value=float(clip_value), seed=int(seed),
                       carry_state=bool(carry), warmup=WARMUP_STEPS if sched else 0,
                       decay_steps=max(int(stop), 1) if sched else 0)


def default_config() -> TrainConfig:
    """The TrainConfig the page trains with when nobody changed a setting (the bench's
    "page defaults": read from ``DEFAULTS`` so the two cannot drift apart)."""
    d = DEFAULTS
    arch = dict(cell=d["cell"], layers=d["layers"], hidden=d["hidden"], embed=d["embed"])
    names = ("seq", "batch", "opt", "lr", "clip", "clip_value", "seed", "carry", "sched", "stop")
    return train_config(arch, **{k: d[k] for k in names})


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


def setup_summary(config: TrainConfig, corpus: corpora.Corpus, base=None) -> str:
    """``summary`` for the settings chosen before a run (``base``: the trained checkpoint started from)."""
    m, vocab = config.model_config(len(corpus.vocab)), len(corpus.vocab)
    params = base.model.num_params() if base is not None else param_count(m.cell, m.layers, m.hidden, m.embed, vocab)
    return summary(m, params, corpus.name, vocab, config.batch_size * config.seq_len)


def run_summary(trainer) -> str:
    """``summary`` for a live model."""
    return summary(trainer.model.config, trainer.model.num_params(), trainer.corpus.name, len(trainer.vocab),
                   trainer.config.batch_size * trainer.config.seq_len)


def checkpoint_bytes(runner, name: str) -> bytes:
    """The live model as one .safetensors file (weights + card), copied under the runner's lock."""
    cp = runner.checkpoint_copy(name=name)
    return ckpt.to_bytes(cp.model, cp.vocab, cp.card)


def loaded_message(cp) -> str:
    """What a student reads after loading a checkpoint (its name and card are escaped)."""
    about = cp.card.get("description")
    return (f"Loaded **{md(cp.name)}** ({arch_label(cp.model.config)}, {len(cp.vocab)} characters, step "
            f"{cp.card.get('steps') or 0:,}). It is now the model to sample from below and, until you train "
            "another one, the trained model to start from on the left." + (f" Its card says: {md(about)}" if about else ""))


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


def box_height(text: str, *, width_px: int = TIMELINE_MIN_PX, font=BOX_FONT, max_rows: int | None = None) -> int:
    """A max-height (px) for a sample box that holds whole rows of ``text``, never half a line.

    Lines are wrapped as in a box ``width_px`` wide (the narrowest we lay out; a wider
    box needs fewer rows and simply ends lower, as max-height only caps it). With
    ``max_rows`` a longer text scrolls, and the box still ends on a whole row.
    """
    font_px, line_height = font
    per_line = max(1, int((width_px - BOX_CHROME_PX - 4) // (font_px * CHAR_EM)))
    rows = sum(max(1, math.ceil(len(line) / per_line)) for line in text.split("\n"))
    if max_rows is not None:
        rows = min(rows, max_rows)
    return math.ceil(rows * font_px * line_height) + BOX_CHROME_PX


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


def apply_live(trainer, config: TrainConfig):
    """Learning rate, its schedule and clipping reach a model that exists at once, even while it trains
    (call it under the runner's lock: ``runner.with_trainer``)."""
    if trainer.config.lr != config.lr:
        trainer.set_lr(config.lr)
    trainer.config.clip, trainer.config.clip_value = config.clip, config.clip_value
    trainer.config.warmup, trainer.config.decay_steps = config.warmup, config.decay_steps


def sample_box(s, *, caption: str | None = None, top: bool = True, prime: bool = False, font=BOX_FONT,
               max_rows: int | None = None) -> str:
    """One sample, coloured by probability, in a box that ends on a whole row."""
    return prob_text(s.text, s.probs, s.top if top else None, prime=s.prime if prime else "", caption=caption,
                     max_height=box_height(s.full_text if prime else s.text, font=font, max_rows=max_rows))


def timeline_html(snap, *, font=BOX_FONT) -> str:
    """Every milestone sample in a grid of boxes at least ``TIMELINE_MIN_PX`` wide, each tall
    enough for its whole sample (issue 13: fixed 110 px boxes cut samples mid-line)."""
    boxes = "".join(sample_box(s, caption=cap, top=False, font=font) for _, s, cap in timeline(snap))
    return (f'<div style="display:grid;grid-template-columns:repeat(auto-fill,minmax({TIMELINE_MIN_PX}px,1fr));'
            f'gap:10px">{boxes}</div>')


@dataclass(frozen=True)
class Buttons:
    """Which of Train / Pause / Step make sense now."""

    pause: bool  # show Pause instead of Train
    train_off: bool
    step_off: bool


def buttons(runner, error: str | None) -> Buttons:
    active = runner is not None and runner.active
    stuck = runner is not None and runner.status == "diverged"
    single = active and not runner.wants_run  # a Step in progress
    can_start = error is None or runner is not None
    at_limit = runner is not None and runner.max_steps is not None and runner.steps >= runner.max_steps
    return Buttons(pause=active and not single, train_off=not can_start or single or stuck,
                   step_off=not can_start or active or at_limit or stuck)


# ---------------------------------------------------------------- the page's remembered choices
# The page's widget keys are "tr_" + a setting's name; these work on any mapping
# (Streamlit's session state on the page, a dict in tests).


def key(name: str) -> str:
    return f"tr_{name}"


def remember(state) -> dict:
    """The text and model choices to bring back after Reset (their widgets are hidden during a run)."""
    return {key(n): state[key(n)] for n in DATA_SETTINGS if key(n) in state}


def restore(state, run_config=None, max_steps=None) -> None:
    """Before the widgets: with a live model, the fixed settings show its real values;
    without one, the choices remembered before the last run come back."""
    if run_config is not None:
        for name, attr in RUN_FIELDS.items():
            state.setdefault(key(name), getattr(run_config, attr))
        if max_steps is not None:
            state.setdefault(key("stop"), max_steps)
    elif key("saved") in state:
        state.update(state.pop(key("saved")))


def follow_upload(state, cp, *, has_run: bool, uploaded: str, builtin=()) -> None:
    """A freshly loaded checkpoint becomes the model to sample from and, without a run,
    the trained model to start from, on its own corpus when that is a built-in one."""
    state[key("sample_model")] = uploaded
    state[key("loaded_note")] = loaded_message(cp)
    if not has_run:
        state.update({key("start"): "trained", key("start_model"): uploaded})
        if cp.card.get("corpus") in builtin:
            state.update({key("source"): SOURCES[0], key("corpus"): cp.card["corpus"]})


def current_sample(sampler, snap):
    """(step, Sample) to show as "current": the periodic sampler's latest, else the last milestone."""
    if sampler is not None and sampler.latest is not None:
        return sampler.latest
    return snap.samples[-1] if snap.samples else None


def apply_run_settings(runner, config: TrainConfig, stop: int) -> None:
    """The settings that reach a live model at once: learning rate, clipping, the step limit."""
    runner.with_trainer(lambda trainer: apply_live(trainer, config))
    runner.max_steps = max(int(stop), 0)


def press(runner, button: str, sampler=None) -> str | None:
    """Do what Train, Step or Pause asks of a runner; returns a notice for the student, or None."""
    if button == "train":
        at_limit = runner.max_steps is not None and runner.steps >= runner.max_steps
        runner.start()
        return MESSAGES["at_limit"].format(limit=runner.max_steps) if at_limit else None
    if button == "step":
        if sampler is not None:
            sampler.request()  # a fresh current sample right after the step
        runner.step_once()
    elif button == "pause":
        runner.pause(wait=3.0)
    return None


def box_font(presenting: bool):
    """The sample boxes' (font px, line height) in normal or presenter mode."""
    return PRESENTER_FONT if presenting else BOX_FONT
