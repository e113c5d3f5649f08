"""rnnviz: look inside recurrent neural networks.

Run with ``streamlit run app.py``. This file only builds the navigation; each
page lives in ``pages/`` and calls the ``rnnviz`` library. To add a page, copy a
file in ``pages/`` and list it below.
"""

import streamlit as st

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

st.navigation(PAGES).run()
