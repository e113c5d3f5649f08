"""Names lab: a classifier that reads a name letter by letter (many-to-one) and a
generator that writes names of a chosen class (one-to-many), for surnames -> language
and first names -> gender. Students watch the classifier change its mind as it reads,
score it on held-out names beside a naive Bayes baseline, compare three read-outs,
follow the hidden state through PCA space and train their own model live. Bundled
models make every view work before anyone trains."""

import pandas as pd
import streamlit as st

from rnnviz.names import data, lab
from rnnviz.names.model import READOUTS, generate, letter_probs, trajectory
from rnnviz.names.trainer import BALANCES, ReadoutsTrainer, make_trainer, train_config
from rnnviz.plots import names as P
from rnnviz.protocol import LiveTrainer
from rnnviz.ui import charts, html, live, page, pickers, present, session

VIEWS = {"read": "Type a name", "scores": "Held-out scores", "readouts": "Read-outs compared",
         "generate": "Generate", "path": "Hidden-state path", "train": "Train"}
DATASETS = {"surnames": "Surname → language", "genders": "First name → gender"}
SOURCES = {"bundled": "Bundled model", "live": "My training run"}
DEFAULT_NAME = {"surnames": "Nováková", "genders": "Jordan"}
DEFAULT_PATH = {"surnames": "Murphy, Müller, Rossi", "genders": "Mary, Jordan, John"}
KIND_OF_VIEW = {"read": "classifier", "scores": "classifier", "path": "classifier", "generate": "generator"}
PCT = {c: st.column_config.NumberColumn(format="percent") for c in ("accuracy", "class-balanced accuracy")}


def choose(label, options: dict, key, **kw):
    return st.segmented_control(label, list(options), format_func=options.get, key=key, required=True,
                                bind="query-params", default=kw.pop("default", next(iter(options))), **kw)


def live_run(ds_key, kind):
    """The session's runner when it trains a names model of this dataset and kind, else None."""
    runner = session.get_runner()
    tr = getattr(runner, "trainer", None)
    if tr is None or getattr(tr, "KIND", None) != kind or getattr(tr, "data_key", "").split(":")[0] != ds_key:
        return None
    return runner


def model_for(ds_key, kind, source):
    """(checkpoint, label): the live model when chosen and there, else the bundled one."""
    runner = live_run(ds_key, kind) if source == "live" else None
    if runner is not None:
        return runner.checkpoint_copy("live"), f"your {kind} (step {runner.steps:,})"
    if source == "live":
        st.info(f"There is no {kind} training run of this dataset in this session yet (start one in the "
                "**Train** view), so the bundled model is shown.")
    return lab.bundled(ds_key, kind), f"the bundled {kind}"


def name_box(ds_key, vocab, what):
    """The typed name, checked; None after a clear message."""
    typed = st.text_input("Type a name", DEFAULT_NAME[ds_key], key="nm_name", bind="query-params", live=True,
                          help="Letters, spaces, apostrophes and hyphens; the chart updates as you type.")
    try:
        return data.check_name(vocab, typed, what)
    except ValueError as e:
        st.warning(html.md(e))
        return None


def view_read(ds, cp, label):
    name = name_box(ds.key, cp.vocab, label)
    if name is None:
        return
    lp = letter_probs(cp.model, cp.vocab, cp.classes, name)
    top = len(cp.classes)
    if top > 2:
        with present.controls():
            top = st.slider("Classes drawn", 2, top, min(5, top), key="nm_top", bind="query-params")
    charts.chart(P.letter_probs_figure(lp.letters, lp.classes, lp.probs, top=top), key="nm_read_fig",
                 name="letter_by_letter")
    st.caption(f"Each point is the probability of a class after reading the letters up to it, from {label}. "
               "The chart draws the classes that were likeliest at some letter; the table ranks them after the last.")
    final = pd.DataFrame(lp.top(len(cp.classes)), columns=["class", "probability"])
    final["target share"] = [truth(ds, name).get(c) for c in final["class"]]
    st.dataframe(final.head(top), hide_index=True, column_config={
        "probability": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent"),
        "target share": st.column_config.NumberColumn(format="percent", help="Its share in the data, if listed")})
    if lp.attention is not None:
        charts.chart(P.curves_figure({"attention weight": list(enumerate(lp.attention))}, ytitle="weight a_t"),
                     key="nm_att_fig", name="attention_weights")


def truth(ds, name):
    for which in ("train", "val", "test"):
        sp = ds.split(which)
        if name in sp.names:
            return dict(zip(ds.classes, map(float, sp.targets[sp.names.index(name)])))
    return {}


def view_scores(ds, cp, label):
    ho = lab.held_out(cp)
    st.dataframe(pd.DataFrame(ho.rows(label.capitalize())), hide_index=True, column_config=PCT)
    st.caption(f"Scored on {ho.rnn.n:,} test names that neither model saw in training. Class-balanced "
               "accuracy is the mean of the per-class accuracies: every class counts the same.")
    which = choose("Confusion matrix of", {"rnn": "the RNN", "nb": "naive Bayes"}, "nm_cm")
    charts.chart(P.confusion_figure(ho.rnn if which == "rnn" else ho.baseline), key="nm_cm_fig", name="confusion")
    charts.chart(P.accuracy_by_length_figure({"RNN": ho.rnn, "naive Bayes": ho.baseline}), key="nm_len_fig",
                 name="accuracy_by_length")
    with st.expander("How unequal the classes are", expanded=not present.presenting()):
        charts.chart(P.class_counts_figure(ds.class_counts()["train"]), key="nm_counts_fig", name="class_counts")


def view_readouts(ds, cp, label):
    runner = live_run(ds.key, "classifier")
    if runner is None or not isinstance(runner.trainer, ReadoutsTrainer):
        st.info("This view compares the last state, the mean over steps and attention pooling trained side by "
                "side on the same batches. Open **Train**, choose the read-out *all three* and press Train.")
        return

    def render(polling):
        snap = runner.snapshot()
        live.status_line(runner, snap)
        K, rows = len(READOUTS), snap.readout_hist
        series = {}
        for i, r in enumerate(READOUTS):
            series[r] = [(p[0], p[1 + i]) for p in rows]
            series[f"{r} (balanced)"] = [(p[0], p[1 + K + i]) for p in rows]
        charts.chart(P.curves_figure(series, ytitle="validation accuracy"), key="nm_ro_fig", name="readouts")
        st.dataframe(pd.DataFrame([{"read-out": r, **v} for r, v in snap.extra["readouts"].items()]).rename(
            columns={"balanced_accuracy": "class-balanced accuracy", "val_loss": "validation loss (nats)"}),
            hide_index=True, column_config=PCT)
    live.live_panel(render, runner=runner)


def view_generate(ds, cp, label):
    cls = st.selectbox("Write a name of class", ds.classes, key="nm_class", bind="query-params")
    s = pickers.sampling_controls("nm", length=False, greedy=False, top_k=False, default_temperature=0.8)
    typed = st.text_input("Starts with (optional)", "", key="nm_prefix", bind="query-params",
                          help="The model writes the rest of the name after these letters.")
    try:
        prefix = data.check_name(cp.vocab, typed, label) if typed.strip() else ""
        g = generate(cp.model, cp.vocab, cp.classes, cls, s.temperature, seed=s.seed, prefix=prefix)
    except ValueError as e:
        st.warning(html.md(e))
        return
    text = "".join(c if c != data.BOUNDARY else "⏎" for c in g.letters)
    charts.html_view(html.prob_text(text, g.chosen_p, prime=prefix, caption="each letter coloured by its "
                                    "probability" + (" (the start you typed in bold)" if prefix else "")),
                     name="generated_name", title="Generated name")
    charts.chart(P.step_distribution_figure(g, cp.vocab.chars), key="nm_gen_fig", name="step_distribution")
    more = [generate(cp.model, cp.vocab, cp.classes, cls, s.temperature, seed=s.seed + j, prefix=prefix).name
            for j in range(1, 9)]
    st.dataframe(pd.DataFrame({"more names at this temperature": more}), hide_index=True)
    runner = live_run(ds.key, "generator")
    if runner is not None:
        st.caption(f"Names your generator wrote as {html.md(cls)} at its milestone steps (step 0 is the untrained "
                   "model); a row is added at each milestone while it trains.")
        live.live_panel(lambda polling: st.dataframe(pd.DataFrame(
            [{"step": st_, "names": ", ".join(ns)} for st_, ns in lab.milestone_samples(
                runner.snapshot().samples, cls)]), hide_index=True), runner=runner)


def view_path(ds, cp, label):
    typed = st.text_input("Names (comma-separated)", DEFAULT_PATH[ds.key], key="nm_names", bind="query-params")
    names, problems = lab.parse_names(typed, cp.vocab, label)
    for p in problems:
        st.warning(html.md(p))
    if not names:
        st.info("Type one or more names, separated by commas.")
        return
    with present.controls():
        color = choose("Colour the points by", {"class": "likeliest class", "name": "name"}, "nm_color")
        upto = st.slider("Letters read", 1, data.MAX_NAME, data.MAX_NAME, key="nm_upto", bind="query-params")
        axes = choose("PCA axes from", {"names": "these names", "val": "300 validation names"}, "nm_axes")
    ref = list(ds.val.names[:300]) if axes == "val" else None
    tr = trajectory(cp.model, cp.vocab, cp.classes, names, reference=ref)
    charts.chart(P.trajectory_figure(tr, color, upto=upto), key="nm_path_fig", name="hidden_state_path")
    st.caption(f"Each point is h_t after one more letter, projected on the two directions in which "
               f"the states vary most ({tr.pca.explained.sum():.0%} of their variance).")


def view_train(ds, cp, label):
    kind = choose("Train a", {"classifier": "classifier (many-to-one)", "generator": "generator (one-to-many)"},
                  "nm_kind")
    cols = st.columns(3)
    readout = cols[0].selectbox("Read-out", [*READOUTS, "all"], key="nm_readout", bind="query-params",
                                format_func=lambda r: "all three" if r == "all" else r, disabled=kind != "classifier")
    balance = cols[1].selectbox("Imbalance", BALANCES, key="nm_balance", bind="query-params",
                                format_func={"none": "plain loss", "weights": "loss weights",
                                             "oversample": "oversampling"}.get, disabled=kind != "classifier")
    hidden = cols[2].selectbox("Hidden units", (32, 64, 128), index=1, key="nm_hidden", bind="query-params")
    opts = dict(hidden=hidden, eval_every=25, **(dict(readout=readout, balance=balance) if kind == "classifier" else {}))
    runner = live.run_controls("nm", lambda: make_trainer(kind, ds, **opts), kind=LiveTrainer,
                               settings=train_config(kind, ds, **opts), what=f"your {kind}",
                               owns=lambda tr: live_run(ds.key, kind) is not None)
    if runner is None:
        st.caption("Nothing trained yet: the other views use the bundled models until you train one.")
        return
    live.live_panel(lambda polling: train_panel(runner, ds, kind), runner=runner)


def train_panel(runner, ds, kind):
    snap = runner.snapshot()
    live.status_line(runner, snap)
    if snap.divergence:
        st.error(html.md(snap.divergence))
    fig = P.training_loss_figure(snap.loss, [(p[0], p[1]) for p in snap.val], kind, len(ds.classes), len(ds.vocab))
    charts.chart(fig, key="nm_loss_fig", name="loss")
    if kind == "classifier":
        charts.chart(P.curves_figure({"accuracy": [(p[0], p[2]) for p in snap.val], "accuracy (balanced)":
                                      [(p[0], p[3]) for p in snap.val]}, ytitle="validation accuracy"),
                     key="nm_acc_fig", name="accuracy")
        cp = runner.checkpoint_copy("live")
        name = st.session_state.get("nm_name") or DEFAULT_NAME[ds.key]
        try:
            lp = letter_probs(cp.model, cp.vocab, cp.classes, name)
        except ValueError:  # the name typed in "Type a name" is refused there, with the reason
            name = DEFAULT_NAME[ds.key]
            lp = letter_probs(cp.model, cp.vocab, cp.classes, name)
        st.markdown(f"How the model reads **{html.md(name)}** now:")
        charts.chart(P.letter_probs_figure(lp.letters, lp.classes, lp.probs), key="nm_live_read", name="live_read")
    else:
        st.dataframe(pd.DataFrame([{"step": s, **{c: ", ".join(v) for c, v in by.items()}}
                                   for s, by in snap.samples]), hide_index=True)


def main():
    page.header("Names: read a name, write a name", "A recurrent network reads a name letter by letter and "
                "guesses where it comes from, or writes a new one for a class you choose.", lesson="names")
    cols = st.columns(2)
    with cols[0]:
        ds_key = choose("Task", DATASETS, "nm_data")
    with cols[1]:
        source = choose("Model", SOURCES, "nm_model")
    ds = data.load(ds_key)
    view = page.view_switch("nm_view", VIEWS)
    cp, label = model_for(ds_key, KIND_OF_VIEW.get(view, "classifier"), source)
    {"read": view_read, "scores": view_scores, "readouts": view_readouts, "generate": view_generate,
     "path": view_path, "train": view_train}[view](ds, cp, label)


main()
