"""Stacking & dropout: does dropout stop a character model from memorising its text?

Two or three stacked character models (1-3 layers each; LSTM, GRU or vanilla RNN)
train side by side on the same batches of a small Shakespeare slice, each with its
own dropout: none, standard dropout between layers (a fresh mask at every step), or
recurrent / variational dropout (one mask per sequence, also on h_{t-1} into the
recurrent weights). The page shows training-set and validation loss of each run and
the gap between them, the real masks each run used at a training step (units x
time), and text sampled from each run. Before training it shows the freshly
initialised race, so the page is never empty.
"""

import streamlit as st
import torch

from rnnviz import celltypes
from rnnviz.dropout import data
from rnnviz.dropout.cell import MODES
from rnnviz.dropout.race import DropoutConfig, DropoutRace, RunSpec, build_model, longest_copy, sample, training_masks
from rnnviz.plots import dropout as plots
from rnnviz.plots.race import curves_figure
from rnnviz.ui import charts, live, page, present
from rnnviz.ui import html as H
from rnnviz.ui.pickers import bound

VIEWS = {"curves": "Train vs validation", "masks": "The masks", "samples": "Samples"}
DEFAULT_RUNS = {"a": (2, "none", 0.3), "b": (2, "between", 0.3), "c": (2, "variational", 0.3)}
CELLS = ("lstm", "gru", "rnn")
RATES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
LRS = (0.001, 0.003, 0.01, 0.02)
SAMPLE_LEN = 300


def run_settings(run: str, col) -> RunSpec:
    layers0, mode0, p0 = DEFAULT_RUNS[run]
    with col:
        st.markdown(f"**Run {run.upper()}**")
        layers = bound(st.segmented_control, "Layers", [1, 2, 3], default=layers0, required=True,
                       key=f"dr_{run}_layers") or layers0
        mode = bound(st.selectbox, "Dropout", list(MODES), index=list(MODES).index(mode0), format_func=MODES.get,
                     key=f"dr_{run}_mode")
        p = bound(st.select_slider, "Dropout rate p", RATES, value=p0, key=f"dr_{run}_p", disabled=mode == "none")
    return RunSpec(int(layers), mode, float(p) if mode != "none" else 0.0)


def settings() -> DropoutConfig:
    c1, c2, c3 = st.columns(3)
    cell = bound(c1.segmented_control, "Cell", list(CELLS), default="lstm", required=True,
                 format_func=lambda k: celltypes.CELL_TYPES[k].label, key="dr_cell") or "lstm"
    hidden = bound(c2.select_slider, "Hidden units per layer", (32, 64, 128, 256), value=128, key="dr_hidden")
    lr = bound(c3.select_slider, "Learning rate (Adam)", LRS, value=0.01, key="dr_lr")
    cols = st.columns(3)
    runs = [run_settings("a", cols[0]), run_settings("b", cols[1])]
    with cols[2]:
        three = bound(st.toggle, "Race a third run", value=True, key="dr_three")
        if three:
            runs.append(run_settings("c", st.container()))
    with present.controls("Data and training"):
        d1, d2, d3 = st.columns(3)
        chars = bound(d1.select_slider, "Training text (characters)", (5_000, 10_000, 20_000, 40_000), value=10_000,
                      key="dr_chars", help="Less text is memorised sooner: the gap opens earlier.")
        seq = bound(d2.select_slider, "Sequence length", (16, 32, 64), value=32, key="dr_seq")
        seed = bound(d3.number_input, "Seed (weights, batches, masks)", 0, 10_000, 0, key="dr_seed")
    return DropoutConfig(runs=tuple(runs), cell=cell, hidden=int(hidden), lr=float(lr), train_chars=int(chars),
                         seq_len=int(seq), seed=int(seed))


@st.cache_data(max_entries=32, show_spinner="Building the untrained race…")
def fresh(cfg: DropoutConfig) -> dict:
    """Step 0 for these settings: the evaluation of the untrained runs."""
    torch.set_num_threads(1)
    return DropoutRace(cfg).latest


@st.cache_data(max_entries=32, show_spinner=False)
def fresh_samples(cfg: DropoutConfig, temperature: float, seed: int) -> dict:
    vocab = data.slices(cfg.train_chars, cfg.val_chars).vocab
    return {r: sample(build_model(cfg, spec, len(vocab)), vocab, SAMPLE_LEN, temperature=temperature, seed=seed)[0]
            for r, spec in zip(cfg.names(), cfg.runs)}


def view_curves(cfg, snap, latest):
    labels = cfg.labels()
    charts.chart(plots.gap_figure(latest, labels), key="dr_gap", name="generalisation-gap")
    if snap is not None and len(snap.loss):
        fig = curves_figure(snap.loss, snap.evals, labels, metric="val_loss",
                            metric_title="validation (solid) · training set (dotted)",
                            extra=("train_loss", "training set"))
        charts.chart(fig, key="dr_curves", name="train-vs-validation")
        secs = " · ".join(f"{r}: {s:.0f} s" for r, s in snap.seconds.items())
        st.caption(f"Both losses are measured on the same fixed windows, with nothing dropped. Training time: {secs}.")
    else:
        st.caption("Untrained runs (step 0): every loss is near ln 84 ≈ 4.4. Press **Train** and watch the run "
                   "without dropout pull its training loss below its validation loss.")


def view_masks(cfg, snap, latest):
    with present.controls("Which step"):
        step = bound(st.columns(3)[0].number_input, "Training step", 1, 1_000_000, 1, key="dr_mstep",
                     help="The masks of sequence 1 of that step's batch (the same whether or not the race has "
                          "got there yet: they come from the seed).")
    masks = {r: m for r in cfg.names() if (m := training_masks(cfg, r, int(step) - 1)) is not None}
    if not masks:
        st.info("None of the runs uses dropout: choose *between layers* or *recurrent (variational)* for one.")
        return
    charts.chart(plots.masks_figure(masks, cfg.labels(), step=int(step) - 1), key="dr_masks", name="dropout-masks")
    st.caption("These are the masks the run really used at that step (redrawn from the race's seed). Between-layer "
               "dropout draws a new mask at every time step (confetti); recurrent dropout draws one per sequence "
               "and keeps it (stripes), so a dropped unit stays silent for the whole sequence.")


def live_samples(runner, cfg, temperature, seed):
    with runner.lock:  # a read: the weights streamed from the worker must not change under us
        weights = {r: {k: v.clone() for k, v in m.state_dict().items()} for r, m in runner.trainer.models.items()}
        vocab, train_ids = runner.trainer.vocab, runner.trainer.train_ids
    out = {}
    for (r, w), spec in zip(weights.items(), cfg.runs):
        m = build_model(cfg, spec, len(vocab))
        m.load_state_dict(w)
        out[r] = sample(m, vocab, SAMPLE_LEN, temperature=temperature, seed=seed)[0]
    return out, vocab.decode(train_ids)


def view_samples(cfg, snap, latest, runner=None):
    with present.controls("Sampling"):
        s1, s2 = st.columns(2)
        temperature = bound(s1.select_slider, "Temperature", (0.3, 0.5, 0.8, 1.0), value=0.8, key="dr_temp")
        seed = bound(s2.number_input, "Sampling seed", 0, 10_000, 0, key="dr_sseed")
    if runner is None:
        texts, train_text = fresh_samples(cfg, float(temperature), int(seed)), None
        st.caption("Untrained runs write random characters. Train, then come back.")
    else:
        memo = st.session_state.get("dr__samples")
        want = (id(runner), snap.steps, temperature, seed)
        if memo is None or memo[0] != want:
            memo = (want, *live_samples(runner, cfg, float(temperature), int(seed)))
            st.session_state["dr__samples"] = memo
        texts, train_text = memo[1], memo[2]
    for r, label in cfg.labels().items():
        copied = f" · longest passage copied from the training text: {longest_copy(texts[r], train_text)} " \
                 "characters" if train_text else ""
        charts.html_view(H.char_spans(texts[r], caption=f"{r}: {label} (step {snap.steps if snap else 0:,})"
                                      f"{copied}", max_height=200), name=f"sample-{r}", title=f"Sample from {r}")


def render(view, cfg):
    def show(tr_cfg, snap, latest, runner=None):
        if view == "samples":
            view_samples(tr_cfg, snap, latest, runner)
        else:
            {"curves": view_curves, "masks": view_masks}[view](tr_cfg, snap, latest)

    def trained(runner, snap):
        tr_cfg = runner.trainer.config
        show(tr_cfg, snap, snap.latest or fresh(tr_cfg), runner)

    live.lab_panel(DropoutRace, trained, lambda: show(cfg, None, fresh(cfg)))


def main():
    page.header("Stacking & dropout",
                "A character model with enough units memorises a small text: its training loss keeps falling "
                "while its validation loss turns back up. Race runs with no dropout, dropout between layers and "
                "recurrent dropout on the same batches and see which keeps the gap small.", lesson="dropout")
    lab = live.lab_controls("dr", settings, DropoutRace, what="every run", views=VIEWS)
    if lab is None:
        return
    cfg, view = lab
    render(view, cfg)


main()
