"""Smoke tests: app.py runs, every page it lists renders without an exception, in
AppTest, in a real browser, and on the first visits to a freshly started server.

The first-visit tests guard a crash on CPython 3.11 (python/cpython#106905:
``ast.parse`` in two threads at once raises "SystemError: AST constructor
recursion depth mismatch"). Streamlit's magic parsed every page while app.py's
warm-up thread imported torch's optimiser stack, which parses too; now magic is off
and the warm-up finishes before any page runs.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import sys
import threading
import time

import pytest
from conftest import ROOT, apply_runner_config, open_app, run_in_fresh_loop, settled, start_server, stop_server

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import stclient  # noqa: E402


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


def _no_errors_in_browser(page, where):
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert "Traceback" not in page.content(), where


@pytest.mark.browser
def test_home_in_a_real_browser(page, server):
    open_app(page, server, "", wait_text="look inside recurrent neural networks")
    settled(page)
    nav = page.locator("[data-testid='stSidebarNav']")
    for title in ("Hello, RNN", "Train & sample", "Cell explorer", "LSTM gates", "Gradient flow"):
        assert nav.get_by_text(title, exact=True).count() >= 1, title
    _no_errors_in_browser(page, "home")


@pytest.mark.browser
@pytest.mark.parametrize("path", [os.path.splitext(os.path.basename(p))[0] for p in PAGES
                                  if not p.endswith("home.py")])
def test_pages_open_by_url_in_a_real_browser(page, server, path):
    open_app(page, server, path)
    page.locator("[data-testid='stMain'] h1").first.wait_for(timeout=240_000)  # every page has a title
    settled(page)
    _no_errors_in_browser(page, path)


# ------------------------------------------------------------------ first visits


def _magic_expressions(path: str) -> list[int]:
    """Lines of ``path`` that Streamlit magic would display: bare expressions that are
    not calls, docstrings, ``yield`` or ``await`` (its rule in runtime/scriptrunner/magic.py)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    lines = []
    for node in ast.walk(tree):
        for attr in ("body", "orelse", "finalbody"):
            body = getattr(node, attr, None)
            if not isinstance(body, list):
                continue
            for i, stmt in enumerate(body):
                if not isinstance(stmt, ast.Expr):
                    continue
                v = stmt.value
                if isinstance(v, (ast.Call, ast.Yield, ast.YieldFrom, ast.Await)):
                    continue
                if (i == 0 and isinstance(v, ast.Constant) and isinstance(v.value, str)
                        and isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))):
                    continue
                lines.append(stmt.lineno)
    return lines


def test_magic_is_off_and_no_page_relies_on_it(tmp_path):
    assert apply_runner_config().get("magicEnabled") is False, ".streamlit/config.toml must turn magic off"
    from streamlit import config

    assert config.get_option("runner.magicEnabled") is False
    for p in ["app.py"] + PAGES:
        assert _magic_expressions(os.path.join(ROOT, p)) == [], f"{p} has a bare expression magic would show"
    # The checker itself finds what magic would show.
    probe = tmp_path / "probe.py"
    probe.write_text('"""doc"""\nimport streamlit as st\nx = 1\nx\nst.write(x)\nif x:\n    "shown"\n')
    assert _magic_expressions(str(probe)) == [4, 7]


def test_pages_parse_no_ast_once_the_app_has_started(app_test, monkeypatch):
    """After app.py's first run nothing in the process calls ``ast.parse`` while pages
    run: no magic, and no warm-up thread still importing beside the pages."""
    at = app_test()  # the first run pays the warm-up (it may parse, in this thread, before any page)
    calls = []
    real = ast.parse

    def recording_parse(*args, **kwargs):
        # pytest's own import hook parses the modules it rewrites (e.g. the faker package,
        # which ships a pytest plugin, when the names lab imports a locale lazily); the
        # app outside pytest never does, so those calls are not the app's
        if not any("_pytest/assertion/rewrite" in f.filename for f in inspect.stack(0)):
            calls.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", recording_parse)
    for p in PAGES:
        at.switch_page(p).run()
        _no_errors(at, p)
    assert calls == [], f"ast.parse ran while pages ran, in threads {sorted(set(calls))}"


COLD_STARTS = 3
# Deep links come twice: two first visits of one page at once both start in Streamlit's
# legacy pages/ mode, and the second used to go on without app.py (and its warm-up).
FIRST_PAGES = ["", "learn_hello", "train", "cells", "gates", "gradients", "learn_hello", "gates"]


async def _first_visits(url: str) -> dict:
    """Open every page at once, each in its own new session; page -> exceptions seen."""
    sessions = [stclient.Session(url, name=page or "home", fragments=False) for page in FIRST_PAGES]
    try:
        await asyncio.gather(*(s.connect() for s in sessions))
        results = await asyncio.gather(*(s.open(page, timeout=150) for s, page in zip(sessions, FIRST_PAGES)))
        return {f"{i}:{page}": (r.status, r.exceptions + s.exceptions)
                for i, (page, s, r) in enumerate(zip(FIRST_PAGES, sessions, results))}
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


def test_cold_server_first_visits_never_crash():
    """Start the server cold a few times; every page requested at once on its first
    visits renders without an exception."""
    t0 = time.monotonic()
    for attempt in range(COLD_STARTS):
        proc, url = start_server(deadline_s=120)
        try:
            seen = run_in_fresh_loop(lambda url=url: asyncio.wait_for(_first_visits(url), 200))
        finally:
            stop_server(proc)
        for page, (status, exceptions) in seen.items():
            assert status == "FINISHED_SUCCESSFULLY" and not exceptions, (attempt, page, status, exceptions)
    print(f"{COLD_STARTS} cold starts in {time.monotonic() - t0:.0f} s")
