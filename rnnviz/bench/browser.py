"""Browser benchmarks: page cold start and page switch, in headless Chromium.

Starts its own ``streamlit run app.py`` on a free loopback port and drives the
system Chromium (``/usr/bin/chromium``) through Playwright; never downloads a
browser. A page counts as shown when its own late content is on screen (the
coloured text of the cell explorer, a Plotly chart, ...), not just its title.

* cold start - a fresh server process and a fresh browser: navigation to the
  home page until the bundled-models table is visible (includes the first
  script run, imports and model cards).
* first visit - each page the first time in that session (loads its corpus and
  models into the server-wide cache).
* page switch - median over rounds of clicking a page's sidebar link until its
  content is visible again, caches warm.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from . import result

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]
# sidebar link label -> selector of content that appears when the page has rendered
PAGES = {
    "Hello, RNN": ".js-plotly-plot",
    "Train & sample": "text=Press Train to start",
    "Cell explorer": ".rnnviz-text",
    "LSTM gates": ".rnnviz-text",
    "Gradient flow": ".js-plotly-plot",
    "Home": "text=python_lstm",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy within 120 s")


def _show(page, link: str | None, marker: str, timeout_ms: float = 180_000) -> float:
    t0 = time.perf_counter()
    if link is not None:
        page.locator("[data-testid='stSidebarNav']").get_by_text(link, exact=True).first.click()
    # wait until the previous page's content is gone from the main area, then for ours
    page.locator(marker).first.wait_for(state="visible", timeout=timeout_ms)
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[dict]:
    if not os.path.exists(CHROMIUM):
        return [result("browser benchmarks", None, "", "needs /usr/bin/chromium", None,
                       note="apt-get install -y chromium")]
    from playwright.sync_api import sync_playwright

    rounds = 1 if quick else 3
    rows = []
    t_server = time.perf_counter()
    proc, url = _start_server()
    server_s = time.perf_counter() - t_server
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(url + "/", wait_until="domcontentloaded")
            page.locator(PAGES["Home"]).first.wait_for(state="visible", timeout=180_000)
            cold = time.perf_counter() - t0
            rows.append(result("server start until healthy", server_s, "s", None, None))
            rows.append(result("cold start: home page shown (fresh server)", cold, "s", None, None))
            first = {}
            for link, marker in PAGES.items():
                if link == "Home":
                    continue
                first[link] = _show(page, link, marker)
                _show(page, "Home", PAGES["Home"])
            for link, s in first.items():
                rows.append(result(f"first visit: {link}", s, "s", None, None))
            for link, marker in PAGES.items():
                times = []
                for _ in range(rounds):
                    other = "Home" if link != "Home" else "Hello, RNN"
                    _show(page, other, PAGES[other])
                    times.append(_show(page, link, marker))
                times.sort()
                rows.append(result(f"page switch (warm): {link}", times[len(times) // 2], "s",
                                   "<= 2 s" if not quick else None, (times[len(times) // 2] <= 2.0) if not quick else None,
                                   rounds=rounds, all=[round(t, 3) for t in times]))
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return rows
