"""Smoke tests: app.py runs, every page it lists renders without an exception, in
AppTest and in a real browser."""

from __future__ import annotations

import ast
import os

import pytest
from conftest import ROOT, open_app


def listed_pages() -> list[str]:
    """Every ``st.Page("pages/...")`` in app.py, parsed (so a new page is tested too)."""
    tree = ast.parse(open(os.path.join(ROOT, "app.py"), encoding="utf-8").read())
    pages = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page" and node.args
                and isinstance(node.args[0], ast.Constant)):
            pages.append(node.args[0].value)
    return pages


PAGES = listed_pages()


def test_app_lists_the_core_pages():
    assert {"pages/home.py", "pages/learn_hello.py", "pages/train.py", "pages/cells.py",
            "pages/gates.py", "pages/gradients.py"} <= set(PAGES)
    for p in PAGES:
        assert os.path.exists(os.path.join(ROOT, p)), f"app.py lists a missing page {p}"


def _no_errors(at, where):
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
    assert not at.get("exception"), where


def test_home_renders(app_test):
    at = app_test()
    _no_errors(at, "home")
    assert "rnnviz" in at.title[0].value
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app_test, page):
    at = app_test(page)
    _no_errors(at, page)
    at.run()  # a second run (what a fragment tick or a click does) is fine too
    _no_errors(at, page + " (rerun)")


def _settle(page, timeout=120_000):
    """Wait until the page's script run has finished (Streamlit marks it on stApp)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def _no_errors_in_browser(page, where):
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert "Traceback" not in page.content(), where


@pytest.mark.browser
def test_home_in_a_real_browser(page, server):
    open_app(page, server, "", wait_text="look inside recurrent neural networks")
    _settle(page)
    nav = page.locator("[data-testid='stSidebarNav']")
    for title in ("Hello, RNN", "Train & sample", "Cell explorer", "LSTM gates", "Gradient flow"):
        assert nav.get_by_text(title, exact=True).count() >= 1, title
    _no_errors_in_browser(page, "home")


@pytest.mark.browser
@pytest.mark.parametrize("path", [os.path.splitext(os.path.basename(p))[0] for p in PAGES
                                  if not p.endswith("home.py")])
def test_pages_open_by_url_in_a_real_browser(page, server, path):
    open_app(page, server, path)
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=120_000)  # every page has a title
    _settle(page)
    _no_errors_in_browser(page, path)
