"""Cell explorer: per-cell activations over text, a search for interpretable cells,
LSTMVis-style pattern selection and cell intervention (issue 4)."""

import hashlib

import numpy as np
import streamlit as st

from rnnviz import corpora, probes
from rnnviz.models import GATE_SIGNALS, SIGNAL_LABELS, SIGNALS
from rnnviz.plots import cells as cplots
from rnnviz.sample import sample
from rnnviz.ui import html as H
from rnnviz.ui import state
from rnnviz.ui.state import ensure_app_navigation

ensure_app_navigation()

MAX_TEXT = 5_000  # characters traced at once (memory: ~15 KB per character for a 2x256 LSTM)
WINDOW = 2_000  # characters shown at once in a text heatmap
LENGTHS = [500, 1000, 2000, 3000, 5000]
VIEWS = ["Heatmap", "Cell finder", "Select a pattern", "Intervene"]
SOURCES = {"val": "Validation text (not trained on)", "paste": "Paste your own", "sample": "Fresh sample"}
DEFAULT_PASTE = '''def greet(name, excited=False):
    """Say hello to someone."""
    if excited and (name != ""):
        message = "Hello, " + name + "!"
    else:
        message = 'hello ' + name  # quiet version
    for i in range(3):
        print(message)
    return message
'''
PRIMES = {"python": 'def greet(name):\n    print("', "c": 'int main(void) {\n    printf("', "text": '"'}
DEFAULT_HYP = {"python": "indent", "c": "comment", "text": "double_quote"}


def set_state(**kv):
    for k, v in kv.items():
        st.session_state[k] = v


def inspect_cell(layer, signal, unit, found=None):
    """Callback: show one cell in the heatmap view; ``found`` is the hypothesis the
    finder found it with (Intervene scores its samples with that one)."""
    set_state(cx_layer=layer, cx_signal=signal, cx_order="number", cx_pos=int(unit), cx_view="Heatmap")
    if found is not None:
        st.session_state["cx_found"] = {"layer": int(layer), "unit": int(unit), **found}


def use_range(a, b):
    """Callback: hand a box selection to the pattern view (a new slider picks it up)."""
    n = st.session_state.get("cx_lv_nonce", 0) + 1
    set_state(cx_lv_nonce=n, cx_lv_default=(int(a), int(b)), cx_view="Select a pattern")


def step_cell(delta, n):
    st.session_state["cx_pos"] = (int(st.session_state.get("cx_pos", 0)) + delta) % n


st.title("Cell explorer")
st.markdown(
    "Which single cells of a recurrent network mean something? Pick a model and a text, colour "
    "the text by one cell's activation, and let the finder rank every cell against a hypothesis "
    "such as *inside a string* or *indentation depth*. Then test a cell by clamping it while the "
    "model writes."
)

with st.expander(":material/school: Lesson: the cells Karpathy, Johnson & Fei-Fei found, and what to try", expanded=False):
    st.markdown(
        """
**What the paper found.** In *Visualizing and Understanding Recurrent Networks* (2015), Andrej
Karpathy, Justin Johnson and Li Fei-Fei trained character-level LSTMs on Tolstoy's *War and Peace*
and on the Linux kernel source, then coloured the text by the value of one memory cell at a time.
Nobody had told the network about quotes, lines or code blocks, yet a few cells had become
detectors for exactly such things: one switched on after an opening quote and off after the
closing one, one grew steadily along each line and reset at the newline (a line-length
counter that helps the model predict where to break), one lit up inside `if` conditions,
another inside comments and strings, and another followed how deeply the code was nested.
Most other cells looked like noise to a human eye. The cells that *do* carry a readable
meaning are the network's own solution to a problem it needs to solve: to predict the next
character it has to remember, for instance, that a quote is still open a hundred characters later.

**What is different here.** The paper found its cells by looking. This page *measures*: every
hypothesis becomes a number per character, and every cell is scored by its Pearson correlation
r with that number. A linear probe (a ridge regression that reads all cells of a layer at once)
shows how much of the information is there in total, so you can see whether one cell carries it
alone or the knowledge is spread over many. And clamping a cell while sampling tests whether the
model *uses* it, not just whether it correlates.

**Try this** (with the bundled `python_lstm` model and its validation text):
1. Keep the hypothesis **Indentation depth**, view **Heatmap**, order **by |r|**. Position 0 is the
   best cell of the chosen layer and signal. Switch the layer and the signal (try *cell state c*)
   until the colours step up with every indented block. What does the cell do on blank lines?
2. Open **Cell finder** to rank all layers and signals at once. Compare the best single cell's r
   with the linear probe's R²: is the probe much better?
3. Choose **Column (position in line)** and find a cell that ramps up along each line. Is it
   reset by the newline character itself, or one step later?
4. Choose **Inside a string literal**. Look at the best cell over a docstring and over short
   strings like `'a'`. Does it also react to comments? (Check with **Inside a comment**.)
5. In **Select a pattern**, select the inside of one string and find the other places where the
   same cells switch on together.
6. In **Intervene**, clamp your string cell to its "on" value with the prime `print("` and
   compare with the same seed unclamped. Does the model stop closing the string? Then zero a
   whole layer and see what is left.
"""
    )
    st.latex(r"c_t = f_t \odot c_{t-1} + i_t \odot g_t \qquad h_t = o_t \odot \tanh(c_t)")
    st.caption(
        "A cell is one coordinate of c_t (or of h_t). The colour scale is the paper's: red for "
        "negative, white for zero, blue for positive values."
    )

# ------------------------------------------------------------------ model and text
top = st.columns([1.3, 1.7])
with top[0]:
    choice, cp = state.model_picker("Model", key="cx_model", default="python_lstm")
if cp is None:
    st.stop()
model, vocab, card = cp.model, cp.vocab, cp.card
cfg = model.config
corpus_name = card.get("corpus")
has_corpus = corpus_name in corpora.builtin_names()
source_keys = (["val"] if has_corpus else []) + ["paste", "sample"]
if st.session_state.get("cx_source") not in source_keys:
    st.session_state["cx_source"] = source_keys[0]
with top[1]:
    source = st.radio("Text", source_keys, format_func=SOURCES.get, key="cx_source", horizontal=True,
                      help="The validation split is the last 10 % of the model's corpus: text it never trained on.")

text, context = None, ""
guess_from = ""
if source == "val":
    corpus = state.corpus(corpus_name)
    lang0 = probes.language_for(corpus_name)
    val_len = len(corpus.val_text)
    c1, c2 = st.columns([2, 1])
    with c1:
        offset = st.slider("Start in the validation text (characters)", 0, max(0, val_len - 1000), 0,
                           step=500, key=f"cx_offset_{corpus_name}")
    with c2:
        length = st.select_slider("Length", LENGTHS, value=2000, key="cx_len")
    ex = probes.validation_excerpt(corpus, lang0, length, offset)
    text, context = ex.text, ex.context
    st.caption(
        f"Characters {ex.start:,} to {ex.start + len(text):,} of the {val_len:,}-character validation "
        f"split of the {corpora.title(corpus_name)} corpus (the excerpt starts at a line start)."
    )
elif source == "paste":
    raw = st.text_area("Your text (up to 5,000 characters)", DEFAULT_PASTE, height=180, key="cx_paste")
    raw = (raw or "").replace("\r\n", "\n").replace("\r", "\n")
    if not raw.strip():
        st.info("Paste some text above to look at it through the model's cells.")
        st.stop()
    if len(raw) > MAX_TEXT:
        st.warning(f"The text has {len(raw):,} characters; only the first {MAX_TEXT:,} are used.")
        raw = raw[:MAX_TEXT]
    missing = vocab.unknown(raw)
    if missing:
        shown = ", ".join(repr(c) for c in missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        st.error(
            f"Your text contains {len(missing)} character(s) this model never saw in training: {shown}. "
            "Remove or replace them, or pick a model trained on text that contains them. "
            "Your text is kept in the box above."
        )
        st.stop()
    text = raw
    guess_from = raw
else:
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
    with c1:
        s_len = st.number_input("Characters", 200, MAX_TEXT, 1500, step=100, key="cx_s_len")
    with c2:
        s_temp = st.slider("Temperature", 0.1, 1.5, 0.8, 0.05, key="cx_s_temp")
    with c3:
        s_seed = st.number_input("Seed", 0, 10_000, 0, key="cx_s_seed")
    with c4:
        st.write("")
        again = st.button("Sample new text", key="cx_s_go", icon=":material/casino:")
    skey = (choice, card.get("created"), card.get("steps"), int(s_len), float(s_temp), int(s_seed))
    held = st.session_state.get("cx_sample")
    if again or held is None or held["key"] != skey:
        with st.spinner("The model is writing..."):
            smp = sample(model, vocab, int(s_len), temperature=float(s_temp), seed=int(s_seed))
        held = {"key": skey, "text": smp.full_text}
        st.session_state["cx_sample"] = held
    text = held["text"]
    guess_from = text
    st.caption("A fresh sample from the model itself (change the seed for another one).")

lang_default = probes.language_for(corpus_name, guess_from)
c1, c2, c3 = st.columns([1, 1.4, 1.6])
with c1:
    language = st.selectbox("Language of the text", probes.LANGUAGES,
                            index=probes.LANGUAGES.index(lang_default),
                            format_func=probes.LANGUAGE_LABELS.get, key=f"cx_lang_{corpus_name}",
                            help="Decides how strings, comments and if conditions are recognised.")
hyps = probes.available(language)
hyp_keys = [h.key for h in hyps]
with c2:
    hyp_key = st.selectbox("Hypothesis", hyp_keys, index=hyp_keys.index(DEFAULT_HYP[language]),
                           format_func=lambda k: probes.HYPOTHESES[k].label, key=f"cx_hyp_{language}",
                           help="What might a cell track? Each hypothesis is one number per character.")
hyp = probes.HYPOTHESES[hyp_key]
pattern = None
with c3:
    if hyp_key == "regex":
        pattern = st.text_input("Regular expression (1 inside every match)", r"\bself\b", key="cx_regex")
    else:
        st.caption(hyp.description)

y, y_error = None, None
try:
    y = probes.feature(hyp_key, text, language, pattern=pattern, prefix=context)
except ValueError as e:
    y_error = str(e)
if y_error:
    st.error(H.md(y_error))

# ------------------------------------------------------------------ trace (cached per session)
tkey = (choice, card.get("created"), card.get("steps"), hashlib.sha1(text.encode("utf-8")).hexdigest())
held = st.session_state.get("cx_trace")
if held is None or held["key"] != tkey:
    st.session_state.pop("cx_trace", None)  # free the old matrix before building a new one
    try:
        with st.spinner(f"Running the model over {len(text):,} characters..."):
            cm = probes.CellMatrix(probes.trace_arrays(model, vocab.encode(text)))
    except ValueError as e:
        st.error(f"The model could not read this text: {e}")
        st.stop()
    held = {"key": tkey, "cm": cm}
    st.session_state["cx_trace"] = held
    st.session_state.pop("cx_pick", None)
cm = held["cm"]
T = len(text)
r_all = cm.correlate(y) if y is not None else np.zeros(cm.X.shape[1])
y_constant = y is not None and float(np.ptp(y)) == 0.0
if y_constant:
    st.warning(
        f"'{hyp.label}' has the same value on every character of this text "
        + ("(it never holds here, or always does)" if hyp.binary else "(it never changes here)")
        + ", so no cell can correlate with it. Pick another excerpt or hypothesis."
    )


def r_of(layer, signal):
    s, e = cm.offsets[(layer, signal)]
    return r_all[s:e]


# ------------------------------------------------------------------ shared cell selection
signals = list(SIGNALS[cfg.cell])
Hn = cfg.hidden
# Widgets that are not drawn in a run lose their state; re-assigning keeps the choice
# while another view is open.
for _k in ("cx_layer", "cx_signal", "cx_order", "cx_pos", "cx_lv_signal"):
    if _k in st.session_state:
        st.session_state[_k] = st.session_state[_k]
if st.session_state.get("cx_layer", 0) >= cfg.layers:
    st.session_state["cx_layer"] = cfg.layers - 1
if st.session_state.get("cx_signal") not in signals:
    st.session_state["cx_signal"] = "c" if "c" in signals else "h"
if st.session_state.get("cx_order") not in ("r", "std", "number"):
    st.session_state["cx_order"] = "r"
if int(st.session_state.get("cx_pos", 0)) >= Hn:
    st.session_state["cx_pos"] = 0

view = st.segmented_control("View", VIEWS, default="Heatmap", key="cx_view", label_visibility="collapsed",
                            required=True)
view = view or "Heatmap"
order_opts = {"r": f"by |r| with {hyp.label.lower()}", "std": "by activity (std)", "number": "by cell number"}


def layer_select():
    return st.selectbox("Layer", list(range(cfg.layers)), key="cx_layer",
                        format_func=lambda k: f"{k + 1} of {cfg.layers}")


if view in ("Heatmap", "Intervene"):
    c1, c2, c3, c4 = st.columns([0.7, 1.0, 1.2, 2.8])
    with c1:
        layer = layer_select()
    with c2:
        signal = st.selectbox("Signal", signals, key="cx_signal", format_func=lambda s: SIGNAL_LABELS[s])
    with c3:
        order_key = st.selectbox("Order cells", list(order_opts), format_func=order_opts.get, key="cx_order")
else:
    layer, signal, order_key = st.session_state["cx_layer"] if "cx_layer" in st.session_state else 0, \
        st.session_state["cx_signal"], st.session_state["cx_order"]
block = cm.block(layer, signal)
rl = r_of(layer, signal)
if order_key == "r":
    order = np.argsort(-np.abs(rl), kind="stable")
elif order_key == "std":
    order = np.argsort(-block.std(axis=0), kind="stable")
else:
    order = np.arange(Hn)
if view in ("Heatmap", "Intervene"):
    with c4:
        n1, n2, n3 = st.columns([3.2, 0.6, 0.6], vertical_alignment="bottom")
        with n1:
            pos = st.slider("Cell (position in the chosen order)", 0, Hn - 1, key="cx_pos")
        with n2:
            st.button("", icon=":material/chevron_left:", key="cx_prev", on_click=step_cell, args=(-1, Hn),
                      help="Previous cell in the order", width="stretch")
        with n3:
            st.button("", icon=":material/chevron_right:", key="cx_next", on_click=step_cell, args=(1, Hn),
                      help="Next cell in the order", width="stretch")
else:
    pos = int(st.session_state.get("cx_pos", 0))
unit = int(order[pos])
values = block[:, unit]
is_gate = signal in GATE_SIGNALS.get(cfg.cell, ())
vmax = max(1.0, float(np.abs(values).max()))
r_cell = float(rl[unit])
sig_label = SIGNAL_LABELS[signal]


def window_controls(key):
    if T <= WINDOW:
        return 0, T
    w0 = st.slider("Window start (characters)", 0, T - WINDOW, 0, step=100, key=key,
                   help=f"Long texts are shown {WINDOW:,} characters at a time.")
    return w0, w0 + WINDOW


# ------------------------------------------------------------------ views
found_with = {"hyp": hyp_key, "lang": language, "pattern": pattern}
if order_key == "r" and y is not None:
    st.session_state["cx_found"] = {"layer": int(layer), "unit": unit, **found_with}

if view == "Heatmap":
    st.markdown(
        f"**Layer {layer + 1} · {sig_label} · cell {unit}** "
        f"(position {pos} {order_opts[order_key]}) · r with {hyp.label.lower()} = **{r_cell:+.2f}**"
    )
    w0, w1 = window_controls("cx_win")
    if is_gate:
        st.html(H.legend("gate", f"{sig_label}. Hover a character for its value."))
    else:
        why = " (this cell's largest |value|)" if vmax > 1 else ""
        st.html(H.legend("diverging", f"{sig_label}: white = 0, full colour at ±{vmax:.2f}{why}. "
                         "Hover a character for its value.", ends=(f"{-vmax:.2f}", f"+{vmax:.2f}")))
    lo_v = 0.0 if is_gate else -vmax
    hi_v = 1.0 if is_gate else vmax
    st.html(H.heat_text(text[w0:w1], values[w0:w1], vmin=lo_v, vmax=hi_v, label=signal, max_height=460))
    if y is not None and st.toggle("Compare with the hypothesis", key="cx_show_hyp"):
        ymax = max(1e-9, float(np.abs(y).max()))
        st.html(H.heat_text(text[w0:w1], y[w0:w1], vmin=-ymax, vmax=ymax, label=hyp_key, max_height=300,
                            caption=f"{hyp.label} (blue = high; hover for the value)"))

    st.subheader("All cells over time")
    st.caption(
        "Rows are cells in the chosen order, columns are characters. Drag a box over the heatmap "
        "(box select) to inspect those cells on those characters."
    )
    h1, h2, h3 = st.columns([1, 1, 3])
    with h1:
        nrows = st.selectbox("Rows", [16, 32, 64, Hn] if Hn > 64 else [16, Hn], index=1, key="cx_rows",
                             format_func=lambda n: "all cells" if n == Hn else f"first {n} cells")
    with h2:
        width = st.selectbox("Characters", [100, 200, 300, 500], index=1, key="cx_hwidth")
    width = min(width, T)
    with h3:
        hstart = st.slider("Heatmap start", 0, max(0, T - width), 0, step=10, key="cx_hstart") if T > width else 0
    rows = [int(c) for c in order[:nrows]]
    sub = block[hstart : hstart + width][:, rows]
    hv = max(1.0, float(np.percentile(np.abs(sub), 99))) if sub.size else 1.0
    fig = cplots.cells_time_heatmap(sub, list(text[hstart : hstart + width]), rows, x0=hstart, vmax=hv,
                                    signal_label=signal)
    st.session_state["cx_box_meta"] = {"rows": rows, "x0": hstart, "width": width, "layer": layer, "signal": signal}

    def on_box():
        meta = st.session_state.get("cx_box_meta") or {}
        sel = (st.session_state.get("cx_box") or {}).get("selection") or {}
        boxes = sel.get("box") or []
        if not boxes or not meta:
            st.session_state.pop("cx_pick", None)
            return
        b = boxes[-1]
        xs, ys = sorted(b.get("x", [0, 0])), sorted(b.get("y", [0, 0]))
        lo = meta["x0"]
        a = int(np.clip(np.ceil(xs[0] - 0.5), lo, lo + meta["width"] - 1))
        e = int(np.clip(np.floor(xs[1] + 0.5), a + 1, lo + meta["width"]))
        r0 = int(np.clip(np.ceil(ys[0] - 0.5), 0, len(meta["rows"]) - 1))
        r1 = int(np.clip(np.floor(ys[1] + 0.5), r0 + 1, len(meta["rows"])))
        st.session_state["cx_pick"] = {"a": a, "b": e, "cells": meta["rows"][r0:r1],
                                       "layer": meta["layer"], "signal": meta["signal"]}

    st.plotly_chart(fig, key="cx_box", on_select=on_box, selection_mode="box", width="stretch",
                    config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"]})
    pick = st.session_state.get("cx_pick")
    if pick and pick["layer"] == layer and pick["signal"] == signal and pick["b"] <= T:
        a, b = pick["a"], pick["b"]
        cells = pick["cells"]
        st.markdown(f"**Box:** characters {a:,} to {b:,}, {len(cells)} cell(s) (showing up to 6, with 30 characters around).")
        ca, cb = max(0, a - 30), min(T, b + 30)
        cols = st.columns(3)
        for i, c in enumerate(cells[:6]):
            with cols[i % 3]:
                v = block[:, c]
                m = max(1.0, float(np.abs(v).max()))
                st.html(H.heat_text(text[ca:cb], v[ca:cb], vmin=-m, vmax=m, label=signal, max_height=180,
                                    caption=f"cell {c} · mean in box {float(v[a:b].mean()):+.2f} · r = {float(rl[c]):+.2f}"))
                st.button(f"Inspect cell {c}", key=f"cx_pick_{c}", on_click=inspect_cell, args=(layer, signal, c))
        st.button("Use these characters in Select a pattern", key="cx_pick_lv", icon=":material/arrow_forward:",
                  on_click=use_range, args=(a, b))

elif view == "Cell finder":
    if y is None:
        st.info("Fix the hypothesis above to rank the cells.")
        st.stop()
    f1, f2, f3 = st.columns([3, 1.2, 1])
    with f1:
        fsig = st.multiselect("Signals to search", signals, default=signals, key=f"cx_fsig_{cfg.cell}",
                              help="Rank by any signal: c is the memory itself, tanh(c) and h are what the rest "
                                   "of the network sees. " + ", ".join(f"{x} = {SIGNAL_LABELS[x]}" for x in signals))
    with f2:
        skip_sat = st.toggle("Skip saturated cells", key="cx_skip_sat",
                             help=f"A cell is saturated when on {probes.SATURATED_SHARE:.0%} of the characters or more "
                                  "it sits where tanh (or a gate) is flat, so changing it hardly changes the output.")
    with f3:
        k = st.number_input("Top cells", 1, 12, 6, key="cx_topk")
    mask = np.isin(cm.signal, fsig) if fsig else np.ones(len(r_all), dtype=bool)
    idx = np.flatnonzero(mask)
    order_f = idx[np.argsort(-np.abs(r_all[idx]), kind="stable")]
    top_idx, sat_of = [], {}
    for j in order_f:  # the best k, saturation checked only as far as needed
        sat_of[int(j)] = probes.saturation(cm.X[:, j], str(cm.signal[j]))
        if not (skip_sat and sat_of[int(j)] >= probes.SATURATED_SHARE):
            top_idx.append(int(j))
        if len(top_idx) >= int(k):
            break
    ranked = cm.scores(r_all, top_idx)
    st.markdown(
        f"Ranked **{len(idx):,}** (layer, signal, cell) columns by Pearson r with **{hyp.label.lower()}** "
        f"over {T:,} characters."
    )
    g1, g2 = st.columns([1.2, 1])
    with g1:
        st.dataframe(
            [{"rank": i + 1, "layer": s.layer + 1, "signal": SIGNAL_LABELS[s.signal], "cell": s.unit,
              "r": round(s.r, 3), "r²": round(s.r * s.r, 3),
              "saturated": f"yes ({sat_of[j]:.0%})" if sat_of[j] >= probes.SATURATED_SHARE else f"no ({sat_of[j]:.0%})"}
             for i, (s, j) in enumerate(zip(ranked, top_idx))],
            hide_index=True, width="stretch",
        )
        if any(sat_of[j] >= probes.SATURATED_SHARE for j in top_idx):
            st.caption("Saturated cells (the share of characters where tanh or the gate is flat is shown) correlate, "
                       "but clamping them within their usual range changes little. Intervene suggests a value on the "
                       "other side for them.")
    with g2:
        st.plotly_chart(cplots.r_histogram(r_all[idx], highlight=ranked[0].r if ranked else None,
                                           label=hyp.label.lower()), width="stretch", key="cx_rhist")

    # linear probe: the ceiling for one cell (cached: a few hundred ms per layer)
    pkey = (tkey, hyp_key, pattern, language)
    probe = st.session_state.get("cx_probe")
    if T < 500:
        st.info("The linear probe needs at least 500 characters of text; use a longer excerpt.")
    elif not y_constant:
        if probe is None or probe["key"] != pkey:
            state_sigs = ("h", "c") if cfg.cell == "lstm" else ("h",)
            with st.spinner("Fitting a linear probe per layer..."):
                res = probes.probe_layers({kk: cm.block(*kk) for kk in cm.keys}, y, range(cfg.layers), state_sigs,
                                          binary=hyp.binary)
            probe = {"key": pkey, "res": res, "sigs": state_sigs}
            st.session_state["cx_probe"] = probe
        st.markdown("**Linear probe: how much of the hypothesis can be read from a whole layer?**")
        rows_p = []
        for kk, p in probe["res"].items():
            row = {"layer": kk + 1, "inputs": f"{p.n_features} ({' and '.join(probe['sigs'])})",
                   "probe R² (held out)": round(p.r2, 3), "best single cell R² (held out)": round(p.best_cell_r2, 3)}
            if p.accuracy is not None:
                row["probe accuracy"] = f"{p.accuracy:.1%}"
                row["always guess majority"] = f"{p.baseline:.1%}"
            rows_p.append(row)
        st.dataframe(rows_p, hide_index=True, width="stretch")
        st.caption(
            "Ridge regression on every value of the layer, cross-validated over 5 interleaved folds of "
            "50-character blocks: each character is predicted by a probe that never saw it, and the scaling of "
            "the inputs and the ridge strength are chosen on the training folds only. The single-cell "
            "column does the same with one cell (chosen on the training folds). When the two are close, "
            "one cell carries the information; when the probe is far better, it is spread over many cells."
        )

    st.markdown("**The top cells side by side** (same characters; hover for values)")
    w0, w1 = window_controls("cx_fwin")
    w1 = min(w1, w0 + 700)
    ymax = max(1e-9, float(np.abs(y).max()))
    cols = st.columns(3)
    with cols[0]:
        st.html(H.heat_text(text[w0:w1], y[w0:w1], vmin=-ymax, vmax=ymax, label=hyp_key, max_height=320,
                            caption=f"hypothesis: {hyp.label}"))
    for i, s in enumerate(ranked[:5]):
        with cols[(i + 1) % 3]:
            v = cm.block(s.layer, s.signal)[:, s.unit]
            m = max(1.0, float(np.abs(v).max()))
            st.html(H.heat_text(text[w0:w1], v[w0:w1], vmin=-m, vmax=m, label=s.signal, max_height=320,
                                caption=f"#{i + 1} layer {s.layer + 1} · {s.signal} · cell {s.unit} · r = {s.r:+.2f}"))
            st.button(f"Inspect #{i + 1}", key=f"cx_open_{i}", on_click=inspect_cell,
                      args=(s.layer, s.signal, s.unit, found_with))

elif view == "Select a pattern":
    lv_signals = [x for x in signals if x not in ("c", "pre")]
    if st.session_state.get("cx_lv_signal") not in lv_signals:
        st.session_state["cx_lv_signal"] = "h"
    p1, p2, _ = st.columns([0.7, 1.0, 4.0])
    with p1:
        layer = layer_select()
    with p2:
        signal = st.selectbox("Signal", lv_signals, key="cx_lv_signal", format_func=lambda s: SIGNAL_LABELS[s],
                              help="Bounded signals only, so one threshold means the same for every cell.")
    block = cm.block(layer, signal)
    sig_label = SIGNAL_LABELS[signal]
    is_gate = signal in GATE_SIGNALS.get(cfg.cell, ())
    st.markdown(
        f"Select characters where something happens. The cells of **layer {layer + 1} · {sig_label}** that are "
        "*on* (≥ θ) on every selected character and *off* (< θ) just before and after are found; then the text "
        "is searched for other places where the same cells switch on together (the LSTMVis idea, Strobelt et "
        "al. 2016). Tip: a box selection in the Heatmap view can fill in the characters."
    )
    w0, w1 = window_controls("cx_lvwin")
    nonce = st.session_state.get("cx_lv_nonce", 0)
    rng = st.session_state.get(f"cx_lv_range_{nonce}", st.session_state.get("cx_lv_default"))
    if not rng or not (w0 <= rng[0] < rng[1] <= w1):
        # Start on something that shows the idea: the first span of the hypothesis, a
        # string or an indentation on which some cell of this layer and signal does switch on.
        cands = probes.pattern_candidates(text, language, y if (y is not None and hyp.binary) else None,
                                          prefix=context, lo=w0, hi=w1)
        theta0 = st.session_state.get(f"cx_lv_theta_{is_gate}", 0.8 if is_gate else 0.3)
        margin0 = int(st.session_state.get("cx_lv_margin", 3))
        rng = probes.first_selective(block, cands, theta0, margin0) or (cands[0] if cands else
                                                                        (w0 + 10, min(w1, w0 + 20)))
        if st.session_state.get(f"cx_lv_range_{nonce}") is not None:  # a stale slider: start a new one
            nonce += 1
            st.session_state["cx_lv_nonce"] = nonce
    l1, l2, l3, l4 = st.columns([3, 1.2, 0.8, 1])
    with l1:
        a, b = st.slider("Selected characters", w0, w1, tuple(rng), key=f"cx_lv_range_{nonce}")
    lo, hi = (0.0, 1.0) if is_gate else (-1.0, 1.0)
    with l2:
        theta = st.slider("Threshold θ", lo, hi, 0.8 if is_gate else 0.3, 0.05, key=f"cx_lv_theta_{is_gate}")
    with l3:
        margin = st.number_input("Margin", 0, 20, 3, key="cx_lv_margin", help="Characters on each side that must be off.")
    with l4:
        min_frac = st.slider("Match: share of cells on", 0.5, 1.0, 1.0, 0.05, key="cx_lv_frac")
    if b <= a:
        st.warning("Select at least one character (move the two ends of the slider apart).")
        st.stop()
    ca, cb = max(0, a - 40), min(T, b + 40)
    bold = [a <= i < b for i in range(ca, cb)]
    st.html(H.char_spans(list(text[ca:cb]), None, None, bold=bold, max_height=160,
                         caption=f"selection: characters {a:,} to {b:,} (bold), with context"))
    sel = probes.select_cells(block, a, b, theta, int(margin))
    if not len(sel):
        inside, off = probes.contrast(block, a, b, int(margin))
        near = np.argsort(-(inside - np.where(np.isfinite(off), off, lo)), kind="stable")[:3]
        closest = "; ".join(f"cell {int(c)}: lowest inside {float(inside[c]):+.2f}, highest around "
                            + (f"{float(off[c]):+.2f}" if np.isfinite(off[c]) else "none") for c in near)
        st.info(
            f"No cell of layer {layer + 1} · {sig_label} matches this selection. "
            f"{probes.why_no_cells(block, a, b, theta, int(margin))} You can also try another signal or layer. "
            f"Closest: {closest}."
        )
    else:
        shown = ", ".join(str(int(c)) for c in sel[:30]) + (" ..." if len(sel) > 30 else "")
        st.markdown(f"**{len(sel)} cell(s) match:** {shown}")
        st.button(f"Inspect cell {int(sel[0])}", key="cx_lv_open", on_click=inspect_cell, args=(layer, signal, int(sel[0])))
        matches = probes.find_matches(block, sel, theta, b - a, exclude=(a, b), min_frac=min_frac, top=8)
        if not matches:
            st.info("These cells are never on together anywhere else in this text. Lower the share of cells, "
                    "or use a longer text.")
        else:
            st.markdown(f"**Other places where they switch on together** (best {len(matches)}, ranked by how "
                        "close the length is to your selection). Colour: mean of the selected cells.")
            mean_sel = block[:, sel].mean(axis=1)
            m = max(1.0, float(np.abs(mean_sel).max()))
            cols = st.columns(2)
            for i, mt in enumerate(matches):
                s0, s1 = max(0, mt.start - 30), min(T, mt.end + 30)
                colors = [H.diverging_rgb(float(v), -m, m) for v in mean_sel[s0:s1]]
                titles = [f"{H.describe_char(ch)}  mean = {float(v):+.3f}" for ch, v in zip(text[s0:s1], mean_sel[s0:s1])]
                with cols[i % 2]:
                    st.html(H.char_spans(list(text[s0:s1]), colors, titles,
                                         bold=[mt.start <= j < mt.end for j in range(s0, s1)], max_height=150,
                                         caption=f"characters {mt.start:,} to {mt.end:,} · length {mt.end - mt.start} · score {mt.score:.2f}"))

else:  # Intervene
    st.markdown(
        "Hold cells at a fixed value at every step while the model writes, and compare with the same "
        "random seed without the clamp. If the text changes the way the hypothesis predicts, the model "
        "really *uses* the cell."
    )
    i1, i2, i3 = st.columns([1.4, 1, 1.2])
    with i1:
        target = st.radio("Clamp", ["cell", "layer"], key="cx_iv_target",
                          format_func=lambda t: f"the cell in view (layer {layer + 1}, cell {unit})" if t == "cell"
                          else "every cell of a layer")
        iv_layer = layer
        if target == "layer":
            iv_layer = st.selectbox("Layer to clamp", list(range(cfg.layers)), key="cx_iv_layer",
                                    format_func=lambda k: f"layer {k + 1}")
    with i2:
        csig_opts = ["c", "h"] if cfg.cell == "lstm" else ["h"]
        csig = st.radio("Quantity", csig_opts, key=f"cx_iv_sig_{cfg.cell}",
                        format_func=lambda s: "cell state c" if s == "c" else "hidden state h",
                        help="Clamping c lets the output gate still act (h = o·tanh(c)); clamping h fixes the output.")
    with i3:
        mode = st.radio("Value", ["on", "zero"], key="cx_iv_mode",
                        format_func=lambda m: "hold at a value" if m == "on" else "zero (switch off)")
    sug = None
    if target == "cell":
        sug = probes.clamp_suggestion(cm.block(iv_layer, csig)[:, unit], csig, float(r_of(iv_layer, csig)[unit]))
    suggested = sug.value if sug is not None else 1.0
    v1, v2, v3, v4 = st.columns(4)
    with v1:
        if mode == "on":
            value = st.number_input("Clamp value", -20.0, 20.0, round(float(suggested), 2), 0.1,
                                    key=f"cx_iv_value_{iv_layer}_{csig}_{unit}_{target}",
                                    help=sug.note if sug is not None else
                                    "Every cell of the layer is held at this value.")
        else:
            value = 0.0
            st.metric("Clamp value", "0")
    with v2:
        iv_len = st.number_input("Characters to write", 20, 2000, 300, 20, key="cx_iv_len")
    with v3:
        iv_temp = st.slider("Temperature", 0.1, 1.5, 0.7, 0.05, key="cx_iv_temp")
    with v4:
        iv_seed = st.number_input("Seed", 0, 10_000, 1, key="cx_iv_seed")
    if sug is not None and sug.saturated and mode == "on":
        st.warning(f"Layer {iv_layer + 1}, cell {unit} is saturated: {sug.note}")
    prime = st.text_area("Prime (the model continues this text)", PRIMES[language], height=80,
                         key=f"cx_iv_prime_{language}")
    found = st.session_state.get("cx_found") or {}
    if target == "cell" and found.get("layer") == iv_layer and found.get("unit") == unit:
        score_with = {**{k: found[k] for k in ("hyp", "lang", "pattern")}, "found": True}
    else:
        score_with = {**found_with, "found": False}
    units = [unit] if target == "cell" else list(range(Hn))
    run_iv = st.button("Sample with and without the clamp", type="primary", key="cx_iv_go", icon=":material/science:")
    if run_iv:
        try:
            spec = probes.clamp_spec(iv_layer, units, value, csig)
            with st.spinner("Sampling twice with the same seed..."):
                res = probes.compare_clamp(model, vocab, spec, prime=prime or "", length=int(iv_len),
                                           seed=int(iv_seed), temperature=float(iv_temp))
            what = (f"layer {iv_layer + 1}, {csig}, cell {unit}" if target == "cell"
                    else f"all {Hn} cells of layer {iv_layer + 1} ({csig})")
            st.session_state["cx_iv"] = {"key": (choice, card.get("created"), card.get("steps")), "res": res,
                                         "what": what, "value": value, "score": score_with}
        except ValueError as e:
            st.error(str(e))
    held_iv = st.session_state.get("cx_iv")
    if held_iv and held_iv["key"] == (choice, card.get("created"), card.get("steps")):
        res = held_iv["res"]
        first = "no difference at all" if res.first_diff is None else f"first at character {res.first_diff + 1}"
        st.markdown(
            f"Clamped **{held_iv['what']}** to **{held_iv['value']:+.2f}**. "
            f"**{res.n_diff}** of {len(res.plain.text)} written characters differ ({first}). "
            "Colours show how sure the model was of each character."
        )
        sc = held_iv["score"]
        sc_hyp = probes.HYPOTHESES[sc["hyp"]]

        def share(smp):
            f = probes.feature(sc["hyp"], smp.full_text, sc["lang"], pattern=sc["pattern"])[len(smp.prime):]
            return float(f.mean()) if len(f) else 0.0

        try:
            before, after = share(res.plain), share(res.clamped)
        except ValueError:
            before = after = None
        if before is not None:
            st.caption(f"Scored with “{sc_hyp.label}”, " + ("the hypothesis this cell was found with."
                                                          if sc["found"] else "the hypothesis selected above."))
            m1, m2 = st.columns(2)
            unit_s = "" if sc_hyp.binary else " (mean)"
            m1.metric(f"{sc_hyp.label}{unit_s}, without clamp", f"{before:.2f}")
            m2.metric(f"{sc_hyp.label}{unit_s}, with clamp", f"{after:.2f}", delta=f"{after - before:+.2f}")
        d1, d2 = st.columns(2)
        with d1:
            st.html(H.prob_text(res.plain.text, res.plain.probs, res.plain.top, prime=res.plain.prime,
                                max_height=420, caption="without the clamp"))
        with d2:
            st.html(H.prob_text(res.clamped.text, res.clamped.probs, res.clamped.top, prime=res.clamped.prime,
                                max_height=420, caption=f"with the clamp ({held_iv['what']} = {held_iv['value']:+.2f})"))
        st.html(H.legend("prob"))
