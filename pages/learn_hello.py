"""Learn: the "hello" RNN of Lecture 8, every number on screen: a forward step with the
equation filled in, training, sampling, a backward step with clipping, truncated BPTT.
A link rebuilds the model from its setup and training history (training is deterministic)."""

from __future__ import annotations

import streamlit as st

from rnnviz import bptt, equations, hello
from rnnviz.plots import learn as plots
from rnnviz.ui import charts, page, pickers, present
from rnnviz.ui import html as ui_html

VIEWS = {"forward": "Forward step", "train": "Train", "sample": "Sample", "backward": "Backward step",
         "tbptt": "Truncated BPTT"}  # the labels are what the URL spells
MODEL_KEY, COPY_KEY, NOTE_KEY, HISTORY = "hello_model", "hello_copy_runs", "hello_note", "hello_train"
SETUP = {"word": "hello_word", "hidden": "hello_hidden", "seed": "hello_init_seed", "scale": "hello_scale"}
OPT_NAMES = {"adagrad": "Adagrad", "adam": "Adam", "sgd": "SGD"}
CLIP_NAMES = {"elementwise": "each entry", "norm": "whole norm", "none": "none"}
NUM3, NUM5 = st.column_config.NumberColumn(format="%.3f"), st.column_config.NumberColumn(format="%.5f")
FORMATS = {"p(target)": st.column_config.ProgressColumn("p(target)", min_value=0.0, max_value=1.0, format="%.3f"),
           "loss": st.column_config.NumberColumn(format="%.4f"), "p(drawn)": NUM3, "from all L": NUM5,
           "σ_max": st.column_config.TextColumn(help="Largest singular value of ∂h_t/∂h_t−1; none at t = 1"),
           "gradient norm": NUM5, "largest |entry|": NUM5, "cosine to raw": NUM5,
           "seconds": st.column_config.NumberColumn(format="%.1f")} | {c: NUM3 for c in bptt.COPY_SHARES}
bound = pickers.bound


def set_model(model: hello.HelloModel, note: tuple[str, str] | None = None) -> None:
    """Runs in callbacks (before the widgets exist), so the history widget can follow."""
    st.session_state[MODEL_KEY] = model
    st.session_state[HISTORY] = hello.history_text(model.history)
    st.session_state[NOTE_KEY] = note


def table(rows, key: str, extra=None, where=st) -> None:
    where.dataframe(rows, hide_index=True, width="stretch", key=key, column_config=FORMATS | (extra or {}))


def rebuild() -> None:
    try:
        model = hello.HelloModel(**{name: st.session_state[key] for name, key in SETUP.items()})
    except ValueError as e:
        st.session_state[NOTE_KEY] = ("error", f"{e} The current model was kept.")
        return
    st.session_state.pop(COPY_KEY, None)
    set_model(model, ("success", f"New untrained model: {model.hidden} hidden units, seed {model.seed}, "
                                 f"word '{ui_html.md(model.word)}'."))


def train(n: int) -> None:
    model, ss = st.session_state[MODEL_KEY], st.session_state
    try:
        model.set_optimizer(ss["hello_opt"], ss["hello_lr"])
        model.set_clip(ss["hello_clip"], ss["hello_clip_limit"])
        model.train(n)
        set_model(model)
    except ValueError as e:
        set_model(model, ("error", f"{e} Nothing more was trained with these settings."))


def reset() -> None:
    m = st.session_state[MODEL_KEY]
    set_model(hello.HelloModel(m.word, m.hidden, m.seed, m.scale), ("toast", "Weights reset to their initial values."))


def setup_and_model() -> hello.HelloModel | None:
    """The setup form, the session's model (first visit: built from the link), its history box."""
    with st.expander("Model setup: word, hidden size, seed", expanded=False):
        with st.form("hello_setup", border=False):
            c = st.columns([2, 1, 1, 1.4])
            bound(c[0].text_input, "Training word", value=hello.WORD, max_chars=hello.MAX_WORD, key=SETUP["word"],
                  help="The vocabulary is the distinct letters of this word, in order of appearance.")
            bound(c[1].number_input, "Hidden units", min_value=hello.HIDDEN_RANGE[0],
                  max_value=hello.HIDDEN_RANGE[1], value=3, step=1, key=SETUP["hidden"])
            bound(c[2].number_input, "Seed", min_value=0, max_value=10_000, value=0, step=1, key=SETUP["seed"])
            bound(c[3].select_slider, "Initial weight scale (std)", options=[0.01, 0.1, 0.3, 0.5, 1.0], value=0.3,
                  key=SETUP["scale"], help="min-char-rnn uses 0.01: the untrained numbers are then tiny.")
            st.form_submit_button("Build a new model", type="primary", on_click=rebuild)
        if MODEL_KEY not in st.session_state:
            try:
                with st.spinner("Replaying the training steps of this link..."):
                    model, note = hello.from_link(**{n: st.session_state[k] for n, k in SETUP.items()},
                                                  history=st.query_params.get(HISTORY, ""))
            except ValueError as e:
                st.error(f"{e} Change the setup above and build the model again.")
                return None
            set_model(model, ("warning", note) if note else None)
        bound(st.text_input, "Training so far (part of the link: it replays the same steps)", key=HISTORY,
              disabled=True, help="optimiser:learning rate:clipping:limit:steps, one group per change of settings.")
    if note := st.session_state.pop(NOTE_KEY, None):
        getattr(st, note[0])(note[1])
    return st.session_state[MODEL_KEY]


def metrics(rows) -> None:
    for col, (label, value, tip) in zip(st.columns(len(rows)), rows):
        col.metric(ui_html.md(label), value, help=tip)


def step_picker(cur: hello.Pass) -> int:
    pickers.drop_invalid("hello_step", range(cur.steps))
    return bound(st.radio, "Time step t (input letter → letter it should predict)", list(range(cur.steps)),
                 horizontal=True, format_func=lambda t: str(t + 1), key="hello_step",
                 captions=[ui_html.md(c) for c in hello.step_labels(cur)])


def view_forward(model, cur) -> None:
    t = step_picker(cur)
    charts.chart(plots.forward_step(cur, t), key="hello_fig_forward", name="hello_forward_step")
    metrics(hello.step_metrics(cur, t))
    st.markdown("##### The step written out with this model's numbers")
    for line in equations.hello_forward(cur, t):
        st.latex(line)


def view_train(model, cur) -> None:
    with present.controls("Training settings"):
        c = st.columns([1.3, 1, 1.3, 1])
        bound(c[0].selectbox, "Optimiser", list(OPT_NAMES), format_func=OPT_NAMES.get, key="hello_opt")
        bound(c[1].number_input, "Learning rate", min_value=0.0, max_value=10.0, value=0.1, step=0.01,
              format="%.4f", key="hello_lr")
        bound(c[2].selectbox, "Gradient clipping", list(CLIP_NAMES), format_func=CLIP_NAMES.get, key="hello_clip",
              help="Clip each entry to ±limit (min-char-rnn), rescale the whole gradient to norm ≤ limit, or none.")
        bound(c[3].number_input, "Clip limit", min_value=0.0, max_value=100.0, value=5.0, key="hello_clip_limit")
    b = st.columns(4)
    for col, n in zip(b, (1, 10, 100)):
        col.button(f"Train {n} step{'s' * (n > 1)}", key=f"hello_train{n}", width="stretch", on_click=train, args=(n,),
                   type="primary" if n == 100 else "secondary")
    b[3].button("Reset weights", key="hello_reset", width="stretch", on_click=reset,
                help="Back to the untrained weights of this seed; the history is cleared.")
    fc = st.columns(1 if present.presenting() else 2)
    for col, fig, name in zip(fc * 2, plots.training_figures(model, cur), ("loss", "pcorrect")):
        with col:
            charts.chart(fig, key=f"hello_fig_{name}", name=f"hello_{name}")
    table(hello.train_rows(cur), "hello_train_table")


def view_sample(model, cur) -> None:
    vocab = model.vocab
    with present.controls("Sampling settings"):
        c = st.columns(2)
        pickers.drop_invalid("hello_start", vocab)
        start = bound(c[0].selectbox, "Start letter", vocab, format_func=hello.show, key="hello_start")
        length = bound(c[1].number_input, "Letters to sample", min_value=1, max_value=24, value=max(cur.steps, 4),
                       step=1, key="hello_len")
        samp = pickers.sampling_controls("hello", length=False, default_temperature=1.0, top_k=False)
    st.button("Draw again (next seed)", key="hello_resample", disabled=samp.greedy,
              on_click=lambda: st.session_state.update(hello_seed=min(samp.seed + 1, 2**31 - 1)))
    chain = hello.sample_chain(model.params, vocab, start, int(length), temperature=samp.temperature,
                               seed=samp.seed, greedy=samp.greedy)
    cv = hello.chain_view(chain, vocab)
    charts.html_view(ui_html.prob_text(cv["text"], cv["probs"], cv["top"], prime=start, max_height=90,
                                       caption=hello.SAMPLE_CAPTION),
                     name="hello_sample", title="Sampled from the hello RNN", chars=cv["text"], details=cv["details"])
    st.html(ui_html.legend("prob"))
    charts.chart(plots.chain_figure(chain, vocab), key="hello_fig_chain", name="hello_sampling_chain")
    table(hello.chain_rows(chain, vocab), "hello_chain_table", {f"p('{hello.show(v)}')": NUM3 for v in vocab})


def view_backward(model, cur) -> None:
    t = step_picker(cur)
    st.markdown(f"##### Step {t + 1} backwards, with this model's numbers")
    for line in equations.hello_backward(cur, t):
        st.latex(line)
    rc = st.columns(1 if present.presenting() else [1.4, 1])
    with rc[0]:
        charts.chart(plots.last_loss_reach(cur), key="hello_fig_reach", name="hello_gradient_reach")
    with rc[-1]:
        table(hello.reach_rows(cur), "hello_reach_table", {f"from L{cur.steps}": NUM5})
        st.caption(hello.REACH_NOTE)
    gc = st.columns(1 if present.presenting() else 3)
    for i, (name, fig) in enumerate(plots.grad_heatmaps(cur).items()):
        with gc[i % len(gc)]:
            charts.chart(fig, key=f"hello_fig_grad_{name}", name=f"hello_grad_{name}")
    if note := hello.unused_note(cur):
        st.caption(note)
    st.markdown("##### Clipping: elementwise (min-char-rnn) next to norm clipping")
    cl = st.columns([1, 3])
    limit = bound(cl[0].number_input, "Limit", min_value=0.0, max_value=100.0, value=5.0, step=0.25,
                  key="hello_bw_limit", help="min-char-rnn uses 5. Lower it to see the two methods differ.")
    try:
        cmp = hello.compare_clipping(cur.grads, float(limit))
    except ValueError as e:
        st.error(f"{e} Showing the limit 5 instead.")
        cmp = hello.compare_clipping(cur.grads, 5.0)
    table(cmp.stats(), "hello_clip_table", where=cl[1])
    charts.chart(plots.clip_comparison(cmp), key="hello_fig_clip", name="hello_clipping")
    if note := cmp.unchanged_note():
        st.caption(note)


def compare(gap: int, seed: int, ks) -> None:
    try:
        with st.spinner("Training two small RNNs on the same text..."):
            st.session_state[COPY_KEY] = bptt.compare_runs(gap, seed, ks)
    except ValueError as e:
        st.session_state[NOTE_KEY] = ("warning", str(e))


def view_tbptt(model, cur) -> None:  # the model is not used: this view trains its own
    with present.controls("Task and chunk settings"):
        c = st.columns(4)
        gap = bound(c[0].slider, "Gap G (dots between x and ?)", 2, 10, 6, key="hello_gap")
        k_short = bound(c[1].slider, "k short", 1, 24, 4, key="hello_k_short")
        k_long = bound(c[2].slider, "k long", 2, 40, 9, key="hello_k_long")
        seed = int(bound(c[3].number_input, "Seed", min_value=0, max_value=10_000, value=0, key="hello_copy_seed"))
    span, text, ks = bptt.dependency_span(gap), bptt.copy_stream(gap, 3, seed=seed), {"short": k_short, "long": k_long}
    runs = bptt.runs_for(st.session_state.get(COPY_KEY), gap, seed)
    dk = ks[bound(st.radio, "Chunk length in the diagram", list(ks), captions=[f"k = {k}" for k in ks.values()],
                  horizontal=True, key="hello_diag_k")]
    pickers.drop_invalid("hello_loss_pos", range(len(text) - 1))
    lp = bound(st.select_slider, "Loss position", options=list(range(len(text) - 1)),
               value=bptt.default_loss_position(text, dk), key="hello_loss_pos", format_func=lambda p: f"L{p + 1}",
               help="The loss whose gradient the figures follow back in time.")
    st.caption(f"L{lp + 1} is the prediction after input '{text[lp]}' (right answer '{text[lp + 1]}'). Dependency "
               f"span: x is read {span} steps before the prediction that needs it; a record is {gap + 3} letters.")
    params, source = bptt.diagram_params(runs, k_long, seed)
    reach = bptt.gradient_reach(params, bptt.COPY_VOCAB, text, dk, lp)
    charts.chart(plots.tbptt_diagram(text, dk, lp, reach.truncated), key="hello_fig_tbptt", name="hello_tbptt")
    charts.chart(plots.reach_figure(reach), key="hello_fig_reach_tbptt", name="hello_tbptt_reach")
    st.caption(reach.caption(source))
    st.markdown("##### What truncation costs: train both and compare")
    st.button(f"Train with k = {k_short} and k = {k_long} (a few seconds)", type="primary", key="hello_copy_run",
              on_click=compare, args=(gap, seed, (k_short, k_long)))
    if not runs:
        st.info("Press the button to train one RNN per chunk length on the copy task (runs are not part of a link).")
        return
    charts.chart(plots.copy_curves([runs[k] for k in runs["order"]]), key="hello_fig_copy", name="hello_copy_task")
    table(bptt.copy_rows([runs[k] for k in runs["order"]], span), "hello_copy_table")
    st.caption(bptt.COPY_NOTE)


def main() -> None:
    page.header("Hello, RNN", "The smallest language model worth looking at: it knows four letters, **h e l o**, "
                "and has to learn the word *hello*. Every weight, activation, probability and gradient on this "
                "page is the real number the model computed.", lesson="hello")
    model = setup_and_model()
    if model is None:
        return
    cur = model.forward()
    metrics(hello.summary_metrics(model, cur))
    view = page.view_switch("hello_view", VIEWS)
    {"forward": view_forward, "train": view_train, "sample": view_sample, "backward": view_backward,
     "tbptt": view_tbptt}[view](model, cur)


main()
