"""Learn: the "hello" character model of Lecture 8, every number on screen.

A vanilla RNN with a 4-letter vocabulary learns the word "hello". Five panels:
one forward step with the equation filled in, training, sampling, the backward
pass with clipping, and truncated backpropagation through time. The model lives
in ``st.session_state["hello_model"]``; all maths is in ``rnnviz.hello``.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from rnnviz import bptt, hello
from rnnviz.equations import tex_char, tex_mat, tex_vec
from rnnviz.plots import learn as plots
from rnnviz.ui import html as ui_html
from rnnviz.ui.state import ensure_app_navigation

ensure_app_navigation()

MODEL_KEY = "hello_model"
COPY_KEY = "hello_copy_runs"
NO_STEP_BACK = "—"  # σ_max at t = 1: there is no learned state before h1


# ----------------------------------------------------------------- small helpers

def show(ch: str) -> str:
    return "␣" if ch == " " else ch


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False})


def new_model(**kw) -> hello.HelloModel:
    return hello.HelloModel(word=kw.get("word", hello.WORD), hidden=int(kw.get("hidden", 3)),
                            seed=int(kw.get("seed", 0)), scale=float(kw.get("scale", 0.3)))


def get_model() -> hello.HelloModel:
    if MODEL_KEY not in st.session_state:
        st.session_state[MODEL_KEY] = new_model()
    return st.session_state[MODEL_KEY]


def _next_seed() -> None:
    st.session_state["hello_sample_seed"] = min(int(st.session_state.get("hello_sample_seed", 0)) + 1, 1_000_000)


def try_this(items: list[str]) -> None:
    st.markdown("**Try this**\n" + "\n".join(f"- {it}" for it in items))


# ---------------------------------------------------------------------- header

st.title("Hello, RNN")
st.markdown(
    "The smallest language model worth looking at: it knows four letters, **h e l o**, and has to "
    "learn the word *hello*. At every step it reads one letter, updates a handful of hidden numbers "
    "and guesses the next letter. Nothing is hidden here: every weight, activation, probability and "
    "gradient on this page is the real number the model computed."
)

with st.expander("Model setup: word, hidden size, seed", expanded=False):
    with st.form("hello_setup", border=False):
        c = st.columns([2, 1, 1, 1.4])
        word = c[0].text_input("Training word", value=hello.WORD, max_chars=hello.MAX_WORD, key="hello_word",
                               help="The vocabulary is the distinct letters of this word, in order of appearance.")
        hidden = c[1].number_input("Hidden units", min_value=hello.HIDDEN_RANGE[0],
                                   max_value=hello.HIDDEN_RANGE[1], value=3, step=1, key="hello_hidden")
        seed = c[2].number_input("Seed", min_value=0, max_value=10_000, value=0, step=1, key="hello_seed")
        scale = c[3].select_slider("Initial weight scale (std)", options=[0.01, 0.1, 0.3, 0.5, 1.0], value=0.3,
                                   key="hello_scale",
                                   help="min-char-rnn uses 0.01: the untrained numbers are then tiny.")
        built = st.form_submit_button("Build a new model", type="primary")
    if built:
        try:
            st.session_state[MODEL_KEY] = new_model(word=word, hidden=hidden, seed=seed, scale=scale)
            st.session_state.pop(COPY_KEY, None)
            st.success(f"New untrained model: {hidden} hidden units, seed {seed}, word '{ui_html.md(word)}'.")
        except ValueError as e:
            st.error(f"{e} The current model was kept.")

model = get_model()
vocab = model.vocab
T = len(model.word) - 1
try:
    cur = model.forward()
except ValueError as e:  # cannot happen for a model built through HelloModel; keep the page alive anyway
    st.error(str(e))
    st.stop()

m = st.columns(4)
m[0].metric("Training steps", f"{model.steps}")
m[1].metric("Loss (sum over the word)", f"{cur.loss:.3f}",
            help=f"Uniform guessing would give {T} × ln {len(vocab)} = {T * math.log(len(vocab)):.3f} nats.")
m[2].metric(f"Greedy continuation of '{show(model.word[0])}'", show(model.greedy()).replace(" ", "␣"))
m[3].metric("Mean p(correct next letter)", f"{cur.p_correct.mean():.3f}")
st.caption(f"Vocabulary [{', '.join(show(c) for c in vocab)}] · hidden size {model.hidden} · seed {model.seed} · "
           f"initial scale {model.scale:g} · optimiser {model.optimizer} (lr {model.lr:g}), "
           f"clipping {model.clip}")

tabs = st.tabs([":material/arrow_forward: 1 · One step forward", ":material/model_training: 2 · Train",
                ":material/casino: 3 · Sample", ":material/arrow_back: 4 · Backward & clipping",
                ":material/content_cut: 5 · Truncated BPTT"])
h_labels = [f"h[{i}]" for i in range(model.hidden)]
v_labels = [f"'{show(c)}'" for c in vocab]

# ------------------------------------------------------------ 1. forward step

with tabs[0]:
    step_labels = [f"t = {t + 1}:  '{show(vocab[cur.inputs[t]])}' → '{show(vocab[cur.targets[t]])}'"
                   for t in range(T)]
    choice = st.radio("Time step (input letter → letter it should predict)", step_labels, horizontal=True,
                      key="hello_step")
    t = step_labels.index(choice)
    x_ch, y_ch = vocab[cur.inputs[t]], vocab[cur.targets[t]]
    left, right = st.columns([3, 1.25], gap="large")
    with left:
        row = st.columns([0.9, 2.2, 1.1, 1.1, 1.1])
        with row[0]:
            chart(plots.vector_heatmap(cur.xs[t], v_labels, f"x{t + 1} (one-hot '{show(x_ch)}')", onehot=True,
                                       highlight_row=cur.inputs[t]), "hello_fig_x")
        with row[1]:
            chart(plots.matrix_heatmap(cur.params["W_xh"], h_labels, v_labels, "W_xh: the boxed column is used",
                                       highlight_col=cur.inputs[t]), "hello_fig_wxh")
        with row[2]:
            chart(plots.vector_heatmap(cur.h_prev[t], h_labels, f"h{t} (before)"), "hello_fig_hprev")
        with row[3]:
            chart(plots.vector_heatmap(cur.hs[t], h_labels, f"h{t + 1} (after)"), "hello_fig_h")
        with row[4]:
            chart(plots.vector_heatmap(cur.logits[t], v_labels, f"logits y{t + 1}"), "hello_fig_logits")
        pc = st.columns([2, 1])
        with pc[0]:
            chart(plots.prob_bars(cur.probs[t], vocab, f"softmax p{t + 1}: target '{show(y_ch)}' in green",
                                  target=cur.targets[t]), "hello_fig_probs")
        with pc[1]:
            st.metric(f"Loss at step {t + 1}", f"{cur.losses[t]:.4f}",
                      help="Cross-entropy: minus the log of the probability given to the correct letter.")
            st.metric(f"p('{show(y_ch)}')", f"{cur.probs[t, cur.targets[t]]:.4f}")
            st.metric("Loss of the whole word", f"{cur.loss:.4f}", help="The sum of the per-step losses.")
    with right:
        st.markdown("#### What happens in one step")
        st.markdown(
            f"1. The letter **'{show(x_ch)}'** becomes a one-hot vector: a single 1 in its row.\n"
            "2. Multiplying W_xh by a one-hot vector does no real arithmetic: it simply **picks one column**. "
            "That is why big models replace it by an *embedding* lookup.\n"
            f"3. The old state h{t} is mixed in through W_hh, the bias is added and tanh squashes each "
            "unit into (−1, 1).\n"
            f"4. W_hy turns the new state h{t + 1} into one score (logit) per letter; softmax turns scores "
            "into probabilities.\n"
            f"5. The loss is −log of the probability of the letter that really comes next, **'{show(y_ch)}'**."
        )
        try_this([
            "Compare step 3 and step 4: both read 'l', yet the right answers differ ('l' then 'o'). "
            "Only the old state h can tell them apart.",
            "Train 10 steps (tab 2), come back and watch the green bar grow.",
            "Rebuild with scale 0.01 (min-char-rnn's choice): every probability starts near 1/4.",
        ])
    W_hh = cur.params["W_hh"]
    rec = W_hh @ cur.h_prev[t]
    st.markdown("##### The step written out with this model's numbers")
    st.latex(
        rf"h_{{{t + 1}}} = \tanh\big(W_{{hh}}\,h_{{{t}}} + W_{{xh}}\,x_{{{t + 1}}} + b_h\big)"
        rf" = \tanh\Big({tex_mat(W_hh)}{tex_vec(cur.h_prev[t])} + {tex_vec(cur.cols[t])} + "
        rf"{tex_vec(cur.params['b_h'])}\Big)"
    )
    st.latex(
        rf"= \tanh\Big({tex_vec(rec)} + {tex_vec(cur.cols[t])} + {tex_vec(cur.params['b_h'])}\Big)"
        rf" = \tanh{tex_vec(cur.pre[t])} = {tex_vec(cur.hs[t])}"
    )
    st.latex(
        rf"y_{{{t + 1}}} = W_{{hy}}\,h_{{{t + 1}}} + b_y = {tex_vec(cur.logits[t])}"
        rf"\qquad p_{{{t + 1}}} = \mathrm{{softmax}}(y_{{{t + 1}}}) = {tex_vec(cur.probs[t], '{:.4f}')}"
        r"\begin{matrix}" + r" \\ ".join(tex_char(c) for c in vocab) + r"\end{matrix}"
    )
    st.latex(
        rf"L_{{{t + 1}}} = -\log p_{{{t + 1}}}[{tex_char(y_ch)}] = -\log {cur.probs[t, cur.targets[t]]:.4f}"
        rf" = {cur.losses[t]:.4f}"
    )

# ------------------------------------------------------------------- 2. train

with tabs[1]:
    left, right = st.columns([3, 1.25], gap="large")
    with left:
        c = st.columns([1.3, 1, 1.3, 1])
        opt_names = {"adagrad": "Adagrad (min-char-rnn)", "adam": "Adam", "sgd": "plain SGD"}
        opt = c[0].selectbox("Optimiser", list(opt_names), format_func=opt_names.get,
                             index=list(opt_names).index(model.optimizer), key="hello_opt")
        lr = c[1].number_input("Learning rate", min_value=0.0, max_value=10.0, value=float(model.lr),
                               step=0.01, format="%.4f", key="hello_lr")
        clip_names = {"elementwise": "each entry to ±limit", "norm": "whole gradient norm", "none": "no clipping"}
        clip = c[2].selectbox("Gradient clipping", list(clip_names), format_func=clip_names.get,
                              index=list(clip_names).index(model.clip), key="hello_clip")
        limit = c[3].number_input("Clip limit", min_value=0.0, max_value=100.0, value=float(model.clip_limit),
                                  step=0.5, key="hello_clip_limit")
        b = st.columns(4)
        n_steps = 0
        if b[0].button("Train 1 step", key="hello_train1", width="stretch"):
            n_steps = 1
        if b[1].button("Train 10 steps", key="hello_train10", width="stretch"):
            n_steps = 10
        if b[2].button("Train 100 steps", key="hello_train100", type="primary", width="stretch"):
            n_steps = 100
        if b[3].button("Reset weights", key="hello_reset", width="stretch",
                       help="Back to the untrained weights of this seed; the history is cleared."):
            st.session_state[MODEL_KEY] = model = new_model(word=model.word, hidden=model.hidden,
                                                            seed=model.seed, scale=model.scale)
            st.toast("Weights reset to their initial values.")
            st.rerun()
        if n_steps:
            try:
                model.set_optimizer(opt, lr)
                model.set_clip(clip, limit)
                model.train(n_steps)
                st.rerun()
            except ValueError as e:
                st.error(f"{e} Nothing was trained with these settings.")
        steps = [s for s, _ in model.loss_hist]
        fc = st.columns(2)
        with fc[0]:
            chart(plots.loss_curve(steps, [v for _, v in model.loss_hist],
                                   baseline=T * math.log(len(vocab))), "hello_fig_loss")
        with fc[1]:
            labels = [f"'{show(vocab[a])}'→'{show(vocab[b_])}' (t={i + 1})"
                      for i, (a, b_) in enumerate(zip(cur.inputs, cur.targets))]
            chart(plots.pcorrect_lines([s for s, _ in model.pcorrect_hist], [p for _, p in model.pcorrect_hist],
                                       labels), "hello_fig_pcorrect")
        st.dataframe(
            [{"step t": i + 1, "input": show(vocab[cur.inputs[i]]), "target": show(vocab[cur.targets[i]]),
              "p(target)": float(cur.p_correct[i]), "loss": float(cur.losses[i]),
              "most likely": show(vocab[int(np.argmax(cur.probs[i]))])} for i in range(T)],
            hide_index=True, width="stretch", key="hello_train_table",
            column_config={"p(target)": st.column_config.ProgressColumn("p(target)", min_value=0.0, max_value=1.0,
                                                                        format="%.3f"),
                           "loss": st.column_config.NumberColumn(format="%.4f")},
        )
    with right:
        st.markdown("#### Learning the word")
        st.markdown(
            "One training step = run the word forward, add up the four losses, backpropagate, and nudge "
            "every weight against its gradient.\n\n"
            "**Adagrad** (what min-char-rnn uses) divides each weight's step by the square root of the sum "
            "of all its past squared gradients, so weights that already moved a lot slow down. Before the "
            "update, min-char-rnn clips each gradient entry to ±5.\n\n"
            "The right-hand chart shows the probability given to the correct next letter at each position. "
            "The hard one is the second 'l' → 'o': the input is the same as one step earlier, so the model "
            "must learn to use its memory."
        )
        try_this([
            "Press *Train 1 step* a few times and watch which position improves first.",
            "Reset, switch to plain SGD and compare how many steps it needs.",
            "Set the learning rate to 5 with no clipping: training becomes jumpy.",
            "Rebuild with 2 hidden units: is there still enough memory?",
        ])

# ------------------------------------------------------------------ 3. sample

with tabs[2]:
    left, right = st.columns([3, 1.25], gap="large")
    with left:
        c = st.columns([1, 1.6, 1, 1, 1])
        start = c[0].selectbox("Start letter", vocab, format_func=show, key="hello_start")
        temp = c[1].slider("Temperature", min_value=0.1, max_value=3.0, value=1.0, step=0.1, key="hello_temp")
        length = c[2].number_input("Letters to sample", min_value=1, max_value=24, value=max(T, 4), step=1,
                                   key="hello_len")
        st.session_state.setdefault("hello_sample_seed", 0)
        sseed = c[3].number_input("Sampling seed", min_value=0, max_value=1_000_000, step=1,
                                  key="hello_sample_seed")
        greedy = c[4].toggle("Greedy", value=False, key="hello_greedy")
        st.button("Draw again (next seed)", key="hello_resample", disabled=greedy, on_click=_next_seed)
        try:
            chain = hello.sample_chain(model.params, vocab, start, int(length), temperature=float(temp),
                                       seed=int(sseed), greedy=greedy)
        except ValueError as e:
            st.error(str(e))
            chain = []
        if chain:
            text = "".join(s.sampled for s in chain)
            st.html(ui_html.prob_text(text, [s.p_sampled for s in chain],
                                      [[(v, float(p)) for v, p in zip(vocab, s.probs)] for s in chain],
                                      prime=start, max_height=90,
                                      caption="Sampled text (bold = the start letter; colour = probability of "
                                              "the drawn letter; hover for the alternatives)"))
            st.html(ui_html.legend("prob"))
            chart(plots.chain_figure(chain, vocab), "hello_fig_chain")
            st.dataframe(
                [{"t": s.t + 1, "fed in": show(s.input), "drawn": show(s.sampled), "p(drawn)": s.p_sampled,
                  **{f"p('{show(v)}')": float(p) for v, p in zip(vocab, s.probs)},
                  "h after": ", ".join(f"{x:+.3f}" for x in s.h)} for s in chain],
                hide_index=True, width="stretch", key="hello_chain_table",
                column_config={"p(drawn)": st.column_config.NumberColumn(format="%.3f"),
                               **{f"p('{show(v)}')": st.column_config.NumberColumn(format="%.3f") for v in vocab}},
            )
    with right:
        st.markdown("#### Sampling: the model writes")
        st.markdown(
            "At test time there is no correct next letter to read. The model starts from one letter, "
            "draws the next one at random from its own probabilities, and **feeds that letter back in** as "
            "the next input. Each draw changes everything after it.\n\n"
            "Temperature divides the logits before the softmax: below 1 the favourite letter wins more "
            "often; above 1 the choice gets closer to uniform. Greedy always takes the most likely letter."
        )
        try_this([
            "Untrained model: sample a few times. Then train 100 steps and sample again.",
            "Temperature 3 on a trained model: how often does it still spell hello?",
            "Start from 'l'. The model never saw a word start with 'l': what does it do?",
            "Sample 20 letters greedily: what comes after the 'o'?",
        ])

# ---------------------------------------------------------------- 4. backward

with tabs[3]:
    left, right = st.columns([3, 1.25], gap="large")
    with left:
        st.markdown(f"##### How much of the last loss L{T} reaches each hidden state")
        rc = st.columns([1.4, 1])
        with rc[0]:
            chart(plots.reach_bars(cur.reach_last, [f"h{i + 1}" for i in range(T)],
                                   f"‖∂L{T}/∂h_t‖ (gradient of the last step's loss)",
                                   ytitle="gradient norm"), "hello_fig_reach")
        with rc[1]:
            st.dataframe(
                [{"t": i + 1, "from L{T}": float(cur.reach_last[i]),
                  "from all L": float(cur.reach_total[i]),
                  "σ_max": f"{cur.jacobian_norms[i]:.5f}" if i > 0 else NO_STEP_BACK} for i in range(T)],
                hide_index=True, width="stretch", key="hello_reach_table",
                column_config={**{k: st.column_config.NumberColumn(format="%.5f")
                                  for k in (f"from L{T}", "from all L")},
                               "σ_max": st.column_config.TextColumn(
                                   help="Largest singular value of ∂h_t/∂h_t−1; none at t = 1")},
            )
            st.caption(f"Gradient norms ‖∂L{T}/∂h_t‖ (last loss only) and ‖∂L/∂h_t‖ (the summed loss). "
                       "σ_max is the largest singular value of the step Jacobian ∂h_t/∂h_t−1 = "
                       "diag(1 − h_t²) W_hh: the most one step back can stretch a gradient. "
                       f"At t = 1 it shows {NO_STEP_BACK}: the step before h1 is the fixed all-zero start "
                       "state h0, which is not learned, so the gradient has nowhere further back to go.")
        st.markdown("##### Gradients of the summed loss, per parameter")
        gc = st.columns(3)
        for col, name, rows, cols_ in ((gc[0], "W_xh", h_labels, v_labels), (gc[1], "W_hh", h_labels, h_labels),
                                       (gc[2], "W_hy", v_labels, h_labels)):
            with col:
                chart(plots.matrix_heatmap(cur.grads[name], rows, cols_, f"∂L/∂{name}", fmt="{:+.3f}"),
                      f"hello_fig_grad_{name}")
        unused = [show(c) for i, c in enumerate(vocab) if i not in cur.inputs]
        if unused:
            st.caption(f"The column of ∂L/∂W_xh for {', '.join(repr(c) for c in unused)} is exactly zero: that "
                       "letter is never an input, so its column is never used and gets no gradient.")
        st.markdown("##### Clipping: elementwise (min-char-rnn) next to norm clipping")
        cl = st.columns([1, 3])
        clip_limit = cl[0].number_input("Limit", min_value=0.0, max_value=100.0, value=5.0, step=0.25,
                                        key="hello_bw_limit",
                                        help="min-char-rnn uses 5. Lower it to see the two methods differ.")
        try:
            cmp = hello.compare_clipping(cur.grads, float(clip_limit))
        except ValueError as e:
            st.error(f"{e} Showing the limit 5 instead.")
            cmp = hello.compare_clipping(cur.grads, 5.0)
        with cl[1]:
            st.dataframe(cmp.stats(), hide_index=True, width="stretch", key="hello_clip_table",
                         column_config={"gradient norm": st.column_config.NumberColumn(format="%.5f"),
                                        "largest |entry|": st.column_config.NumberColumn(format="%.5f"),
                                        "cosine to raw": st.column_config.NumberColumn(format="%.5f")})
        chart(plots.clip_bars(cmp.labels, cmp.raw, cmp.elementwise, cmp.norm, cmp.limit), "hello_fig_clip")
        if cmp.stats()[1]["entries changed"] == 0 and cmp.stats()[2]["entries changed"] == 0:
            st.caption(f"With a limit of {cmp.limit:g} neither method changes this gradient: it is already small. "
                       f"Lower the limit below {float(np.abs(cmp.raw).max()):.3f} to see them act differently.")
    with right:
        st.markdown("#### Gradients flow backwards in time")
        st.markdown(
            f"The loss at the last step, L{T}, depends on h{T}; but h{T} was computed from h{T - 1}, and so on "
            "back to the start. Backpropagation follows that chain: every step back multiplies the gradient "
            "by the step's Jacobian, tanh′ times W_hh. Factors below 1 make the gradient fade "
            "(*vanishing*), factors above 1 make it grow (*exploding*).\n\n"
            "**Clipping** guards against the exploding case. min-char-rnn clips *each entry* to ±5: cheap, "
            "but it changes the direction of the gradient (cosine < 1). Norm clipping shrinks the whole "
            "vector by one factor, so the direction stays the same (cosine = 1)."
        )
        try_this([
            "Train 100 steps: how do the bars change once the word is learned?",
            "Set the limit to 0.2: count how many entries elementwise clipping changes.",
            "Rebuild with scale 1.0: are the Jacobian factors above or below 1?",
        ])

# ------------------------------------------------------------------ 5. TBPTT

with tabs[4]:
    left, right = st.columns([3, 1.25], gap="large")
    with right:
        st.markdown("#### Truncated backpropagation through time")
        st.markdown(
            "A real text is millions of characters long; backpropagating through all of it at once is "
            "impossible. So the text is cut into **chunks of k steps**. The hidden state is *carried* from "
            "one chunk into the next (the model keeps its memory), but the gradient is *cut* at the border: "
            "a loss can only teach the last few steps of its own chunk.\n\n"
            "The toy task below makes the cost visible. Each record is a letter x (a or b), G dots, a "
            "question mark, then x again: `a......?a`. Predicting the repeat needs memory reaching "
            "G + 1 steps back. If k is shorter than that, no loss ever sends gradient back to the step "
            "where x was read, so the network gets no signal to store it."
        )
        try_this([
            "Run the comparison with the defaults, then make k short equal to G + 1.",
            "Set k long to G + 2 (not a whole record): only some dependencies fit in one chunk.",
            "Move the loss position and see where the red bars stop.",
            "Gap 10 with k long 13: a vanilla RNN starts to struggle even without truncation.",
        ])
    with left:
        c = st.columns(4)
        gap = c[0].slider("Gap G (dots between x and ?)", 2, 10, 6, key="hello_gap")
        span = bptt.dependency_span(gap)
        k_short = c[1].slider("k short", 1, 24, 4, key="hello_k_short")
        k_long = c[2].slider("k long", 2, 40, 9, key="hello_k_long")
        cseed = c[3].number_input("Seed", min_value=0, max_value=10_000, value=0, key="hello_copy_seed")
        st.caption(f"Dependency span: x is read {span} steps before the prediction that needs it. "
                   f"A record is {gap + 3} letters long.")
        text = bptt.copy_stream(gap, 3, seed=int(cseed))
        q_positions = [i for i, ch in enumerate(text[:-1]) if ch == "?"]
        runs = st.session_state.get(COPY_KEY)
        if runs and (runs["gap"], runs["seed"]) != (gap, int(cseed)):
            runs = None
        dk_names = {k_short: f"k short = {k_short}", k_long: f"k long = {k_long}"}
        dk = st.radio("Chunk length in the diagram", list(dk_names), format_func=dk_names.get, horizontal=True,
                      key="hello_diag_k")
        pos_labels = {p: f"L{p + 1} (input '{text[p]}', predicts '{text[p + 1]}')" for p in range(len(text) - 1)}
        # Default: a '?' step (the loss that needs memory) that sits deep inside its chunk.
        default_pos = max(q_positions, key=lambda q: (q % int(dk), q))
        lp = st.select_slider("Loss position", options=list(pos_labels), value=default_pos,
                              format_func=pos_labels.get, key=f"hello_loss_pos_{gap}_{cseed}_{dk}")
        if runs and runs.get(k_long) is not None:
            params, source = runs[k_long].params, f"the model trained with k = {k_long} below"
        else:
            params = hello.init_params(len(bptt.COPY_VOCAB), 8, int(cseed), 0.5)
            source = "a fresh untrained 8-unit RNN (run the comparison to use a trained one)"
        reach = bptt.gradient_reach(params, bptt.COPY_VOCAB, text, int(dk), int(lp))
        chart(plots.tbptt_diagram(text, int(dk), int(lp), reach.truncated), "hello_fig_tbptt")
        chart(plots.reach_compare(reach.full, reach.truncated, [f"{i + 1} '{text[i]}'" for i in range(lp + 1)],
                                  int(lp), reach.chunk_start), "hello_fig_reach_tbptt")
        st.caption(f"Gradient norms measured on {source}. With truncation the gradient of L{lp + 1} reaches "
                   f"steps {reach.chunk_start + 1}–{lp + 1} and is exactly 0 before; the hidden state itself "
                   f"still arrives from earlier chunks (its norm at step {reach.chunk_start + 1} is "
                   f"{reach.h_norms[reach.chunk_start]:.3f}, not 0).")

        st.markdown("##### What truncation costs: train both and compare")
        if st.button(f"Train with k = {k_short} and k = {k_long} (a few seconds)", type="primary",
                     key="hello_copy_run"):
            if k_short == k_long:
                st.warning("Pick two different chunk lengths to compare.")
            else:
                with st.spinner("Training two small RNNs on the same text..."):
                    try:
                        out = {"gap": gap, "seed": int(cseed), "order": [k_short, k_long]}
                        for k in (k_short, k_long):
                            out[k] = bptt.train_copy_task(gap=gap, k=k, seed=int(cseed))
                        st.session_state[COPY_KEY] = out
                        st.rerun()  # redraw the diagram above with the trained model
                    except ValueError as e:
                        st.error(str(e))
        if runs:
            order = runs["order"]
            chart(plots.copy_curves([runs[k] for k in order]), "hello_fig_copy")
            st.dataframe(
                [{"chunk length k": k, "k > span?": "yes" if k > span else "no",
                  "dependencies inside one chunk": runs[k].contained,
                  "accuracy on the repeated letter": runs[k].final_dependent,
                  "best during training": max(runs[k].acc_dependent),
                  "accuracy on dots and ?": runs[k].acc_other[-1], "updates": runs[k].steps[-1] // k,
                  "seconds": runs[k].seconds} for k in order],
                hide_index=True, width="stretch", key="hello_copy_table",
                column_config={c_: st.column_config.NumberColumn(format="%.3f") for c_ in
                               ("dependencies inside one chunk", "accuracy on the repeated letter",
                                "best during training", "accuracy on dots and ?")}
                | {"seconds": st.column_config.NumberColumn(format="%.1f")},
            )
            st.caption("Both runs read the same 2,400 characters per stream (16 streams); the shorter k simply "
                       "makes more, shorter updates. Accuracy is measured on fresh text with the state carried "
                       "through, greedy guess at every '?'. 0.5 is a coin flip. A short k can get lucky for a "
                       "while (the output layer learns to read whatever the state happens to carry), but nothing "
                       "trains the state to keep the letter, so the skill does not last.")
        else:
            st.info("Press the button to train one RNN per chunk length on the copy task.")
