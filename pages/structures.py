"""Structures: the shapes of recurrent networks - one-to-one, many-to-one, one-to-many,
many-to-many (aligned) and encoder-decoder - drawn as unrolled boxes from real forward
passes of the names lab's models on a name the student types. Which inputs are fed,
which states are computed and which outputs are read at every step *is* the difference
between the shapes; each one links to the lab that trains it."""

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from rnnviz.names import data, lab, shapes
from rnnviz.plots import names as P
from rnnviz.ui import charts, html, page

VIEWS = {"map": "All five shapes", "step": "Step through one"}
DATASETS = {"surnames": "surnames → language", "genders": "first names → gender"}
DEFAULT_NAME = {"surnames": "Rossi", "genders": "Jordan"}
MAX_STEPS = 2 * data.MAX_NAME + 1  # the longest encoder-decoder pass: a name read, a name written
LINKS = {
    "names-classifier": ("pages/names.py", {"nm_view": "Type a name"}, "Names lab: a classifier reads a name"),
    "names-generator": ("pages/names.py", {"nm_view": "Generate"}, "Names lab: a generator writes a name"),
    "train": ("pages/train.py", {}, "Train & sample: the character model"),
    "seq2seq": ("pages/seq2seq.py", {}, "Seq2seq: translating dates"),
}
WHAT = {
    "one_to_one": "One input, one output, no recurrence to speak of: the classifier sees only the first letter.",
    "many_to_one": "Every letter goes in, the state carries what was read, and only the last step answers.",
    "one_to_many": "The class goes in once; every letter written is fed back as the next input.",
    "many_to_many": "One output per input: at every step the model predicts the next letter. This is how "
                    "the generator is trained, and what the character model on Train & sample does.",
    "encoder_decoder": "Many-to-one, then one-to-many: the encoder's answer is handed to the decoder. Here it "
                       "passes a class; a sequence-to-sequence model passes its whole state vector.",
}


def link(lab_key):
    target, params, label = LINKS[lab_key]
    try:
        st.page_link(target, label=label, icon=":material/arrow_forward:", query_params=params or None)
    except (StreamlitAPIException, KeyError):
        st.caption(f"{label} (not on this server yet)")


def view_map(shape_list):
    # Full width, words below: beside a text column the boxes of a long pass were too narrow
    # for a class name ("Italian" cut to "talian" at 1280 × 720) and the links were cut off.
    for s in shape_list:
        with st.container(border=True):
            charts.chart(P.shape_figure(s), key=f"nm_shape_{s.key}", name=f"shape_{s.key}")
            st.markdown(WHAT[s.key])
            link(s.lab)


def view_step(shape_list):
    by_key = {s.key: s for s in shape_list}
    key = st.segmented_control("Shape", list(by_key), format_func=shapes.TITLES.get, key="nm_shape",
                               required=True, default="many_to_one", bind="query-params")
    s = by_key[key]
    t = st.slider("Step", 1, MAX_STEPS, 1, key="nm_step", bind="query-params",
                  help="Move along the forward pass one step at a time.")
    if t > len(s.steps):
        st.caption(f"This pass has {len(s.steps)} steps; showing all of them.")
        t = len(s.steps)
    charts.chart(P.shape_figure(s, current=t - 1), key="nm_step_fig", name=f"step_{s.key}")
    rows = [{"step": i + 1, "part": x.part or "-", "input": x.input or "-", "||h_t||": round(x.state, 2),
             "output": x.output or "-", "p(output)": x.output_p} for i, x in enumerate(s.steps[:t])]
    st.dataframe(pd.DataFrame(rows), hide_index=True, column_config={
        "p(output)": st.column_config.NumberColumn(format="percent")})
    st.markdown(WHAT[s.key])
    link(s.lab)


def main():
    page.header("Shapes of recurrent networks", "The same recurrent step, wired five ways. Every box below "
                "is a step a real model took on the name you type; faded boxes are slots the shape leaves "
                "empty, and the shade of a state shows its size ||h_t||.", lesson="structures")
    cols = st.columns([3, 2, 2])
    ds_key = cols[0].segmented_control("Models", list(DATASETS), format_func=DATASETS.get, key="nm_sdata",
                                       required=True, default="surnames", bind="query-params")
    typed = cols[1].text_input("Name to read", DEFAULT_NAME[ds_key], key="nm_sname", bind="query-params")
    seed = cols[2].number_input("Seed of the written name", 0, 10_000, 0, key="nm_sseed", bind="query-params")
    clf, gen = lab.bundled(ds_key, "classifier"), lab.bundled(ds_key, "generator")
    try:
        name = data.check_name(clf.vocab, typed, "these models")
    except ValueError as e:
        st.warning(html.md(e))
        return
    shape_list = shapes.shapes_map(clf, gen, name, seed=int(seed))
    view = page.view_switch("nm_sview", VIEWS)
    {"map": view_map, "step": view_step}[view](shape_list)


main()
