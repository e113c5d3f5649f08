"""The frame every page shares: title, intro, lesson, and a view switch.

A page's ``main()`` starts with ``header(...)``, picks its view with
``view_switch`` (bound to the URL, so a link opens the same view) and shows its
lesson with ``lesson(name)``: the Markdown file ``rnnviz/lessons/NAME.md``, the
same way on every page (collapsed while presenting). Lesson files are text we
wrote; Streamlit Markdown renders their ``$...$`` and ``$$...$$`` LaTeX.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import present
from .state import ensure_app_navigation

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def lesson_path(name: str) -> Path:
    path = LESSONS / f"{name}.md"
    if not name.replace("_", "").isalnum() or not path.is_file():
        raise FileNotFoundError(f"No lesson called {name!r} in {LESSONS}.")
    return path


def read_lesson(name: str) -> str:
    return lesson_path(name).read_text(encoding="utf-8")


def lesson_title(name: str) -> str:
    """The first Markdown heading of a lesson, or its name."""
    for line in read_lesson(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return name.replace("_", " ").capitalize()


def lesson(name: str, *, label: str | None = None, expanded: bool = False) -> None:
    """Show ``rnnviz/lessons/NAME.md`` in an expander."""
    text = read_lesson(name)
    lines = text.splitlines()
    title = label
    if lines and lines[0].startswith("#"):  # the heading becomes the expander's label
        title = title or lines[0].lstrip("#").strip()
        text = "\n".join(lines[1:])
    with st.expander(f":material/school: Lesson: {title or name}", expanded=expanded and not present.presenting()):
        st.markdown(text)


def header(title: str, intro: str | None = None, *, lesson: str | None = None) -> None:
    """The top of every page: navigation check, presenter styling, title, intro, lesson."""
    ensure_app_navigation()
    present.style()
    st.title(title)
    if intro and not present.presenting():
        st.markdown(intro)
    if lesson:
        globals()["lesson"](lesson)


def view_switch(key: str, views: dict[str, str], *, default: str | None = None,
                label: str = "View") -> str:
    """One segmented control over ``views`` (URL value -> label), bound to ``?key=``."""
    options = list(views)
    default = default if default in views else options[0]
    if st.session_state.get(key) not in views:
        st.session_state.pop(key, None)
    choice = st.segmented_control(label, options, default=default, format_func=views.get, key=key,
                                  bind="query-params", required=True, label_visibility="collapsed")
    return choice if choice in views else default
