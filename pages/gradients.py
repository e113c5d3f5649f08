"""Gradient flow: how far back in time a loss can still push (issue 6). Gradient vs distance
for the three Shakespeare cells and the chosen model, "break it" surgery, a clipping demo, the
live model's batch gradients, and connectivity; ``rnnviz.gradients`` does the analysis."""

import numpy as np
import streamlit as st

from rnnviz import celltypes
from rnnviz import gradients as grads
from rnnviz.plots import gradients as gplots
from rnnviz.ui import charts, live, page, pickers, present, session, state
from rnnviz.ui.html import describe_char, md

VIEWS = {"distance": "Gradient vs distance", "break": "Break it", "clip": "Clipping",
         "live": "During training", "connect": "Connectivity"}
COMPARE = ("shakespeare_rnn", "shakespeare_lstm", "shakespeare_gru")  # one trained model per cell type
TEXT_LENGTHS = (100, 150, 200, 300, 400)
SIZES = (16, 32, 64, 128)  # clipping demo: hidden units and sequence length


@st.cache_resource(show_spinner=False, max_entries=16)
def _init_model(key, _model):
    return grads.init_model(_model)  # frozen: shared by every session


@st.cache_data(show_spinner="Back-propagating through time...", max_entries=128)
def _run(what, key, _cp, kind, text, **kw):
    model = _cp.model if kind == "trained" else _init_model(key, _cp.model)
    return grads.experiment(what, model, _cp.vocab, text, **kw)


@st.cache_resource(show_spinner=False)
def _clip_store():
    return grads.ClipDemoStore()


def _panels(choice):
    """The three Shakespeare cells, plus the chosen model when it is another one."""
    out = [pickers.ModelChoice(n, cp, f"{celltypes.of(cp.model).label} ({n})", ("pretrained", n))
           for n, cp in ((n, state.pretrained(n)) for n in COMPARE)]
    return out + ([] if choice.key in COMPARE else [choice])


def _weights_radio(key, where=st):
    return where.radio("Weights", list(grads.WEIGHTS), format_func=grads.WEIGHTS.get, horizontal=True, key=key,
                       bind="query-params")


def view_distance(choice, text):
    with present.controls():
        c1, c2 = st.columns([2, 1])
        kinds = c1.multiselect("Weights", list(grads.WEIGHTS), default=list(grads.WEIGHTS), key="grad_kinds",
                               format_func=grads.WEIGHTS.get, bind="query-params",
                               help="Solid: trained. Dashed: freshly initialised (PyTorch's default init, seed 0).")
        show_c = c2.checkbox("Show the LSTM cell state c (dotted)", value=True, key="grad_show_c", bind="query-params")
    if not kinds:
        st.info("Pick at least one set of weights to plot.")
        return
    panels = []
    for c in _panels(choice):
        try:
            got = {k: _run("profile", c.cache_key, c.checkpoint, k, text) for k in kinds}
        except ValueError as e:
            st.warning(f"{md(c.label)}: {md(e)}")
            continue
        panels.append((c.label, got.get("trained"), got.get("init")))
    if panels:
        charts.chart(gplots.comparison_figure(panels, show_c=show_c), key="grad_cmp_chart", name="gradient_vs_distance")
        for label, trained, init in panels:
            st.markdown(f"**{md(label)}**: " + grads.summary(trained or init))


def view_break(choice, text):
    plain = grads.plain_recurrence(choice.cell)
    max_len = max(2, len(text) - 1)
    c1, c2 = st.columns(2)
    sigma = c1.slider("Largest singular value of W_hh (beta_W)", 0.1, 3.0, 0.9, 0.05, key="grad_brk_sigma",
                      bind="query-params")
    length = c2.slider("Sequence length T (steps before the loss)", 1, max_len, min(max_len, 150), key="grad_brk_len",
                       bind="query-params", help="Uses the last T+1 characters: same prediction, longer history.")
    with present.controls():
        c1, c2, c3 = st.columns(3)
        kind = _weights_radio("grad_brk_kind", c1)
        act = c1.radio("Activation g (vanilla RNN only)", list(grads.ACTIVATIONS), horizontal=True, key="grad_brk_act",
                       disabled=not plain, bind="query-params", help="Replays the weights (trained with tanh) with "
                       "another non-linearity; 'linear' means none at all.")
        rescale = c2.checkbox("Rescale W_hh", value=True, key="grad_brk_rescale", bind="query-params")
        orth = c2.checkbox("Make W_hh orthogonal first (all singular values equal)", key="grad_brk_orth",
                           disabled=not (plain and rescale), bind="query-params", help="Keeps U V^T of its SVD: a "
                           "linear RNN's gradient then changes by exactly beta_W per step.")
        which = c3.radio("Layers to rescale", grads.LAYER_CHOICES, horizontal=True, key="grad_brk_layers",
                         format_func=lambda w: w if w == "all" else f"layer {w}", disabled=not rescale,
                         bind="query-params")
    sub, key, cp = grads.last_steps(text, length), choice.cache_key, choice.checkpoint
    try:
        before, p = _run("break", key, cp, kind, sub, activation=act, sigma=sigma if rescale else None,
                         orthogonal=orth, layers=grads.layers_to_scale(which))
        _, ref = _run("break", key, cp, kind, sub)
    except ValueError as e:
        st.error(md(e))
        return
    cols = st.columns(p.layers + 1)
    for col, (label, value, change) in zip(cols, grads.layer_report(p, before)):
        col.metric(label, value, delta=change, delta_color="off",
                   help="beta_W is the largest singular value of W_hh: the most one step can stretch a vector.")
    rate = p.ratio_per_step()
    cols[-1].metric("Observed change per step back", f"x {rate:.3f}" if np.isfinite(rate) else "n/a", help="Geometric "
                    "mean of ||dL/dh_(t-1)|| / ||dL/dh_t|| over the last 20 steps, top layer (<1 vanishing, >1 exploding).")
    if not p.finite:
        st.warning("The numbers overflowed (became Inf or NaN): a factor above 1 per step soon exceeds what float32 "
                   "can hold. The gaps in the curve are those overflows. Shorten the sequence or lower beta_W.")
    charts.chart(gplots.break_figure(p, bound=p.bound() if plain else None, reference=ref), key="grad_brk_chart",
                 name="break_it")


def _clip_config():
    d = grads.ClipDemoConfig()
    c1, c2, c3, c4 = st.columns(4)
    lr = c1.number_input("Learning rate (SGD, momentum 0.9)", 0.001, 100.0, d.lr, 0.5, key="grad_clip_lr",
                         bind="query-params")
    thr = c2.number_input("Clipping threshold", 0.001, 100.0, d.clip_value, 0.05, format="%.3f", key="grad_clip_thr",
                          bind="query-params")
    steps = c3.number_input("Steps per run", 5, 600, d.steps, 25, key="grad_clip_steps", bind="query-params")
    seed = c4.number_input("Seed", 0, 10_000, d.seed, 1, key="grad_clip_seed", bind="query-params")
    with present.controls("More settings"):
        e1, e2, e3 = st.columns(3)
        hidden = e1.select_slider("Hidden units", SIZES, d.hidden, key="grad_clip_hidden", bind="query-params")
        seq_len = e2.select_slider("Sequence length", SIZES, d.seq_len, key="grad_clip_seq", bind="query-params")
        nonlin = e3.radio("Activation", ["relu", "tanh"], horizontal=True, key="grad_clip_act", bind="query-params",
                          help="With tanh the unclipped run rarely reaches NaN; its loss jumps far above ln|V| instead.")
    return grads.ClipDemoConfig(hidden=int(hidden), seq_len=int(seq_len), nonlinearity=nonlin, lr=float(lr),
                                clip_value=float(thr), steps=int(steps), seed=int(seed))


def view_clip(choice, text):
    cfg, store = _clip_config(), _clip_store()
    result = store.get(cfg)
    if st.button("Run the demo", type="primary", key="grad_clip_run", icon=":material/play_arrow:"):
        try:
            cfg.validate()
            with st.status("Training two vanilla RNNs...", expanded=True) as status:
                bar = st.progress(0.0)
                result = store.run(cfg, corpus=grads.demo_corpus(cfg.chars),
                                   progress=lambda f, msg: bar.progress(f, text=msg))
                status.update(label="Both runs finished.", state="complete", expanded=False)
        except ValueError as e:
            st.error(f"Could not run the demo: {md(e)}")
    if result is None:
        st.info("Press **Run the demo** to train both runs with these settings and compare them.")
        return
    charts.chart(gplots.clip_figure(result.runs), key="grad_clip_chart", name="clipping")
    for col, r in zip(st.columns(len(result.runs)), result.runs):
        ok, sentence = r.report()
        col.markdown(f"**{r.label.capitalize()}**")
        (col.success if ok else col.error)(sentence)


def view_live(choice, text):
    runner = session.get_runner()
    if runner is None or not hasattr(runner.trainer, "corpus"):
        st.info("No model is training right now. Start one on the Train page, then come back to follow its gradients.")
        st.page_link("pages/train.py", label="Train & sample", icon=":material/model_training:")
        return
    with present.controls():
        c1, c2 = st.columns(2)
        every = c1.select_slider("Refresh every N training steps", [10, 25, 50, 100, 250], 25, key="grad_live_every",
                                 bind="query-params")
        batch = c2.slider("Sequences in the batch", 1, 8, 4, key="grad_live_batch", bind="query-params")

    def render(polling):
        snap, tr = runner.snapshot(), runner.trainer
        seq_len = int(min(tr.config.seq_len, 100))
        compute = lambda: grads.live_batch(runner.checkpoint_copy(), tr.corpus.train_ids, seq_len, batch, snap.steps)
        try:
            held = grads.refresh_live(st.session_state.get("grad_live_cache"), (id(tr), batch, seq_len), snap.steps,
                                      every, compute)
        except ValueError as e:
            st.error(md(e))
            return
        st.session_state["grad_live_cache"] = held
        live.status_line(runner, snap)
        st.markdown(f"Gradients below are from step {held.steps:,} of your live model.")
        if snap.divergence:
            st.error(snap.divergence)
        bp = held.profile
        layer = pickers.layer_picker("grad_live", bp.h.shape[1])
        charts.chart(gplots.batch_heatmap(bp.h[:, layer], held.texts), key="grad_live_heat", name="batch_gradients")
        charts.chart(gplots.batch_lines(bp.mean), key="grad_live_lines", name="batch_mean_gradients")

    live.live_panel(render, runner=runner)


def view_connect(choice, text):
    n = len(text)
    pos = st.slider("Position t of the predicted character", 1, n - 1, n - 1, key="grad_conn_pos", bind="query-params")
    with present.controls():
        c1, c2 = st.columns(2)
        decades = c1.select_slider("Colour range (powers of ten)", [1, 2, 3, 4, 6], 3, key="grad_conn_dec",
                                   bind="query-params")
        kind = _weights_radio("grad_conn_kind", c2)
    target = md(describe_char(text[pos]))
    st.markdown(f"Explaining the prediction of character {pos} ({target}), shown in bold on yellow.")
    panels = _panels(choice)
    for col, c in zip(st.columns(len(panels)), panels):
        with col:
            st.markdown(f"**{md(c.celltype.label)}**")
            try:
                vals, prob = _run("connectivity", c.cache_key, c.checkpoint, kind, text, position=pos)
            except ValueError as e:
                st.error(md(e))
                continue
            charts.html_view(gplots.connectivity_html(text, pos, vals, prob, decades), name=f"connectivity_{c.key}",
                             title=f"Connectivity: {c.label}", key=f"grad_conn_{c.key}")
            st.caption(f"{md(c.label)}: p({target}) = {prob:.3f}; strongest gradient {np.max(vals):.1e}.")
    st.html(gplots.strength_legend(decades))


def _model_and_text():
    choice = pickers.model_picker("grad", default="shakespeare_rnn", help="The model to study; two views show "
                                  "it next to the three bundled Shakespeare models.")
    picked = choice and pickers.text_picker("grad", choice, cap=grads.MAX_STEPS + 1, default_length=400,
                                            sources=("paste", "val", "upload", "sample"), lengths=TEXT_LENGTHS,
                                            default_paste=grads.DEFAULT_TEXT,
                                            label="Text (the loss is on predicting its last character)")
    return choice, picked and picked.text


def main():
    page.header("Gradient flow through time",
                "Training an RNN sends the error of each prediction backwards through every earlier step. Here you "
                "watch how much of that signal survives the trip: it shrinks (vanishes) or grows (explodes) step by "
                "step, and the LSTM and GRU keep more of it alive than the vanilla RNN.", lesson="gradients")
    view = page.view_switch("grad_view", VIEWS)
    with st.expander("About this view") if present.presenting() else st.container():
        st.markdown(page.read_lesson(f"gradients_{view}"))  # our own Markdown
    choice = text = None
    if view in ("distance", "break", "connect"):
        with present.controls("Model and text"):
            choice, text = _model_and_text()
        try:
            if text is None:  # the picker said why (in the closed expander while presenting: point to it)
                return st.info("Open **Model and text** above.") if present.presenting() else None
            grads.encode(choice.vocab, text)
        except ValueError as e:
            return st.error(md(e))
    {"distance": view_distance, "break": view_break, "clip": view_clip, "live": view_live,
     "connect": view_connect}[view](choice, text)


main()
