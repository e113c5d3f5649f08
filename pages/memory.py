"""Long-range memory: how far back can a vanilla RNN, an LSTM and a GRU remember?

The three cell types train side by side on the same batches (``rnnviz.memory``):
a symbol, n tokens of something else, then a question about the symbol. The page
shows held-out accuracy against the distance n (the main figure, at any recorded
moment of training), the race's loss and accuracy curves, and the "why": the size
of the gradient that reaches the symbol's input from the answer, against n.
Before training it shows the freshly initialised networks.
"""

import streamlit as st
import torch

from rnnviz.memory import plots, tasks
from rnnviz.memory.trainer import MemoryConfig, MemoryRace, curves, history_grids, labels, moment
from rnnviz.ui import charts, live, page, present
from rnnviz.ui.pickers import bound

VIEWS = {"distance": "Accuracy vs distance", "race": "Race curves", "why": "Why: gradients"}
HIDDEN = (8, 16, 32, 64, 128)
SYMBOLS = (2, 4, 8, 16)
LRS = (0.0003, 0.001, 0.003, 0.01, 0.03)


def settings() -> MemoryConfig:
    keys = list(tasks.TASKS)
    task = bound(st.segmented_control, "Task", keys, default=keys[0], required=True, key="mem_task",
                 format_func=lambda k: tasks.TASKS[k].label) or keys[0]
    st.caption(tasks.TASKS[task].explain)
    c1, c2 = st.columns(2)
    far = bound(c1.slider, "Longest training distance D", 1, 100, 20, key="mem_d",
                help="Training examples have distances drawn evenly from the shortest one to D.")
    extra = bound(c2.slider, "Test beyond D (extrapolation)", 0, 50, 20, key="mem_extra",
                  help="The held-out set covers every distance from 1 to D plus this many.")
    with present.controls("Networks and data"):
        d1, d2, d3, d4, d5 = st.columns(5)
        near = bound(d1.number_input, "Shortest training distance", 1, 100, 1, key="mem_dmin")
        hidden = bound(d2.select_slider, "Hidden units (each cell)", HIDDEN, value=32, key="mem_hidden")
        symbols = bound(d3.select_slider, "Symbols K (chance 1/K)", SYMBOLS, value=8, key="mem_k")
        lr = bound(d4.select_slider, "Learning rate (Adam)", LRS, value=0.003, key="mem_lr")
        seed = bound(d5.number_input, "Seed (data and weights)", 0, 10_000, 0, key="mem_seed")
    return MemoryConfig(task=task, hidden=int(hidden), symbols=int(symbols), min_distance=int(near),
                        max_distance=int(far), eval_distance=int(far) + int(extra), lr=float(lr), seed=int(seed))


@st.cache_data(max_entries=32, show_spinner=False)
def fresh(cfg: MemoryConfig):
    """The step-0 evaluation for these settings (freshly initialised, not trained)."""
    torch.set_num_threads(1)
    return list(MemoryRace(cfg).eval_hist)


def pick_moment(evals, cfg):
    """The evaluation to show: the latest, or the one at a step the student picks."""
    if len(evals) < 2:
        return evals[-1]
    c1, c2 = st.columns([1, 2])
    latest = c1.toggle("Latest evaluation", value=True, key="mem_latest")
    if latest:
        return evals[-1]
    step = c2.number_input("Show the evaluation at step", 0, None, evals[-1][0], step=cfg.eval_every,
                           key="mem_at", help=f"Evaluations are recorded every {cfg.eval_every} steps.")
    return moment(evals, int(step))


def view_distance(evals, cfg, state):
    step, metrics = pick_moment(evals, cfg)
    acc = {run: curves(m, "acc", cfg.eval_distance) for run, m in metrics.items()}
    names = labels(cfg.cells)
    st.markdown(f"**Step {step:,}.** Mean held-out accuracy over the training distances: "
                + " · ".join(f"{names[r]} {100 * metrics[r]['acc']:.0f} %" for r in cfg.cells)
                + ("" if cfg.eval_distance == cfg.max_distance else "; beyond D: "
                   + " · ".join(f"{names[r]} {100 * metrics[r]['far']:.0f} %" for r in cfg.cells)))
    charts.chart(plots.accuracy_figure(acc, names, chance=cfg.chance, lo=cfg.min_distance, hi=cfg.max_distance),
                 key="mem_acc", name="accuracy-vs-distance")
    if len(evals) > 1:
        steps, grids = history_grids(evals, cfg.cells, cfg.eval_distance)
        charts.chart(plots.history_figure(steps, grids, names), key="mem_hist", name="accuracy-distance-step")
        st.caption("The same accuracy at every recorded evaluation, one column per evaluation: see at which "
                   "step each cell learns each distance, and whether the short distances come first.")
    else:
        st.caption("At step 0 every cell guesses, so all curves sit near the chance line. Press **Train**.")


def view_race(evals, cfg, state):
    if not state["loss"]:
        st.info("Train for a few steps to see the loss and accuracy curves of the race.")
        return
    charts.chart(plots.race_figure(state["loss"], evals, labels(cfg.cells), beyond=cfg.eval_distance > cfg.max_distance),
                 key="mem_curves", name="race-curves")
    secs = state["seconds"]
    if secs:
        st.caption("Training time so far: " + " · ".join(f"{labels(cfg.cells)[r]} {secs[r]:.1f} s" for r in cfg.cells)
                   + ". The same batches, the same seed: only the cell differs.")


GRADS = {"grad": "‖∂L/∂x‖", "gain": "‖∂L/∂x‖ / ‖∂L/∂h_T‖"}


def view_why(evals, cfg, state):
    what = bound(st.segmented_control, "Measure", list(GRADS), default="grad", required=True, key="mem_grad",
                 format_func=GRADS.get) or "grad"
    step, metrics = pick_moment(evals, cfg)
    grad = {run: curves(m, what, cfg.eval_distance) for run, m in metrics.items()}
    charts.chart(plots.gradient_figure(grad, labels(cfg.cells), lo=cfg.min_distance, hi=cfg.max_distance,
                                       title=GRADS[what] + " at the symbol"), key="mem_grad_fig",
                 name="gradient-vs-distance")
    st.markdown(f"**Step {step:,}.** How strongly the loss at the question still reaches back to the input x of "
                "the symbol to remember, averaged over held-out examples at each distance. In a vanilla RNN the "
                "gradient is multiplied by the recurrent Jacobian once per step, so it falls off exponentially. "
                "At step 0 the gated cells lose it too (their gates start half open), only more slowly; as they "
                "learn to hold the forget gate (LSTM) or the update gate (GRU) steady, their lines flatten. A cell "
                "that cannot feel the symbol cannot learn to keep it.")
    st.caption("A solved example has a tiny loss and so a tiny gradient, whatever the distance: the second "
               "measure divides by the gradient at the last hidden state h_T to show only the share that makes "
               "it back. Points missing from a line are exact zeros (the gradient underflowed).")
    st.page_link("pages/gradients.py", label="See the same effect step by step on the Gradient flow page",
                 icon=":material/trending_down:")


def render(view, cfg):
    show = {"distance": view_distance, "race": view_race, "why": view_why}[view]
    live.lab_panel(
        MemoryRace,
        lambda runner, snap: show(list(snap.evals), runner.trainer.config,
                                  {"loss": list(snap.loss), "seconds": snap.seconds}),
        lambda: show(fresh(cfg), cfg, {"loss": [], "seconds": {}}),
        fresh_note="Freshly initialised networks (step 0). Press **Train** to train all three on the same batches.")


def main():
    page.header("Long-range memory",
                "How far back can a recurrent network remember? A vanilla RNN, an LSTM and a GRU learn the same "
                "task on the same batches; you choose how many steps separate what they must remember from "
                "the question.", lesson="memory")
    lab = live.lab_controls("mem", settings, MemoryRace, what="all three networks", views=VIEWS)
    if lab is None:
        return
    cfg, view = lab
    render(view, cfg)


main()
