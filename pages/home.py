"""Home: what rnnviz is for, and a map of the pages."""

import pandas as pd
import streamlit as st

from rnnviz import checkpoint as ckpt
from rnnviz.ui import page
from rnnviz.ui.html import md

page.header(
    "rnnviz: look inside recurrent neural networks",
    "Recurrent networks read text one character at a time and carry a memory, the hidden "
    "state, from each step to the next. Here you can train small character models "
    "yourself and open them up: watch the samples improve, find single cells that track "
    "quotes or indentation, read the gates of an LSTM and see why gradients vanish.",
)

cols = st.columns(3)
with cols[0]:
    st.subheader(":material/school: Learn")
    st.markdown("Teaching? **Lessons** lists ready-made moments in the order the lectures teach them. "
                "Or start with a three-unit RNN that learns the word *hello*, every number on screen.")
    st.page_link("pages/lessons.py", label="Lessons", icon=":material/arrow_forward:")
    st.page_link("pages/learn_hello.py", label="Hello, RNN", icon=":material/arrow_forward:")
with cols[1]:
    st.subheader(":material/model_training: Train")
    st.markdown("Train a character model on Shakespeare, Python or your own text and sample from it.")
    st.page_link("pages/train.py", label="Train & sample", icon=":material/arrow_forward:")
with cols[2]:
    st.subheader(":material/search: Inspect")
    st.markdown("Find interpretable cells, watch the gates, and follow gradients back in time.")
    st.page_link("pages/cells.py", label="Cell explorer", icon=":material/arrow_forward:")
    st.page_link("pages/gates.py", label="LSTM gates", icon=":material/arrow_forward:")
    st.page_link("pages/gradients.py", label="Gradient flow", icon=":material/arrow_forward:")
    st.page_link("pages/deepnets.py", label="Deep nets", icon=":material/arrow_forward:")

st.divider()
st.subheader("Bundled models")
names = ckpt.pretrained_names()
if not names:
    st.info("No bundled models found in pretrained/. Run `python -m rnnviz.pretrain` to build them.")
else:
    rows = []
    for name in names:
        try:
            card = ckpt.pretrained_card(name)
        except ValueError as e:
            st.warning(f"{md(name)}: {md(e)}")
            continue
        m = card["model"]
        rows.append({
            "model": md(name),  # st.table renders its cells as Markdown
            "cell": m["cell"].upper(),
            "size": f"{m['layers']} x {m['hidden']}",
            "corpus": md(card.get("corpus") or ""),
            "val loss (nats/char)": f"{card['val_loss']:.3f}" if card.get("val_loss") else None,
            "training": f"{card.get('steps') or 0:,} steps, {(card.get('wall_seconds') or 0) / 60:.0f} min",
        })
    if rows:
        st.table(pd.DataFrame(rows).set_index("model"))
st.caption(
    "Loss is measured in nats per character on text the model did not train on. A model "
    "that guesses uniformly over a vocabulary of |V| characters scores ln |V| "
    "(about 4.4 for Shakespeare's 84 characters); lower is better."
)
