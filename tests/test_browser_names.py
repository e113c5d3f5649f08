"""The Names lab in a real browser (system Chromium): names typed as HTML, Markdown or
LaTeX into every box that reads a name are refused with a message that quotes them
literally; nothing in them becomes an element, runs, or fetches anything, and the
page keeps working for the next, ordinary name."""

from __future__ import annotations

import time

import pytest
from conftest import open_app

pytestmark = pytest.mark.browser

HOSTILE = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](http://127.0.0.1:9/a)", "$x^2$"]


def _open(page, server, query: str, wait_text: str) -> tuple[list, list]:
    requests, dialogs = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_app(page, server, "", wait_text="Bundled models", timeout=120_000)  # app.py's navigation first
    open_app(page, server, f"names?{query}", wait_text=wait_text, timeout=120_000)
    return requests, dialogs


def _type(page, label: str, text: str):
    box = page.get_by_role("textbox", name=label)
    box.fill(text)
    box.press("Enter")
    assert box.input_value() == text  # kept as typed, so it can be fixed


def _alert_quoting(page, name: str, timeout: float = 120.0) -> str:
    """Wait for a warning that shows ``“name”`` literally; return its text."""
    deadline, seen = time.time() + timeout, []
    while time.time() < deadline:
        alerts = page.locator("[data-testid='stAlert']")
        seen = []
        for i in range(alerts.count()):
            try:
                seen.append(alerts.nth(i).inner_text(timeout=2_000).replace("\u2060", ""))
            except Exception:  # re-rendered under us
                continue
        for text in seen:
            if f"\u201c{name}\u201d cannot be read" in text:
                return text
        time.sleep(0.5)
    raise AssertionError(f"{name!r} never quoted literally in a warning; warnings: {seen!r}")


def _assert_inert(page, requests, dialogs):
    time.sleep(1.0)  # let an onerror handler fire if one had been created
    assert not dialogs, dialogs
    assert page.locator("img[src='x'], img[onerror], [data-testid='stMain'] img").count() == 0
    assert page.evaluate("[...document.scripts].filter(s => s.textContent.includes('alert(1)')).length") == 0
    assert page.locator("a[href*='127.0.0.1:9']").count() == 0, "a link was made from a typed name"
    assert page.locator(".katex annotation").filter(has_text="x^2").count() == 0, "KaTeX rendered $x^2$"
    assert not [u for u in requests if "127.0.0.1:9" in u], requests
    assert page.locator("[data-testid='stMain']").first.is_visible()


def test_hostile_typed_names_are_refused_literally_and_stay_inert(page, server):
    requests, dialogs = _open(page, server, "", "Type a name")
    for name in HOSTILE:
        _type(page, "Type a name", name)
        text = _alert_quoting(page, name)
        assert "It can read only letters" in text  # and says what to type instead
        assert page.locator("[data-testid='stPlotlyChart']").count() == 0
        _assert_inert(page, requests, dialogs)
    _type(page, "Type a name", "Rossi")  # the page still works
    page.locator("[data-testid='stPlotlyChart']").first.wait_for()
    assert page.locator("[data-testid='stAlert']").count() == 0


def test_hostile_name_lists_and_starts_stay_inert(page, server):
    requests, dialogs = _open(page, server, "nm_view=Hidden-state+path", "Names (comma-separated)")
    for pair in (HOSTILE[:2], HOSTILE[2:]):
        _type(page, "Names (comma-separated)", f"{pair[0]}, Rossi, {pair[1]}")
        for name in pair:
            _alert_quoting(page, name)
        page.locator("[data-testid='stPlotlyChart']").first.wait_for()  # Rossi is still drawn
        _assert_inert(page, requests, dialogs)

    requests, dialogs = _open(page, server, "nm_view=Generate", "Starts with (optional)")
    for name in HOSTILE:
        _type(page, "Starts with (optional)", name)
        _alert_quoting(page, name)
        _assert_inert(page, requests, dialogs)
    _type(page, "Starts with (optional)", "Mc")
    page.get_by_text("the start you typed in bold", exact=False).first.wait_for()
    assert page.locator("[data-testid='stAlert']").count() == 0
