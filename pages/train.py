"""Train & sample: train a character model live and watch its samples improve; sample any model.

Training runs in ``rnnviz.live.BackgroundTrainer`` (per session, ``rnnviz.ui.session``), polled by the one
live panel (``rnnviz.ui.live``); ``rnnviz.trainsetup`` holds the settings, words and read-outs. Every setting
is in the page address; a run is not (only its private ``?run=`` token).
"""

from __future__ import annotations

import streamlit as st

from rnnviz import corpora
from rnnviz import trainsetup as ts
from rnnviz.plots import training as training_plots
from rnnviz.sample import sample
from rnnviz.train import Trainer
from rnnviz.ui import charts, html, live, page, pickers, present, session, state

ss = st.session_state
MSG = ts.MESSAGES
TEXT = dict(slot="tr_user_corpus", size=1)  # the one parsed upload or paste of this session


def _widget(where, name, **kw):
    """One setting of ``ts.SETTINGS`` as its widget, bound to ``?tr_<name>=``."""
    s, default = ts.SETTINGS[name], ts.DEFAULTS[name]
    kw.update(key=f"tr_{name}", help=s.help, bind="query-params")
    if s.kind == "select_slider":
        return where.select_slider(s.label, s.options, value=default, format_func=s.fmt, **kw)
    if s.kind in ("selectbox", "radio"):
        extra = {"horizontal": True} if s.kind == "radio" else {}
        return getattr(where, s.kind)(s.label, s.options, index=s.options.index(default), format_func=s.fmt, **extra, **kw)
    if s.kind == "segmented_control":
        return where.segmented_control(s.label, s.options, default=default, format_func=s.fmt, **kw)
    if s.kind == "number_input":
        return where.number_input(s.label, min_value=s.options[0], max_value=s.options[-1], step=1, value=default, **kw)
    return getattr(where, s.kind)(s.label, value=default, **kw)


def _rows(rows, *, locked=False) -> dict:
    """Settings laid out row by row; those fixed during a run are disabled while one exists."""
    chosen = {}
    for row in rows:
        for where, name in zip(st.columns(len(row)) if len(row) > 1 else (st,), row):
            off = (locked and not ts.SETTINGS[name].live) or (name == "clip_value" and not chosen["clip"])
            chosen[name] = _widget(where, name, disabled=off)
    return chosen


def pick_corpus():
    src = _widget(st, "source")
    try:
        if src == ts.SOURCES[0]:
            return state.corpus(_widget(st, "corpus"))
        f = st.file_uploader(MSG["upload_label"].format(mb=corpora.limit_mb()), key="tr_text_upload") if src == ts.SOURCES[1] else None
        text = st.text_area("Your text", key="tr_paste", height=140, placeholder=MSG["paste_hint"]) if src == ts.SOURCES[2] else ""
        if f is not None:
            return _memo(("upload", f.file_id), lambda: corpora.from_bytes(f.getvalue(), name=f.name), **TEXT)
        if text:
            return _memo(("paste", hash(text)), lambda: corpora.from_text(text, name="pasted text"), **TEXT)
        st.info(MSG["upload"] if src == ts.SOURCES[1] else MSG["paste"].format(min=corpora.MIN_CHARS))
    except ValueError as e:
        st.error(f"{e}")
    return None


def text_and_model():
    """1 · Text and 2 · Model, before a run exists. Returns (corpus, base choice, arch, error)."""
    corpus = pick_corpus()
    if corpus is not None:
        st.caption(ts.corpus_caption(corpus))
    st.subheader("2 · Model")
    if _widget(st, "start") != "trained":
        return corpus, None, _rows(ts.MODEL_ROWS), None if corpus is not None else MSG["no_text"]
    choice = pickers.model_picker("tr_start", live=False, label="Trained model", default="shakespeare_lstm")
    if choice is None:
        return corpus, None, None, MSG["no_model"]
    st.caption(ts.base_caption(choice.checkpoint))
    fit = ts.fit(choice.checkpoint, corpus) if corpus is not None else ts.Fit(None, None)
    if fit.warning:
        st.warning(fit.warning)
    error = MSG["misfit"] if fit.warning else None if corpus is not None else MSG["no_text"]
    return fit.corpus, choice, None if fit.warning else ts.arch_of(choice.config), error


def setup(runner) -> dict:
    """The left column. Returns what the buttons need: corpus, base model, config, stop, error."""
    st.subheader("1 · Text")
    if runner is None:
        corpus, base, arch, error = text_and_model()
    else:
        st.caption(f"{ts.locked_summary(runner.trainer)} {ts.corpus_caption(runner.trainer.corpus)}")
        corpus, base, arch, error = runner.trainer.corpus, None, ts.arch_of(runner.trainer.model.config), None
    st.subheader("3 · Training")
    chosen = _rows(ts.TRAINING_ROWS, locked=runner is not None)
    stop = int(chosen["stop"])
    return dict(corpus=corpus, base=base, config=ts.train_config(arch, **chosen) if arch else None, stop=stop, error=error)


def controls(cfg, runner):
    """The model in one line, then Train / Pause, Step, Reset; lr, clipping and the step limit reach a live model."""
    if runner is not None or (cfg["config"] is not None and cfg["corpus"] is not None):
        st.markdown(ts.run_summary(runner.trainer) if runner else ts.setup_summary(cfg["config"], cfg["corpus"], cfg["base"] and cfg["base"].checkpoint))
    b, row = ts.buttons(runner, cfg["error"]), st.container(horizontal=True, vertical_alignment="center")
    go, icon = ("pause", "pause") if b.pause else ("train", "play_arrow")
    pressed = {go: row.button(go.capitalize(), icon=f":material/{icon}:", key=f"tr_{go}", type="primary", width=120, disabled=not b.pause and b.train_off),
               "step": row.button(f"Step +{session.CHUNK}", icon=":material/skip_next:", key="tr_step", width=120, disabled=b.step_off, help=ts.HELP["step"].format(chunk=session.CHUNK)),
               "reset": row.button("Reset", icon=":material/restart_alt:", key="tr_reset", width=120, disabled=runner is None, help=MSG["reset"])}
    if note := MSG["locked"] if runner is not None else cfg["error"]:
        st.caption(note)
    try:
        button = next((name for name, down in pressed.items() if down), None)
        if button in ("train", "step"):
            runner = start_or_revive(cfg, runner)
        if runner is not None:
            ts.apply_run_settings(runner, cfg["config"], cfg["stop"])
        if button == "reset":
            session.drop_runner()
        elif button is not None:
            ss["tr_notice"] = ts.press(runner, button, session.get_sampler())
        if button is not None:
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
        restore = (row := st.container(horizontal=True)).button("Restore last good weights", icon=":material/history:", key="tr_restore", type="primary")
        if row.button("Reset", icon=":material/restart_alt:", key="tr_reset_div") or restore:
            ss["tr_notice"] = MSG["restored"].format(step=runner.restore_last_good()) if restore else session.drop_runner()
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
    for col, m in zip(st.columns(3) + st.columns(3), ts.metrics(snap, len(tr.vocab))):  # two rows: no cut numbers
        col.metric(m.label, m.value, delta=m.delta, delta_color="inverse", help=m.help)
    if snap.max_steps:
        st.progress(min(1.0, snap.steps / snap.max_steps), text=f"Step {snap.steps:,} of {snap.max_steps:,}")
    clip = tr.config.clip_value if tr.config.clip else None
    figs = _memo(("curves", snap.steps, len(snap.val), len(tr.vocab), clip), lambda: training_plots.live_figures(snap, len(tr.vocab), clip))
    for col, (name, fig) in zip(st.columns(1 if present.presenting() else 2) * 2, figs.items()):
        with col:
            charts.chart(fig, key=f"tr_{name}_chart", name=f"train_{name}", width="stretch")
    font, current = ts.box_font(present.presenting()), ts.current_sample(session.get_sampler(), snap)
    if current is not None:
        step, s = current
        st.markdown(MSG["current"].format(step=step, temperature=s.temperature))
        charts.html_view(_memo(("current", step, s.text, font), lambda: ts.sample_box(s, font=font)), name="current_sample", title="Current sample")
    if snap.samples:
        st.markdown(MSG["timeline"])
        html_tl = _memo(("timeline", len(snap.samples), snap.samples[-1][0], font), lambda: ts.timeline_html(snap, font=font))
        charts.html_view(html_tl, name="samples_timeline", title="Samples timeline")


def _memo(key, build, *, slot="tr_render_memo", size=48):
    """Per-session cache (bounded): built figures and HTML for the polling views, parsed texts."""
    memo = ss.setdefault(slot, {})
    if key not in memo:
        if len(memo) >= size:
            memo.clear()
        memo[key] = build()
    return memo[key]


def sampling_view():
    """Any model, the shared sampling controls; the sample follows the settings (and the link)."""
    st.subheader("Sample from a model")
    choice = pickers.model_picker("tr_sample", default="shakespeare_lstm")
    if choice is None:
        return
    prime = st.text_input("Prime text (the model continues it)", key="tr_prime", max_chars=500, placeholder=MSG["prime_hint"], bind="query-params")
    with present.controls("Sampling settings"):
        how = pickers.sampling_controls("tr_sample", default_length=300, default_temperature=1.0)
    st.button("Generate", icon=":material/auto_awesome:", key="tr_generate", type="primary", help=MSG["generate"], on_click=ss.update, kwargs=dict(tr_sample_seed=how.seed + 1))
    try:
        s = _memo(("sample", choice.cache_key, prime, how), lambda: sample(choice.model, choice.vocab, prime=prime, **how.kwargs()))
    except ValueError as e:
        return st.error(html.md(e))
    st.caption(ts.sample_caption(choice.label, s))
    box = ts.sample_box(s, prime=True, max_rows=ts.SAMPLE_MAX_ROWS, font=ts.box_font(present.presenting()))
    charts.html_view(box, name="sample", title="Sample")
    st.html(html.legend("prob", "probability of the sampled character (hover for the top 5)"))


def save_load_view(runner):
    st.subheader("Save or load a model")
    if runner is None:
        st.caption(MSG["no_download"])
    else:
        name = ts.download_name(runner.trainer)
        st.download_button("Download the live model (.safetensors)", file_name=f"{name}.safetensors",
                           data=lambda: ts.checkpoint_bytes(runner, name), mime="application/octet-stream", icon=":material/download:", key="tr_download", on_click="ignore", help=MSG["file"])
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
    if ss.pop("tr_follow_upload", False) and (cp := pickers.uploaded_checkpoint()) is not None:
        ts.follow_upload(ss, cp, has_run=runner is not None, uploaded=pickers.UPLOADED, builtin=corpora.builtin_names())
    presenting = present.presenting()  # settings tucked away, the live run full width
    left, right = (None, None) if presenting else st.columns([1, 2.35], gap="large")
    with left or present.controls("Training settings"):
        cfg = setup(runner)
    with right or st.container():
        controls(cfg, runner)
        if notice := ss.pop("tr_notice", None):
            st.info(notice, icon=":material/info:")
        if runner is not None and runner.status == "diverged":
            divergence_box(runner)
        live.live_panel(live_view)
    st.divider()
    c1, c2 = st.columns([1.45, 1], gap="large") if not presenting else (st.container(), st.container())
    with c1:
        sampling_view()
    with c2:
        save_load_view(runner)


main()
