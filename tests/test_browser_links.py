"""Every view is a link, in Chromium: change a page's settings by clicking, copy the
address from "Share this view", open it in a fresh browser (a new context: no
cookies, no session), and the same figure is drawn from the same numbers."""

from __future__ import annotations

import re

import pytest
from conftest import browser_context, open_app, settled

pytestmark = pytest.mark.browser

FIGURE_DATA = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(
    d => (d._fullData || []).map(t => [t.name || '', Array.from(t.y || []).map(v => Number(v).toPrecision(6))]))"""
SHOWS = """(words) => { const d = document.querySelector('.js-plotly-plot');
    return !!(d && d._fullData && d._fullData.length && words.every(w => d._fullData[0].name.includes(w))); }"""


def _figures(page, timeout_s: float = 280):
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0 && "
                           "document.querySelector('.js-plotly-plot').data", timeout=timeout_s * 1000)
    return page.evaluate(FIGURE_DATA)


def group_button(page, label: str):
    """A segmented-control option by its label (the lesson text, hidden in its expander, names them too)."""
    return page.locator("[data-testid='stButtonGroup'] button").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first


def test_a_shared_link_opens_the_same_view_in_a_fresh_browser(browser, server):
    first = browser_context(browser, 1400, 1000)
    page = first.new_page()
    page.set_default_timeout(300_000)
    open_app(page, server, "deepnets", timeout=300_000)  # (the lesson text names the views too: wait for the figure)
    before = _figures(page)
    group_button(page, "tanh").click()  # network A's activation (the first group showing it)
    page.wait_for_url(re.compile(r"dn_a_act=tanh"))
    group_button(page, "Xavier (Glorot)").click()
    page.wait_for_url(re.compile(r"dn_a_init=Xavier"))
    page.wait_for_function(SHOWS, arg=["tanh", "Xavier"], timeout=280_000)
    settled(page)
    shown = _figures(page)
    assert shown != before and all(len(y) == 21 for _, y in shown[0])  # the clicks changed the figure

    page.get_by_role("button", name="Share this view").click()
    link = page.locator("[data-testid='stPopoverBody'] code").first.inner_text().strip()
    assert "dn_a_act=tanh" in link and "dn_a_init=Xavier" in link and "run=" not in link
    first.close()

    fresh = browser_context(browser, 1400, 1000)
    other = fresh.new_page()
    other.set_default_timeout(300_000)
    other.goto(link, wait_until="domcontentloaded")
    other.wait_for_function(SHOWS, arg=["tanh", "Xavier"], timeout=280_000)
    settled(other)
    assert _figures(other) == shown
    fresh.close()
