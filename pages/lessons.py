"""Lessons: ready-made moments for a class, in the order the lecture decks teach.

Each moment is a link into a page in a prepared state (``rnnviz.moments``) with
one line on what to show. Opening one keeps your session (and your training run).
"""

import streamlit as st

from rnnviz import moments
from rnnviz.ui import page


def moment_row(m: moments.Moment) -> None:
    st.page_link(m.page, label=m.title, icon=":material/arrow_forward:", query_params=m.params)
    st.caption(m.what)  # under the link: a column beside it cut long titles in presenter mode


def main():
    page.header(
        "Lessons",
        "Ready-made moments for a lesson: each link opens a page with the model, text and settings "
        "already chosen, and says in one line what to point at. They follow the order in which the "
        "lecture decks teach: from words as vectors to attention. Every page's own address is a link "
        "too: use **Share this view** in the sidebar to share exactly what you are showing.",
    )
    groups = moments.by_topic()
    if not groups:
        st.info("No lesson moments are listed yet.")
        return
    for (_key, title, blurb), items in groups:
        st.subheader(title)
        st.caption(blurb)
        for m in items:
            moment_row(m)


main()
