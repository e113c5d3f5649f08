"""Real browser: hostile text pasted into the cell explorer is shown literally and
nothing in it runs (no script, no onerror handler, no style that hides the app)."""

import os
import time

import pytest
from conftest import BROWSER_TIMEOUT_MS, ROOT, open_app, wait_for

pytestmark = pytest.mark.browser

HOSTILE = (
    "<script>window.__pwned = 1; alert('x')</script>\n"
    '<img src=x onerror="window.__pwned = 2">\n'
    "<style>body { display: none !important }</style>\n"
    "x = 1  # fine\n"
)


def test_hostile_text_is_shown_literally(page, server):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_app(page, server, "cells", wait_text="All cells over time")
    page.get_by_text("Paste", exact=True).first.click()
    box = page.get_by_label("Your text (up to 5,000 characters)")
    box.wait_for(timeout=240_000)
    box.fill(HOSTILE)
    box.press("Control+Enter")
    heat = page.locator(".rnnviz-text").first
    wait_for(lambda: heat.count() and "<script>" in heat.inner_text(), timeout=BROWSER_TIMEOUT_MS / 1000, poll=0.5)
    shown = heat.inner_text()
    assert "<script>window.__pwned = 1; alert('x')</script>" in shown
    assert '<img src=x onerror="window.__pwned = 2">' in shown
    assert "<style>body" in shown
    time.sleep(1.0)  # give an onerror handler time to fire if it existed
    assert page.evaluate("window.__pwned === undefined")
    assert not dialogs
    assert page.locator(".rnnviz-text img, .rnnviz-text script, .rnnviz-text style").count() == 0
    assert page.get_by_text("Cell explorer").first.is_visible()  # no injected style hid the app
    os.makedirs(os.path.join(ROOT, "screenshots"), exist_ok=True)
    page.screenshot(path=os.path.join(ROOT, "screenshots", "cells_hostile.png"))
