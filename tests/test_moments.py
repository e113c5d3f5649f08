"""Every lesson moment opens its page in the state it promises.

A moment is a page plus query parameters (rnnviz.moments). For each one the page
is opened from that query string and every parameter must have reached a widget
with that key, showing that value: a renamed widget or a changed label breaks the
moment, and this test says which.
"""

import os

import pytest
from conftest import ROOT, apply_runner_config
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
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
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


def test_cell_moments_open_the_cell_their_model_card_names():
    """A moment that opens one cell for a hypothesis opens the one the model's card lists as
    its best (retraining a bundled model renumbers its cells: the moments must follow)."""
    import json

    from rnnviz import models, probes

    by_label = {h.label: k for k, h in probes.HYPOTHESES.items()}
    by_signal = {v: k for k, v in models.SIGNAL_LABELS.items()}
    checked = 0
    for m in moments.MOMENTS:
        p = m.params
        if m.page != "pages/cells.py" or "cx_cell" not in p or "cx_hyp" not in p:
            continue
        name = p.get("cx_model", "python_lstm")  # the cell explorer's default model
        with open(os.path.join(ROOT, "pretrained", name, "card.json")) as f:
            best = json.load(f)["probes"][by_label[p["cx_hyp"]]]
        layer = int(p.get("cx_layer", "layer 1").split()[-1]) - 1
        assert (best["layer"], best["signal"], best["unit"]) == (layer, by_signal[p["cx_signal"]], int(p["cx_cell"])), m.title
        checked += 1
    assert checked >= 5
