"""Train & sample: train a character model live and watch its samples improve.

The page only lays out widgets and calls the library: ``rnnviz.train.Trainer``
does the optimisation, ``rnnviz.live.BackgroundTrainer`` runs it in a training worker
process, coordinated by a thread that never calls Streamlit (kept by
``rnnviz.ui.session``), a fragment polls
``snapshot()`` while training runs, ``rnnviz.plots.training`` draws the curves and
``rnnviz.ui.html`` colours every (escaped) character.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from rnnviz import checkpoint as ckpt
from rnnviz import corpora
from rnnviz.live import SLOTS
from rnnviz.models import CELL_LABELS, CELLS, CharModel, ModelConfig
from rnnviz.plots import training as P
from rnnviz.sample import sample
from rnnviz.train import OPTIMIZERS, TrainConfig, Trainer
from rnnviz.ui import html as H
from rnnviz.ui import session, state
from rnnviz.ui.state import ensure_app_navigation

ensure_app_navigation()

ss = st.session_state
POLL_SECONDS = 1.5
SOURCES = ("Built-in", "Upload a file", "Paste text")
SCRATCH, UPLOADED, LIVE = "__new__", "__uploaded__", "__live__"
LR_OPTIONS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0,
              50.0, 100.0)
CLIP_OPTIONS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
STOP_OPTIONS = (100, 300, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
TEMPS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0)
TOPK = ("all", 1, 2, 3, 5, 10, 20, 50)
OPT_LABELS = {"adam": "Adam", "sgd": "SGD with momentum", "adagrad": "Adagrad"}
NEW_MODEL_LABEL = "A new model (random weights)"
DEFAULTS = {
    "tr_source": SOURCES[0], "tr_corpus": "shakespeare", "tr_start": SCRATCH, "tr_cell": "lstm", "tr_layers": 1,
    "tr_hidden": 128, "tr_embed": 32, "tr_seq": 64, "tr_batch": 32, "tr_opt": "adam", "tr_lr": 2e-3,
    "tr_clip": True, "tr_clip_value": 5.0, "tr_seed": 1337, "tr_stop": 5_000, "tr_carry": False,
    "tr_temp": 1.0, "tr_topk": "all", "tr_len": 300, "tr_greedy": False, "tr_sample_seed": 0,
}
DATA_KEYS = ("tr_source", "tr_corpus", "tr_paste", "tr_start", "tr_cell", "tr_layers", "tr_hidden", "tr_embed")

st.title("Train & sample")
st.markdown(
    "Pick some text and a network, press **Train**, and watch it learn: the loss falls, and the samples "
    "turn from random letters into words, then into something that looks like the text it reads. "
    "Settings on the left; everything updates live on the right."
)


# ---------------------------------------------------------------- helpers


@st.cache_data(show_spinner=False, max_entries=64)
def _param_count(cell: str, layers: int, hidden: int, embed: int, vocab: int) -> int:
    return CharModel(ModelConfig(cell=cell, vocab_size=vocab, layers=layers, hidden=hidden, embed=embed)).num_params()


def _arch(cfg) -> str:
    return f"{cfg.layers} × {cfg.hidden} {CELL_LABELS[cfg.cell]}"


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _recent_mean(points, n: int = 20) -> float | None:
    vals = [v for _, v in list(points)[-n:] if math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _corpus_title(name: str) -> str:
    return corpora.title(name)


def _checkpoint_label(key: str) -> str:
    if key == SCRATCH:
        return NEW_MODEL_LABEL
    if key == UPLOADED:
        cp = ss.get("tr_loaded")
        return f"Your uploaded model: {cp.name} ({_arch(cp.model.config)})" if cp else "Your uploaded model"
    if key == LIVE:
        runner = session.get_runner()
        return f"Your live model ({_arch(runner.trainer.model.config)}, {runner.trainer.corpus.name})" if runner else "live"
    return "Bundled: " + state.pretrained_label(key)


def _get_checkpoint(key: str) -> ckpt.Checkpoint | None:
    if key == UPLOADED:
        return ss.get("tr_loaded")
    if key == LIVE:
        return session.live_checkpoint()
    return state.pretrained(key)


def _on_checkpoint_upload():
    """Parse an uploaded .safetensors; remember it or the error (runs before the script)."""
    f = ss.get("tr_ckpt_upload")
    ss.pop("tr_ckpt_error", None)
    if f is None:
        return
    try:
        cp = ckpt.from_bytes(f.getvalue())
    except ValueError as e:
        ss["tr_ckpt_error"] = f"Could not load {H.md(f.name)}: {H.md(e)}"
        return
    ss["tr_loaded"] = cp
    about = cp.card.get("description")
    ss["tr_ckpt_ok"] = (f"Loaded **{H.md(cp.name)}** ({_arch(cp.model.config)}, {len(cp.vocab)} characters, "
                        f"step {cp.card.get('steps') or 0:,}). Sample from it below, or train it further: it is "
                        "now selected under *Start from* on the left."
                        + (f" Its card says: {H.md(about)}" if about else ""))
    if session.get_runner() is None:
        ss["tr_start"] = UPLOADED
        corpus_name = cp.card.get("corpus")
        if corpus_name in corpora.builtin_names():
            ss["tr_source"] = SOURCES[0]
            ss["tr_corpus"] = corpus_name
    ss["tr_sample_model"] = UPLOADED


# ---------------------------------------------------------------- data


def _user_corpus(key, make):
    """Parse uploaded/pasted text once per distinct input (kept in the session)."""
    cached = ss.get("tr_user_corpus")
    if cached and cached[0] == key:
        return cached[1]
    c = make()
    ss["tr_user_corpus"] = (key, c)
    return c


def init_state(runner):
    """Widget defaults; with a live model, the locked widgets show its real settings."""
    if runner is not None:
        c = runner.trainer.config
        for k, v in (("tr_seq", c.seq_len), ("tr_batch", c.batch_size), ("tr_opt", c.optimizer), ("tr_lr", c.lr),
                     ("tr_clip", c.clip), ("tr_clip_value", c.clip_value), ("tr_seed", c.seed),
                     ("tr_carry", c.carry_state), ("tr_stop", runner.max_steps)):
            if k not in ss and v is not None:
                ss[k] = v
    elif "tr_saved" in ss:  # back from a reset: the data/model choices made before training
        for k, v in ss.pop("tr_saved").items():
            ss[k] = v
    for k, v in DEFAULTS.items():
        ss.setdefault(k, v)


def pick_corpus():
    src = st.radio("Text to learn from", SOURCES, horizontal=True, key="tr_source")
    try:
        if src == SOURCES[0]:
            name = st.selectbox("Corpus", corpora.builtin_names(), format_func=_corpus_title, key="tr_corpus")
            return state.corpus(name)
        if src == SOURCES[1]:
            f = st.file_uploader(f"A plain-text file (up to {corpora.limit_mb()} MB): .txt, .py, .md, source code...",
                                 key="tr_text_upload")
            if f is None:
                st.info("Upload a text file to train on it.")
                return None
            return _user_corpus(("upload", f.file_id), lambda: corpora.from_bytes(f.getvalue(), name=f.name))
        text = st.text_area("Your text", key="tr_paste", height=140,
                            placeholder="Paste a few thousand characters or more: song lyrics, code, a recipe...")
        if not text:
            st.info(f"Paste at least {corpora.MIN_CHARS} characters to train on them.")
            return None
        return _user_corpus(("paste", hash(text)), lambda: corpora.from_text(text, name="pasted text"))
    except ValueError as e:
        st.error(f"{e}")
        return None


def corpus_caption(c: corpora.Corpus):
    st.caption(f"{c.description} {len(c.text):,} characters, {len(c.vocab)} distinct; "
               f"the last 10 % ({len(c.val_text):,} characters) is held out for validation.")


# ---------------------------------------------------------------- settings column


def settings(locked: bool, runner):
    """Widgets for data, model and training. Returns a dict of the choices."""
    out = {"error": None}
    st.subheader("1 · Text")
    if locked:
        tr = runner.trainer
        st.markdown(f"Training on **{H.md(_corpus_title(tr.corpus.name))}**.")
        corpus_caption(tr.corpus)
        st.subheader("2 · Model")
        st.markdown(f"**{_arch(tr.model.config)}**, embedding {tr.model.config.embed}" +
                    (f", continued from **{H.md(tr.source)}**." if tr.source else ", started from random weights."))
        st.caption("Text and model are fixed while this model exists. Press **Reset** to choose again.")
        corpus, base, start = tr.corpus, None, None
        c = tr.model.config
        arch = dict(cell=c.cell, layers=c.layers, hidden=c.hidden, embed=c.embed)
    else:
        corpus, base, start, arch = model_choice(out)
    training_settings(locked, out)
    out.update(corpus=corpus, base=base, start=start, arch=arch)
    if arch is not None:
        out["config"] = TrainConfig(
            cell=arch["cell"], layers=int(arch["layers"]), hidden=int(arch["hidden"]), embed=int(arch["embed"]),
            seq_len=int(out["seq_len"]), batch_size=int(out["batch"]), optimizer=out["optimizer"], lr=out["lr"],
            clip=out["clip"], clip_value=out["clip_value"], seed=int(out["seed"]), carry_state=out["carry"],
        )
    if corpus is None and out["error"] is None:
        out["error"] = "Choose some text to train on first."
    return out


def model_choice(out):
    corpus = pick_corpus()
    if corpus is not None:
        corpus_caption(corpus)
    st.subheader("2 · Model")
    starts = [SCRATCH] + ([UPLOADED] if ss.get("tr_loaded") is not None else []) + ckpt.pretrained_names()
    if ss.get("tr_start") not in starts:
        ss["tr_start"] = SCRATCH
    labels = {k: _checkpoint_label(k) for k in starts}  # format_func must not read session state
    start = st.selectbox("Start from", starts, format_func=lambda k: labels.get(k, k), key="tr_start",
                         help="A bundled model continues from its trained weights (a private copy: nobody "
                              "else's model changes).")
    base = None
    if start == SCRATCH:
        cell = st.radio("Cell", CELLS, format_func=CELL_LABELS.get, horizontal=True, key="tr_cell")
        c1, c2 = st.columns(2)
        layers = c1.select_slider("Layers", (1, 2, 3), key="tr_layers")
        hidden = c2.select_slider("Hidden size", (16, 32, 64, 128, 256, 512), key="tr_hidden")
        embed = st.select_slider("Embedding size", (8, 16, 32, 64, 128), key="tr_embed",
                                 help="Each character is first turned into a vector this long.")
        arch = dict(cell=cell, layers=layers, hidden=hidden, embed=embed)
    else:
        try:
            base = _get_checkpoint(start)
        except ValueError as e:
            st.error(str(e))
            base = None
        if base is None:
            out["error"] = "The chosen model is not available."
            arch = None
        else:
            m = base.model.config
            arch = dict(cell=m.cell, layers=m.layers, hidden=m.hidden, embed=m.embed)
            trained_on = base.card.get("corpus") or "unknown text"
            st.caption(f"Architecture fixed by the model: {_arch(m)}, embedding {m.embed}; trained on "
                       f"{H.md(_corpus_title(trained_on))} for {base.card.get('steps') or 0:,} steps.")
    # A bundled / uploaded model can only read characters it knows.
    if base is not None and corpus is not None:
        unknown = sorted(set(corpus.vocab.chars) - set(base.vocab.chars))
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:12]) + (f" and {len(unknown) - 12} more" if len(unknown) > 12 else "")
            own = base.card.get("corpus")
            own_s = f" — normally its own corpus, **{H.md(_corpus_title(own))}**" if own else ""
            st.warning(f"**{H.md(base.name)}** only knows the {len(base.vocab)} characters it was trained on, and "
                       f"this text uses {len(unknown)} others: {shown}. A trained model can only continue on text "
                       f"made of its own characters{own_s}. Switch the text, or start from a new model.")
            out["error"] = "The model and the text do not fit together (see the warning on the left)."
        elif corpus.vocab != base.vocab:
            corpus = corpora.Corpus(corpus.name, corpus.text, base.vocab, corpus.description)
    return corpus, base, start, arch


def training_settings(locked, out):
    st.subheader("3 · Training")
    c1, c2 = st.columns(2)
    seq_len = c1.select_slider("Sequence length", (8, 16, 32, 64, 128, 256), key="tr_seq",
                               disabled=locked, help="Characters per training sequence: how far back in time "
                                                     "gradients flow (truncated backpropagation through time).")
    batch = c2.select_slider("Batch size", (1, 4, 8, 16, 32, 64, 128), key="tr_batch", disabled=locked,
                             help="Sequences per step.")
    optimizer = st.selectbox("Optimiser", OPTIMIZERS, format_func=OPT_LABELS.get, key="tr_opt", disabled=locked)
    lr = st.select_slider("Learning rate (log scale)", LR_OPTIONS, format_func=lambda v: f"{v:g}",
                          key="tr_lr", help="How big each update is. Adam likes about 0.002; far larger makes "
                                            "training blow up. Applies immediately, even while training.")
    clip = st.toggle("Clip gradients", key="tr_clip",
                     help="Rescale the gradient whenever its norm exceeds the threshold (applies immediately).")
    clip_value = st.select_slider("Clipping threshold (gradient norm)", CLIP_OPTIONS, key="tr_clip_value",
                                  disabled=not clip, format_func=lambda v: f"{v:g}")
    c1, c2 = st.columns(2)
    seed = c1.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="tr_seed",
                           disabled=locked, help="Same seed + same settings = same run.")
    stop_after = c2.select_slider("Stop after (steps)", STOP_OPTIONS, key="tr_stop",
                                  format_func=lambda v: f"{v:,}", help="Applies immediately.")
    carry = st.checkbox("Carry hidden state across batches", key="tr_carry", disabled=locked,
                        help="Read the text as long parallel streams and pass each stream's hidden state on to "
                             "its next sequence (as in min-char-rnn), instead of random excerpts starting from zeros.")
    out.update(seq_len=int(seq_len), batch=int(batch), optimizer=optimizer, lr=float(lr), clip=bool(clip),
               clip_value=float(clip_value), seed=int(seed), carry=bool(carry), stop_after=int(stop_after))


def summary(cfg: dict, runner):
    """One line about the model: size, vocabulary, baseline."""
    if runner is not None:
        tr = runner.trainer
        m, V, c = tr.model.config, len(tr.vocab), tr.config
        params, name = tr.model.num_params(), tr.corpus.name
    elif cfg.get("config") is not None and cfg.get("corpus") is not None:
        c, V, name = cfg["config"], len(cfg["corpus"].vocab), cfg["corpus"].name
        m = c.model_config(V)
        params = cfg["base"].model.num_params() if cfg["base"] is not None else _param_count(
            m.cell, m.layers, m.hidden, m.embed, V)
    else:
        return
    base = math.log(V)
    st.markdown(
        f"**{_arch(m)}** · **{params:,}** parameters · vocabulary **{V}** characters ({H.md(_corpus_title(name))}) · "
        f"{c.batch_size * c.seq_len:,} characters per step · a uniform guess scores "
        f"ln {V} = **{base:.2f}** nats/char (perplexity {V})"
    )


# ---------------------------------------------------------------- actions


def apply_live_settings(runner, cfg):
    """Learning rate, clipping and the step limit apply to a running model at once."""
    def apply(tr):
        if tr.config.lr != cfg["lr"]:
            tr.set_lr(cfg["lr"])
        tr.config.clip = cfg["clip"]
        tr.config.clip_value = cfg["clip_value"]

    runner.with_trainer(apply)
    runner.max_steps = max(cfg["stop_after"], 0)


def make_runner(cfg):
    corpus, c = cfg["corpus"], cfg["config"]
    base = cfg["base"]
    with st.spinner("Preparing the model and the data..."):
        trainer = Trainer(corpus, c, model=base.model if base is not None else None,
                          source=None if base is None else f"{base.name}")
    ss["tr_saved"] = {k: ss[k] for k in DATA_KEYS if k in ss}
    return session.new_runner(trainer, max_steps=cfg["stop_after"])


def controls(cfg, runner):
    active = runner is not None and runner.active
    single = active and not runner.wants_run
    can_start = cfg["error"] is None or runner is not None
    row = st.container(horizontal=True, vertical_alignment="center")
    if active and not single:
        pressed_pause = row.button("Pause", icon=":material/pause:", key="tr_pause", type="primary", width=120)
        pressed_train = False
    else:
        pressed_train = row.button("Train", icon=":material/play_arrow:", key="tr_train", type="primary",
                                   width=120, disabled=not can_start or single or (
                                       runner is not None and runner.status == "diverged"))
        pressed_pause = False
    at_limit = runner is not None and runner.max_steps is not None and runner.steps >= runner.max_steps
    pressed_step = row.button(f"Step +{session.CHUNK}", icon=":material/skip_next:", key="tr_step", width=120,
                              disabled=not can_start or active or at_limit or (
                                  runner is not None and runner.status == "diverged"),
                              help=f"Run {session.CHUNK} training steps, then pause.")
    pressed_reset = row.button("Reset", icon=":material/restart_alt:", key="tr_reset", width=120,
                               disabled=runner is None, help="Stop and throw this model away.")
    if not can_start and runner is None:
        st.caption(cfg["error"])
    elif runner is not None:
        st.caption("Text, architecture and batch settings are locked while this model exists; press Reset to "
                   "change them. Learning rate, clipping and the step limit apply at once.")

    try:
        if pressed_train or pressed_step:
            if runner is None:
                runner = make_runner(cfg)
                ss["tr_sample_model"] = LIVE  # the sampling panel follows the new model
            else:
                runner = session.revive()
            apply_live_settings(runner, cfg)
            if pressed_train:
                if runner.max_steps is not None and runner.steps >= runner.max_steps:
                    ss["tr_notice"] = (f"The model already reached the step limit ({runner.max_steps:,}). "
                                       "Raise *Stop after* on the left to train further.")
                runner.start()
            else:
                sampler = session.get_sampler()
                if sampler is not None:
                    sampler.request()
                runner.step_once()
            st.rerun()
        if pressed_pause and runner is not None:
            runner.pause(wait=3.0)
            st.rerun()
        if pressed_reset:
            session.drop_runner()
            if ss.get("tr_sample_model") == LIVE:
                ss.pop("tr_sample_out", None)
            st.rerun()
    except ValueError as e:
        st.error(f"Could not start training: {H.md(e)}")


def divergence_box(runner):
    snap = runner.snapshot()
    with st.container(border=True):
        st.error(f"**Training diverged.** {snap.divergence or ''}", icon=":material/warning:")
        st.markdown(
            "The **learning rate** and **clipping** settings on the left apply to this model at once: lower the "
            "rate (10× smaller is a good start) or turn clipping on, then restore the last good weights and press "
            "Train — or reset and start over."
        )
        row = st.container(horizontal=True)
        if row.button("Restore last good weights", icon=":material/history:", key="tr_restore", type="primary"):
            step = runner.restore_last_good()
            ss["tr_notice"] = f"Restored the weights from step {step:,}. Adjust the settings, then press Train."
            st.rerun()
        if row.button("Reset", icon=":material/restart_alt:", key="tr_reset_div"):
            session.drop_runner()
            st.rerun()


# ---------------------------------------------------------------- live views


def _status_line(runner, snap):
    running, waiting = SLOTS.running(), SLOTS.waiting()
    share = f"{running} of {SLOTS.slots} CPU slots in use on this server" + (f", {waiting} waiting" if waiting else "")
    if runner.active and snap.status == "queued" and snap.queue_position:
        st.info(f"Waiting for a free training slot — position {snap.queue_position} in the queue. "
                f"({share}.) Your model starts as soon as a slot frees up.", icon=":material/hourglass_top:")
    elif runner.active:
        st.caption(f":material/autorenew: Training… ({share}; trainers take turns every few seconds when "
                   "others are waiting.)")
    elif snap.status == "diverged":
        pass  # explained in the box above
    elif snap.status == "finished" or (snap.max_steps is not None and snap.steps >= snap.max_steps):
        st.info(f"Reached the step limit ({snap.max_steps:,} steps). Raise *Stop after* on the left and press "
                "Train to continue.", icon=":material/flag:")
    elif snap.message:
        st.info(snap.message + ("" if "Train" in snap.message else " Press Train to continue."),
                icon=":material/info:")
    elif snap.steps > 0:
        st.caption(f":material/pause_circle: Paused at step {snap.steps:,}. Press Train to continue.")


def _val_at(val, step):
    best = None
    for s, v in val:
        if s <= step:
            best = (s, v)
    return best[1] if best else None


def live_views(polling: bool):
    runner = session.get_runner()
    if runner is None:
        st.info("Press **Train** to start. The loss curves, the samples and their improvement over time appear "
                "here. Tip: start with the defaults — a one-layer LSTM learns Shakespeare's spelling within "
                "a minute or two.", icon=":material/play_circle:")
        return
    snap = runner.snapshot()
    if polling and not runner.active:
        st.rerun()  # training stopped (paused, diverged, finished): redraw the page once, without polling
    tr = runner.trainer
    V = len(tr.vocab)
    _status_line(runner, snap)

    loss = _recent_mean(snap.loss)
    val = snap.val[-1][1] if snap.val else None
    prev_val = snap.val[-2][1] if len(snap.val) > 1 else None
    recent = [v for _, v in snap.speed[-50:] if math.isfinite(v)]
    speed = float(np.median(recent)) if recent else None
    m = st.columns(6)
    m[0].metric("Step", f"{snap.steps:,}")
    m[1].metric("Train loss", f"{loss:.3f}" if loss is not None else "–",
                help="Mean of the last 20 batches, in nats per character.")
    m[2].metric("Val loss", f"{val:.3f}" if val is not None else "–",
                delta=f"{val - prev_val:+.3f}" if val is not None and prev_val is not None else None,
                delta_color="inverse", help="On held-out text the model never trains on.")
    m[3].metric("Perplexity", f"{math.exp(val):.1f}" if val is not None else "–",
                help=f"e^(validation loss): how many characters the model is effectively choosing between. "
                     f"Guessing uniformly gives {V}.")
    m[4].metric("Chars / s", (f"{speed / 1000:,.0f} k" if speed >= 10_000 else f"{speed:,.0f}") if speed else "–", help="Characters trained per second (median of the last 50 steps).")
    m[5].metric("Time", _fmt_time(snap.train_seconds), help="Time spent training (minutes:seconds).")
    if snap.max_steps:
        frac = min(1.0, snap.steps / snap.max_steps)
        st.progress(frac, text=f"Step {snap.steps:,} of {snap.max_steps:,}")

    clip = tr.config.clip_value if tr.config.clip else None
    c1, c2 = st.columns(2)
    # While a student waits for a CPU slot nothing changes between polls: reuse what
    # was built (30 polling pages would otherwise rebuild identical figures).
    c1.plotly_chart(_memo(("loss", snap.steps, len(snap.val), V),
                          lambda: P.loss_figure(snap.loss, snap.val, math.log(V))),
                    width="stretch", key="tr_loss_chart", config={"displayModeBar": False})
    c2.plotly_chart(_memo(("grad", snap.steps, clip), lambda: P.grad_figure(snap.grad, clip)),
                    width="stretch", key="tr_grad_chart", config={"displayModeBar": False})

    sampler = session.get_sampler()
    current = sampler.latest if sampler is not None and sampler.latest is not None else (
        snap.samples[-1] if snap.samples else None)
    if current is not None:
        step, s = current
        st.markdown(f"**Current sample** — step {step:,}, temperature {s.temperature:g}. Each character is coloured "
                    "by the probability the model gave it; hover to see the five most likely alternatives.")
        st.html(_memo(("current", step, s.text), lambda: H.prob_text(s.text, s.probs, s.top, max_height=160)))
        st.html(H.legend("prob", "probability of the sampled character"))

    if snap.samples:
        st.markdown("**Samples timeline** — the same model sampled at steps 0, 100, 300, 1,000, 3,000, … "
                    "(train more ↓)")
        for step, s in snap.samples:
            v = _val_at(snap.val, step)
            cap = f"step {step:,}" + (f" · validation loss {v:.2f}" if v is not None else "")
            st.html(_memo(("timeline", step, cap), lambda: H.prob_text(s.text, s.probs, None, max_height=110,
                                                                       caption=cap)))


def _memo(key, build):
    """Per-session cache of built figures and HTML for the polling views (bounded)."""
    memo = st.session_state.setdefault("tr_render_memo", {})
    if key not in memo:
        if len(memo) > 48:
            memo.clear()
        memo[key] = build()
    return memo[key]


# ---------------------------------------------------------------- sampling


def sampling_panel():
    st.subheader("Sample from a model")
    runner = session.get_runner()
    options = ([LIVE] if runner is not None else []) + ([UPLOADED] if ss.get("tr_loaded") is not None else []) \
        + ckpt.pretrained_names()
    if not options:
        st.info("No model yet: train one above.")
        return
    if ss.get("tr_sample_model") not in options:
        ss["tr_sample_model"] = "shakespeare_lstm" if "shakespeare_lstm" in options else options[0]
    labels = {k: _checkpoint_label(k) for k in options}
    key = st.selectbox("Model", options, format_func=lambda k: labels.get(k, k), key="tr_sample_model")
    prime = st.text_input("Prime text (the model continues it)", key="tr_prime", max_chars=500,
                          placeholder="e.g. ROMEO:  or  def ")
    c1, c2, c3 = st.columns([1.4, 1, 1])
    temp = c1.select_slider("Temperature (log scale)", TEMPS, key="tr_temp",
                            format_func=lambda v: f"{v:g}")
    topk = c2.select_slider("Top-k", TOPK, key="tr_topk",
                            help="Sample only among the k most likely characters.")
    length = c3.number_input("Length", min_value=10, max_value=2000, step=50, key="tr_len")
    c1, c2, c3 = st.columns([1, 1, 1.4])
    greedy = c1.toggle("Greedy", key="tr_greedy", help="Always take the most likely character.")
    seed = c2.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="tr_sample_seed")
    go = c3.button("Generate", icon=":material/auto_awesome:", key="tr_generate", type="primary", width="stretch")
    if go:
        try:
            cp = _get_checkpoint(key)
            if cp is None:
                raise ValueError("That model is no longer available. Pick another one.")
            with st.spinner("Sampling..."):
                s = sample(cp.model, cp.vocab, int(length), prime=prime, temperature=float(temp),
                           top_k=None if topk == "all" else int(topk), greedy=bool(greedy), seed=int(seed))
            ss["tr_sample_out"] = (_checkpoint_label(key), s)
            ss["tr_sample_model_used"] = key
        except ValueError as e:
            ss.pop("tr_sample_out", None)
            st.error(str(e))
    out = ss.get("tr_sample_out")
    if out is not None:
        label, s = out
        how = "greedy" if s.greedy else f"temperature {s.temperature:g}" + (f", top-{s.top_k}" if s.top_k else "")
        ppl = math.exp(-s.mean_log_prob()) if len(s.probs) else float("nan")
        st.caption(f"{H.md(label)} · {how} · {len(s.text):,} characters · mean probability of the chosen characters "
                   f"{float(np.mean(s.probs)):.2f} (perplexity {ppl:.1f}). Bold: your prime.")
        st.html(H.prob_text(s.text, s.probs, s.top, prime=s.prime, max_height=320))
        st.html(H.legend("prob", "probability of the sampled character (hover for the top 5)"))


def save_load_panel():
    st.subheader("Save or load a model")
    runner = session.get_runner()
    c1, c2 = st.columns(2)
    with c1:
        if runner is None:
            st.caption("Train a model to download it here.")
        else:
            tr = runner.trainer
            m = tr.model.config
            name = f"{tr.corpus.name.split('.')[0].replace(' ', '_')}_{m.cell}_{m.layers}x{m.hidden}_step{tr.steps}"
            st.download_button(
                "Download the live model (.safetensors)", data=lambda: _live_bytes(runner, name),
                file_name=f"{name}.safetensors", mime="application/octet-stream", icon=":material/download:",
                key="tr_download", on_click="ignore",
            )
            st.caption("One file: the weights plus a JSON card (architecture, vocabulary, training settings). "
                       "Safe to share: it cannot contain code.")
    with c2:
        st.file_uploader("Load a model downloaded from rnnviz", type=["safetensors"], key="tr_ckpt_upload",
                         on_change=_on_checkpoint_upload)
        if ss.get("tr_ckpt_error"):
            st.error(ss["tr_ckpt_error"])
        elif ss.get("tr_ckpt_upload") is not None and ss.get("tr_ckpt_ok"):
            st.success(ss["tr_ckpt_ok"])


def _live_bytes(runner, name) -> bytes:
    cp = runner.checkpoint_copy(name=name)
    return ckpt.to_bytes(cp.model, cp.vocab, cp.card)


# ---------------------------------------------------------------- lesson


def lesson():
    with st.container(border=True):
        st.markdown("#### What am I looking at?")
        st.markdown(
            "**The loss.** At every position the model hands out probabilities to all characters that might "
            "come next. The loss is the average surprise at the character that really came, measured as the "
            "negative natural log of the probability it had given it:"
        )
        st.latex(r"\mathcal{L} = -\frac{1}{T}\sum_{t=1}^{T} \ln p_\theta\!\left(x_{t+1} \mid x_{\le t}\right)")
        st.markdown(
            "An untrained model spreads its bets evenly over the |V| characters of the vocabulary and scores "
            "ln |V| — the dashed line. Every step below that line is something learnt. "
            "e^loss, the *perplexity*, reads as \"the model hesitates between this many characters\": "
            "84 at the start on Shakespeare, about 4 to 5 for a good small model. The red validation curve is "
            "measured on the last 10 % of the text, which the model never trains on; if it stops falling "
            "while the blue one keeps going, the model is memorising instead of generalising."
        )
        st.markdown(
            "**Temperature.** Before sampling, the scores z (logits) are divided by a temperature τ:"
        )
        st.latex(r"p_i = \frac{\exp(z_i/\tau)}{\sum_j \exp(z_j/\tau)}")
        st.markdown(
            "τ = 1 samples exactly what the model believes. A small τ sharpens the distribution towards the "
            "favourite (safe, repetitive text; τ → 0 is greedy). A large τ flattens it towards uniform "
            "(adventurous, then nonsense). Top-k cuts off everything but the k best candidates."
        )
        st.markdown(
            "**Why the samples improve.** Each step nudges the weights to give the true next character a bit "
            "more probability. Cheap statistics come first — which letters are frequent, that spaces separate "
            "words — then common words and spelling, then line lengths, names and punctuation that need a "
            "longer memory in the hidden state. The timeline shows these stages one after the other."
        )
        st.markdown(
            "**Try this**\n"
            "- Train the same settings with a Vanilla RNN, an LSTM and a GRU: which gets lowest, how fast?\n"
            "- Set the learning rate to 10 with clipping off and watch training blow up; then restore the last "
            "good weights, lower the rate and carry on.\n"
            "- Sample one model at temperature 0.2, 1 and 3. Where does it start repeating itself, where does "
            "it babble?\n"
            "- Paste your own text (a song, a program) and see what the model picks up first.\n"
            "- Prime a bundled model with the start of a line (`ROMEO:` or `def `) and let it continue."
        )


# ---------------------------------------------------------------- layout

runner = session.get_runner()
init_state(runner)
locked = runner is not None
left, right = st.columns([1, 2.35], gap="large")
with left:
    cfg = settings(locked, runner)
if runner is not None:
    apply_live_settings(runner, cfg)
with right:
    summary(cfg, runner)
    controls(cfg, runner)
    notice = ss.pop("tr_notice", None)
    if notice:
        st.info(notice, icon=":material/info:")
    if runner is not None and runner.status == "diverged":
        divergence_box(runner)
    polling = runner is not None and runner.active
    st.fragment(live_views, run_every=POLL_SECONDS if polling else None)(polling)

st.divider()
c1, c2 = st.columns([1.45, 1], gap="large")
with c1:
    sampling_panel()
    st.divider()
    save_load_panel()
with c2:
    lesson()
