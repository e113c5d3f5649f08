"""Seq2seq & attention: an encoder-decoder translates dates ("jeudi 25 juin 2009" ->
"2009-06-25"). Students race a model with attention against one without, watch the
attention map form while it trains, follow the greedy decode step by step, test whether
attention explains the output, and compare accuracy by input length. The library
(``rnnviz.seq2seq``) does the work; the two race trainers run as a group of ordinary
background runners (``rnnviz.ui.session``), so the race never ends the session's main run.
"""

import streamlit as st

from rnnviz.plots import seq2seq as P
from rnnviz.seq2seq import checkpoint as ck
from rnnviz.seq2seq import dates, explain
from rnnviz.seq2seq.model import ATTENTIONS, CELLS, LABELS, decode_steps
from rnnviz.seq2seq.trainer import TrainSettings, race
from rnnviz.ui import charts, live, page, present, session
from rnnviz.ui import html as H

VIEWS = {"race": "Race", "map": "Attention map", "decode": "Step by step", "explain": "Does attention explain it?",
         "length": "Accuracy by length"}
SOURCES = {"bundled": "Bundled models", "live": "Your race"}
GROUP = "seq2seq"
STEP_BUDGETS = (100, 200, 300, 500, 1000, 2000)
TEST_SIZES = (100, 200, 500, 1000, 2000)


@st.cache_resource(show_spinner="Writing 23,000 dates in eight languages (once per server)…")
def _data():
    return dates.make(0)


@st.cache_resource(show_spinner=False)
def _bundled(kind):
    return ck.load(ck.BUNDLED[kind])


@st.cache_resource(show_spinner="Measuring the bundled models on the test dates…", max_entries=16)
def _bundled_result(what, kind, n):
    return _measure(what, _bundled(kind), n)


def _measure(what, cp, n):
    if what == "explain":
        return explain.attention_test(cp.model, _data(), limit=n)
    return explain.accuracy_by_length(cp.model, _data())


def _label(cp):
    return LABELS[cp.model.config.attention]


def _pair(source):
    """(attention model, model without attention, step or None) for the chosen source."""
    group = session.get_group(GROUP)
    if source == "live" and group:
        return group["attention"].checkpoint_copy(), group["none"].checkpoint_copy(), group["attention"].steps
    return _bundled("attention"), _bundled("none"), None


def _result(what, source, cp, kind, n=None):
    """A test-set measurement: cached for the bundled models, on request for the race's."""
    if source != "live" or not session.get_group(GROUP):
        return _bundled_result(what, kind, n)
    store = st.session_state.setdefault("s2s_results", {})
    if st.button(f"Measure {_label(cp)} at step {cp.card['steps']:,}", key=f"s2s_run_{what}_{kind}"):
        with st.spinner("Decoding the test dates…"):
            store[(what, kind, n)] = (cp.card["steps"], _measure(what, cp, n))
    if (what, kind, n) not in store:
        st.info(f"Press the button to measure the race's model {_label(cp)} as it is now.")
        return None
    step, res = store[(what, kind, n)]
    st.caption(f"Measured at step {step:,}.")
    return res


def _decoding(cp, text):
    try:
        return decode_steps(cp.model, cp.in_vocab, text)
    except ValueError as e:
        st.error(H.md(e))


def _map(cp, text, key):
    d = _decoding(cp, text)
    if d is not None:
        charts.chart(P.attention_map(d, title=f"Where the decoder looked ({_label(cp)}): {d.output}"),
                     key=key, name="attention-map")
    return d


def _live(render, group):
    """``render`` in the live panel while ``group`` exists; when its last runner stops,
    one full rerun lets the fragment stop ticking."""
    def body(polling):
        if polling and not any(r.active for r in group.values()):
            st.rerun()
        render(polling)

    if not group:
        return render(False)
    live.live_panel(body, runner=next((r for r in group.values() if r.active), next(iter(group.values()))))


def view_race(source, text):
    group = session.get_group(GROUP)
    with present.controls("Race settings"):
        c = st.columns(4)
        att = c[0].segmented_control("Attention", [a for a in ATTENTIONS if a != "none"], key="s2s_att",
                                     default="additive", bind="query-params", disabled=bool(group), required=True,
                                     format_func={"additive": "Additive", "dot": "Dot product"}.get)
        cell = c[1].segmented_control("Cell", CELLS, key="s2s_cell", default="gru", bind="query-params",
                                      format_func=str.upper, disabled=bool(group), required=True)
        bidir = c[2].toggle("Bidirectional encoder", value=True, key="s2s_bidir", bind="query-params",
                            disabled=bool(group))
        budget = c[3].select_slider("Step limit", STEP_BUDGETS, value=500, key="s2s_steps", bind="query-params")
    b = st.columns([1.4, 1, 1, 5])  # outside the settings: presenter mode folds those away, never the buttons
    if b[0].button("Start the race", type="primary", disabled=bool(group)):
        settings = TrainSettings(cell=cell or "gru", bidirectional=bidir, attention=att or "additive")
        with st.spinner("Preparing both models…"):
            a, n = race(_data(), settings)
        group = session.new_group(GROUP, {"attention": a, "none": n}, max_steps=budget)
        for r in group.values():
            r.start()
        st.rerun()  # redraw the buttons for the running race
    for r in group.values():  # the step limit may change during a race
        r.max_steps = budget
    running = any(r.active for r in group.values())
    if b[1].button("Pause" if running else "Train", disabled=not group):
        for r in (group.values() if running else session.revive_group(GROUP).values()):
            (r.pause if running else r.start)()
        st.rerun()
    if b[2].button("Reset", disabled=not group):
        session.drop_group(GROUP)
        st.session_state.pop("s2s_results", None)
        st.rerun()
    if not group:
        st.info("Press **Start the race**: two models with the same data, seed and size start from random "
                "weights, one with attention and one without. The curves and the attention map update live.")
        return
    _live(lambda polling: _race_panel(group, text), group)


def _race_panel(group, text):
    snaps = {k: r.snapshot() for k, r in group.items()}
    cps = {k: r.checkpoint_copy() for k, r in group.items()}
    for col, (k, r) in zip(st.columns(2), group.items()):
        with col:
            st.markdown(f"**{_label(cps[k]).capitalize()}**")
            live.status_line(r, snaps[k])
    runs = {_label(cps[k]): {"accuracy": s.accuracy, "loss": s.loss, "attention": s.extra["attention"]}
            for k, s in snaps.items()}
    cols = st.columns(1 if present.presenting() else 2)
    with cols[0]:
        charts.chart(P.race(runs, "accuracy"), key="s2s_race_acc", name="race-exact-match")
    with cols[-1]:
        if _map(cps["attention"], text, "s2s_race_map") is not None:
            other = decode_steps(cps["none"].model, cps["none"].in_vocab, text).output
            st.caption(f"Without attention the model writes {other}; it has no map to show.")
    charts.chart(P.race(runs, "loss"), key="s2s_race_loss", name="race-loss")


def view_map(source, text):
    def render(polling):
        att, _, step = _pair(source)
        _map(att, text, "s2s_map")
        if step is not None:
            st.caption(f"The race's model at step {step:,}" + (" (updating while it trains)." if polling else "."))

    _live(render, session.get_group(GROUP) if source == "live" else {})


def view_decode(source, text):
    att, _, _ = _pair(source)
    d = _decoding(att, text)
    if d is None:
        return
    i = st.slider("Output character", 1, len(d.steps), 1, key="s2s_pos", bind="query-params") - 1
    s = d.steps[i]
    wrote = "".join(x.char for x in d.steps[:i])
    st.markdown(f"The decoder has written “{H.md(wrote) or ' '}” and now writes **{H.md(s.char)}** "
                f"({s.prob:.1%} sure). Where it looked (darker = more weight, the strongest underlined):")
    top = s.looked_at
    charts.html_view(H.char_spans(d.text, [H.diverging_rgb(w, 0, 1) for w in s.attention],
                                  [f"{H.describe_char(c)}: weight {w:.3f}" for c, w in zip(d.text, s.attention)],
                                  bold=[j == top for j in range(len(d.text))], max_height=80),
                     name="where-it-looked", title="Where the decoder looked")
    charts.chart(P.top5(s, title=f"Its five best guesses for character {i + 1}"), key="s2s_top5", name="top5")
    with present.controls("Every step"):
        st.dataframe([{"step": k + 1, "wrote": x.char, "sure": f"{x.prob:.1%}",
                       "looked most at": f"{d.text[x.looked_at]!r} (position {x.looked_at + 1})",
                       "top 5": "  ".join(f"{c} {p:.0%}" for c, p in x.top5)} for k, x in enumerate(d.steps)],
                     hide_index=True)


def view_explain(source, text):
    att, _, _ = _pair(source)
    try:
        checked, out, rows = explain.blank_each_top(att.model, att.in_vocab, text)
    except ValueError as e:
        st.error(H.md(e))
        return
    st.markdown(f"The model reads “{H.md(checked)}” and writes **{H.md(out)}**. For each output character we "
                "blank the input character it looked at most and translate again:")
    st.dataframe([{"output": f"{r.position + 1}: {r.char}", "looked most at": f"{checked[r.index]!r} "
                   f"(weight {r.weight:.2f})", "after blanking it": r.new_output,
                   "this character changed": "yes" if r.changed else "no"} for r in rows], hide_index=True)
    n = st.select_slider("Test dates", TEST_SIZES, value=200, key="s2s_n", bind="query-params")
    res = _result("explain", source, att, "attention", n)
    if res is None:
        return
    st.markdown(f"Over {n:,} test dates, blanking the most-attended character changed that output character "
                f"**{res.changed_top:.1%}** of the time, and the whole date {res.output_changed_top:.1%} of the "
                f"time. Blanking a random other character changed it {res.changed_random:.1%} of the time.")
    charts.chart(P.attention_test(res), key="s2s_explain", name="attention-test")


def view_length(source, text):
    att, none, _ = _pair(source)
    bins = {}
    for kind, cp in (("attention", att), ("none", none)):
        res = _result("length", source, cp, kind)
        if res is not None:
            bins[_label(cp)] = res
    if bins:
        charts.chart(P.accuracy_by_length(bins), key="s2s_length", name="accuracy-by-length")
    if source == "bundled":
        st.caption("Both bundled models trained for 1,500 steps, and both get almost every test date right. "
                   "The gap shows while they learn: start a race, and measure both models after 100-300 steps.")


def main():
    page.header("Seq2seq & attention", "An encoder reads a date written for people, a decoder writes it as "
                "`yyyy-MM-dd`. Race a model with attention against one without, and look at where the "
                "decoder looks while it writes.", lesson="seq2seq")
    view = page.view_switch("s2s_view", VIEWS)
    source = "live"
    if view != "race":
        source = st.segmented_control("Models", list(SOURCES), format_func=SOURCES.get, default="bundled",
                                      key="s2s_model", bind="query-params") or "bundled"
        if source == "live" and not session.get_group(GROUP):
            st.info("There is no race yet, so these are the bundled models. Start one in the **Race** view.")
            source = "bundled"
    text = st.text_input("A date to translate", "jeudi 25 juin 2009", key="s2s_text", bind="query-params",
                         help=f"Any date in one of the eight languages, up to {dates.MAX_INPUT_LEN} characters.")
    {"race": view_race, "map": view_map, "decode": view_decode, "explain": view_explain,
     "length": view_length}[view](source, text)


main()
