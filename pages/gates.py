"""LSTM gates: gate values over text, saturation plots (live while training), a step
inspector that redoes one step's arithmetic in the lecture's notation, and the
conveyor-belt view of the cell state."""

import numpy as np
import streamlit as st
import torch

from rnnviz import gates as G
from rnnviz import models
from rnnviz.models import CELL_LABELS, SIGNAL_LABELS, SIGNALS
from rnnviz.plots import gates as P
from rnnviz.sample import sample
from rnnviz.ui import html as H
from rnnviz.ui import session, state
from rnnviz.ui.state import ensure_app_navigation

ensure_app_navigation()

ss = st.session_state
MAX_TRACE = 3000  # characters traced step by step for one view
VIEWS = ["Gates over text", "Step inspector", "Conveyor belt", "Saturation"]
SOURCES = ["Validation excerpt", "Your own text", "A sample from the model"]
GATE_LIKE = {"i", "f", "o", "r", "z"}  # values in [0, 1]
SAT_CHARS = {"1,000 characters": 1000, "2,000 characters": 2000, "5,000 characters": 5000}

st.title("LSTM gates")
st.markdown(
    "An LSTM decides at every character what to **forget**, what to **write** and what to "
    "**reveal**. Pick a model and a text, then watch those decisions as colours, as numbers and "
    "as curves. GRU and vanilla RNN models work too, for comparison."
)


# ------------------------------------------------------------------ lesson

with st.expander(":material/school: Lesson: what the gates do (read this first)", expanded=False):
    left, right = st.columns([3, 2])
    with left:
        st.markdown(
            "A vanilla RNN overwrites its whole memory at every step: the new h is a squashed "
            "mix of the old h and the input. An LSTM keeps a second vector, the **cell state c**, "
            "and changes it only through three switches that the network sets itself, one per "
            "cell and per step. Each switch is a sigmoid, so it lies between 0 (shut) and 1 "
            "(fully open):\n\n"
            "- the **forget gate f** says how much of the old c survives this step;\n"
            "- the **input gate i** says how much new content gets written;\n"
            "- the **candidate g** (a tanh, between -1 and 1) is that new content;\n"
            "- the **output gate o** says how much of the memory is shown to the rest of the "
            "network as h.\n\n"
            "All four read the same thing, the previous hidden state stacked on the current "
            "input, each through its own rows of one weight matrix W. Because c is updated by a "
            "multiply-and-add instead of a matrix product, a cell with f close to 1 and i close to "
            "0 carries its value unchanged for as long as that lasts: a conveyor belt. The same "
            "path carries gradients back in time, which is why LSTMs learn long-range structure "
            "that a vanilla RNN loses."
        )
        st.markdown(
            "**Saturation.** A gate is *left-saturated* when it is below 0.1 (acting as a closed "
            "switch) and *right-saturated* above 0.9 (an open switch). Plotting, for every gate "
            "unit, how often it is closed against how often it is open shows what the trained "
            "network does with its switches (Karpathy, Johnson & Fei-Fei, 2015): many forget "
            "gates sit near the top (open almost always: long-term memory), while gates of the "
            "first layer mostly stay in the middle and react smoothly to the input."
        )
    with right:
        st.latex(r"\begin{pmatrix} i \\ f \\ o \\ g \end{pmatrix} = "
                 r"\begin{pmatrix} \sigma \\ \sigma \\ \sigma \\ \tanh \end{pmatrix} "
                 r"\left( W \begin{pmatrix} h_{t-1} \\ x_t \end{pmatrix} + b \right)")
        st.latex(r"c_t = f \odot c_{t-1} + i \odot g")
        st.latex(r"h_t = o \odot \tanh(c_t)")
        st.caption("GRU (PyTorch's convention, the same as the lecture's):")
        st.latex(r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}")
        st.caption("PyTorch stores the rows of W in the order i, f, g, o (LSTM) and r, z, n (GRU).")
    st.markdown(
        "**Try this**\n"
        "1. *Conveyor belt*, Shakespeare LSTM: find a cell whose forget gate stays open across a "
        "whole passage between brackets or quotes, e.g. a stage direction like `[Enter ...]`. "
        "The table of longest open runs is a good place to start.\n"
        "2. *Saturation*: compare layer 1 with layer 2. Which layer has more switches that are "
        "almost always open or closed? Why might the layer that reads the raw characters keep its "
        "gates in the middle?\n"
        "3. *Step inspector*: walk through a word one character at a time and watch c_t. When does "
        "the forget gate drop, and what happens to c_t then?\n"
        "4. Start training a small LSTM on the **Train & sample** page, then open *Saturation*: "
        "at step 0 every gate sits near 0.5; watch the points move to the edges as it learns.\n"
        "5. Compare the update gate z of the GRU with the forget gate f of the LSTM: "
        "z = 1 keeps the old state, just like f = 1."
    )


# ------------------------------------------------------------------ helpers


def _fmt(v: float, nd: int = 4) -> str:
    s = f"{v:.{nd}f}"
    return s if v >= 0 else f"({s})"


def _clamp_key(key: str, lo: int, hi: int, default: int):
    v = ss.get(key, default)
    try:
        v = int(v)
    except (TypeError, ValueError):
        v = default
    ss[key] = max(lo, min(hi, v))


@st.cache_resource(max_entries=24, show_spinner="Tracing the text through the model...")
def _trace_pretrained(name: str, text: str) -> models.Trace:
    cp = state.pretrained(name)
    with torch.inference_mode():
        return models.trace(cp.model, cp.vocab.encode(text))


@st.cache_resource(max_entries=12, show_spinner="Measuring how often every gate saturates...")
def _saturation_pretrained(name: str, chars: int) -> G.Saturation:
    cp = state.pretrained(name)
    corpus = state.corpus(cp.card.get("corpus", ""))
    return G.saturation(cp.model, G.corpus_sample(corpus.val_ids, chars), step=cp.card.get("steps"))


def _trace(key, cp, text: str) -> models.Trace:
    if key[0] == "pretrained":
        return _trace_pretrained(key[1], text)
    memo = ss.setdefault("gates_trace_memo", {})
    if (key, text) not in memo:
        memo.clear()
        with st.spinner("Tracing the text through the model..."), torch.inference_mode():
            memo[(key, text)] = models.trace(cp.model, cp.vocab.encode(text))
    return memo[(key, text)]


def _val_text(key, cp) -> str:
    """The validation split of the text the model was trained on."""
    if key[0] == "live":
        runner = session.get_runner()
        if runner is None:
            raise ValueError("The live model is gone (training was reset). Pick another model.")
        return runner.trainer.corpus.val_text
    name = cp.card.get("corpus", "")
    return state.corpus(name).val_text


def _pick_model():
    choice, cp = state.model_picker("Model", key="gates_model", default="shakespeare_lstm",
                                    help="Bundled models, plus your own live model while it trains.")
    if cp is None:
        return None, None
    if choice != state.LIVE:
        return ("pretrained", choice), cp
    # Freeze the live model so numbers do not shift between clicks while it trains.
    frozen = ss.get("gates_live_frozen")
    if frozen is None or ss.pop("gates_live_refresh", False):
        ss["gates_live_frozen"] = frozen = cp
    c1, c2 = st.columns([3, 1])
    c1.caption(f"Showing your live model as it was at step {frozen.card.get('steps', 0):,}. "
               f"It is now at step {cp.card.get('steps', 0):,}.")
    c2.button("Use the latest weights", key="gates_live_refresh_btn",
              on_click=lambda: ss.__setitem__("gates_live_refresh", True))
    return ("live", id(frozen)), frozen


def _choose_text(key, cp):
    """Text controls; returns the text to trace, or None after showing a message."""
    c1, c2 = st.columns([2, 3])
    source = c1.radio("Text", SOURCES, key="gates_source", horizontal=False)
    vocab = cp.vocab
    with c2:
        if source == SOURCES[0]:
            try:
                val = _val_text(key, cp)
            except ValueError as e:
                st.error(str(e))
                return None
            if len(val) < 2:
                st.error("This model's validation text is too short to show. Paste your own text instead.")
                return None
            n = st.slider("Length (characters)", 50, min(2000, len(val)), min(600, len(val)), 50,
                          key="gates_len")
            hi = max(0, len(val) - n)
            _clamp_key("gates_start", 0, hi, 0)
            s1, s2 = st.columns([3, 2])
            s1.number_input("Start at character", 0, hi, key="gates_start", step=100)
            s2.button("Random place", key="gates_random", width="stretch",
                      on_click=lambda: ss.__setitem__("gates_start", int(np.random.randint(0, hi + 1))))
            start = ss["gates_start"]
            st.caption(f"From the last 10 % of the training corpus, which the model never trained on "
                       f"({len(val):,} characters).")
            return val[start : start + n]
        if source == SOURCES[1]:
            text = st.text_area("Paste text (the model's characters only)", key="gates_paste", height=140,
                                placeholder="To be, or not to be, that is the question:")
            if not text:
                st.info("Paste or type some text above to see the gates react to it.")
                return None
            if len(text) > MAX_TRACE:
                st.warning(f"The text has {len(text):,} characters; showing the first {MAX_TRACE:,}.")
                text = text[:MAX_TRACE]
            try:
                vocab.encode(text)
            except ValueError as e:
                st.error(f"{e} Your text is kept above so you can fix it.")
                return None
            return text
        s1, s2, s3 = st.columns(3)
        length = s1.slider("Length", 50, 1500, 400, 50, key="gates_sample_len")
        temp = s2.slider("Temperature", 0.1, 2.0, 0.8, 0.1, key="gates_sample_temp")
        s3.button("New sample", key="gates_resample_btn", width="stretch",
                  on_click=lambda: ss.__setitem__("gates_sample_seed", ss.get("gates_sample_seed", 0) + 1))
        skey = (key, length, temp, ss.get("gates_sample_seed", 0))
        if ss.get("gates_sample_key") != skey:
            with st.spinner("Sampling..."):
                s = sample(cp.model, vocab, length, temperature=temp, seed=skey[-1])
            ss["gates_sample_key"], ss["gates_sample_text"] = skey, s.full_text or s.text
        st.caption("The model wrote this text itself; its gates are shown reading it back.")
        return ss["gates_sample_text"]


def _signal_label(sig: str, cell: str) -> str:
    if cell == "rnn" and sig == "pre":
        return "pre-activation a (before tanh)"
    return SIGNAL_LABELS.get(sig, sig)


def _layer_picker(cfg, key: str, col=None):
    where = col or st
    if cfg.layers == 1:
        return 0
    return where.selectbox("Layer", list(range(cfg.layers)), format_func=lambda k: f"layer {k + 1}",
                           key=key, index=cfg.layers - 1 if key.endswith("sat") else 0)


# ------------------------------------------------------------------ views


def view_text(key, cp, tr: models.Trace, text: str):
    cfg = cp.model.config
    cell = cfg.cell
    c1, c2, c3 = st.columns([1, 2, 3])
    layer = _layer_picker(cfg, "gates_text_layer", c1)
    sigs = list(SIGNALS[cell])
    sig = c2.radio("Signal", sigs, format_func=lambda s: _signal_label(s, cell), key=f"gates_sig_{cell}",
                   index=sigs.index("f") if "f" in sigs else (sigs.index("z") if "z" in sigs else 0))
    values = tr.numpy(layer, sig)
    ranked = [int(u) for u in np.argsort(-values.std(axis=0))[:3]]
    units = c3.multiselect("Cells (up to 6)", list(range(cfg.hidden)), default=ranked, max_selections=6,
                           key=f"gates_units_{key}_{layer}_{sig}",
                           help="Starts with the three cells whose value changes most over this text.")
    gate = sig in GATE_LIKE
    scale = 1.0 if gate else G.signal_scale(values)
    if gate:
        st.html(H.legend("gate", f"{_signal_label(sig, cell)}: white = closed (0), blue = open (1). "
                                 "Hover a character for its value."))
    else:
        lo, hi = (f"-{scale:g}", f"+{scale:g}")
        st.html(H.legend("diverging", f"{_signal_label(sig, cell)}: red = negative, blue = positive. "
                                      "Hover a character for its value.", ends=(lo, hi)))
    if not units:
        st.info("Choose at least one cell above.")
    for u in units:
        st.html(H.heat_text(text, values[:, u], vmin=0.0 if gate else -scale, vmax=scale,
                            label=sig, max_height=220,
                            caption=f"layer {layer + 1}, cell {u}: {_signal_label(sig, cell)}"))

    st.subheader("Cells × time")
    st.caption("Every row is one cell, every column one character. Use it to spot cells that switch on "
               "a particular character, then type their number above.")
    T = len(text)
    h1, h2, h3 = st.columns([2, 2, 2])
    width = h1.slider("Window (characters)", 20, min(400, T), min(120, T), 10, key="gates_hm_width") \
        if T > 20 else T
    _clamp_key("gates_hm_start", 0, max(0, T - width), 0)
    start = h2.number_input("Window starts at", 0, max(0, T - width), key="gates_hm_start", step=20)
    which = h3.radio("Rows", ["all cells", "chosen cells"], key="gates_hm_rows", horizontal=True)
    default_sigs = [s for s in SIGNALS[cell] if s in GATE_LIKE] or list(SIGNALS[cell])
    shown = st.multiselect("Signals", list(SIGNALS[cell]), default=default_sigs,
                           format_func=lambda s: _signal_label(s, cell), key=f"gates_hm_sigs_{cell}")
    rows = units if (which == "chosen cells" and units) else None
    for s in shown:
        v = tr.numpy(layer, s)[start : start + width]
        if rows is not None:
            v = v[:, rows]
        g = s in GATE_LIKE
        fig = P.gate_heatmap(v, text[start : start + width], start=start, units=rows,
                             title=f"layer {layer + 1}: {_signal_label(s, cell)}", gate=g,
                             scale=1.0 if g else G.signal_scale(tr.numpy(layer, s)))
        st.plotly_chart(fig, width="stretch", key=f"gates_hm_{s}")


def _step(delta: int, last: int):
    ss["gates_t"] = max(0, min(last, int(ss.get("gates_t", 0)) + delta))


def _latex_lstm(d):
    p = d["parts"]
    lines = []
    for name, fn in (("i", r"\sigma"), ("f", r"\sigma"), ("o", r"\sigma"), ("g", r"\tanh")):
        q = p[name]
        lines.append(
            rf"{name}_t &= {fn}\big(\underbrace{{{_fmt(q['x'])}}}_{{W_{{x{name}}} x_t}} + "
            rf"\underbrace{{{_fmt(q['h'])}}}_{{W_{{h{name}}} h_{{t-1}}}} + "
            rf"\underbrace{{{_fmt(q['b'])}}}_{{b_{name}}}\big) = {fn}({q['pre']:.4f}) = {q['value']:.4f}"
        )
    i, f, g, o = (p[n]["value"] for n in "ifgo")
    lines.append(
        rf"c_t &= f_t\, c_{{t-1}} + i_t\, g_t = {f:.4f} \cdot {_fmt(d['c_prev'])} + {i:.4f} \cdot {_fmt(g)}"
        rf" \\ &= \underbrace{{{_fmt(d['keep'])}}}_{{\text{{kept}}}} + \underbrace{{{_fmt(d['write'])}}}"
        rf"_{{\text{{written}}}} = \mathbf{{{d['c']:.4f}}}"
    )
    lines.append(
        rf"h_t &= o_t \tanh(c_t) = {o:.4f} \cdot \tanh({d['c']:.4f}) = {o:.4f} \cdot {_fmt(d['tanh_c'])}"
        rf" = \mathbf{{{d['h']:.4f}}}"
    )
    return lines


def _latex_gru(d):
    p = d["parts"]
    lines = []
    for name in ("r", "z"):
        q = p[name]
        lines.append(
            rf"{name}_t &= \sigma\big(\underbrace{{{_fmt(q['x'])}}}_{{W_{{i{name}}} x_t}} + "
            rf"\underbrace{{{_fmt(q['h'])}}}_{{W_{{h{name}}} h_{{t-1}}}} + "
            rf"\underbrace{{{_fmt(q['b'])}}}_{{b_{name}}}\big) = \sigma({q['pre']:.4f}) = {q['value']:.4f}"
        )
    n, r, z = p["n"], p["r"]["value"], p["z"]["value"]
    lines.append(
        rf"n_t &= \tanh\big(\underbrace{{{_fmt(n['x'] + n['b_x'])}}}_{{W_{{in}} x_t + b_{{in}}}} + r_t "
        rf"(\underbrace{{{_fmt(n['h'] + n['b_h'])}}}_{{W_{{hn}} h_{{t-1}} + b_{{hn}}}})\big)"
        rf" \\ &= \tanh({n['x'] + n['b_x']:.4f} + {r:.4f} \cdot {_fmt(n['h'] + n['b_h'])})"
        rf" = \tanh({n['pre']:.4f}) = {n['value']:.4f}"
    )
    lines.append(
        rf"h_t &= (1 - z_t)\, n_t + z_t\, h_{{t-1}} = {1 - z:.4f} \cdot {_fmt(n['value'])} + {z:.4f} \cdot "
        rf"{_fmt(d['h_prev'])} \\ &= \underbrace{{{_fmt(d['write'])}}}_{{\text{{new}}}} + "
        rf"\underbrace{{{_fmt(d['keep'])}}}_{{\text{{kept}}}} = \mathbf{{{d['h']:.4f}}}"
    )
    return lines


def _latex_rnn(d):
    q = d["parts"]["a"]
    fn = r"\tanh" if d["activation"] == "tanh" else r"\operatorname{relu}"
    return [
        rf"a_t &= \underbrace{{{_fmt(q['h'])}}}_{{W_{{hh}} h_{{t-1}}}} + "
        rf"\underbrace{{{_fmt(q['x'])}}}_{{W_{{xh}} x_t}} + \underbrace{{{_fmt(q['b'])}}}_{{b}} = {q['pre']:.4f}",
        rf"h_t &= {fn}(a_t) = {fn}({q['pre']:.4f}) = \mathbf{{{q['value']:.4f}}}",
    ]


def view_inspector(key, cp, tr: models.Trace, text: str):
    cfg = cp.model.config
    cell = cfg.cell
    T = len(text)
    _clamp_key("gates_t", 0, T - 1, min(T - 1, 20))
    _clamp_key("gates_unit", 0, cfg.hidden - 1, 0)
    c1, c2, c3, c4, c5 = st.columns([1.2, 1.2, 1.2, 1, 1], vertical_alignment="bottom")
    layer = _layer_picker(cfg, "gates_insp_layer", c1)
    c2.number_input(f"Cell (0 to {cfg.hidden - 1})", 0, cfg.hidden - 1, key="gates_unit", step=1)
    c3.number_input(f"Position t (0 to {T - 1})", 0, T - 1, key="gates_t", step=1)
    c4.button("◀ Back", key="gates_back", width="stretch", on_click=_step, args=(-1, T - 1),
              disabled=ss["gates_t"] <= 0)
    c5.button("Forward ▶", key="gates_fwd", width="stretch", on_click=_step, args=(1, T - 1),
              disabled=ss["gates_t"] >= T - 1)
    t, unit = int(ss["gates_t"]), int(ss["gates_unit"])
    d = G.inspect_step(cp.model, tr, layer, t, unit)

    # The text around t, coloured by this unit's h, with x_t underlined.
    lo, hi = max(0, t - 60), min(T, t + 61)
    hv = tr.numpy(layer, "h")[lo:hi, unit]
    colors = [H.diverging_rgb(v) for v in hv]
    titles = [f"t={lo + k}  {H.describe_char(ch)}  h = {v:+.3f}" for k, (ch, v) in enumerate(zip(text[lo:hi], hv))]
    bold = [lo + k == t for k in range(hi - lo)]
    st.html(H.char_spans(list(text[lo:hi]), colors, titles, bold=bold, max_height=160,
                         caption=f"Text around t = {t} (underlined), coloured by h of cell {unit} in layer {layer + 1}"))

    ch = text[t]
    m = st.columns(5 if cell == "lstm" else 3)
    src = f"character {H.describe_char(ch)}" if layer == 0 else f"h of layer {layer} at t = {t}"
    m[0].metric("Input $x_t$", H.describe_char(ch), help=f"Layer {layer + 1} reads the {src}.")
    m[1].metric("$h_{t-1}$", f"{d['h_prev']:+.4f}", help="This cell's hidden value after the previous character.")
    if cell == "lstm":
        m[2].metric("$c_{t-1}$", f"{d['c_prev']:+.4f}", help="This cell's memory after the previous character.")
        m[3].metric("$c_t$", f"{d['c']:+.4f}", delta=f"{d['c'] - d['c_prev']:+.4f}", delta_color="off")
        m[4].metric("$h_t$", f"{d['h']:+.4f}", delta=f"{d['h'] - d['h_prev']:+.4f}", delta_color="off")
    else:
        m[2].metric("$h_t$", f"{d['h']:+.4f}", delta=f"{d['h'] - d['h_prev']:+.4f}", delta_color="off")

    lines = {"lstm": _latex_lstm, "gru": _latex_gru, "rnn": _latex_rnn}[cell](d)
    st.latex(r"\begin{aligned}" + r" \\[4pt] ".join(lines) + r"\end{aligned}")
    ref_h = float(tr.layers[layer]["h"][t, unit])
    diff = abs(ref_h - d["h"])
    check = f"h_t = {ref_h:+.7f}"
    if cell == "lstm":
        ref_c = float(tr.layers[layer]["c"][t, unit])
        diff = max(diff, abs(ref_c - d["c"]))
        check = f"c_t = {ref_c:+.7f} and " + check
    st.caption(
        f"These numbers were recomputed here from the weights and the previous state. The network's own "
        f"step gave {check}; the largest difference is {diff:.1e} (float32 round-off)."
    )
    if cell == "gru":
        st.caption("PyTorch applies the reset gate after the matrix product, r ⊙ (W_hn h + b_hn), where some "
                   "textbooks write W (r ⊙ h); with z = 1 the old state is kept, with z = 0 it is replaced by n.")
    if cell == "rnn" and layer == 0:
        st.caption("In layer 1, x_t is the character's learned embedding vector, so the input part W_xh x_t is "
                   "the same number every time this character appears; only the recurrent part carries context.")

    rows = []
    for name, q in d["parts"].items():
        rows.append({
            "block": f"{name}: {G.GATE_NAMES[name]}",
            "from x_t": round(q["x"], 4),
            "from h_{t-1}": round(q["rec"], 4),
            "bias": round(q["bias"], 4),
            "pre-activation": round(q["pre"], 4),
            "value": round(q["value"], 4),
        })
    with st.expander("Where the pre-activations come from", expanded=False):
        st.dataframe(rows, hide_index=True, width="stretch")
        names = list(d["parts"])
        pick = st.radio("Show the biggest pushes from h_{t-1} for", names, horizontal=True,
                        format_func=lambda n: f"{n} ({G.GATE_NAMES[n]})", key=f"gates_push_{cell}")
        st.caption(f"The recurrent part is a sum over all {cfg.hidden} cells of layer {layer + 1} at the previous "
                   "step: weight × that cell's h. These terms are the largest.")
        st.dataframe([{"cell j": j, "weight W[unit, j]": round(w, 4), "h_{t-1}[j]": round(h, 4),
                       "weight × h": round(p, 4)} for j, w, h, p in d["parts"][pick]["top"]],
                     hide_index=True, width="stretch")

    lo, hi = max(0, t - 40), min(T, t + 41)
    series = {}
    for s in SIGNALS[cell]:
        if s in ("tanh_c",):
            continue
        series[_signal_label(s, cell)] = tr.numpy(layer, s)[lo:hi, unit]
    st.plotly_chart(P.unit_strip(text[lo:hi], start=lo, series=series, mark=t), width="stretch",
                    key="gates_strip")


def view_conveyor(key, cp, tr: models.Trace, text: str):
    cfg = cp.model.config
    cell = cfg.cell
    if cell == "rnn":
        st.info("A vanilla RNN has no conveyor belt: it pushes its whole state through a matrix and a "
                "squashing function at every step, so old information fades quickly (and so do gradients). "
                "Pick an LSTM or GRU model to see the belt.")
        return
    T = len(text)
    c1, c2, c3 = st.columns([1, 2, 2])
    layer = _layer_picker(cfg, "gates_conv_layer", c1)
    width = c2.slider("Window (characters)", 20, min(300, T), min(150, T), 10, key="gates_conv_width") \
        if T > 20 else T
    _clamp_key("gates_conv_start", 0, max(0, T - width), 0)
    start = c3.number_input("Window starts at", 0, max(0, T - width), key="gates_conv_start", step=25)
    if cell == "lstm":
        mem, keep = tr.numpy(layer, "c"), tr.numpy(layer, "f")
        write = tr.numpy(layer, "i")
        labels = dict(memory_label="cell state c_t", keep_label="forget gate f (1 = keep)",
                      write_label="input gate i (1 = write)")
    else:
        mem, keep = tr.numpy(layer, "h"), tr.numpy(layer, "z")
        write = 1.0 - keep
        labels = dict(memory_label="hidden state h_t (the GRU's only memory)", keep_label="update gate z (1 = keep)",
                      write_label="1 − z (1 = overwrite with n)")
    sl = slice(start, start + width)
    best = G.rank_memory_cells(keep[sl], count=3)
    units = st.multiselect("Cells (up to 6)", list(range(cfg.hidden)), default=best, max_selections=6,
                           key=f"gates_conv_units_{key}_{layer}",
                           help="Starts with the cells whose keep gate stays above 0.9 for the longest run "
                                "in this window.")
    show_ret = st.toggle("Show how much of the window's first value is still kept (product of the keep gate)",
                         value=True, key="gates_conv_ret")
    if not units:
        st.info("Choose at least one cell.")
    else:
        ret = G.retention(keep[sl][:, units]) if show_ret else None
        fig = P.conveyor_figure(text[sl], start=start, memory=mem[sl][:, units], keep=keep[sl][:, units],
                                write=write[sl][:, units], units=units, retention=ret, **labels)
        st.plotly_chart(fig, width="stretch", key="gates_conveyor")
        u0 = units[0]
        st.html(H.heat_text(text[sl], keep[sl][:, u0], vmin=0.0, vmax=1.0, label=labels["keep_label"][:13],
                            max_height=160, caption=f"The window, coloured by the keep gate of cell {u0} "
                                                    "(blue = keeps its memory, white = lets go)"))
    st.markdown("**Longest stretches with the keep gate open (> 0.9) in the whole text**")
    length, where = G.open_runs(keep)
    order = np.argsort(-length)[:8]
    rows = []
    for u in order:
        a, n = int(where[u]), int(length[u])
        snippet = text[a : a + n]
        rows.append({"cell": int(u), "open for (chars)": n, "from t": a,
                     "text": (snippet[:60] + " …" if len(snippet) > 60 else snippet).replace("\n", " ↵ ")})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("A long run means the cell kept what it had for that whole stretch. Type its number above and "
               "move the window to 'from t' to look at it.")


# ------------------------------------------------------------------ saturation


def _runner_corpus_ids(runner):
    c = runner.trainer.corpus
    ids = c.val_ids
    return ids if len(ids) >= 200 else c.ids


def view_saturation():
    st.markdown(
        "Every dot is one gate unit. **x**: how often it is almost closed (below 0.1); **y**: how often it "
        "is almost open (above 0.9). Dots in the bottom-left corner are never saturated and respond "
        "gradually; dots at the top are switches that stay open; the dotted line is the limit where the "
        "gate is always saturated on one side or the other."
    )
    chars = SAT_CHARS[st.radio("Measured over", list(SAT_CHARS), index=1, horizontal=True, key="gates_sat_chars",
                               help="Evenly spaced excerpts of each model's validation text.")]
    runner = session.get_runner()
    if runner is not None:
        _live_saturation(runner, chars)
        st.divider()
    st.subheader("LSTM and GRU side by side")
    cols = st.columns(2)
    for col, cell, default in ((cols[0], "lstm", "shakespeare_lstm"), (cols[1], "gru", "shakespeare_gru")):
        with col:
            choice, cp = state.model_picker(f"{CELL_LABELS[cell]} model", key=f"gates_sat_{cell}",
                                            cells=(cell,), default=default, allow_live=False)
            if cp is None:
                continue
            try:
                sat = _saturation_pretrained(choice, chars)
            except ValueError as e:
                st.error(str(e))
                continue
            st.plotly_chart(P.saturation_figure(sat, now_label=choice), width="stretch",
                            key=f"gates_sat_fig_{cell}")
            _sat_table(sat)
    if runner is None:
        st.info("Train your own model on the **Train & sample** page and come back: its saturation plot "
                "appears at the top of this view and moves while it trains.", icon=":material/model_training:")


def _sat_table(sat):
    rows = []
    for (k, g), (closed, opened) in sat.summary().items():
        rows.append({"layer": k + 1, "gate": g, "closed": f"{closed:.0%}", "open": f"{opened:.0%}",
                     "in between": f"{np.mean((sat.left[(k, g)] + sat.right[(k, g)]) < 0.1):.0%}"})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Share of units that are closed (or open) more than half of the time, and of units that are "
               "saturated less than 10 % of the time (in between).")


def _step0_saturation(runner, cp, ids):
    """Saturation of the live model's weights before its first training step, if known."""
    initial = getattr(runner.trainer, "initial_weights", None)
    if not initial:
        return None
    model = cp.model.copy()
    try:
        model.load_state_dict(initial)
    except (RuntimeError, KeyError):
        return None
    return G.saturation(model, ids, step=0)


def _live_saturation(runner, chars):
    st.subheader("Your live model, while it trains")
    c1, c2 = st.columns(2)
    every = c1.number_input("Measure again every N training steps", 1, 100_000, 100, step=50,
                            key="gates_live_every")
    compare = c2.radio("Grey dots show", ["the first measurement", "the previous measurement", "nothing"],
                       horizontal=True, key="gates_live_compare")
    running = runner.status in ("running", "queued")

    @st.fragment(run_every=2.0 if running else None)
    def panel():
        snap = runner.snapshot()
        hist = ss.get("gates_live_hist")
        if hist is None or hist["runner"] != id(runner) or hist["chars"] != chars:
            hist = ss["gates_live_hist"] = {"runner": id(runner), "chars": chars, "items": []}
        items = hist["items"]
        cell = runner.trainer.model.config.cell
        if cell == "rnn":
            st.info("Your live model is a vanilla RNN, which has no gates. Train an LSTM or GRU to watch "
                    "its gates saturate.")
            return
        sample_ids = G.corpus_sample(_runner_corpus_ids(runner), chars)
        if not items or (snap.steps - items[-1].step >= every) or (not running and snap.steps != items[-1].step):
            cp = runner.checkpoint_copy()
            if not items and cp.card.get("steps", 0) > 0:
                first = _step0_saturation(runner, cp, sample_ids)
                if first is not None:
                    items.append(first)
            sat = G.saturation(cp.model, sample_ids, step=int(cp.card.get("steps", snap.steps)))
            items.append(sat)
            if len(items) > 8:  # keep the first measurement and the latest ones
                del items[1]
        now = items[-1]
        before = None
        if compare == "the first measurement" and len(items) > 1:
            before = items[0]
        elif compare == "the previous measurement" and len(items) > 1:
            before = items[-2]
        status = {"running": "training", "queued": "waiting for a free CPU"}.get(snap.status, snap.status)
        st.caption(f"Status: **{status}** · step {snap.steps:,} · measured at step {now.step:,} · "
                   f"measurements kept: {', '.join(f'{s.step:,}' for s in items)}")
        fig = P.saturation_figure(now, compare=before, now_label=f"step {now.step:,}",
                                  before_label=f"step {before.step:,}" if before else "before",
                                  title=f"{CELL_LABELS[cell]} at step {now.step:,}")
        st.plotly_chart(fig, width="stretch", key="gates_live_fig")
        _sat_table(now)
        if running and snap.status not in ("running", "queued"):
            st.rerun()  # training stopped: rerun the page once so the timer stops

    panel()


# ------------------------------------------------------------------ page

view = st.radio("View", VIEWS, horizontal=True, key="gates_view", label_visibility="collapsed")

if view == "Saturation":
    view_saturation()
else:
    key, cp = _pick_model()
    if cp is not None:
        if cp.model.config.cell == "rnn" and view != "Conveyor belt":
            st.caption("A vanilla RNN has no gates: you will see its pre-activation and h, the baseline the "
                       "gated cells improve on.")
        text = _choose_text(key, cp)
        if text:
            try:
                tr = _trace(key, cp, text)
            except ValueError as e:
                st.error(str(e))
                tr = None
            if tr is not None:
                st.divider()
                if view == "Gates over text":
                    view_text(key, cp, tr, text)
                elif view == "Step inspector":
                    view_inspector(key, cp, tr, text)
                else:
                    view_conveyor(key, cp, tr, text)
