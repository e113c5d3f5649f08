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

# (icon, section, one line, [(page, label)]): the map, in the decks' order
MAP = [
    (":material/school:", "Learn", "Teaching? **Lessons** lists ready-made moments in the order the lectures teach "
     "them. Or start with a three-unit RNN that learns the word *hello*, every number on screen.",
     [("pages/lessons.py", "Lessons"), ("pages/learn_hello.py", "Hello, RNN")]),
    (":material/hub:", "Words", "From a sentence to skip-gram pairs, then word vectors trained live, their "
     "analogies, and GloVe beside them.",
     [("pages/words_pipeline.py", "Word2vec: text to pairs"), ("pages/words_lab.py", "Word2vec lab")]),
    (":material/model_training:", "Train", "Train a character model on Shakespeare, Python or your own text and "
     "sample from it.", [("pages/train.py", "Train & sample")]),
    (":material/search:", "Inspect", "Find interpretable cells, watch the gates, and follow gradients back in time.",
     [("pages/cells.py", "Cell explorer"), ("pages/gates.py", "LSTM gates"), ("pages/gradients.py", "Gradient flow")]),
    (":material/stacks:", "Depth & memory", "Deep nets and vanishing gradients, how far back a cell remembers, "
     "reading both ways, stacking with dropout, and forecasting a real time series.",
     [("pages/deepnets.py", "Deep nets"), ("pages/memory.py", "Long-range memory"),
      ("pages/bidirectional.py", "Bidirectional RNNs"), ("pages/dropout.py", "Stacking & dropout"),
      ("pages/forecast.py", "RNN vs 1D CNN")]),
    (":material/account_tree:", "Structures", "One-to-many, many-to-one and encoder–decoder networks, with "
     "attention.", [("pages/structures.py", "Shapes of RNNs"), ("pages/names.py", "Names lab"),
                    ("pages/seq2seq.py", "Seq2seq & attention")]),
]
for row in (MAP[:3], MAP[3:]):
    for col, (icon, section, line, links) in zip(st.columns(3), row):
        with col:
            st.subheader(f"{icon} {section}")
            st.markdown(line)
            for path, label in links:
                st.page_link(path, label=label, icon=":material/arrow_forward:")

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
