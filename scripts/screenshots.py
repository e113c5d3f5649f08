"""Screenshots of a page in normal and presenter mode at projector resolutions.

    python scripts/screenshots.py --page /cells --query "cx_view=finder" --out /tmp/shots/cells

Starts ``streamlit run app.py`` on a free port (or uses ``--url`` of a running
server), opens the page in headless Chromium at 1280×720 and 1920×1080, once as it
is and once with ``present=true``, waits until the page has stopped running, and
saves one PNG per screen, scrolling down the page: ``<size>-<mode>-<n>.png``. ``--wait-for TEXT`` waits for a
text to appear first (e.g. a figure title); ``--click TEXT`` clicks a button by its
label before the shots (repeatable, in order).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import parse_qsl, urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

SIZES = ((1280, 720), (1920, 1080))
MAX_SCREENS = 6
_SCROLL_HEIGHT = "() => { const m = document.querySelector(\"[data-testid='stMain']\"); return m ? m.scrollHeight : 0; }"
_SCROLL_TO = "(y) => { const m = document.querySelector(\"[data-testid='stMain']\"); if (m) m.scrollTo(0, y); }"


def settle(page, timeout: float = 120.0) -> None:
    """Wait until Streamlit reports the script as not running (twice in a row)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout * 1000)
    deadline, calm = time.time() + timeout, 0
    while time.time() < deadline and calm < 2:
        running = page.locator("[data-testid='stStatusWidget']").count() > 0
        calm = 0 if running else calm + 1
        time.sleep(0.7)


def shoot(base: str, path: str, query: str, out: str, *, wait_for=None, clicks=(), sizes=SIZES) -> list[str]:
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    os.makedirs(out, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for w, h in sizes:
            for mode in ("normal", "present"):
                params = dict(parse_qsl(query))
                if mode == "present":
                    params["present"] = "true"
                ctx = browser.new_context(viewport={"width": w, "height": h})
                page = ctx.new_page()
                page.goto(f"{base}/{path.lstrip('/')}" + (f"?{urlencode(params)}" if params else ""))
                settle(page)
                for label in clicks:
                    page.get_by_role("button", name=label, exact=True).first.click()
                    time.sleep(1.0)
                    settle(page)
                if wait_for:  # after the clicks: e.g. the end of the training a click started
                    page.get_by_text(wait_for).first.wait_for(timeout=900_000)
                    settle(page)
                # Streamlit scrolls inside its main container, not the page: shoot one screen at a
                # time down to the end (at most MAX_SCREENS), each at the projector's real size.
                total = page.evaluate(_SCROLL_HEIGHT) or h
                for k in range(min(MAX_SCREENS, max(1, -(-int(total) // int(h * 0.9))))):
                    page.evaluate(_SCROLL_TO, int(k * h * 0.9))
                    time.sleep(0.6)
                    file = os.path.join(out, f"{w}x{h}-{mode}-{k + 1}.png")
                    page.screenshot(path=file, timeout=180_000)  # a busy machine renders slowly
                    saved.append(file)
                ctx.close()
        browser.close()
    return saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", default="/", help="page path, e.g. /cells")
    ap.add_argument("--query", default="", help='query string without "?", e.g. "cx_view=finder"')
    ap.add_argument("--out", required=True, help="folder for the PNGs")
    ap.add_argument("--url", help="base URL of a running server (default: start one)")
    ap.add_argument("--wait-for", help="text to wait for (after the clicks) before the shots")
    ap.add_argument("--click", action="append", default=[], help="button label to click first (repeatable)")
    ap.add_argument("--size", action="append", default=[], metavar="WxH",
                    help="only these window sizes (repeatable; default 1280x720 and 1920x1080)")
    a = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in a.size] or SIZES
    proc = None
    base = a.url
    if base is None:
        from conftest import start_server

        proc, base = start_server(deadline_s=180)
    try:
        for f in shoot(base.rstrip("/"), a.page, a.query, a.out, wait_for=a.wait_for, clicks=a.click,
                       sizes=sizes):
            print(f)
    finally:
        if proc is not None:
            from conftest import stop_server

            stop_server(proc)


if __name__ == "__main__":
    main()
