"""Train & sample: train a character model live and watch its samples improve.

Settings on the left, the live run on the right, sampling from any model below.
Training runs in ``rnnviz.live.BackgroundTrainer`` (kept per session by
``rnnviz.ui.session``) and is polled by the one live panel of ``rnnviz.ui.live``;
``rnnviz.trainsetup`` holds the options, words and read-outs, ``rnnviz.plots.training``
draws the curves. Every setting is in the page address; a run is not (only its
``?run=`` token, which opens the same run again).
"""

from __future__ import annotations

import math

import streamlit as st

from rnnviz import corpora
from rnnviz import trainsetup as ts
from rnnviz.celltypes import CELL_TYPES
from rnnviz.plots import training as training_plots
from rnnviz.sample import sample
from rnnviz.train import OPTIMIZERS, Trainer
from rnnviz.ui import charts, html, live, page, pickers, present, session, state

ss = st.session_state
MSG = ts.MESSAGES
BOUND = dict(bind="query-params")
STARTS = {"new": "A new model", "trained": "A trained model"}


def _slider(where, name, **kw):
    s = ts.SETTINGS[name]
    return where.select_slider(s.label, s.options, value=ts.DEFAULTS[name], format_func=s.fmt, help=s.help,
                               key=f"tr_{name}", **BOUND, **kw)


def pick_corpus():
    src = st.radio("Text to learn from", ts.SOURCES, horizontal=True, key="tr_source", **BOUND)
    try:
        if src == ts.SOURCES[0]:
            names = corpora.builtin_names()
            name = st.selectbox("Corpus", names, format_func=corpora.title, key="tr_corpus",
                                index=names.index(ts.DEFAULTS["corpus"]), **BOUND)
            return state.corpus(name)
        if src == ts.SOURCES[1]:
            f = st.file_uploader(f"A plain-text file (up to {corpora.limit_mb()} MB): .txt, .py, .md, source "
                                 "code...", key="tr_text_upload")
            if f is not None:
                return _user_corpus(("upload", f.file_id), lambda: corpora.from_bytes(f.getvalue(), name=f.name))
            st.info(MSG["upload"])
            return None
        text = st.text_area("Your text", key="tr_paste", height=140,
                            placeholder="Paste a few thousand characters or more: song lyrics, code, a recipe...")
        if text:
            return _user_corpus(("paste", hash(text)), lambda: corpora.from_text(text, name="pasted text"))
        st.info(MSG["paste"].format(min=corpora.MIN_CHARS))
    except ValueError as e:
        st.error(f"{e}")
    return None


def _user_corpus(key, make):
    """Parse uploaded/pasted text once per distinct input (kept in the session)."""
    cached = ss.get("tr_user_corpus")
    if not cached or cached[0] != key:
        ss["tr_user_corpus"] = cached = (key, make())
    return cached[1]


def text_and_model():
    """1 · Text and 2 · Model, before a run exists. Returns (corpus, base choice, arch, error)."""
    corpus = pick_corpus()
    if corpus is not None:
        st.caption(ts.corpus_caption(corpus))
    st.subheader("2 · Model")
    start = st.segmented_control("Start from", tuple(STARTS), format_func=STARTS.get, default="new",
                                 key="tr_start", help=ts.HELP["start"], **BOUND)
    if start != "trained":
        cell = st.radio("Cell", tuple(CELL_TYPES), format_func=lambda k: CELL_TYPES[k].label, horizontal=True,
                        index=tuple(CELL_TYPES).index(ts.DEFAULTS["cell"]), key="tr_cell", **BOUND)
        c1, c2 = st.columns(2)
        arch = dict(cell=cell, layers=_slider(c1, "layers"), hidden=_slider(c2, "hidden"), embed=_slider(st, "embed"))
        return corpus, None, arch, None if corpus is not None else MSG["no_text"]
    choice = pickers.model_picker("tr_start", live=False, label="Trained model")
    if choice is None:
        return corpus, None, None, MSG["no_model"]
    st.caption(ts.base_caption(choice.checkpoint))
    arch = ts.arch_of(choice.checkpoint.model.config)
    if corpus is None:
        return None, choice, arch, MSG["no_text"]
    fit = ts.fit(choice.checkpoint, corpus)
    if fit.warning:
        st.warning(fit.warning)
        return None, choice, None, MSG["misfit"]
    return fit.corpus, choice, arch, None


def setup(runner) -> dict:
    """The left column. Returns what the buttons need: corpus, base model, config, stop, error."""
    st.subheader("1 · Text")
    if runner is None:
        corpus, base, arch, error = text_and_model()
    else:
        st.markdown(ts.locked_summary(runner.trainer))
        st.caption(ts.corpus_caption(runner.trainer.corpus))
        corpus, base, arch, error = runner.trainer.corpus, None, ts.arch_of(runner.trainer.model.config), None
    locked = runner is not None
    st.subheader("3 · Training")
    c1, c2 = st.columns(2)
    chosen = dict(seq=_slider(c1, "seq", disabled=locked), batch=_slider(c2, "batch", disabled=locked),
                  opt=st.selectbox("Optimiser", OPTIMIZERS, format_func=ts.OPT_LABELS.get, key="tr_opt",
                                   disabled=locked, **BOUND),
                  lr=_slider(st, "lr"),
                  clip=st.toggle("Clip gradients", value=ts.DEFAULTS["clip"], key="tr_clip", help=ts.HELP["clip"],
                                 **BOUND))
    chosen["clip_value"] = _slider(st, "clip_value", disabled=not chosen["clip"])
    c1, c2 = st.columns(2)
    chosen["seed"] = c1.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, value=ts.DEFAULTS["seed"],
                                     key="tr_seed", disabled=locked, help=ts.HELP["seed"], **BOUND)
    stop = _slider(c2, "stop")
    chosen["carry"] = st.checkbox("Carry hidden state across batches", value=ts.DEFAULTS["carry"], key="tr_carry",
                                  disabled=locked, help=ts.HELP["carry"], **BOUND)
    config = ts.train_config(arch, **chosen) if arch is not None else None
    return dict(corpus=corpus, base=base, config=config, stop=int(stop), error=error)


def controls(cfg, runner):
    """The model in one line, then Train / Pause, Step and Reset. Learning rate, clipping and the
    step limit reach a live model at once."""
    if runner is not None:
        st.markdown(ts.run_summary(runner.trainer))
    elif cfg["config"] is not None and cfg["corpus"] is not None:
        st.markdown(ts.setup_summary(cfg["config"], cfg["corpus"], cfg["base"] and cfg["base"].checkpoint))
    b, row = ts.buttons(runner, cfg["error"]), st.container(horizontal=True, vertical_alignment="center")
    go = "pause" if b.pause else "train"
    pressed = {go: row.button(go.capitalize(), icon=f":material/{'pause' if b.pause else 'play_arrow'}:",
                              key=f"tr_{go}", type="primary", width=120, disabled=not b.pause and b.train_off),
               "step": row.button(f"Step +{session.CHUNK}", icon=":material/skip_next:", key="tr_step", width=120,
                                  disabled=b.step_off, help=ts.HELP["step"].format(chunk=session.CHUNK)),
               "reset": row.button("Reset", icon=":material/restart_alt:", key="tr_reset", width=120,
                                   disabled=runner is None, help="Stop and throw this model away.")}
    if note := MSG["locked"] if runner is not None else cfg["error"]:
        st.caption(note)
    try:
        if pressed.get("train") or pressed["step"]:
            runner = start_or_revive(cfg, runner)
        if runner is not None:
            runner.with_trainer(lambda tr: ts.apply_live(tr, cfg["config"]))
            runner.max_steps = max(cfg["stop"], 0)
        if pressed.get("train"):
            if runner.max_steps is not None and runner.steps >= runner.max_steps:
                ss["tr_notice"] = MSG["at_limit"].format(limit=runner.max_steps)
            runner.start()
        elif pressed["step"]:
            if session.get_sampler() is not None:
                session.get_sampler().request()  # a fresh current sample after the step
            runner.step_once()
        elif pressed.get("pause"):
            runner.pause(wait=3.0)
        elif pressed["reset"]:
            session.drop_runner()
        if any(pressed.values()):
            st.rerun()
    except ValueError as e:
        st.error(f"Could not start training: {html.md(e)}")


def start_or_revive(cfg, runner):
    if runner is not None:
        return session.revive()
    base = cfg["base"] and cfg["base"].checkpoint
    with st.spinner("Preparing the model and the data..."):
        trainer = Trainer(cfg["corpus"], cfg["config"], model=base and base.model, source=base and base.name)
    ss["tr_saved"] = ts.remember(ss)
    ss["tr_sample_model"] = pickers.LIVE  # the sampling panel follows the new model
    return session.new_runner(trainer, max_steps=cfg["stop"])


def divergence_box(runner):
    with st.container(border=True):
        st.error(f"**Training diverged.** {runner.snapshot().divergence or ''}", icon=":material/warning:")
        st.markdown(MSG["diverged"])
        row = st.container(horizontal=True)
        if row.button("Restore last good weights", icon=":material/history:", key="tr_restore", type="primary"):
            ss["tr_notice"] = MSG["restored"].format(step=runner.restore_last_good())
            st.rerun()
        if row.button("Reset", icon=":material/restart_alt:", key="tr_reset_div"):
            session.drop_runner()
            st.rerun()


def live_view(polling: bool):
    """Inside the one polling fragment: status, numbers, curves, current sample and timeline."""
    runner = session.get_runner()
    if runner is None:
        return st.info(MSG["idle"], icon=":material/play_circle:")
    snap, tr = runner.snapshot(), runner.trainer
    if polling and not runner.active:
        st.rerun()  # training stopped (paused, diverged, finished): redraw the page once, without polling
    live.status_line(runner, snap)
    for col, m in zip(st.columns(6), ts.metrics(snap, len(tr.vocab))):
        col.metric(m.label, m.value, delta=m.delta, delta_color="inverse", help=m.help)
    if snap.max_steps:
        st.progress(min(1.0, snap.steps / snap.max_steps), text=f"Step {snap.steps:,} of {snap.max_steps:,}")
    clip = tr.config.clip_value if tr.config.clip else None
    figs = {"loss": _memo(("loss", snap.steps, len(snap.val), len(tr.vocab)), lambda: training_plots.loss_figure(
                snap.loss, snap.val, math.log(len(tr.vocab)))),
            "gradient_norm": _memo(("grad", snap.steps, clip), lambda: training_plots.grad_figure(snap.grad, clip))}
    for col, (name, fig) in zip(st.columns(1 if present.presenting() else 2) * 2, figs.items()):
        with col:
            charts.chart(training_plots.base_fonts(fig), key=f"tr_{name}_chart", name=f"train_{name}", width="stretch")
    sampler, font = session.get_sampler(), ts.PRESENTER_FONT if present.presenting() else ts.BOX_FONT
    current = sampler.latest if sampler is not None and sampler.latest is not None else (
        snap.samples[-1] if snap.samples else None)
    if current is not None:
        step, s = current
        st.markdown(MSG["current"].format(step=step, temperature=s.temperature))
        charts.html_view(_memo(("current", step, s.text, font), lambda: ts.sample_box(s, font=font)),
                         name="current_sample", title="Current sample")
    if snap.samples:
        st.markdown(MSG["timeline"])
        charts.html_view(_memo(("timeline", len(snap.samples), snap.samples[-1][0], font),
                               lambda: ts.timeline_html(snap, font=font)), name="samples_timeline",
                         title="Samples timeline")


def _memo(key, build):
    """Per-session cache of built figures and HTML for the polling views (bounded)."""
    memo = ss.setdefault("tr_render_memo", {})
    if key not in memo:
        if len(memo) > 48:
            memo.clear()
        memo[key] = build()
    return memo[key]


def sampling_view():
    """Any model, the shared sampling controls; the sample follows the settings (and the link)."""
    st.subheader("Sample from a model")
    choice = pickers.model_picker("tr_sample", default="shakespeare_lstm")
    if choice is None:
        return
    prime = st.text_input("Prime text (the model continues it)", key="tr_prime", max_chars=500,
                          placeholder="e.g. ROMEO:  or  def ", **BOUND)
    with present.controls("Sampling settings"):
        how = pickers.sampling_controls("tr_sample", default_length=300, default_temperature=1.0)
    st.button("Generate", icon=":material/auto_awesome:", key="tr_generate", type="primary",
              help="A new sample: the next seed.", on_click=ss.update, kwargs=dict(tr_sample_seed=how.seed + 1))
    try:
        s = _memo(("sample", choice.cache_key, prime, how), lambda: sample(
            choice.model, choice.vocab, prime=prime, **how.kwargs()))
    except ValueError as e:
        return st.error(html.md(e))
    st.caption(ts.sample_caption(choice.label, s))
    charts.html_view(ts.sample_box(s, prime=True, max_rows=ts.SAMPLE_MAX_ROWS, font=ts.PRESENTER_FONT if
                                   present.presenting() else ts.BOX_FONT), name="sample", title="Sample")
    st.html(html.legend("prob", "probability of the sampled character (hover for the top 5)"))


def save_load_view(runner):
    st.subheader("Save or load a model")
    c1, c2 = st.columns(2)
    with c1:
        if runner is None:
            st.caption("Train a model to download it here.")
        else:
            name = ts.download_name(runner.trainer)
            st.download_button("Download the live model (.safetensors)", file_name=f"{name}.safetensors",
                               data=lambda: ts.checkpoint_bytes(runner, name), mime="application/octet-stream",
                               icon=":material/download:", key="tr_download", on_click="ignore")
            st.caption(MSG["file"])
    with c2:
        held = ss.get(pickers.UPLOAD_KEY)
        cp = pickers.checkpoint_uploader("tr_ckpt_upload", label="Load a model downloaded from rnnviz")
        if cp is not None and ss.get(pickers.UPLOAD_KEY) is not held:  # a new good file: follow it
            ss["tr_follow_upload"] = True
            st.rerun()
        if ss.get("tr_loaded_note") and cp is not None:
            st.success(ss["tr_loaded_note"])


def main():
    page.header("Train & sample", MSG["intro"], lesson="train")
    runner = session.get_runner()
    ts.restore(ss, runner and runner.trainer.config, runner and runner.max_steps)
    if ss.pop("tr_follow_upload", False) and pickers.uploaded_checkpoint() is not None:
        ts.follow_upload(ss, pickers.uploaded_checkpoint(), has_run=runner is not None, uploaded=pickers.UPLOADED,
                         builtin=corpora.builtin_names())
    left, right = st.columns([1, 2.35], gap="large")
    with left:
        cfg = setup(runner)
    with right:
        controls(cfg, runner)
        if notice := ss.pop("tr_notice", None):
            st.info(notice, icon=":material/info:")
        if runner is not None and runner.status == "diverged":
            divergence_box(runner)
        live.live_panel(live_view)
    st.divider()
    c1, c2 = st.columns([1.45, 1], gap="large")
    with c1:
        sampling_view()
    with c2:
        save_load_view(runner)


main()
