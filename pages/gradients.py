"""Gradient flow: how far back in time a loss can still push (issue 6).

Gradient norms against distance for RNN / LSTM / GRU (trained and at
initialisation), "break it" controls, a clipping demo, the live model's batch
gradients while it trains, Distill-style connectivity, and the lesson.
"""

import numpy as np
import streamlit as st

from rnnviz import gradients as G
from rnnviz.models import CELL_LABELS
from rnnviz.plots import gradients as gp
from rnnviz.ui import html as H
from rnnviz.ui import session, state
from rnnviz.ui.state import ensure_app_navigation

ensure_app_navigation()

MODELS = {"rnn": "shakespeare_rnn", "lstm": "shakespeare_lstm", "gru": "shakespeare_gru"}
TABS = ["Gradient vs distance", "Break it", "Clipping", "During training", "Connectivity", "Lesson"]
INIT_SEED = G.INIT_SEED


# ------------------------------------------------------------------ cached computations


@st.cache_resource(show_spinner=False)
def init_model(name: str):
    """The bundled model's architecture at initialisation (shared: read-only)."""
    return G.init_model(state.pretrained(name).model, seed=INIT_SEED)


def model_for(name: str, kind: str):
    return state.pretrained(name).model if kind == "trained" else init_model(name)


@st.cache_data(show_spinner="Back-propagating through time...", max_entries=64)
def cached_profile(name: str, kind: str, text: str) -> G.GradientProfile:
    cp = state.pretrained(name)
    return G.gradient_profile(model_for(name, kind), G.encode(cp.vocab, text), text=text)


@st.cache_data(show_spinner="Back-propagating through time...", max_entries=64)
def cached_break(name: str, kind: str, text: str, activation: str, sigma, orthogonal: bool, layers):
    cp = state.pretrained(name)
    return G.break_profile(model_for(name, kind), G.encode(cp.vocab, text), activation=activation,
                           sigma=sigma, layers=layers, orthogonal=orthogonal, text=text)


@st.cache_data(show_spinner="Computing connectivity...", max_entries=64)
def cached_connectivity(name: str, kind: str, text: str, position: int):
    cp = state.pretrained(name)
    return G.connectivity(model_for(name, kind), G.encode(cp.vocab, text), position)


# ------------------------------------------------------------------ page

st.title("Gradient flow through time")
st.markdown(
    "Training an RNN sends the error of each prediction backwards through every earlier step. "
    "On this page you watch how much of that signal survives the trip: it shrinks (vanishes) or "
    "grows (explodes) step by step, and the LSTM and GRU keep more of it alive than the vanilla RNN."
)

text = st.text_area(
    "Text to analyse (the loss is measured on predicting its **last** character)",
    G.DEFAULT_TEXT, height=130, key="grad_text",
    help=f"Between 2 and {G.MAX_STEPS + 1} characters, using only characters the Shakespeare models know.",
)
text_error = None
try:
    G.encode(state.pretrained(MODELS["lstm"]).vocab, text)
except ValueError as e:
    text_error = str(e)

tabs = st.tabs(TABS, key="grad_tab", on_change="rerun")


def need_text() -> bool:
    if text_error:
        st.error(f"{text_error}")
        return False
    return True


# ------------------------------------------------------------------ 1. gradient vs distance
with tabs[0]:
    if tabs[0].open and need_text():
        st.markdown(
            "Each curve is $\\lVert \\partial L_T / \\partial \\mathbf{h}_t \\rVert$: how strongly the loss at the "
            "last step $T$ depends on the hidden state $t$ steps earlier. The y axis is logarithmic: one grid "
            "line down means ten times weaker."
        )
        c1, c2 = st.columns([2, 1])
        with c1:
            kinds = st.multiselect("Weights", ["trained", "at init"], default=["trained", "at init"], key="grad_kinds",
                                   help="Solid: the bundled trained models. Dashed: the same architecture freshly "
                                        "initialised (PyTorch's default uniform init, seed 0).")
        with c2:
            show_c = st.checkbox("Show the LSTM cell state c (dotted)", value=True, key="grad_show_c")
        if not kinds:
            st.info("Pick at least one set of weights to plot.")
        else:
            panels, notes = [], []
            for cell, name in MODELS.items():
                try:
                    tr = cached_profile(name, "trained", text) if "trained" in kinds else None
                    ini = cached_profile(name, "init", text) if "at init" in kinds else None
                except ValueError as e:
                    st.warning(f"{CELL_LABELS[cell]} ({name}): {e}")
                    continue
                panels.append((f"{CELL_LABELS[cell]} ({name})", tr, ini))
                notes.append((CELL_LABELS[cell], tr or ini))
            live = session.live_checkpoint()
            if live is not None:
                try:
                    ids = G.encode(live.vocab, text)
                    lp = G.gradient_profile(live.model, ids, text=text)
                    li = G.gradient_profile(G.fresh_like(live.model, INIT_SEED), ids, text=text) if "at init" in kinds else None
                    panels.append((f"Your live model (step {live.card.get('steps', 0):,})", lp, li))
                    notes.append(("Your live model", lp))
                except ValueError as e:
                    st.warning(f"Your live model cannot read this text: {e}")
            if panels:
                st.plotly_chart(gp.comparison_figure(panels, show_c=show_c), width="stretch", key="grad_cmp_chart")
                for label, p in notes:
                    st.markdown(f"**{label}**: " + G.summary(p))
            st.caption(
                "x = 0 is the last character read; the loss is the surprise at the next one. For a 2-layer model "
                "the blue line is layer 1 (bottom), red is layer 2 (top). Gradients were taken with respect to "
                "the very tensors the step-by-step replay used, for one sequence, in float32 (values below about "
                "1e-38 underflow to zero and leave a gap)."
            )

# ------------------------------------------------------------------ 2. break it
with tabs[1]:
    if tabs[1].open and need_text():
        st.markdown(
            "Change one thing at a time and watch the curve collapse or explode. Every change is made on a private "
            "copy of the model; the black dash-dot line is the textbook bound "
            "$\\lVert \\partial L/\\partial \\mathbf{h}_T\\rVert\\,(\\beta_W\\beta_h)^{T-t}$ for the top layer."
        )
        c1, c2, c3 = st.columns(3)
        with c1:
            cell = st.radio("Cell", list(MODELS), format_func=lambda c: CELL_LABELS[c], horizontal=True,
                            key="grad_brk_cell")
            kind = st.radio("Weights", ["trained", "init"], horizontal=True, key="grad_brk_kind",
                            format_func=lambda k: "trained" if k == "trained" else "at initialisation")
            act = st.radio("Activation g (vanilla RNN only)", list(G.ACTIVATIONS), horizontal=True,
                           key="grad_brk_act", disabled=cell != "rnn",
                           help="Replays the same weights with another non-linearity (an experiment: the model "
                                "was trained with tanh). 'linear' means no non-linearity at all.")
        with c2:
            rescale = st.checkbox("Rescale W_hh", value=True, key="grad_brk_rescale")
            sigma = st.slider("Largest singular value of W_hh (beta_W)", 0.1, 3.0, 0.9, 0.05, key="grad_brk_sigma",
                              disabled=not rescale)
            orth = st.checkbox("Make W_hh orthogonal first (all singular values equal)", value=False,
                               key="grad_brk_orth", disabled=(cell != "rnn" or not rescale),
                               help="Keeps only the 'directions' of W_hh (U V^T of its SVD). Then a linear RNN's "
                                    "gradient changes by exactly beta_W per step.")
            which = st.radio("Layers to rescale", ["all", "layer 1", "layer 2"], horizontal=True,
                             key="grad_brk_layers", disabled=not rescale)
        with c3:
            max_len = max(2, len(text) - 1)
            length = st.slider("Sequence length T (steps before the loss)", 1, max_len, min(max_len, 150),
                               key="grad_brk_len",
                               help="Uses the last T+1 characters of the text: the prediction stays the same, "
                                    "the history gets longer.")
        name = MODELS[cell]
        sub = G.last_steps(text, length)
        layers = G.layers_to_scale("all" if which == "all" else which.split()[1])
        try:
            before, p = cached_break(name, kind, sub, act if cell == "rnn" else "tanh",
                                     sigma if rescale else None, bool(orth and cell == "rnn"), layers)
            _, ref = cached_break(name, kind, sub, "tanh", None, False, None)
        except ValueError as e:
            st.error(str(e))
        else:
            cols = st.columns(p.layers + 1)
            for col, (label, value, change) in zip(cols, G.layer_report(p, before)):
                col.metric(label, value, delta=change, delta_color="off", help="beta_W is the largest singular value of the recurrent "
                               "matrix W_hh: the most any step can stretch a vector.")
            rate = p.ratio_per_step()
            cols[-1].metric("Observed change per step back", f"x {rate:.3f}" if np.isfinite(rate) else "n/a",
                            help="Geometric mean of ||dL/dh_(t-1)|| / ||dL/dh_t|| over the 20 steps next to the "
                                 "loss, top layer. Below 1: vanishing. Above 1: exploding.")
            bound = p.bound() if cell == "rnn" else None
            if not p.finite:
                st.warning(
                    "The numbers overflowed (became infinite or NaN) somewhere along the sequence: with a factor "
                    "above 1 per step, 100 steps multiply the gradient by more than float32 can hold. The gaps in "
                    "the curve are those overflows. Shorten the sequence or lower beta_W."
                )
            st.plotly_chart(gp.break_figure(p, bound=bound, reference=ref), width="stretch", key="grad_brk_chart")
            if cell == "rnn":
                st.caption(
                    f"beta_h = {p.beta_h:g} bounds |g'| for {p.activation}. The bound only uses the *largest* "
                    "singular value, so it is often loose: the curve follows the largest |eigenvalue| over long "
                    "distances, and with tanh the derivative is usually well below 1. Dashed, faded: the unchanged "
                    "model with tanh."
                )
            else:
                st.caption(
                    "No simple bound is drawn for gated cells: their step Jacobian depends on the gates, not only "
                    "on W_hh (which stacks all gate matrices here). Dashed, faded: the unchanged model."
                )

# ------------------------------------------------------------------ 3. clipping
with tabs[2]:
    if tabs[2].open:
        st.markdown(
            "The same vanilla RNN (1 x 64, ReLU) is trained **twice from the same seed** with plain SGD at a "
            "learning rate far too high for it: once without clipping and once with the gradient norm clipped. "
            "A bounded number of steps runs right here on the server (a few seconds)."
        )
        d = G.ClipDemoConfig()
        c1, c2, c3, c4 = st.columns(4)
        lr = c1.number_input("Learning rate (SGD, momentum 0.9)", 0.001, 100.0, d.lr, 0.5, key="grad_clip_lr")
        thr = c2.number_input("Clipping threshold", 0.001, 100.0, d.clip_value, 0.05, format="%.3f",
                              key="grad_clip_thr")
        steps = c3.number_input("Steps per run", 5, 600, d.steps, 25, key="grad_clip_steps")
        seed = c4.number_input("Seed", 0, 10_000, d.seed, 1, key="grad_clip_seed")
        with st.expander("More settings"):
            e1, e2, e3 = st.columns(3)
            hidden = e1.select_slider("Hidden units", [16, 32, 64, 128], d.hidden, key="grad_clip_hidden")
            seq_len = e2.select_slider("Sequence length", [16, 32, 64, 128], d.seq_len, key="grad_clip_seq")
            nonlin = e3.radio("Activation", ["relu", "tanh"], horizontal=True, key="grad_clip_act",
                              help="With tanh the hidden state cannot overflow, so the unclipped run rarely reaches "
                                   "NaN; its loss jumps far above ln|V| instead, which the trainer also treats "
                                   "as blowing up.")
        if st.button("Run the demo", type="primary", key="grad_clip_run", icon=":material/play_arrow:"):
            cfg = G.ClipDemoConfig(hidden=int(hidden), seq_len=int(seq_len), nonlinearity=nonlin, lr=float(lr),
                                   clip_value=float(thr), steps=int(steps), seed=int(seed))
            try:
                cfg.validate()
                with st.status("Training two vanilla RNNs...", expanded=True) as status:
                    bar = st.progress(0.0)
                    result = G.clipping_demo(cfg, corpus=G.demo_corpus(cfg.chars),
                                             progress=lambda f, msg: bar.progress(f, text=msg))
                    status.update(label="Both runs finished.", state="complete", expanded=False)
                st.session_state["grad_clip_result"] = result
            except ValueError as e:
                st.error(f"Could not run the demo: {e}")
        result = st.session_state.get("grad_clip_result")
        if result is None:
            st.info("Press **Run the demo** to train both runs and compare them.")
        else:
            st.plotly_chart(gp.clip_figure(result.runs), width="stretch", key="grad_clip_chart")
            cols = st.columns(len(result.runs))
            for col, r in zip(cols, result.runs):
                with col:
                    st.markdown(f"**{r.label.capitalize()}**")
                    if r.divergence:
                        st.error(r.divergence)
                    else:
                        fl = f"{r.final_loss:.3f}" if r.final_loss is not None else "n/a"
                        st.success(f"Trained all {r.steps:,} steps without overflow; last loss {fl} nats/char.")
            st.caption(
                "Left: training loss. Right: the gradient norm measured before clipping (log scale). Clipping "
                "does not make the gradient small; it caps the size of the *step* taken with it."
            )

# ------------------------------------------------------------------ 4. during training
with tabs[3]:
    if tabs[3].open:
        runner = session.get_runner()
        if runner is None:
            st.info("You have no model training right now. Start one on the Train page, then come back here: "
                    "this view follows the gradients of your live model while it learns.")
            st.page_link("pages/train.py", label="Train & sample", icon=":material/model_training:")
        else:
            st.markdown(
                "For a batch cut from your corpus the way the trainer cuts its batches, each cell shows "
                "$\\lVert \\partial L / \\partial \\mathbf{h}_t \\rVert$ for the training loss $L$ (the mean over "
                "all steps of the batch): how much gradient reaches step $t$. Late steps receive "
                "gradient from few predictions, early ones from many, if it survives the trip."
            )
            c1, c2 = st.columns(2)
            every = c1.select_slider("Refresh every N training steps", [10, 25, 50, 100, 250], 25,
                                     key="grad_live_every")
            batch = c2.slider("Sequences in the batch", 1, 8, 4, key="grad_live_batch")
            polling = bool(getattr(runner, "active", runner.status in ("running", "queued")))

            @st.fragment(run_every=2.0 if polling else None)
            def live_panel():
                now_polling = bool(getattr(runner, "active", runner.status in ("running", "queued")))
                if now_polling != polling:
                    st.rerun()
                snap = runner.snapshot()
                tr = runner.trainer
                seq_len = int(min(tr.config.seq_len, 100))
                key = (id(runner), batch, seq_len)
                cache = st.session_state.get("grad_live_cache")
                stale = (cache is None or cache["key"] != key or snap.steps < cache["steps"]
                         or snap.steps - cache["steps"] >= every)
                if stale:
                    cp = runner.checkpoint_copy()
                    try:
                        windows = G.batch_windows(tr.corpus.train_ids, seq_len, batch, seed=snap.steps)
                        bp = G.batch_profile(cp.model, windows)
                    except ValueError as e:
                        st.error(str(e))
                        return
                    cache = {"key": key, "steps": snap.steps, "bp": bp,
                             "texts": [cp.vocab.decode(w[:-1]) for w in windows]}
                    st.session_state["grad_live_cache"] = cache
                bp = cache["bp"]
                label = {"running": "training", "queued": "waiting for a free CPU slot"}.get(snap.status, snap.status)
                st.markdown(f"Live model: **{label}**, step {snap.steps:,}. Gradients below are from step "
                            f"{cache['steps']:,}" + (" (refreshing every 2 s while it trains)." if polling else "."))
                if snap.divergence:
                    st.error(snap.divergence)
                layers = bp.h.shape[1]
                layer = st.radio("Layer", list(range(layers)), index=layers - 1, horizontal=True,
                                 format_func=lambda k: f"layer {k + 1}", key="grad_live_layer") if layers > 1 else 0
                layer = min(int(layer), layers - 1)
                st.plotly_chart(gp.batch_heatmap(bp.h[:, layer], cache["texts"]), width="stretch",
                                key="grad_live_heat")
                st.plotly_chart(gp.batch_lines(bp.mean), width="stretch", key="grad_live_lines")

            live_panel()

# ------------------------------------------------------------------ 5. connectivity
with tabs[4]:
    if tabs[4].open and need_text():
        st.markdown(
            "Pick a character. Every character before it is coloured by "
            "$\\lVert \\partial \\log p(x_t) / \\partial \\mathbf{e}_k \\rVert$, the gradient of the log-probability "
            "of the chosen character with respect to the input embedding of character $k$: how much the "
            "prediction could still be changed by what was read there (after Madsen, *Visualizing memorization "
            "in RNNs*, Distill 2019)."
        )
        c1, c2, c3 = st.columns([3, 1, 1])
        n = len(text)
        pos = c1.slider("Position t of the predicted character", 1, n - 1, n - 1, key="grad_conn_pos")
        decades = c2.select_slider("Colour range (powers of ten)", [1, 2, 3, 4, 6], 3, key="grad_conn_dec")
        kind = c3.radio("Weights", ["trained", "init"], horizontal=True, key="grad_conn_kind",
                        format_func=lambda k: "trained" if k == "trained" else "at init")
        target = text[pos]
        st.markdown(f"Explaining the prediction of character {pos} ({H.describe_char(target)}) - shown in bold "
                    "with an outline.")
        cols = st.columns(3)
        for col, (cell, name) in zip(cols, MODELS.items()):
            with col:
                st.markdown(f"**{CELL_LABELS[cell]}**")
                try:
                    vals, prob = cached_connectivity(name, kind, text, pos)
                except ValueError as e:
                    st.error(str(e))
                    continue
                st.html(gp.connectivity_html(text, pos, vals, prob, decades))
                st.caption(f"p({H.describe_char(target)}) = {prob:.3f}; strongest gradient {np.max(vals):.1e}.")
        st.html(gp.strength_legend(decades))

# ------------------------------------------------------------------ 6. lesson
with tabs[5]:
    if tabs[5].open:
        st.subheader("Why gradients vanish or explode")
        st.markdown(
            "Take the simplest recurrence, $\\mathbf{h}_t = g(\\mathbf{a}_t)$ with "
            "$\\mathbf{a}_t = W\\mathbf{h}_{t-1} + U\\mathbf{x}_t + \\mathbf{b}$. A loss $L_T$ at the end can "
            "only reach an early state $\\mathbf{h}_k$ by passing through every state in between, so the chain "
            "rule turns into a product with one factor per step:"
        )
        st.latex(r"\frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_k}"
                 r"=\prod_{j=k+1}^{t}\frac{\partial \mathbf{h}_j}{\partial \mathbf{h}_{j-1}}"
                 r"=\prod_{j=k+1}^{t}\operatorname{diag}\!\big(g'(\mathbf{a}_j)\big)\,W")
        st.markdown(
            "(Written for column vectors; the backward pass multiplies by the transpose, "
            "$W^\\top\\operatorname{diag}(g')$, which has the same norms.) Each factor can stretch a vector "
            "by at most its largest singular value. Call $\\beta_W$ the largest singular value of $W$ and "
            "$\\beta_h$ an upper bound on $|g'|$ (1 for tanh, ReLU and the identity). Then"
        )
        st.latex(r"\Big\lVert \frac{\partial \mathbf{h}_t}{\partial \mathbf{h}_k} \Big\rVert"
                 r"\le \prod_{j=k+1}^{t}\lVert W\rVert\,\lVert \operatorname{diag}(g'(\mathbf{a}_j))\rVert"
                 r"\le (\beta_W\beta_h)^{\,t-k}")
        st.markdown(
            "- If $\\beta_W\\beta_h < 1$ the bound itself shrinks geometrically: a loss can barely reach states "
            "more than a few dozen steps back, so the network gets almost no signal to learn long-range "
            "dependencies. That is the **vanishing gradient**.\n"
            "- If $\\beta_W\\beta_h > 1$ the bound allows geometric growth, and when the input keeps the "
            "vectors aligned with the stretching directions the gradient really does blow up: an **exploding "
            "gradient**, one huge update, and the weights (then the loss) become Inf or NaN.\n"
            "- The bound is a worst case. Over long distances what matters is the largest |eigenvalue| of the "
            "product, and tanh's derivative is usually well below 1, so real curves often sit far under it "
            "(the *Break it* tab shows both)."
        )
        st.subheader("Clipping: a cap on the step, not a cure")
        st.markdown("Before each update, measure the norm of the whole gradient and shrink it if it is too long:")
        st.code(
            "g = gradient of the loss with respect to all parameters\n"
            "n = norm(g)                      # one number for the whole model\n"
            "if n > threshold:\n"
            "    g = g * (threshold / n)      # same direction, shorter step\n"
            "parameters = parameters - learning_rate * g",
            language="python",
        )
        st.markdown(
            "The direction is kept, only the length is limited, so one unlucky batch cannot throw the weights "
            "somewhere absurd. In PyTorch this is `torch.nn.utils.clip_grad_norm_`. Clipping handles "
            "explosions only; it cannot make a vanished gradient bigger."
        )
        st.subheader("Why the LSTM's cell path helps")
        st.markdown("The LSTM updates its cell state by *adding* new content to a gated copy of the old one:")
        st.latex(r"\mathbf{c}_t=\mathbf{f}_t\odot\mathbf{c}_{t-1}+\mathbf{i}_t\odot\mathbf{g}_t"
                 r"\qquad\Rightarrow\qquad"
                 r"\frac{\partial \mathbf{c}_t}{\partial \mathbf{c}_{t-1}}\Big|_{\text{direct path}}"
                 r"=\operatorname{diag}(\mathbf{f}_t)")
        st.markdown(
            "Along this direct path there is no multiplication by a weight matrix and no squashing "
            "derivative, only an element-wise factor that the network itself controls. A unit whose forget "
            "gate stays near 1 passes its gradient back almost unchanged over many steps, much like a skip "
            "connection in a ResNet. The GRU gets the same effect from its update gate: "
            "$\\mathbf{h}_t = (1-\\mathbf{z}_t)\\odot\\mathbf{n}_t + \\mathbf{z}_t\\odot\\mathbf{h}_{t-1}$."
        )
        st.subheader("...but no guarantee")
        st.markdown(
            "The cell path only keeps a gradient alive if the forget gates are actually open. A forget gate "
            "of 0.9 still shrinks the signal to $0.9^{50}\\approx 0.5\\%$ after 50 steps, and at initialisation "
            "the gates sit around 0.5. The other paths (through $\\mathbf{h}_{t-1}$ into the gates and the "
            "candidate) still multiply by weight matrices and can vanish or explode as in a vanilla RNN. "
            "So the LSTM makes long-range learning *possible and easier*; it does not forbid vanishing "
            "or exploding gradients. Compare the dashed (initial) and solid (trained) LSTM curves in the "
            "first tab."
        )
        st.subheader("Try this")
        st.markdown(
            "1. **Gradient vs distance**: compare how many powers of ten the vanilla RNN loses over 50 steps "
            "with the LSTM and the GRU. Then show only *at init*: which cell starts out better?\n"
            "2. **Break it**: choose the vanilla RNN, activation *linear*, tick *orthogonal*, and set "
            "beta_W to 0.9, 1.0 and 1.1. The curve becomes a straight line on the log axis with slope "
            "log10(beta_W).\n"
            "3. Same, but without *orthogonal*: beta_W = 1.1 may still vanish. Look at the largest "
            "|eigenvalue| shown under the layer: that is the number the long-run curve follows.\n"
            "4. Switch the activation from linear to tanh at beta_W = 1.5: saturation pulls the curve far "
            "below the bound.\n"
            "5. **Clipping**: run the demo, then set the threshold to 100 (clipping never triggers) and run "
            "it again. Now lower the learning rate to 0.3 without changing anything else.\n"
            "6. **Connectivity**: put the position right after a line break or a speaker's name. How far back "
            "does each model still look?"
        )
