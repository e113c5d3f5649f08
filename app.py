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


@st.cache_resource(show_spinner="Starting up (once per server)…")
def _warm_up():
    """Once per server process, before any page runs: GIL switch interval and periodic
    memory trimming, torch's lazy imports, then the training worker processes.

    The imports run here, in the first session's script thread, and every other
    session waits for them (``cache_resource`` computes once). The optimiser's first
    step pulls in torch's compiler stack, which calls ``ast.parse`` dozens of times,
    and CPython 3.11's ``ast.parse`` is not safe in two threads at once
    (python/cpython#106905). Done in a background thread beside a page, it crashed
    that page. Pages themselves never parse (``runner.magicEnabled = false``)."""
    import threading

    from rnnviz import housekeeping, live, worker

    housekeeping.start()
    housekeeping.finish_lazy_imports()
    # Starting the workers is only process spawning (each child imports torch itself).
    t = threading.Thread(target=worker.POOL.prewarm, args=(live.SLOTS.slots,), name="rnnviz-prewarm",
                         daemon=True)
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
        st.Page("pages/lessons.py", title="Lessons", icon=":material/co_present:"),
        st.Page("pages/learn_hello.py", title="Hello, RNN", icon=":material/school:"),
    ],
    "Words": [
        st.Page("pages/words_pipeline.py", title="Word2vec: text to pairs", icon=":material/format_quote:"),
        st.Page("pages/words_lab.py", title="Word2vec lab", icon=":material/hub:"),
    ],
    "Train": [
        st.Page("pages/train.py", title="Train & sample", icon=":material/model_training:"),
    ],
    "Inspect": [
        st.Page("pages/cells.py", title="Cell explorer", icon=":material/grid_on:"),
        st.Page("pages/gates.py", title="LSTM gates", icon=":material/tune:"),
        st.Page("pages/gradients.py", title="Gradient flow", icon=":material/trending_down:"),
    ],
    "Depth & memory": [
        st.Page("pages/deepnets.py", title="Deep nets", icon=":material/stacks:"),
        st.Page("pages/memory.py", title="Long-range memory", icon=":material/history:"),
        st.Page("pages/bidirectional.py", title="Bidirectional RNNs", icon=":material/swap_horiz:"),
        st.Page("pages/dropout.py", title="Stacking & dropout", icon=":material/layers:"),
        st.Page("pages/forecast.py", title="RNN vs 1D CNN", icon=":material/thermostat:"),
    ],
    "Structures": [
        st.Page("pages/structures.py", title="Shapes of RNNs", icon=":material/account_tree:"),
        st.Page("pages/names.py", title="Names lab", icon=":material/badge:"),
        st.Page("pages/seq2seq.py", title="Seq2seq & attention", icon=":material/translate:"),
    ],
}

from rnnviz.ui import links, present, session, state  # noqa: E402  (after set_page_config; it may show a notice)

session.restore()  # a reload or a dropped connection finds the same training run (?run=<token>)
present.toggle()  # before the page runs: pages read present.presenting()
page = st.navigation(PAGES, expanded=True)  # every section in view: a "View 7 more" hid whole labs
with state.through_app():  # pages check that they came through here (ui.state.ensure_app_navigation)
    page.run()
links.share_link(page.url_path)  # after the page: every bound widget has written its value
