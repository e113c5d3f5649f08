"""Every lesson moment opens its page in the state it promises.

A moment is a page plus query parameters (rnnviz.moments). For each one the page
is opened from that query string and every parameter must have reached a widget
with that key, showing that value: a renamed widget or a changed label breaks the
moment, and this test says which.
"""

import pytest
from conftest import apply_runner_config
from streamlit.testing.v1 import AppTest

from rnnviz import moments

apply_runner_config()


def _widgets(node):
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for c in children.values():
            yield from _widgets(c)


def shown_value(el) -> str:
    """A widget's value as the URL spells it (select widgets: the option's label)."""
    v = el.value
    fmt = getattr(el, "format_func", None)
    if fmt is not None and hasattr(el, "options"):
        if isinstance(v, (list, tuple)) and type(el).__name__ != "SelectSlider":
            return ",".join(str(fmt(x)) for x in v)
        return str(fmt(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def same(shown: str, wanted: str) -> bool:
    if shown == wanted:
        return True
    try:
        return float(shown) == float(wanted)
    except ValueError:
        return False


def open_moment(m: moments.Moment) -> AppTest:
    at = AppTest.from_file("app.py", default_timeout=300)
    at.run()
    for k, v in m.params.items():
        at.query_params[k] = v
    at.switch_page(m.page).run()
    return at


def test_moments_are_grouped_in_teaching_order():
    groups = moments.by_topic()
    order = [t[0] for t, _ in groups]
    assert order == [k for k in moments.TOPIC_KEYS if k in order]
    assert sum(len(ms) for _, ms in groups) == len(moments.MOMENTS)


@pytest.mark.parametrize("m", moments.MOMENTS, ids=lambda m: f"{m.page}:{m.title}")
def test_every_moment_reaches_its_widgets(m):
    at = open_moment(m)
    assert not at.exception, [e.value for e in at.exception]
    found = {el.key: el for el in _widgets(at._tree) if getattr(el, "key", None)}
    for k, v in m.params.items():
        assert k in found, f"{m.title!r}: no widget with key {k!r} on {m.page}"
        assert same(shown_value(found[k]), v), f"{m.title!r}: {k} shows {shown_value(found[k])!r}, not {v!r}"
