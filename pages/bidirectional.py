"""Bidirectional RNNs: tags that depend on what comes later in the text.

A forward-only RNN and a bidirectional one (same cell, same seed, same batches)
learn to tag every character of real Shakespeare, e.g. "last letter of its
word". The page shows the race, what both models say under each character of a
sentence with their forward and backward hidden states, and held-out accuracy
by position in the word. Before training it shows the freshly initialised pair.
"""

import pandas as pd
import streamlit as st
import torch

from rnnviz import celltypes
from rnnviz.plots import race as race_plots
from rnnviz.plots import tagging as plots
from rnnviz.tagging import tasks, text
from rnnviz.tagging.race import HIDDEN, MATCHES, RUN_LABELS, TagConfig, TaggingRace, baseline, read
from rnnviz.ui import charts, live, page, present
from rnnviz.ui.html import md
from rnnviz.ui.pickers import bound

VIEWS = {"race": "Race", "chars": "Under each character", "position": "By position in the word"}
SOURCES = {"held": "Held-out text", "type": "Type your own"}
LRS = (0.001, 0.003, 0.01, 0.03, 0.1)
EXCERPTS = 12
DEFAULT_SENTENCE = "to be, or not to be: that is the question."
POSITIONS = {key: tasks.POSITION_LABELS[code] for code, key in tasks.POSITION_KEYS.items() if code != tasks.NOT_LETTER}
POSITIONS["other"] = tasks.POSITION_LABELS[tasks.NOT_LETTER]


def settings() -> TagConfig:
    c1, c2, c3 = st.columns([1.6, 1.7, 1.2])
    task = bound(c1.selectbox, "Task", list(tasks.TASKS), format_func=lambda k: tasks.TASKS[k].label, key="bi_task")
    cell = bound(c2.segmented_control, "Cell", list(celltypes.CELL_TYPES), default="lstm", required=True,
                 format_func=lambda k: celltypes.CELL_TYPES[k].label, key="bi_cell") or "lstm"
    uses_k = tasks.get(task).uses_k
    k = bound(c3.slider, "k (a long word has more than k letters)", *tasks.K_RANGE, 5, key="bi_k", disabled=not uses_k,
              help="Only for the task 'Letters of long words'.")
    st.caption(tasks.get(task).describe(k))
    with present.controls("Model size and training"):
        d1, d2 = st.columns([1, 2])
        d3, d4 = st.columns([1, 2])
        hidden = bound(d1.select_slider, "Units per direction", HIDDEN, value=32, key="bi_hidden")
        match = bound(d2.segmented_control, "Forward-only model gets", list(MATCHES), default="direction",
                      required=True, format_func=MATCHES.get, key="bi_match") or "direction"
        lr = bound(d3.select_slider, "Learning rate (Adam)", LRS, value=0.01, key="bi_lr")
        seed = bound(d4.number_input, "Seed (weights and batches)", 0, 10_000, 0, key="bi_seed")
    return TagConfig(task=task, k=int(k), cell=cell, hidden=int(hidden), match=match, lr=float(lr), seed=int(seed))


@st.cache_resource(max_entries=8, show_spinner="Preparing the text and two fresh models…")
def fresh(cfg: TagConfig) -> TaggingRace:
    """The step-0 race for these settings (shared by every session: only read, never trained)."""
    torch.set_num_threads(1)
    return TaggingRace(cfg)


@st.cache_data(show_spinner=False)
def excerpts() -> list[str]:
    return text.excerpts(text.shakespeare(), n=EXCERPTS)


def labels(cfg: TagConfig) -> dict:
    w, cell = cfg.widths(), celltypes.of(cfg.cell).label
    return {"forward": f"{w['forward']} {cell} units, left to right",
            "bi": f"2 × {w['bi']} {cell} units, both ways"}


def sentence_input() -> str | None:
    c1, c2 = st.columns([1.6, 2.4])
    src = bound(c1.segmented_control, "Sentence", list(SOURCES), default="held", required=True,
                format_func=SOURCES.get, key="bi_source") or "held"
    if src == "held":
        i = bound(c2.slider, "Held-out excerpt (text the models never trained on)", 1, EXCERPTS, 1, key="bi_ex")
        raw = excerpts()[int(i) - 1]
    else:
        raw = bound(c2.text_input, "Your sentence (letters, spaces and . , ; : ! ? -)", DEFAULT_SENTENCE,
                    key="bi_text")
    prep = text.prepare(raw)
    for note in prep.notes:
        st.caption(f":material/info: {note}")
    if prep.error:
        st.error(f"{md(prep.error)} Your text is kept, so you can fix it.", icon=":material/error:")
        return None
    return prep.text


def summary_table(state, cfg) -> pd.DataFrame:
    names = labels(cfg)
    rows = []
    for run in RUN_LABELS:
        v = state["latest"].get(run, {})
        rows.append({"model": f"{RUN_LABELS[run]} ({names[run]})", "parameters": f"{state['params'][run]:,}",
                     "accuracy": f"{v.get('accuracy', 0):.1%}", "F1 of tag 1": f"{v.get('f1', 0):.3f}",
                     "precision": f"{v.get('precision', 0):.3f}", "recall": f"{v.get('recall', 0):.3f}",
                     "training time": f"{state['seconds'].get(run, 0):.1f} s"})
    b = baseline(cfg)
    rows.append({"model": "always answering 0", "parameters": "0", "accuracy": f"{b['accuracy']:.1%}",
                 "F1 of tag 1": "0.000", "precision": "—", "recall": "0.000", "training time": "—"})
    return pd.DataFrame(rows)


def view_race(state, cfg, reader, sentence):
    if len(state["loss"]):
        fig = race_plots.curves_figure(state["loss"], state["evals"], labels(cfg), metric="f1",
                                       metric_title="held-out F1 of tag 1")
        fig.update_yaxes(range=[0, 1.02], row=1, col=2)
        charts.chart(fig, key="bi_curves", name="bi-race")
    st.dataframe(summary_table(state, cfg), hide_index=True, width="stretch")
    p = state["params"]
    st.caption(f"Held-out: {state['chars']:,} characters of Shakespeare from the last tenth of the text, which no "
               f"training window touches. The bidirectional model has {p['bi'] / p['forward']:.1f}× the parameters "
               "of the forward-only one (change that under *Model size and training*). Accuracy alone flatters a "
               "lazy model: always answering 0 already scores the accuracy in the last row, so watch F1.")


def view_chars(state, cfg, reader, sentence):
    if sentence is None:
        return
    out = reader(sentence)
    names = {run: RUN_LABELS[run] for run in out["prob"]}
    charts.chart(plots.prob_figure(sentence, out["tags"], out["prob"], names), key="bi_probs", name="bi-probabilities")
    right = {run: int(((p > 0.5) == (out["tags"] == 1)).sum()) for run, p in out["prob"].items()}
    st.caption(f"On this sentence: forward only gets {right['forward']} of {len(sentence)} tags right, "
               f"bidirectional {right['bi']}. Dark = the model says tag 1.")
    charts.chart(plots.states_figure(sentence, {"bi": out["states"]["bi"], "forward": out["states"]["forward"]},
                                     RUN_LABELS), key="bi_states", name="bi-hidden-states")
    st.caption("Hidden states, one row per unit (blue positive, red negative). The backward states of the "
               "bidirectional model were computed from the END of the sentence back to each character: at the "
               "last letter of a word they have just read the space after it. Change a later word and watch the "
               "backward rows before it change, while the forward rows stay as they were.")


def view_position(state, cfg, reader, sentence):
    charts.chart(plots.position_figure(state["latest"], {r: RUN_LABELS[r] for r in RUN_LABELS}, POSITIONS,
                                       baseline(cfg)), key="bi_position", name="bi-accuracy-by-position")
    st.caption("Held-out accuracy at each position in the word. The black dash is what always answering the more "
               "common tag scores there: a model is only useful where it beats the dash.")


def render(view, cfg, sentence):
    show = {"race": view_race, "chars": view_chars, "position": view_position}[view]

    def trained(runner, snap):
        tr_cfg = runner.trainer.config
        state = {"loss": snap.loss, "evals": snap.evals, "latest": snap.latest, "seconds": snap.seconds,
                 "params": snap.params, "chars": runner.trainer.val_ids.numel()}

        def reader(s):
            with runner.lock:  # the weights streamed from the worker must not change while we read
                return read(runner.trainer.models, s, tr_cfg.task, tr_cfg.k)

        show(state, tr_cfg, reader, sentence)

    def untrained():
        tr = fresh(cfg)
        state = {"loss": tr.loss_hist, "evals": tr.eval_hist, "latest": tr.latest, "seconds": tr.seconds,
                 "params": tr.summary()["params"], "chars": tr.val_ids.numel()}
        show(state, cfg, lambda s: read(tr.models, s, cfg.task, cfg.k), sentence)

    live.lab_panel(TaggingRace, trained, untrained, fresh_note="Freshly initialised models (step 0). Press "
                   "**Train** to train both on the same batches.")


def main():
    page.header("Bidirectional RNNs",
                "Some answers lie ahead: whether a letter ends its word depends on the next character. Train a "
                "forward-only and a bidirectional RNN side by side and see where reading backwards pays.",
                lesson="bidirectional")
    lab = live.lab_controls("bi", settings, TaggingRace, what="both models", views=VIEWS)
    if lab is None:
        return
    cfg, view = lab
    sentence = sentence_input() if view == "chars" else None
    render(view, cfg, sentence)


main()
