"""Seq2seq & attention: an encoder-decoder translates dates ("jeudi 25 juin 2009" ->
"2009-06-25"), or reverses / copies a string of letters whose length the student sets.
Students race a model with attention against one without (``rnnviz.seq2seq.trainer.
Seq2SeqRace``, the labs' shared ``rnnviz.race.Race``, driven by ``live.run_controls``),
watch the attention map form while it trains, follow the greedy decode step by step,
test whether attention explains the output, and compare accuracy by input length (dates)
or by output position (strings).
"""

from types import SimpleNamespace

import streamlit as st

from rnnviz.plots import race as race_plots
from rnnviz.plots import seq2seq as P
from rnnviz.seq2seq import checkpoint as ck
from rnnviz.seq2seq import dates, explain, strings
from rnnviz.seq2seq.model import ATTENTIONS, CELLS, LABELS, decode_steps
from rnnviz.seq2seq.trainer import Seq2SeqRace, TrainSettings, frozen_checkpoint
from rnnviz.ui import charts, live, page, present, session
from rnnviz.ui import html as H
from rnnviz.ui.pickers import bound

VIEWS = {"race": "Race", "map": "Attention map", "decode": "Step by step", "explain": "Does attention explain it?",
         "length": "Accuracy by length"}
TASKS = {"dates": "Dates", **strings.TASKS}
SOURCES = {"bundled": "Bundled models", "live": "Your race"}
TEST_SIZES = (100, 200, 500, 1000, 2000)


@st.cache_resource(show_spinner="Preparing the data set (once per server)…", max_entries=8)
def _data(task, length):
    return TrainSettings(task=task, length=length).data()


@st.cache_resource(show_spinner=False)
def _bundled(kind):
    return ck.load(ck.BUNDLED[kind])


@st.cache_resource(show_spinner=False, max_entries=16)
def _fresh(cfg):
    """Both race models as freshly initialised (step 0), frozen: what Train starts from."""
    models = Seq2SeqRace.initial_models(cfg)
    vocab = _data(cfg.task, cfg.length).in_vocab
    return {run: frozen_checkpoint(m, vocab, {"name": run, "steps": 0}) for run, m in models.items()}


@st.cache_resource(show_spinner="Measuring the bundled models on the test dates…", max_entries=16)
def _bundled_result(what, kind, n):
    return explain.measure(what, _bundled(kind).model, _data("dates", 12), n)


def _label(cp):
    return LABELS[cp.model.config.attention]


def settings(task, length) -> TrainSettings:
    with present.controls("Race settings"):
        c = st.columns(3)
        att = bound(c[0].segmented_control, "Attention", [a for a in ATTENTIONS if a != "none"], key="s2s_att",
                    default="additive", required=True, format_func={"additive": "Additive", "dot": "Dot product"}.get)
        cell = bound(c[1].segmented_control, "Cell", CELLS, key="s2s_cell", default="gru", format_func=str.upper,
                     required=True)
        bidir = bound(c[2].toggle, "Bidirectional encoder", value=True, key="s2s_bidir")
    return TrainSettings(cell=cell or "gru", bidirectional=bidir, attention=att or "additive", task=task,
                         length=length)


def _runner(cfg):
    """The session's run when it is a race on this task (and string length)."""
    r = session.get_runner()
    ok = r is not None and isinstance(r.trainer, Seq2SeqRace) and r.trainer.config.task_key == cfg.task_key
    return r if ok else None


def _models(cfg, source, runner):
    """The models the views show: the race's, the bundled dates pair, or step 0 of a string race."""
    if runner is not None and (source == "live" or cfg.task != "dates"):
        cps, where = {run: runner.checkpoint_copy(run) for run in Seq2SeqRace.RUNS}, "live"
    elif cfg.task == "dates":
        cps, where = {"attention": _bundled("attention"), "none": _bundled("none")}, "bundled"
    else:
        cps, where = _fresh(cfg), "fresh"
    return SimpleNamespace(**cps, where=where, step=cps["attention"].card.get("steps"), cfg=cfg)


def _result(what, m, kind, n=None):
    """A test-set measurement: cached for the bundled models, on request for the others."""
    if m.where == "bundled":
        return _bundled_result(what, kind, n)
    cp, store = getattr(m, kind), st.session_state.setdefault("s2s_results", {})
    key = (what, kind, n, m.cfg.task_key)
    if st.button(f"Measure {_label(cp)} at step {m.step:,}", key=f"s2s_run_{what}_{kind}"):
        with st.spinner("Decoding the test set…"):
            store[key] = (m.step, explain.measure(what, cp.model, _data(m.cfg.task, m.cfg.length), n))
    if key not in store:
        st.info(f"Press the button to measure the model {_label(cp)} as it is now.")
        return None
    step, res = store[key]
    st.caption(f"Measured at step {step:,}.")
    return res


def _decoding(cp, text):
    try:
        return decode_steps(cp.model, cp.in_vocab, text)
    except ValueError as e:
        st.error(H.md(e))


def _map(m, text, key):
    d = _decoding(m.attention, text)
    if d is not None:
        charts.chart(P.attention_map(d, title=f"Where the decoder looked ({_label(m.attention)}): {d.output}"),
                     key=key, name="attention-map")
        other = decode_steps(m.none.model, m.none.in_vocab, text).output
        st.caption(f"Without attention the model writes {other}; it has no map to show.")
    return d


def view_race(m, text, snap):
    if snap is None:
        st.info("Press **Train** (or a Step button): two models with the same data, seed and size start from "
                "random weights, one with attention and one without, and see the same batches at every step. "
                "The curves and the attention map update live.")
    else:
        labels = {run: _label(getattr(m, run)) for run in Seq2SeqRace.RUNS}
        charts.chart(race_plots.curves_figure(snap.loss, snap.evals, labels, metric="acc", percent=True,
                                              metric_title="exact match on validation"),
                     key="s2s_curves", name="race-curves")
        st.caption("Training time so far: " + " · ".join(f"{labels[r]} {snap.seconds[r]:.1f} s" for r in labels)
                   + ". The same batches, the same seed: only attention differs.")
    _map(m, text, "s2s_race_map")


def view_map(m, text, snap):
    _map(m, text, "s2s_map")
    if m.cfg.task != "dates":
        share = [explain.aligned_share(m.attention.model, _data(m.cfg.task, m.cfg.length), slack=k) for k in (0, 1)]
        line = "anti-diagonal, top right to bottom left" if m.cfg.task == "reverse" else "diagonal"
        st.markdown(f"Over 200 test strings, the decoder looked hardest at the very letter it writes in "
                    f"**{share[0]:.0%}** of the steps, and at it or a neighbour in {share[1]:.0%} (the {line} "
                    f"of the map; by chance about {1 / m.cfg.length:.0%}).")
    if m.where != "bundled":
        st.caption(f"The race's model at step {m.step:,}" + (" (updating while it trains)." if snap and
                                                            live.polling() else "."))


def view_decode(m, text, snap):
    d = _decoding(m.attention, text)
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


def view_explain(m, text, snap):
    try:
        checked, out, rows = explain.blank_each_top(m.attention.model, m.attention.in_vocab, text)
    except ValueError as e:
        st.error(H.md(e))
        return
    st.markdown(f"The model reads “{H.md(checked)}” and writes **{H.md(out)}**. For each output character we "
                "blank the input character it looked at most and translate again:")
    st.dataframe([{"output": f"{r.position + 1}: {r.char}", "looked most at": f"{checked[r.index]!r} "
                   f"(weight {r.weight:.2f})", "after blanking it": r.new_output,
                   "this character changed": "yes" if r.changed else "no"} for r in rows], hide_index=True)
    n = bound(st.select_slider, "Test examples", TEST_SIZES, value=200, key="s2s_n")
    res = _result("explain", m, "attention", n)
    if res is None:
        return
    what = "dates" if m.cfg.task == "dates" else "strings"
    st.markdown(f"Over {n:,} test {what}, blanking the most-attended character changed that output character "
                f"**{res.changed_top:.1%}** of the time, and the whole output {res.output_changed_top:.1%} of the "
                f"time. Blanking a random other character changed it {res.changed_random:.1%} of the time.")
    charts.chart(P.attention_test(res, "output position" + (" (yyyy-MM-dd)" if what == "dates" else "")),
                 key="s2s_explain", name="attention-test")


def view_length(m, text, snap):
    res = {_label(getattr(m, k)): r for k in Seq2SeqRace.RUNS if (r := _result("length", m, k)) is not None}
    if res and m.cfg.task == "dates":
        charts.chart(P.accuracy_by_length(res), key="s2s_length", name="accuracy-by-length")
    elif res:
        charts.chart(P.accuracy_by_position(res), key="s2s_position", name="accuracy-by-position")
    if m.where == "bundled":
        st.caption("Both bundled models trained for 1,500 steps, and both get almost every test date right. "
                   "The gap shows while they learn: train the race, and measure both models after 100-300 steps.")
    elif m.cfg.task != "dates":
        st.caption(f"Every string here has {m.cfg.length} letters, so this view shows each output position: where "
                   "does the model without attention lose most? Then change the length, train again, compare.")


def main():
    page.header("Seq2seq & attention", "An encoder reads a date written for people (or a string of letters), a "
                "decoder writes it as `yyyy-MM-dd` (or reversed, or copied). Race a model with attention against "
                "one without, and look at where the decoder looks while it writes.", lesson="seq2seq")
    c = st.columns([2, 3])
    task = bound(c[0].segmented_control, "Task", list(TASKS), default="dates", key="s2s_task", required=True,
                 format_func=TASKS.get) or "dates"
    length = 12
    if task != "dates":
        length = bound(c[1].slider, "String length", strings.MIN_LEN, strings.MAX_LEN, 12, key="s2s_len",
                       help="Every training and test string has this many letters.")
    cfg = settings(task, int(length))
    live.run_controls("s2s", lambda: Seq2SeqRace(cfg), kind=Seq2SeqRace, settings=cfg, what="both models",
                      owns=lambda tr: isinstance(tr, Seq2SeqRace) and tr.config.task_key == cfg.task_key)
    view = page.view_switch("s2s_view", VIEWS)
    source = "live"
    if view != "race" and task == "dates":
        source = bound(st.segmented_control, "Models", list(SOURCES), format_func=SOURCES.get, default="bundled",
                       key="s2s_model") or "bundled"
        if source == "live" and _runner(cfg) is None:
            st.info("There is no race yet, so these are the bundled models. Press **Train** to start one.")
    if task == "dates":
        text = bound(st.text_input, "A date to translate", "jeudi 25 juin 2009", key="s2s_text",
                     help=f"Any date in one of the eight languages, up to {dates.MAX_INPUT_LEN} characters.")
    else:
        example = strings.example_text(length)
        text = bound(st.text_input, f"A string to {task}", "", key="s2s_str", placeholder=example,
                     help=f"Exactly {length} letters from a to j; leave it empty for {example}.") or example

    def panel(polling):
        runner = _runner(cfg)
        snap = live.own_run(Seq2SeqRace)[1] if runner else None  # its status line, too
        m = _models(cfg, source, runner)
        if m.where == "fresh":
            st.caption("Freshly initialised models (step 0). Press **Train** to race them.")
        {"race": view_race, "map": view_map, "decode": view_decode, "explain": view_explain,
         "length": view_length}[view](m, text, snap)

    live.live_panel(panel)


main()
