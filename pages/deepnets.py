"""Deep nets: vanishing gradients through depth, two networks side by side.

Two MLPs with the same depth, data and seed but their own activation and
initialisation (and optionally residual connections) train live on spirals in
the training workers. The page shows the mean |∂L/∂W| of every layer (now, and as
a layer × step heatmap), the activations and how many units are flat, the
update-to-weight ratio and the decision boundary. Before training it shows the
same numbers for the freshly initialised networks.
"""

import streamlit as st
import torch

from rnnviz import deepnet
from rnnviz.deepnet_trainer import RUNS, DeepNetRace, RaceConfig, data, stat_grids
from rnnviz.plots import deepnet as plots
from rnnviz.plots import race as race_plots
from rnnviz.ui import charts, live, page, present
from rnnviz.ui.pickers import bound

VIEWS = {"gradients": "Gradients by layer", "activations": "Activations", "ratio": "Update ratio",
         "boundary": "Decision boundary"}
DEFAULTS = {"A": ("sigmoid", "normal", 1.0, False), "B": ("relu", "he", 1.0, False)}
SIGMAS = (0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0)
LRS = (0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.3)


def net_settings(run: str, depth: int, width: int, col) -> deepnet.NetConfig:
    act0, init0, sigma0, res0 = DEFAULTS[run]
    p = f"dn_{run.lower()}"
    with col:
        st.markdown(f"**Network {run}**")
        act = bound(st.segmented_control, "Activation", list(deepnet.ACTIVATIONS), default=act0, required=True,
                    format_func=deepnet.ACTIVATIONS.get, key=f"{p}_act") or act0
        init = bound(st.segmented_control, "Initialisation", list(deepnet.INITS), default=init0, required=True,
                     format_func=deepnet.INITS.get, key=f"{p}_init") or init0
        sigma = bound(st.select_slider, "σ of N(0, σ²)", SIGMAS, value=sigma0, key=f"{p}_sigma",
                      disabled=init != "normal", help="Only for the N(0, σ²) initialisation.")
        res = bound(st.toggle, "Residual connections (h ← h + g(Wh + b))", value=res0, key=f"{p}_res")
    return deepnet.NetConfig(depth=depth, width=width, activation=act, init=init, sigma=float(sigma), residual=res)


def settings() -> RaceConfig:
    c1, c2, c3 = st.columns(3)
    depth = bound(c1.slider, "Depth (hidden layers)", 1, deepnet.MAX_DEPTH, 20, key="dn_depth")
    width = bound(c2.select_slider, "Width (units per layer)", (8, 16, 32, 64), value=32, key="dn_width")
    lr = bound(c3.select_slider, "Learning rate (SGD, momentum 0.9)", LRS, value=0.02, key="dn_lr")
    with present.controls("Networks and data"):
        a, b = st.columns(2)
        nets = {"A": net_settings("A", depth, width, a), "B": net_settings("B", depth, width, b)}
        d1, d2 = st.columns(2)
        arms = bound(d1.segmented_control, "Spiral arms (classes)", [2, 3, 4], default=2, required=True,
                     key="dn_arms") or 2
        seed = bound(d2.number_input, "Seed (data and weights)", 0, 10_000, 0, key="dn_seed")
    nets = {k: deepnet.NetConfig(**{**v.to_dict(), "classes": int(arms)}) for k, v in nets.items()}
    return RaceConfig(a=nets["A"], b=nets["B"], lr=float(lr), arms=int(arms), seed=int(seed))


@st.cache_data(max_entries=64, show_spinner=False)
def fresh(cfg: RaceConfig):
    """The step-0 race for these settings (freshly initialised, not trained)."""
    torch.set_num_threads(1)
    trainer = DeepNetRace(cfg)
    return trainer.stats_hist[-1], trainer.layers, trainer.decision_grids()


def labels(cfg: RaceConfig) -> dict:
    return {"A": cfg.a.describe(), "B": cfg.b.describe()}


def view_gradients(state, cfg):
    step, stats = state["stats"][-1]
    names = labels(cfg)
    st.markdown(f"**Step {step:,}.** First layer vs output layer: "
                + " · ".join(f"{r}: {stats[r][0][0] / max(stats[r][0][-1], 1e-30):.1e}×" for r in RUNS))
    charts.chart(plots.profile_figure({r: stats[r][0] for r in RUNS}, names), key="dn_profile",
                 name="gradient-by-layer")
    if len(state["stats"]) > 1:
        steps, grids = stat_grids(state["stats"], 0)
        charts.chart(plots.heatmap_figure(steps, grids, names), key="dn_heat", name="gradient-layer-step")
    else:
        st.caption("Train to watch these numbers change: the layer × step heatmap appears after 10 steps.")


def view_activations(state, cfg):
    sat = {r: state["stats"][-1][1][r][2] for r in RUNS}
    charts.chart(plots.activations_figure(state["layers"], labels(cfg), sat), key="dn_acts", name="activations")
    st.caption("Each row is one hidden layer; the colour shows how many of its units take each value on 256 "
               "training points. *Flat* units sit where g'(a) ≈ 0 (sigmoid or tanh near their ends, a ReLU "
               "below zero): no gradient passes through them.")


def view_ratio(state, cfg):
    if len(state["stats"]) < 2:
        st.info("Train for a few steps: the ratio is logged every 10 steps.")
        return
    steps, grids = stat_grids(state["stats"], 1)
    charts.chart(plots.heatmap_figure(steps, grids, labels(cfg), what="lr · ‖∂L/∂W‖ / ‖W‖"), key="dn_ratio",
                 name="update-ratio")
    st.caption("How much one step changes each layer's weights, relative to their size. Around 10⁻³ is healthy; "
               "10⁻⁷ means the layer is frozen, 10⁻¹ that it is being thrown around.")


def view_boundary(state, cfg):
    X, y, _, _ = data(cfg)
    charts.chart(plots.boundary_figure(state["grids"], X.numpy(), y.numpy(), labels(cfg)), key="dn_boundary",
                 name="decision-boundary")


def render(view, cfg):
    show = {"gradients": view_gradients, "activations": view_activations, "ratio": view_ratio,
            "boundary": view_boundary}[view]

    def trained(runner, snap):
        tr_cfg, grids = runner.trainer.config, None
        if view == "boundary":
            with runner.lock:  # a read: the weights streamed from the worker must not change under us
                grids = runner.trainer.decision_grids()
        if len(snap.loss):
            fig = race_plots.curves_figure(snap.loss, snap.evals, labels(tr_cfg), metric="acc",
                                           metric_title="held-out accuracy", percent=True)
            charts.chart(fig.update_yaxes(range=[0, 102], row=1, col=2), key="dn_curves", name="loss-and-accuracy")
        show({"stats": snap.stats, "layers": snap.layers, "grids": grids}, tr_cfg)

    def untrained():
        stats, layers, grids = fresh(cfg)
        show({"stats": [stats], "layers": layers, "grids": grids}, cfg)

    live.lab_panel(DeepNetRace, trained, untrained, fresh_note="Freshly initialised networks (step 0). Press "
                   "**Train** to train both on the same batches.")


def main():
    page.header("Deep nets: gradients through depth",
                "An unrolled RNN is a deep network whose layers share one weight matrix. Here the depth is "
                "real: stack up to 30 layers and see how much gradient reaches the first ones.", lesson="deepnets")
    lab = live.lab_controls("dn", settings, DeepNetRace, what="both networks", views=VIEWS)
    if lab is None:
        return
    cfg, view = lab
    render(view, cfg)


main()
