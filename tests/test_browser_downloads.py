"""The CSV and HTML buttons under every chart and coloured text, in Chromium.

Their files are written only when the button is pressed (deferred downloads), so a
page run no longer builds and stores a table per chart (a gates heatmap's CSV is
4 MB). This checks that pressing them still gives the file, with the numbers.
"""

from __future__ import annotations

import csv
import io

import pytest
from conftest import open_app

pytestmark = pytest.mark.browser


def _download(page, label: str) -> str:
    button = page.locator("[data-testid='stDownloadButton'] button").filter(has_text=label).first
    button.wait_for()
    with page.expect_download() as info:
        button.click()
    return open(info.value.path(), encoding="utf-8").read()


def test_the_gates_page_downloads_its_heatmap_table_and_coloured_text(page, server):
    open_app(page, server, "gates?gates_width=40", wait_text="Cells × time")
    page.wait_for_selector(".js-plotly-plot")
    table = _download(page, "CSV")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert len(rows) >= 40 * 256, len(rows)  # one row per cell and character of the 40-character window
    z = [float(r["z"]) for r in rows]
    assert all(-1.0 <= v <= 1.0 for v in z) and len(set(z)) > 100  # real gate values, not a constant

    html = _download(page, "HTML")
    assert html.lstrip().lower().startswith("<!doctype html") and "rnnviz-text" in html
