"""rnnviz: look inside recurrent neural networks.

Run with ``streamlit run app.py``. This file only builds the navigation; each
page lives in ``pages/`` and calls the ``rnnviz`` library. To add a page, copy a
file in ``pages/`` and list it below.
"""

import pandas  # noqa: F401  (imported once here: concurrent first imports in page threads can race)
import plotly.graph_objects  # noqa: F401
import streamlit as st
import torch

# Page computations (traces, samples) are batch-1 work: one thread is as fast and
# leaves the cores to the training slots (see rnnviz.live). The setting is per thread.
torch.set_num_threads(1)


@st.cache_resource(show_spinner=False)
def _warm_up():
    """Once per server process: GIL switch interval and periodic memory trimming
    (rnnviz.housekeeping), start the training worker processes, and pay torch's lazy imports (the optimiser pulls
    in its compiler stack, ~10-25 s on a busy machine) in a background thread, not in
    the first student's Train click."""
    import threading

    from rnnviz import housekeeping, live, worker

    housekeeping.start()

    def work():
        worker.POOL.prewarm(live.SLOTS.slots)
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.Adam([p])
        p.sum().backward()
        opt.step()

    t = threading.Thread(target=work, name="rnnviz-warmup", daemon=True)
    t.start()
    return t


_warm_up()

st.set_page_config(page_title="rnnviz - inside recurrent networks", page_icon=":material/neurology:",
                   layout="wide")

PAGES = {
    "": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Learn": [
        st.Page("pages/learn_hello.py", title="Hello, RNN", icon=":material/school:"),
    ],
    "Train": [
        st.Page("pages/train.py", title="Train & sample", icon=":material/model_training:"),
    ],
    "Inspect": [
        st.Page("pages/cells.py", title="Cell explorer", icon=":material/grid_on:"),
        st.Page("pages/gates.py", title="LSTM gates", icon=":material/tune:"),
        st.Page("pages/gradients.py", title="Gradient flow", icon=":material/trending_down:"),
    ],
}

from rnnviz.ui import session  # noqa: E402  (after set_page_config; it may show a notice)

session.restore()  # a reload or a dropped connection finds the same training run (?run=<token>)
st.navigation(PAGES).run()
