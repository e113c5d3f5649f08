"""Figure data as CSV and coloured text as a standalone page (rnnviz.plots.export)."""

import csv
import io

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots import export
from rnnviz.ui.html import heat_text


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_lines_become_one_row_per_point_with_their_trace_name():
    fig = go.Figure([go.Scatter(x=[0, 10], y=[4.2, 3.1], name="train loss"),
                     go.Scatter(x=[10], y=[float("nan")], name="val")])
    rows = _rows(export.figure_csv(fig))
    assert [(r["trace"], r["x"], r["y"]) for r in rows] == [
        ("train loss", "0", "4.2"), ("train loss", "10", "3.1"), ("val", "10", "")]
    assert set(rows[0]) == {"trace", "x", "y"}  # empty columns are left out


def test_a_heatmap_becomes_one_row_per_cell():
    z = np.arange(6, dtype=np.float32).reshape(2, 3)
    rows = _rows(export.figure_csv(go.Figure(go.Heatmap(z=z, x=["a", "b", "c"], y=["u0", "u1"]))))
    assert len(rows) == 6
    assert {(r["x"], r["y"], float(r["z"])) for r in rows} == {
        (x, y, float(z[i, j])) for i, y in enumerate(["u0", "u1"]) for j, x in enumerate("abc")}


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted():
    rows = _rows(export.figure_csv(go.Figure(go.Bar(x=["=HYPERLINK(1)", "-1", "+x"], y=[1, 2, 3]))))
    assert [r["x"] for r in rows] == ["'=HYPERLINK(1)", "-1", "'+x"]


def test_standalone_html_keeps_the_escaped_fragment_and_escapes_the_title():
    frag = heat_text("<b>x</b>", np.zeros(8))
    page = export.standalone_html(frag, "cell <3> & co")
    assert page.startswith("<!doctype html>") and frag in page
    assert "<title>cell &lt;3&gt; &amp; co</title>" in page and "<b>x</b>" not in page


def test_the_table_is_the_same_from_the_figure_or_its_figure_data():
    """A chart's deferred CSV keeps only ``figure_data`` (the arrays, not the figure)."""
    from rnnviz.plots import gates as gp

    rng = np.random.default_rng(0)
    heat = gp.gate_heatmap(rng.random((30, 8)), ("ab,c=\"d\n" * 4)[:30], start=5, gate=True)
    line = go.Figure([go.Scatter(x=[0, 10, 20], y=[3.0, 2.5, np.nan], name="=loss", text=["a", "b", "c"]),
                      go.Bar(x=["u", "v"], y=[1, 2])])
    for fig in (heat, line):
        want = export.figure_csv(fig)
        assert export.figure_csv(export.figure_data(fig)) == want
    assert len(_rows(export.figure_csv(heat))) == 30 * 8
