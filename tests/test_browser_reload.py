"""Reloading the Train page keeps the student's model (issue 12, item 10), in Chromium.

Train, press F5, and the same run is back: the address carries ``?run=<token>``,
the Step counter continues from where it was (not from zero), the settings of
the model are shown locked, and Pause and Reset act on that run. A second tab
opened with the same address shows the same paused run.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from conftest import BROWSER_TIMEOUT_MS, open_app, pick
from test_browser_train import _open_train, _step_count, _wait_steps

pytestmark = pytest.mark.browser


def _token(url: str) -> str | None:
    values = urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get("run")
    return values[0] if values else None


def _wait_token(page, timeout_ms: float = BROWSER_TIMEOUT_MS) -> str:
    page.wait_for_url(re.compile(r"[?&]run=[A-Za-z0-9_-]{43}"), timeout=timeout_ms)
    return _token(page.url)


def test_reload_keeps_the_model_and_its_steps(page, server):
    _open_train(page, server)
    pick(page, "Corpus", "First names")
    page.get_by_text("distinct; the last 10 %", exact=False).first.wait_for()
    page.get_by_role("button", name="Train").click()
    token = _wait_token(page)
    before = _wait_steps(page, 5, timeout=300)

    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stApp']")
    after = _wait_steps(page, before, timeout=300)  # the same run, still counting up
    assert after > before
    assert _token(page.url) == token
    assert page.get_by_text("Press Train to start").count() == 0
    page.get_by_text("locked while this model exists", exact=False).first.wait_for()
    assert page.get_by_text("First names", exact=False).count() >= 1

    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Paused at step", exact=False).first.wait_for()
    paused = _step_count(page)
    assert paused >= after

    # The same address in a second tab (a link pasted into a new window): the same paused run.
    other = page.context.new_page()
    open_app(other, server, f"train?run={token}", wait_text="Paused at step")
    assert _step_count(other) == paused
    other.close()

    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("Press Train to start", exact=False).first.wait_for()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('run')")
    page.reload(wait_until="domcontentloaded")
    page.get_by_text("Press Train to start", exact=False).first.wait_for()
