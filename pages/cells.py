"""Cell explorer: colour a text by one cell of a recurrent network, rank every cell against a hypothesis, select
a pattern LSTMVis-style, and clamp a cell while the model writes to see whether the model really uses it."""

import hashlib

import streamlit as st

from rnnviz import probes
from rnnviz.plots import cells as cplots
from rnnviz.ui import charts, page, pickers, present
from rnnviz.ui import html as H
from rnnviz.ui.pickers import bound

VIEWS = {"heatmap": "Heatmap", "finder": "Cell finder", "pattern": "Select a pattern", "intervene": "Intervene"}
WINDOW = 2_000  # characters of coloured text shown at once
LANGS = {"auto": "Automatic", **probes.LANGUAGE_LABELS}


def inspect_cell(layer, signal, unit, found=None):
    """Callback: open one cell in the heatmap; ``found`` = the hypothesis it was found with."""
    st.session_state.update(cx_layer=layer + 1, cx_signal=signal, cx_order="number", cx_cell=int(unit), cx_view="heatmap")
    if found is not None:
        st.session_state["cx_found"] = {"layer": int(layer), "unit": int(unit), **found}


def window(x, key, size=WINDOW):
    """Long texts are shown ``size`` characters at a time: (start, end)."""
    w0 = bound(st.slider, "Window start (characters)", 0, x.T - size, 0, step=100, key=key) if x.T > size else 0
    return w0, min(x.T, w0 + size)


def panels(items, ncols=3):
    """Coloured-text panels (``probes.Panel``) in a grid: each with its download, some with an Inspect button."""
    for col, p in zip(st.columns(ncols) * len(items), items):
        with col:
            charts.html_view(p.fragment, name=p.name, title=p.title, key=f"cx_{p.name}")
            if p.button:
                st.button(p.button[0], key=p.button[1], on_click=inspect_cell, args=p.button[2])


def cell_choice(x):
    """Layer, signal, order and position in that order (shared by Heatmap and Intervene)."""
    rows = [[1, 1], [1.4, 2.2]] if present.presenting() else [[1.2, 1.2, 1.4, 2.2]]  # large type: two rows
    c1, c2, c3, c4 = [c for w in rows for c in st.columns(w, vertical_alignment="bottom")]
    with c1:
        layer = pickers.layer_picker("cx", x.cfg.layers, default=0)
    with c2:
        signal = pickers.signal_picker("cx", x.cfg.cell)
    order_key = bound(c3.selectbox, "Order cells", list(probes.ORDERS), format_func=probes.ORDERS.get, key="cx_order")
    with c4:
        pos = pickers.cell_stepper("cx", x.cfg.hidden, label="Position in order")
    c = x.cell(layer, signal, order_key, pos, x.ct.gates)
    if order_key == "r" and x.y is not None:  # Intervene scores a cell found this way with this hypothesis
        st.session_state["cx_found"] = {"layer": layer, "unit": c.unit, **x.found_with}
    return c


def view_heatmap(x):
    c = cell_choice(x)
    st.markdown(x.headline(c, x.ct.signal_label(c.signal)))
    w0, w1 = window(x, "cx_win")
    st.html(cplots.cell_legend(x.ct.signal_label(c.signal), gate=c.gate, vmax=c.vmax))
    compare = x.y is not None and bound(st.toggle, "Compare with the hypothesis", key="cx_show_hyp")
    panels(x.cell_panels(c, w0, w1, compare=compare), 1)
    st.subheader("All cells over time", help="Rows: cells in the chosen order; columns: characters. Drag a box to zoom in.")
    n = x.cfg.hidden
    with present.controls("Heatmap settings"):
        h1, h2, h3 = st.columns([1, 1, 3])
        nrows = bound(h1.selectbox, "Rows", [16, 32, 64, n] if n > 64 else [16, n], index=1, key="cx_rows",
                      format_func=lambda k: "all cells" if k == n else f"first {k} cells")
        width = min(bound(h2.selectbox, "Characters", [100, 200, 300, 500], index=1, key="cx_hwidth"), x.T)
        hstart = bound(h3.slider, "Heatmap start", 0, x.T - width, 0, step=10, key="cx_hstart") if x.T > width else 0
    fig, rows = cplots.cells_window(c.block, c.order, x.text, rows=nrows, start=hstart, width=width, signal_label=c.signal)
    def on_box():  # the selection is copied out: it resets whenever the figure changes
        boxes = ((st.session_state.get("cx_box") or {}).get("selection") or {}).get("box") or []
        st.session_state["cx_pick"] = boxes and {**vars(probes.box_pick(boxes[-1], rows, hstart, width)),
                                                 "layer": c.layer, "signal": c.signal}
    charts.chart(fig, key="cx_box", name="cells-over-time", on_select=on_box, selection_mode="box", width="stretch")
    pick = st.session_state.get("cx_pick")
    if pick and pick["layer"] == c.layer and pick["signal"] == c.signal and pick["b"] <= x.T:
        a, b, cells = pick["a"], pick["b"], pick["cells"]
        st.markdown(f"**Box:** characters {a:,} to {b:,}, {len(cells)} cell(s) (up to 6 shown, with 30 characters around).")
        panels(x.box_panels(c, a, b, cells))
        st.button("Use these characters in Select a pattern", key="cx_pick_lv", icon=":material/arrow_forward:",
                  on_click=lambda: st.session_state.update(cx_lv_range=(a, b), cx_view="pattern"))


def view_finder(x):
    if x.y is None:
        return st.info("Fix the hypothesis above to rank the cells.")
    with present.controls("Finder settings"):
        f1, f2, f3 = st.columns([3, 1.2, 1])
        fsig = bound(f1.multiselect, "Signals to search", x.ct.signals, default=list(x.ct.signals), key="cx_fsig",
                     format_func=x.ct.signal_label, help="c is the memory; tanh(c) and h are what the network reads.")
        skip = bound(f2.toggle, "Skip saturated cells", key="cx_skip_sat", help="Cells stuck where tanh or a gate is "
                     f"flat on {probes.SATURATED_SHARE:.0%} of the characters: changing them hardly changes the output.")
        k = bound(f3.number_input, "Top cells", 1, 12, 6, key="cx_topk")
    ranking = probes.top_cells(x.cm, x.r, signals=fsig, k=int(k), skip_saturated=skip)
    st.markdown(x.finder_intro(ranking))
    g1, g2 = st.columns([1.2, 1])
    g1.dataframe(ranking.rows({s: x.ct.signal_label(s) for s in x.ct.signals}), hide_index=True, width="stretch")
    if ranking.any_saturated:
        g1.caption("Saturated cells correlate, but a clamp in their usual range changes little (Intervene suggests one).")
    with g2:
        charts.chart(cplots.r_histogram(ranking.r_ranked, highlight=ranking.cells[0].r if ranking.cells else None,
                                        label=x.hyp.label.lower()), key="cx_rhist", name="r-histogram", width="stretch")
    if x.T < 500:
        st.info("The linear probe needs at least 500 characters of text; choose a longer excerpt.")
    elif not x.warning:
        st.markdown("**Linear probe: how much of the hypothesis can be read from a whole layer?**", help="Ridge "
                    "regression on held-out text (see the lesson). Close to the best cell: one cell carries it.")
        with st.spinner("Fitting a linear probe per layer..."):
            rows = memo("cx_probe", (x.tkey, x.hyp.key, x.pattern, x.language),
                        lambda: probes.probe_table(x.cm, x.y, x.cfg.cell, binary=x.hyp.binary))
        st.dataframe(rows, hide_index=True, width="stretch")
    st.markdown("**The top cells side by side** (same characters; hover for values)")
    panels(x.top_panels(ranking.cells[:5], *window(x, "cx_fwin", 700)))


def view_pattern(x):
    c1, c2, _ = st.columns([1.2, 1.2, 3], vertical_alignment="bottom")
    with c1:
        layer = pickers.layer_picker("cx", x.cfg.layers, default=0)
    with c2:  # bounded signals only, so that one threshold means the same for every cell
        signal = pickers.signal_picker("cx_lv", x.cfg.cell, signals=probes.bounded_signals(x.ct.signals), default="h")
    block, gate, label = x.cm.block(layer, signal), signal in x.ct.gates, x.ct.signal_label(signal)
    lo, hi, theta0 = probes.THETA[gate]
    st.markdown(f"Select characters: the cells of **layer {layer + 1} · {label}** *on* (≥ θ) on all of them and *off* "
                "around them are found, then other places where they switch on together (LSTMVis, Strobelt et al. 2016).")
    with present.controls("Pattern settings"):
        w0, w1 = window(x, "cx_lvwin")
        l2, l3, l4 = st.columns(3)
        theta = bound(l2.slider, "Threshold θ", lo, hi, theta0, 0.05, key="cx_lv_theta_gate" if gate else "cx_lv_theta")
        margin = int(bound(l3.number_input, "Margin", 0, 20, 3, key="cx_lv_margin", help="Characters on each side that must be off."))
        min_frac = bound(l4.slider, "Match: share of cells on", 0.5, 1.0, 1.0, 0.05, key="cx_lv_frac")
    start = probes.default_selection(block, x.text, x.language, x.y if x.y is not None and x.hyp.binary else None,
                                     prefix=x.context, lo=w0, hi=w1, theta=theta0)
    rng = st.session_state.get("cx_lv_range")
    if rng is not None and not (w0 <= rng[0] < rng[1] <= w1):
        del st.session_state["cx_lv_range"]  # from another text or window
    a, b = bound(st.slider, "Selected characters", w0, w1, tuple(start), key="cx_lv_range")
    if b <= a:
        return st.warning("Select at least one character (move the two ends of the slider apart).")
    charts.html_view(cplots.span_fragment(x.text, a, b, caption=f"selection: characters {a:,} to {b:,} (bold), with context"),
                     name="selection", title="Selected characters", key="cx_lv_sel")
    found = probes.search_pattern(block, a, b, theta, margin, min_frac=min_frac, floor=lo, where=f"layer {layer + 1} · {label}")
    if len(found.cells):
        st.markdown(found.summary)
        st.button(f"Inspect cell {found.cells[0]}", key="cx_lv_open", on_click=inspect_cell, args=(layer, signal, int(found.cells[0])))
    if found.message:
        return st.info(found.message)
    st.markdown(found.matches_header)
    panels(x.match_panels(found), 2)


def view_intervene(x):
    st.markdown("Hold cells at a value while the model writes and compare with the same seed unclamped: if the text "
                "changes as the hypothesis predicts, the model really *uses* the cell.")
    c = cell_choice(x)
    i1, i2, i3 = st.columns([1.4, 1, 1.2])
    target = bound(i1.radio, "Clamp", ["cell", "layer"], key="cx_iv_target",
                   format_func=lambda t: "the cell in view" if t == "cell" else "every cell of a layer")
    with i1:
        layer = c.layer if target == "cell" else pickers.layer_picker("cx_iv", x.cfg.layers, default=0, label="Layer to clamp")
    csig = bound(i2.radio, "Quantity", list(x.ct.clamp_signals), key="cx_iv_sig", format_func=x.ct.signal_label,
                 help="Clamping c lets the output gate still act (h = o·tanh(c)); clamping h fixes the output.")
    mode = bound(i3.radio, "Value", ["on", "zero"], key="cx_iv_mode",
                 format_func=lambda m: "hold at a value" if m == "on" else "zero (switch off)")
    plan = probes.plan_clamp(x.cm, x.r, layer=layer, unit=c.unit, signal=csig, whole_layer=target == "layer")
    if st.session_state.setdefault("cx_iv_for", plan.what) != plan.what:  # another cell: a new suggestion
        st.session_state.update(cx_iv_for=plan.what, cx_iv_value=plan.default_value)
    sug, value = plan.suggestion, 0.0
    if mode == "on":
        value = bound(st.columns([1, 2])[0].number_input, "Clamp value", -20.0, 20.0, plan.default_value, 0.1, key="cx_iv_value",
                      help=sug.note if sug else "Every cell of the layer is held at this value.")
        if sug is not None and sug.saturated:
            st.warning(f"Layer {layer + 1}, cell {c.unit} is saturated: {sug.note}")
    with present.controls("Sampling"):
        smp = pickers.sampling_controls("cx_iv", default_length=300, default_temperature=0.7)
        prime = bound(st.text_area, "Prime (the model continues this text)", probes.PRIMES[x.language], height=80,
                      key=f"cx_iv_prime_{x.language}")
    if st.button("Sample with and without the clamp", type="primary", key="cx_iv_go", icon=":material/science:"):
        score = probes.scoring(st.session_state.get("cx_found") if sug else None, layer, c.unit, x.found_with)
        try:
            with st.spinner("Sampling twice with the same seed..."):
                res = probes.compare_clamp(x.choice.model, x.choice.vocab, plan.spec(value), prime=prime or "", **smp.kwargs())
            st.session_state["cx_iv"] = {"key": x.choice.cache_key, "res": res, "what": plan.what, "value": value,
                                         "metrics": probes.effect_metrics(res, score)}
        except ValueError as e:
            st.error(H.md(e))
    held = st.session_state.get("cx_iv")
    if not held or held["key"] != x.choice.cache_key:
        return
    res = held["res"]
    st.markdown(res.summary(held["what"], held["value"]))
    if held["metrics"]:
        st.caption(held["metrics"][0])
        for col, (label, v, delta) in zip(st.columns(2), held["metrics"][1]):
            col.metric(label, v, delta=delta)
    panels(probes.sample_panels(res, held["what"], held["value"]), 2)
    st.html(H.legend("prob"))


def memo(name, key, build, drop=()):
    """One result per session under ``name``, rebuilt (old one and ``drop`` keys freed first) when ``key`` changes."""
    if (st.session_state.get(name) or {}).get("key") != key:
        for k in (name, *drop):
            st.session_state.pop(k, None)
        st.session_state[name] = {"key": key, "value": build()}
    return st.session_state[name]["value"]


def main():
    page.header("Cell explorer", "Which single cells of a network mean something? Colour a text by one cell, rank every "
                "cell against a hypothesis (*inside a string*, *indentation*...), then clamp one while the model writes.",
                lesson="cells")
    top = st.columns([1.3, 1.7])
    with top[0]:
        choice = pickers.model_picker("cx", default="python_lstm")
    with top[1]:
        tc = choice and pickers.text_picker("cx", choice, default_length=2000, default_paste=probes.EXAMPLE_PYTHON)
    if not tc:
        return
    c1, c2, c3 = st.columns([1, 1.3, 2.5])
    lang = bound(c1.selectbox, "Language of the text", list(LANGS), format_func=LANGS.get, key="cx_lang",
                 help=f"How strings, comments and if conditions are recognised (the guess: {LANGS[tc.language]}).")
    language = tc.language if lang == "auto" else lang
    keys = [h.key for h in probes.available(language)]
    hyp = probes.HYPOTHESES[bound(c2.selectbox, "Hypothesis", keys, index=keys.index(probes.DEFAULT_HYPOTHESIS[language]),
                                  format_func=lambda k: probes.HYPOTHESES[k].label, key="cx_hyp",
                                  help="What might a cell track? Each hypothesis is one number per character.")]
    pattern = bound(c3.text_input, "Regular expression (1 inside every match)", r"\bself\b", key="cx_regex") \
        if hyp.takes_pattern else None
    if not hyp.takes_pattern and not present.presenting():  # a projector shows the figure, not the fine print
        c3.caption(hyp.description)
    tkey = (choice.cache_key, hashlib.sha1(tc.text.encode("utf-8")).hexdigest())
    try:
        with st.spinner(f"Running the model over {len(tc.text):,} characters..."):
            cm = memo("cx_trace", tkey, lambda: probes.trace_matrix(choice.model, choice.vocab.encode(tc.text)), ("cx_pick",))
    except ValueError as e:
        return st.error(f"The model could not read this text: {H.md(e)}")
    x = probes.explore(cm, tc.text, language, hyp.key, pattern=pattern, context=tc.context)
    if x.error or x.warning:  # a hypothesis that cannot be computed, or is the same on every character
        (st.error if x.error else st.warning)(H.md(x.error) if x.error else x.warning)
    x.choice, x.cfg, x.ct, x.tkey = choice, choice.config, choice.celltype, tkey
    view = page.view_switch("cx_view", VIEWS)
    {"heatmap": view_heatmap, "finder": view_finder, "pattern": view_pattern, "intervene": view_intervene}[view](x)


main()
