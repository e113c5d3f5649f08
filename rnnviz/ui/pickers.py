"""The shared pickers: which model, which text, how to sample, which layer and cell.

Every page chooses these the same way, and every choice is bound to the URL (the
widget key is the query parameter), so a copied link opens the same view.

* ``model_picker``: the bundled models, the session's live model and an uploaded
  checkpoint. The live model is shown as a frozen snapshot (numbers must not shift
  between two clicks while it trains) with a button to take the latest weights.
  The uploaded checkpoint is one per session, shared by all pages.
* ``text_picker``: an excerpt of the model's validation text (aligned to a line
  start, with the characters before it as lexer context), pasted text, an uploaded
  file, or a fresh sample; one length cap and one unknown-character message.
* ``sampling_controls``: temperature on a log scale, top-k, greedy, length, seed.
* ``layer_picker``, ``signal_picker``, ``cell_stepper``.

Cached models are shared by every session: never change ``choice.model``; copy it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import streamlit as st

from .. import celltypes, corpora, probes
from .. import checkpoint as ckpt
from ..sample import MAX_LENGTH, sample
from . import session, state
from .html import md

LIVE = state.LIVE
UPLOADED = "uploaded"
UPLOAD_KEY = "rnnviz_uploaded_model"  # the session's uploaded checkpoint: (Checkpoint, file name, digest)
MAX_TEXT = 5_000
TEXT_LENGTHS = (200, 500, 1000, 2000, 3000, 5000)
TEMPERATURES = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0)
TOP_K = ("all", 1, 2, 3, 5, 10, 20, 50)
SOURCES = {"val": "Validation text", "paste": "Paste", "upload": "Upload", "sample": "Fresh sample"}


def bound(st_widget, *args, **kwargs):
    """Call a widget bound to the URL (its key is the query parameter)."""
    return st_widget(*args, bind="query-params", **kwargs)


def drop_invalid(key: str, allowed) -> None:
    """Forget a widget's stored value (from the session or a link) that is no longer among ``allowed``
    (options that depend on the model or the text), so the widget falls back to its default."""
    if key in st.session_state and st.session_state[key] not in allowed:
        del st.session_state[key]


# ---------------------------------------------------------------- models


@dataclass(eq=False)
class ModelChoice:
    key: str  # bundled model name, LIVE or UPLOADED
    checkpoint: ckpt.Checkpoint
    label: str
    cache_key: tuple  # hashable, changes whenever the weights do
    corpus: corpora.Corpus | None = field(default=None, repr=False)

    @property
    def is_live(self) -> bool:
        return self.key == LIVE

    @property
    def model(self):
        return self.checkpoint.model

    @property
    def vocab(self):
        return self.checkpoint.vocab

    @property
    def card(self) -> dict:
        return self.checkpoint.card

    @property
    def config(self):
        return self.checkpoint.model.config

    @property
    def cell(self) -> str:
        return self.config.cell

    @property
    def celltype(self) -> celltypes.CellType:
        return celltypes.of(self.cell)


def architecture(cfg) -> str:
    return f"{cfg.layers}×{cfg.hidden} {celltypes.of(cfg.cell).label}"


def uploaded_checkpoint() -> ckpt.Checkpoint | None:
    held = st.session_state.get(UPLOAD_KEY)
    return held[0] if held else None


def set_uploaded(cp: ckpt.Checkpoint, file_name: str, digest: str) -> None:
    st.session_state[UPLOAD_KEY] = (cp, file_name, digest)


def checkpoint_uploader(key: str, *, label: str = "A checkpoint downloaded from rnnviz (.safetensors)"):
    """File uploader for a checkpoint; a good file becomes the session's uploaded model.
    Returns the Checkpoint (or None); shows a clear message for a bad file."""
    f = st.file_uploader(label, type=["safetensors"], key=key)
    if f is not None:
        data = f.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        held = st.session_state.get(UPLOAD_KEY)
        if held is None or held[2] != digest:
            try:
                set_uploaded(ckpt.from_bytes(data), f.name, digest)
            except ValueError as e:
                st.error(f"Could not load {md(f.name)}: {md(e)}", icon=":material/error:")
                return uploaded_checkpoint()
    return uploaded_checkpoint()


def _label(option: str) -> str:
    return {LIVE: "Your live model", UPLOADED: "Uploaded checkpoint"}.get(option, option)


def _bundled(cells) -> list[str]:
    names = []
    for name in ckpt.pretrained_names():
        try:
            cell = state.pretrained(name).model.config.cell
        except ValueError:
            continue
        if cells is None or cell in cells:
            names.append(name)
    return names


def _live_choice(prefix: str, runner) -> ModelChoice | None:
    """The session's live model as a frozen snapshot (taken when first chosen)."""
    key = f"{prefix}_live_snapshot"
    held = st.session_state.get(key)
    steps_now = runner.steps
    if held is None or held["runner"] != id(runner.trainer) or st.session_state.pop(f"{key}_refresh", False):
        cp = runner.checkpoint_copy()
        held = {"runner": id(runner.trainer), "cp": cp, "steps": int(cp.card.get("steps") or 0),
                "corpus": getattr(runner.trainer, "corpus", None)}
        st.session_state[key] = held
    cp = held["cp"]
    if steps_now > held["steps"]:
        c1, c2 = st.columns([3, 1.2], vertical_alignment="center")
        c1.caption(f"Showing your live model as it was at step {held['steps']:,}; it is now at step {steps_now:,}.")
        c2.button(f"Use the latest weights (step {steps_now:,})", key=f"{key}_btn", icon=":material/refresh:",
                  on_click=lambda: st.session_state.__setitem__(f"{key}_refresh", True))
    label = f"Your live model ({architecture(cp.model.config)}, step {held['steps']:,})"
    if steps_now <= held["steps"]:
        st.caption(md(label))
    return ModelChoice(LIVE, cp, label, (LIVE, held["runner"], held["steps"]), held["corpus"])


def _is_char_runner(runner) -> bool:
    from ..train import Trainer

    return runner is not None and isinstance(runner.trainer, Trainer)


def _validation_corpus(name) -> corpora.Corpus | None:
    """The corpus whose validation split the text picker offers for a model trained on
    ``name`` (None if the app has no text of it)."""
    return state.viewable_corpus(name) if name in corpora.viewable_names() else None


def model_picker(prefix: str, *, cells=None, default: str | None = None, live: bool = True,
                 upload: bool = True, label: str = "Model", help: str | None = None) -> ModelChoice | None:
    """Choose a character model; ``cells`` restricts the cell types (e.g. ``("lstm",)``).
    Returns None (after a message) when nothing can be shown."""
    key = f"{prefix}_model"
    runner = session.get_runner() if live else None
    runner = runner if _is_char_runner(runner) else None
    if runner is not None and cells is not None and runner.trainer.model.config.cell not in cells:
        runner = None
    bundled = _bundled(cells)
    options = ([LIVE] if runner is not None else []) + bundled + ([UPLOADED] if upload else [])
    if not options:
        st.info("No model is available yet. Train one on the **Train & sample** page.")
        return None
    drop_invalid(key, options)
    default = default if default in options else (bundled[0] if bundled else options[0])

    # A bound widget writes its option's *label* into the URL: labels stay short and stable
    # (the details that change, like a live model's step, go into the caption below).
    choice = bound(st.selectbox, label, options, index=options.index(default), format_func=_label,
                   key=key, help=help or "Bundled models, your live model while it trains, or a checkpoint you upload.")
    if choice == LIVE:
        return _live_choice(prefix, runner)
    if choice == UPLOADED:
        cp = checkpoint_uploader(f"{prefix}_upload")
        if cp is None:
            st.info("Upload a checkpoint you downloaded from the **Train & sample** page.", icon=":material/upload:")
            return None
        if cells is not None and cp.model.config.cell not in cells:
            kinds = ", ".join(celltypes.of(c).label for c in cells)
            st.warning(f"This view needs a {kinds} model; the uploaded one is a {celltypes.of(cp.model.config).label}.")
            return None
        name = st.session_state[UPLOAD_KEY][1]
        corpus_name = cp.card.get("corpus")
        corpus = _validation_corpus(corpus_name)
        label = f"Uploaded: {name} ({architecture(cp.model.config)}, step {cp.card.get('steps') or 0:,})"
        st.caption(md(label))
        return ModelChoice(UPLOADED, cp, label,
                           (UPLOADED, st.session_state[UPLOAD_KEY][2]), corpus)
    cp = state.pretrained(choice)
    corpus_name = cp.card.get("corpus")
    corpus = _validation_corpus(corpus_name)
    label = state.pretrained_label(choice)
    st.caption(md(label))
    return ModelChoice(choice, cp, label, ("pretrained", choice), corpus)


# ---------------------------------------------------------------- sampling


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.8
    top_k: int | None = None
    greedy: bool = False
    length: int = 400
    seed: int = 0

    def kwargs(self) -> dict:
        return {"length": self.length, "temperature": self.temperature, "top_k": self.top_k,
                "greedy": self.greedy, "seed": self.seed}

    def describe(self) -> str:
        if self.greedy:
            return "greedy"
        return f"temperature {self.temperature:g}" + (f", top-{self.top_k}" if self.top_k else "")


def sampling_controls(prefix: str, *, length: bool = True, default_length: int = 400, max_length: int = 2000,
                      default_temperature: float = 0.8, seed: bool = True, greedy: bool = True,
                      top_k: bool = True) -> Sampling:
    """Temperature (log scale), top-k, greedy, length and seed, bound to the URL."""
    default_temperature = min(TEMPERATURES, key=lambda t: abs(t - default_temperature))
    cols = st.columns(4)
    temp = bound(cols[0].select_slider, "Temperature (log scale)", TEMPERATURES, value=default_temperature,
                 key=f"{prefix}_temp", format_func=lambda v: f"{v:g}",
                 help="Below 1 the model plays safe, above 1 it takes more risks.")
    k = "all"
    if top_k:
        k = bound(cols[1].select_slider, "Top-k", TOP_K, value="all", key=f"{prefix}_topk",
                  help="Sample only among the k most likely characters.")
    n = default_length
    if length:
        n = bound(cols[2].number_input, "Length", min_value=10, max_value=min(max_length, MAX_LENGTH),
                  value=min(default_length, max_length), step=50, key=f"{prefix}_len")
    s = 0
    if seed:
        s = bound(cols[3].number_input, "Seed", min_value=0, max_value=2**31 - 1, value=0, step=1,
                  key=f"{prefix}_seed", help="The same seed gives the same text.")
    g = False
    if greedy:
        g = bound(st.toggle, "Greedy (always the most likely character)", key=f"{prefix}_greedy")
    return Sampling(float(temp), None if k == "all" else int(k), bool(g), int(n), int(s))


# ---------------------------------------------------------------- text


@dataclass(frozen=True)
class TextChoice:
    text: str
    context: str = ""  # characters before the excerpt (lexer context for probes)
    source: str = "paste"
    start: int = 0  # offset in the validation split (source "val")
    language: str = "text"


def _user_text(raw: str, vocab, cap: int, what: str) -> str | None:
    raw = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    if not raw.strip():
        return None
    if len(raw) > cap:
        st.warning(f"{what} has {len(raw):,} characters; only the first {cap:,} are used.")
        raw = raw[:cap]
    message = vocab.unknown_message(raw)
    if message:
        st.error(f"{md(message)} Your text is kept, so you can fix it.", icon=":material/error:")
        return None
    return raw


def text_picker(prefix: str, choice: ModelChoice, *, cap: int = MAX_TEXT, default_length: int = 1000,
                sources=tuple(SOURCES), default_paste: str = "", lengths=TEXT_LENGTHS,
                label: str = "Text") -> TextChoice | None:
    """Choose the text to run through the model; None (after a message) if there is none."""
    avail = [s for s in sources if s != "val" or (choice.corpus is not None and len(choice.corpus.val_text) > 1)]
    lengths = tuple(n for n in lengths if n <= cap) or (cap,)
    default_length = min(lengths, key=lambda n: abs(n - default_length))
    key = f"{prefix}_source"
    drop_invalid(key, avail)
    source = bound(st.segmented_control, label, avail, default=avail[0], format_func=SOURCES.get, key=key,
                   required=True) or avail[0]
    vocab = choice.vocab
    if source == "val":
        corpus = choice.corpus
        language = probes.language_for(corpus.name)
        val_len = len(corpus.val_text)
        c1, c2 = st.columns(2)
        offset = bound(c1.number_input, "Start in the validation text (character)", min_value=0,
                       max_value=max(0, val_len - 1), value=0, step=500, key=f"{prefix}_offset")
        length = bound(c2.select_slider, "Length (characters)", lengths, value=default_length, key=f"{prefix}_len")
        ex = probes.validation_excerpt(corpus, language, int(length), int(offset))
        of = (f"held-out {md(corpora.title(corpus.name))} text shipped with the app" if corpus.name in corpora.PRETRAIN_ONLY
              else f"validation split of {md(corpus.name)}")
        st.caption(f"Characters {ex.start:,} to {ex.start + len(ex.text):,} of the {val_len:,}-character {of}: "
                   "text the model never trained on (the excerpt starts at a line start).")
        return TextChoice(ex.text, ex.context, "val", ex.start, language)
    if source == "paste":
        raw = bound(st.text_area, f"Your text (up to {cap:,} characters)", value=default_paste, height=160,
                    key=f"{prefix}_paste")
        text = _user_text(raw, vocab, cap, "Your text")
        if text is None:
            if not (raw or "").strip():
                st.info("Paste or type some text above to run it through the model.")
            return None
        return TextChoice(text, "", "paste", 0, probes.language_for(None, text))
    if source == "upload":
        f = st.file_uploader(f"A plain-text file (the first {cap:,} characters are used)", key=f"{prefix}_file")
        if f is None:
            st.info("Upload a text file (.txt, .py, .md, source code…) to run it through the model.")
            return None
        try:
            raw = corpora.decode_bytes(f.getvalue(), what=f"The file {f.name}")
        except ValueError as e:
            st.error(md(e), icon=":material/error:")
            return None
        text = _user_text(raw, vocab, cap, "The file")
        if text is None:
            if not raw.strip():
                st.error("The file contains only whitespace.", icon=":material/error:")
            return None
        return TextChoice(text, "", "upload", 0, probes.language_for(None, text))
    settings = sampling_controls(f"{prefix}_s", default_length=min(default_length, cap), max_length=cap)
    memo_key = (choice.cache_key, settings)
    held = st.session_state.get(f"{prefix}_sample_memo")
    if held is None or held[0] != memo_key:
        with st.spinner("The model is writing…"):
            s = sample(choice.model, vocab, **settings.kwargs())
        held = (memo_key, s.full_text)
        st.session_state[f"{prefix}_sample_memo"] = held
    st.caption(f"A fresh sample from the model itself ({settings.describe()}, seed {settings.seed}); "
               "change the seed for another one.")
    return TextChoice(held[1], "", "sample", 0, probes.language_for(choice.corpus.name if choice.corpus else None,
                                                                     held[1]))


# ---------------------------------------------------------------- layer / signal / cell


def layer_picker(prefix: str, layers: int, *, default: int | None = None, label: str = "Layer") -> int:
    """Layers are numbered from 1 on screen and in the URL; returns a 0-based index."""
    options = list(range(1, layers + 1))
    key = f"{prefix}_layer"
    drop_invalid(key, options)
    d = options[-1] if default is None else min(max(1, default + 1), layers)
    v = bound(st.segmented_control, label, options, default=d, key=key, required=True,
              format_func=lambda k: f"layer {k}") or d
    return int(v) - 1


def signal_picker(prefix: str, cell: str, *, signals=None, default: str | None = None, label: str = "Signal") -> str:
    ct = celltypes.of(cell)
    options = [s for s in (signals or ct.signals) if s in ct.signals] or list(ct.signals)
    key = f"{prefix}_signal"
    drop_invalid(key, options)
    d = default if default in options else (ct.memory_signal if ct.memory_signal in options else options[0])
    return bound(st.selectbox, label, options, index=options.index(d), format_func=ct.signal_label, key=key)


def cell_stepper(prefix: str, n: int, *, label: str = "Cell", key: str | None = None) -> int:
    """A number input over 0..n-1 with ◀ ▶ buttons that wrap around."""
    key = key or f"{prefix}_cell"
    v = st.session_state.get(key, 0)
    if not isinstance(v, int) or not 0 <= v < n:
        st.session_state[key] = max(0, min(n - 1, int(v) if isinstance(v, (int, float)) else 0))

    def step(delta):
        st.session_state[key] = (int(st.session_state.get(key, 0)) + delta) % n

    c1, c2, c3 = st.columns([1, 4, 1], vertical_alignment="bottom")
    c1.button("◀", key=f"{key}_prev", on_click=step, args=(-1,), help="Previous", width="stretch")
    v = bound(c2.number_input, f"{label} (0 to {n - 1})", min_value=0, max_value=n - 1, step=1, key=key)
    c3.button("▶", key=f"{key}_next", on_click=step, args=(1,), help="Next", width="stretch")
    return int(v)
