"""The Seq2seq & attention page in a real browser: typed input that is hostile stays
inert, over-long input gets a clear message, and the page keeps working after both."""

from __future__ import annotations

import pytest
from conftest import open_app

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__s2s=1">'


def _type(page, text: str):
    box = page.get_by_role("textbox", name="A date to translate")
    box.fill(text)
    box.press("Enter")


def test_hostile_and_overlong_dates_are_refused_clearly(page, server):
    open_app(page, server, "", wait_text="Bundled models")  # app.py's navigation first
    open_app(page, server, "seq2seq?s2s_view=Attention+map", wait_text="Where the decoder looked",
             timeout=240_000)
    _type(page, HOSTILE)
    page.get_by_text("The model never saw these characters", exact=False).first.wait_for()
    assert page.evaluate("window.__s2s") is None  # nothing ran
    assert page.locator("img[src='x']").count() == 0  # and nothing became markup
    assert page.locator("[data-testid='stPlotlyChart']").count() == 0

    _type(page, "25 juin 2009, " * 30)
    page.get_by_text("the model reads at most 40", exact=False).first.wait_for()
    assert page.locator("[data-testid='stPlotlyChart']").count() == 0

    _type(page, "Thursday, December 31, 2009")
    page.get_by_text("2009-12-31", exact=False).first.wait_for()
    assert page.locator("[data-testid='stPlotlyChart']").count() == 1
    assert page.get_by_text("never saw these characters", exact=False).count() == 0
