"""Acceptance (issue 4): the bundled python_lstm has interpretable cells on Python
text it was not trained on (the last 10 % of its corpus).

Goals: |r| >= 0.7 for indentation depth, >= 0.6 for column, and a best
inside-string cell with |r| >= 0.6. Numbers come from ``probes.report``, the same
function that writes them into the model card (``python -m rnnviz.probes python_lstm``).
"""

import pytest

from rnnviz import checkpoint as ckpt
from rnnviz import probes

GOALS = {"indent": 0.7, "column": 0.6, "string": 0.6}


@pytest.fixture(scope="module")
def report():
    if "python_lstm" not in ckpt.pretrained_names():
        pytest.fail("the bundled python_lstm model is missing from pretrained/")
    cp = ckpt.load_pretrained("python_lstm")
    assert cp.card.get("corpus") == "python"
    return probes.report(cp, length=5000, keys=tuple(GOALS))


@pytest.mark.parametrize("key", list(GOALS))
def test_interpretable_cell(report, key):
    got = report[key]
    assert report["chars"] >= 4000 and report["language"] == "python"
    assert got["abs_r"] >= GOALS[key], (
        f"best {key} cell: |r| = {got['abs_r']:.3f} (layer {got['layer']}, {got['signal']}, "
        f"cell {got['unit']}); goal {GOALS[key]}"
    )
