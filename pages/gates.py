"""LSTM gates: what an LSTM (or GRU) decides at every character, four ways: the gates over a
text (coloured text, heatmaps), a step inspector redoing one step inside the lecture's equations,
the conveyor belt of the cell state, and saturation plots (live while a model trains)."""

import streamlit as st
import torch

from rnnviz import gates, models
from rnnviz.celltypes import CELL_TYPES
from rnnviz.plots import gates as gate_plots
from rnnviz.ui import charts, html, live, page, pickers, present, session

VIEWS = {"text": "Gates over text", "inspector": "Step inspector", "belt": "Conveyor belt", "saturation": "Saturation"}
SAT_CHARS = {1000: "1,000 characters", 2000: "2,000 characters", 5000: "5,000 characters"}
SAT_MODELS = {"lstm": "shakespeare_lstm", "gru": "shakespeare_gru"}  # default bundled model per gated cell type
TRACE_BUDGET = 160 * 2**20  # bytes of traces kept for all sessions together (the old 24-entry cache grew to ~700 MB)
BIND = {"bind": "query-params"}  # every choice on screen is part of the link


_memo = st.cache_resource(lambda: gates.TraceMemo(TRACE_BUDGET))  # one per server, bounded by bytes


def _trace(choice, text: str) -> models.Trace:
    def make():
        with st.spinner("Tracing the text through the model..."), torch.inference_mode():
            return models.trace(choice.model, choice.vocab.encode(text))
    return _memo().get((choice.cache_key, text), make)


@st.cache_resource(max_entries=12, show_spinner="Measuring how often every gate saturates...")
def _saturation(cache_key, chars: int, _choice) -> gates.Saturation:
    return gates.corpus_saturation(_choice.model, _choice.corpus, chars, step=_choice.card.get("steps"))


def _window(T: int, default: int = 120) -> tuple[int, int]:
    """The window of the text shown in the heatmaps and on the belt: (start, width)."""
    if T <= 20:
        return 0, T
    c1, c2 = st.columns(2)
    width = min(T, c1.slider("Window (characters)", 20, 400, default, 10, key="gates_width", **BIND))
    start = c2.number_input("Window starts at", 0, None, 0, 20, key="gates_start", **BIND)
    return gates.clamp(start, 0, T - width), width


def _heat_texts(text, values, units, sig, ct, layer) -> str:
    gate, label = sig in ct.gates, ct.signal_label(sig)
    scale = 1.0 if gate else gates.signal_scale(values)
    how = "white = closed (0), blue = open (1)" if gate else "red = negative, blue = positive"
    out = html.legend("gate" if gate else "diverging", f"{label}: {how}. Hover a character for its value.",
                      **({} if gate else {"ends": (f"-{scale:g}", f"+{scale:g}")}))
    return out + "".join(html.heat_text(text, values[:, u], vmin=0.0 if gate else -scale, vmax=scale, label=sig,
                                        max_height=220, caption=f"layer {layer + 1}, cell {u}: {label}")
                         for u in units)


def view_text(choice, tr, text, ct):
    cfg = choice.config
    layer = pickers.layer_picker("gates", cfg.layers)
    sig = pickers.signal_picker("gates", ct.key, default=gates.keep_gate(ct.key))
    values = tr.numpy(layer, sig)
    units = st.multiselect("Cells (up to 6)", list(range(cfg.hidden)), default=gates.top_varying_units(values),
                           max_selections=6, key="gates_cells", **BIND,
                           help="Starts with the three cells whose value changes most over this text.")
    if not units:
        st.info("Choose at least one cell above.")
    charts.html_view(_heat_texts(text, values, units, sig, ct, layer), name="gates_text",
                     title=f"{ct.signal_label(sig)}, layer {layer + 1}")
    st.subheader("Cells × time")
    st.caption("Every row is one cell, every column one character. Spot a cell that switches on a particular "
               "character, then add its number above.")
    with present.controls():
        start, width = _window(len(text))
        rows = st.radio("Rows", ["all", "chosen"], key="gates_rows", horizontal=True, **BIND,
                        format_func={"all": "all cells", "chosen": "chosen cells"}.get)
        shown = st.multiselect("Signals", list(ct.signals), default=list(ct.gates) or list(ct.signals),
                               format_func=ct.signal_label, key="gates_hm", **BIND)
    chosen = units if rows == "chosen" and units else None
    for s in shown:
        v, gate = tr.numpy(layer, s), s in ct.gates
        fig = gate_plots.gate_heatmap(v[start : start + width, chosen or slice(None)], text[start : start + width],
                                      start=start, units=chosen, gate=gate, title=f"layer {layer + 1}: {ct.signal_label(s)}",
                                      scale=1.0 if gate else gates.signal_scale(v))
        charts.chart(fig, key=f"gates_hm_{s}", name=f"gates_heatmap_{s}")


def view_inspector(choice, tr, text, ct):
    cfg, T = choice.config, len(text)
    cols = st.columns(3, vertical_alignment="bottom")
    with cols[0]:
        layer = pickers.layer_picker("gates", cfg.layers)
    with cols[1]:
        unit = pickers.cell_stepper("gates", cfg.hidden)
    with cols[2]:
        t = pickers.cell_stepper("gates", T, label="Position t", key="gates_t")
    d = gates.inspect_step(choice.model, tr, layer, t, unit)

    lo, hi = max(0, t - 60), min(T, t + 61)
    hv = tr.numpy(layer, "h")[lo:hi, unit]
    titles = [f"t={lo + k}  {html.describe_char(ch)}  h = {v:+.3f}" for k, (ch, v) in enumerate(zip(text[lo:hi], hv))]
    caption = f"Text around t = {t} (underlined), coloured by h of cell {unit} in layer {layer + 1}"
    charts.html_view(html.char_spans(list(text[lo:hi]), [html.diverging_rgb(v) for v in hv], titles, caption=caption,
                                     bold=[lo + k == t for k in range(hi - lo)], max_height=160),
                     name="gates_step_text", title=caption, details=titles, chars=text[lo:hi])
    m = st.columns(5 if ct.has_cell_state else 3)
    src = f"character {html.describe_char(text[t])}" if layer == 0 else f"h of layer {layer} at t = {t}"
    m[0].metric("Input $x_t$", html.describe_char(text[t]), help=f"Layer {layer + 1} reads the {src}.")
    m[1].metric("$h_{t-1}$", f"{d['h_prev']:+.4f}", help="This cell's hidden value after the previous character.")
    if ct.has_cell_state:
        m[2].metric("$c_{t-1}$", f"{d['c_prev']:+.4f}", help="This cell's memory after the previous character.")
        m[3].metric("$c_t$", f"{d['c']:+.4f}", delta=f"{d['c'] - d['c_prev']:+.4f}", delta_color="off")
    m[-1].metric("$h_t$", f"{d['h']:+.4f}", delta=f"{d['h'] - d['h_prev']:+.4f}", delta_color="off")
    st.latex(ct.equations(d))
    ref, diff = gates.step_check(tr, d)
    check = " and ".join(f"{k}_t = {v:+.7f}" for k, v in ref.items())
    st.caption(f"These numbers were recomputed here from the weights and the previous state. The network's own "
               f"step gave {check}; the largest difference is {diff:.1e} (float32 round-off).")
    for note in gates.step_notes(ct.key, layer):
        st.caption(note)
    with st.expander("Where the pre-activations come from", expanded=False):
        st.dataframe(gates.part_rows(d), hide_index=True, width="stretch")
        pick = st.radio("Show the biggest pushes from h_{t-1} for", list(d["parts"]), horizontal=True, key="gates_push",
                        format_func=lambda n: f"{n} ({gates.GATE_NAMES[n]})", **BIND)
        st.caption(f"The recurrent part is a sum over all {cfg.hidden} cells of layer {layer + 1} at the previous "
                   "step: weight × that cell's h. These terms are the largest.")
        st.dataframe(gates.push_rows(d, pick), hide_index=True, width="stretch")
    lo, hi = max(0, t - 40), min(T, t + 41)
    series = {ct.signal_label(s): tr.numpy(layer, s)[lo:hi, unit] for s in ct.signals if s != "tanh_c"}
    charts.chart(gate_plots.unit_strip(text[lo:hi], start=lo, series=series, mark=t), key="gates_strip",
                 name="gates_step_strip")


def view_belt(choice, tr, text, ct):
    layer = pickers.layer_picker("gates", choice.config.layers)
    b = gates.belt(tr, layer)
    if b is None:
        return st.info(f"A {ct.label} has no conveyor belt: it pushes its whole state through a matrix and a "
                       "squashing function at every step, so old information fades quickly (and so do gradients). "
                       "Pick an LSTM or GRU model to see the belt.")
    with present.controls():
        start, width = _window(len(text))
        show_ret = st.toggle("Show how much of the window's first value is still kept (product of the keep gate)",
                             value=True, key="gates_ret", **BIND)
    sl = slice(start, start + width)
    units = st.multiselect("Cells (up to 6)", list(range(b.keep.shape[1])), max_selections=6,
                           default=gates.rank_memory_cells(b.keep[sl], count=3), key="gates_belt_cells", **BIND,
                           help="Starts with the cells whose keep gate stays above 0.9 longest in this window.")
    if not units:
        st.info("Choose at least one cell.")
    else:
        keep = b.keep[sl][:, units]
        fig = gate_plots.conveyor_figure(text[sl], start=start, memory=b.memory[sl][:, units], keep=keep,
                                         write=b.write[sl][:, units], units=units,
                                         retention=gates.retention(keep) if show_ret else None, **b.labels)
        charts.chart(fig, key="gates_conveyor", name="gates_conveyor_belt")
        caption = f"The window, coloured by the keep gate of cell {units[0]} (blue = keeps its memory, white = lets go)"
        charts.html_view(html.heat_text(text[sl], keep[:, 0], vmin=0.0, vmax=1.0, label=b.labels["keep_label"][:13],
                                        max_height=160, caption=caption), name="gates_belt_text", title=caption)
    st.markdown("**Longest stretches with the keep gate open (> 0.9) in the whole text**")
    st.dataframe(gates.open_run_rows(text, b.keep), hide_index=True, width="stretch")
    st.caption("A long run: the cell kept what it had for that whole stretch. Add its number above, move the window to 'from t'.")


def _sat_table(sat):
    st.dataframe(gates.saturation_rows(sat), hide_index=True, width="stretch")
    st.caption("Share of units closed (or open) more than half of the time; in between: saturated < 10 % of the time.")


def _live_saturation(runner, chars):
    st.subheader("Your live model, while it trains")
    with present.controls():
        c1, c2 = st.columns(2)
        every = c1.number_input("Measure again every N training steps", 1, 100_000, 100, 50, key="gates_live_every", **BIND)
        compare = c2.radio("Grey dots show", list(gates.COMPARE), format_func=gates.COMPARE.get, key="gates_live_compare",
                           horizontal=True, **BIND)

    def render(polling: bool):
        snap = runner.snapshot()
        ct = CELL_TYPES[runner.trainer.model.config.cell]
        if not ct.gates:
            return st.info(f"Your live model is a {ct.label}, which has no gates. Train an LSTM or GRU to watch its "
                           "gates saturate.")
        hist = gates.SaturationHistory.kept(st.session_state, "gates_live_hist", id(runner), chars)
        if hist.due(snap.steps, every, polling):
            hist.measure_run(runner.checkpoint_copy(), runner.trainer)
        now, before = hist.items[-1], hist.compared(compare)
        live.status_line(runner, snap)
        st.caption(f"Measured at step {now.step:,} · measurements kept: {', '.join(f'{s.step:,}' for s in hist.items)}")
        fig = gate_plots.saturation_figure(now, compare=before, now_label=f"step {now.step:,}",
                                           before_label=f"step {before.step:,}" if before else "before",
                                           title=f"{ct.label} at step {now.step:,}")
        charts.chart(fig, key="gates_live_fig", name="gates_live_saturation")
        _sat_table(now)

    live.live_panel(render, runner=runner)


def view_saturation():
    st.markdown(page.read_lesson("gates_saturation"))
    chars = st.radio("Measured over", list(SAT_CHARS), index=1, format_func=SAT_CHARS.get, horizontal=True,
                     key="gates_sat_chars", help="Evenly spaced excerpts of each model's validation text.", **BIND)
    runner = session.get_runner()
    if runner is not None:
        _live_saturation(runner, chars)
        st.divider()
    gated = [ct for ct in CELL_TYPES.values() if ct.gates]
    st.subheader(" and ".join(ct.label for ct in gated) + " side by side")
    for col, ct in zip(st.columns(len(gated)), gated):
        with col:
            choice = pickers.model_picker(f"gates_sat_{ct.key}", cells=(ct.key,), default=SAT_MODELS.get(ct.key),
                                          live=False, upload=False, label=f"{ct.label} model")
            if choice is None:
                continue
            try:
                sat = _saturation(choice.cache_key, chars, choice)
            except ValueError as e:
                st.error(str(e), icon=":material/error:")
                continue
            charts.chart(gate_plots.saturation_figure(sat, now_label=choice.label), key=f"gates_sat_fig_{ct.key}",
                         name=f"gates_saturation_{ct.key}")
            _sat_table(sat)
    if runner is None:
        st.info("Train your own model on the **Train & sample** page and come back: its saturation plot appears "
                "at the top of this view and moves while it trains.", icon=":material/model_training:")


def main():
    page.header("LSTM gates", "An LSTM decides at every character what to **forget**, what to **write** and what "
                "to **reveal**. Pick a model and a text, then watch those decisions as colours, as numbers and as "
                "curves. GRU and vanilla RNN models work too, for comparison.", lesson="gates")
    view = page.view_switch("gates_view", VIEWS)
    if view == "saturation":
        return view_saturation()
    choice = pickers.model_picker("gates", default="shakespeare_lstm")
    if choice is None:
        return
    ct = choice.celltype
    if not ct.gates and view != "belt":
        st.caption(f"A {ct.label} has no gates: you will see its pre-activation and h, the baseline gated cells improve on.")
    picked = pickers.text_picker("gates", choice, cap=2000, default_length=500)
    if picked is None:
        return
    try:
        tr = _trace(choice, picked.text)
    except ValueError as e:
        return st.error(html.md(e), icon=":material/error:")
    st.divider()
    {"text": view_text, "inspector": view_inspector, "belt": view_belt}[view](choice, tr, picked.text, ct)


main()
