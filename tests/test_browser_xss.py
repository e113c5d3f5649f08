"""XSS suite in a real browser (system Chromium via Playwright).

Hostile strings go through every place the app renders text: training text pasted
on the Train page (and the samples drawn from the model trained on it), the
sampling prime, pasted text in the cell explorer and on the LSTM gates page, the
gradient page's text box, and query parameters. After each: no flag set by the
payloads, the text shown literally, no markup inside ``.rnnviz-text`` containers,
and the page not restyled.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse

import pytest
from conftest import ROOT, WAIT, open_app, pick, settled

from rnnviz import checkpoint as ckpt

pytestmark = pytest.mark.browser

HOSTILE = [
    "<script>window.__a=1</script>",
    '<img src=x onerror="window.__b=1">',
    '<iframe srcdoc="<script>parent.__c=1</script>">',
    "<style>body{background:red !important} *{display:none}</style>",
    '"><svg onload=window.__d=1>',
]
ALL = "\n".join(HOSTILE) + "\n"
FLAGS = "[window.__a, window.__b, window.__c, window.__d]"
MODEL = "python_lstm"  # its vocabulary covers every character of HOSTILE


def _need_model(name: str = MODEL):
    if name not in ckpt.pretrained_names():
        pytest.skip(f"bundled {name} missing")
    vocab = ckpt.pretrained_card(name)["vocab"]
    assert not set(ALL) - set(vocab), "the chosen model must know every hostile character"


def _open(page, server, path: str, wait_text: str) -> str:
    """Open "/" first (a deep link as a fresh server's first request breaks st.navigation),
    then ``path``; return the body's background colour before any hostile input."""
    page.set_default_navigation_timeout(120_000)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page._xss_dialogs = dialogs  # noqa: SLF001 - kept with the page for _assert_inert
    open_app(page, server, "", wait_text="Bundled models")
    if path:
        open_app(page, server, path, wait_text=wait_text)
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def _segment(page, label: str):
    """A segmented-control option by its exact label (lesson text, hidden in its expander,
    can name the same words)."""
    return page.locator("[data-testid='stButtonGroup'] button").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).first


def _wait_shown(page, strings, timeout: float = WAIT, selector: str = ".rnnviz-text"):
    """Wait until some ``selector`` element shows every string literally; return its text."""
    deadline = time.time() + timeout
    last = ""
    while time.time() < deadline:
        loc = page.locator(selector)
        for i in range(loc.count()):
            try:
                last = loc.nth(i).inner_text(timeout=2_000)
            except Exception:  # re-rendered under us
                continue
            if all(s in last for s in strings):
                return last
        time.sleep(0.5)
    raise AssertionError(f"hostile text never shown literally in {selector}; last text: {last[:300]!r}")


def _assert_inert(page, background: str, shot: str):
    time.sleep(1.0)  # let an onerror/onload handler fire if one existed
    assert page.evaluate(FLAGS) == [None, None, None, None], "a payload ran"
    assert not page._xss_dialogs  # noqa: SLF001
    inside = page.locator(".rnnviz-text script, .rnnviz-text img, .rnnviz-text iframe, "
                          ".rnnviz-text svg, .rnnviz-text style")
    assert inside.count() == 0, "markup was created inside a text container"
    # nowhere on the page either: the payloads' own elements must not exist
    assert page.locator("img[onerror], iframe[srcdoc], svg[onload], img[src='x']").count() == 0
    assert page.evaluate(
        "[...document.scripts].filter(s => /__[abcd]\\s*=/.test(s.textContent)).length") == 0
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    assert page.locator("[data-testid='stApp']").first.is_visible()
    assert page.locator("[data-testid='stMain']").first.is_visible()
    os.makedirs(os.path.join(ROOT, "screenshots"), exist_ok=True)
    page.screenshot(path=os.path.join(ROOT, "screenshots", f"xss_{shot}.png"))


def test_train_on_hostile_paste_then_sample_with_hostile_prime(page, server):
    bg = _open(page, server, "train", "Press Train to start")
    page.get_by_text("Paste text", exact=True).first.click()
    box = page.get_by_label("Your text")
    box.wait_for()
    box.fill(ALL * 20)  # ~3,000 characters: enough to train on
    box.press("Control+Enter")
    page.get_by_text("distinct; the last 10 %", exact=False).first.wait_for()
    page.get_by_role("button", name="Train").click()
    # the step-0 sample of the model trained on this text is rendered as text
    page.get_by_text("Current sample", exact=False).first.wait_for()
    page.locator(".rnnviz-text").first.wait_for()
    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Paused at step", exact=False).first.wait_for()
    _assert_inert(page, bg, "train_samples")

    # the live model knows every hostile character: sample from it with a hostile prime
    pick(page, "Model", "Your live model")
    prime = page.get_by_label("Prime text (the model continues it)")
    prime.fill(HOSTILE[0] + HOSTILE[1] + HOSTILE[4])
    prime.press("Enter")
    settled(page)
    page.get_by_role("button", name="Generate").click()
    _wait_shown(page, [HOSTILE[0], HOSTILE[1], HOSTILE[4]])
    _assert_inert(page, bg, "train_prime")


def test_bundled_model_prime(page, server):
    _need_model()
    bg = _open(page, server, "train", "Press Train to start")
    pick(page, "Model", MODEL)
    prime = page.get_by_label("Prime text (the model continues it)")
    prime.fill(HOSTILE[2] + HOSTILE[3])
    prime.press("Enter")
    settled(page)
    page.get_by_role("button", name="Generate").click()
    _wait_shown(page, [HOSTILE[2], HOSTILE[3]])
    _assert_inert(page, bg, "train_prime_bundled")


def test_cell_explorer_paste(page, server):
    _need_model()
    bg = _open(page, server, "cells", "Cell explorer")
    pick(page, "Model", MODEL)
    _segment(page, "Paste").click()
    settled(page)
    box = page.get_by_label("Your text (up to 5,000 characters)")
    box.fill(ALL)
    box.press("Control+Enter")
    _wait_shown(page, HOSTILE)
    _assert_inert(page, bg, "cells")


def test_gates_paste(page, server):
    _need_model()
    bg = _open(page, server, "gates", "LSTM gates")
    pick(page, "Model", MODEL)
    _segment(page, "Paste").click()
    settled(page)
    box = page.get_by_label("Your text (up to 2,000 characters)")
    box.fill(ALL)
    box.press("Control+Enter")
    _wait_shown(page, HOSTILE)
    _assert_inert(page, bg, "gates")


def test_gradient_text_box(page, server):
    bg = _open(page, server, "gradients", "Gradient flow through time")
    box = page.locator("[data-testid='stTextArea'] textarea").first
    # the Shakespeare models cannot read < = >: a clear refusal, still inert
    box.fill(ALL)
    box.press("Control+Enter")
    err = page.locator("[data-testid='stAlert']").filter(has_text="<")
    err.first.wait_for()
    _assert_inert(page, bg, "gradients_refused")
    assert box.input_value() == ALL  # the text is kept so it can be fixed

    # entity-looking text the models can read must not be decoded into markup
    ent = "&lt;script&gt;window.__a=1&lt;/script&gt; &amp;lt;img&amp;gt;"
    ent = ent.replace("=", " ")  # '=' is not in the Shakespeare vocabulary
    box.fill(ent)
    box.press("Control+Enter")
    settled(page)
    _segment(page, "Connectivity").click()
    _wait_shown(page, ["&lt;script&gt;window.__a 1&lt;/script&gt;", "&amp;lt;img&amp;gt;"])
    _assert_inert(page, bg, "gradients_connectivity")


@pytest.mark.parametrize("path, wait_text", [
    ("", "Bundled models"),
    ("train", "Press Train to start"),
    ("cells", "All cells over time"),
    ("gates", "LSTM"),
    ("gradients", "Gradient flow through time"),
    ("learn_hello", "hello"),
])
def test_query_parameters_stay_inert(page, server, path, wait_text):
    bg = _open(page, server, "", "Bundled models")
    query = urllib.parse.urlencode({"text": ALL, "prime": HOSTILE[1], "model": HOSTILE[4], HOSTILE[0]: HOSTILE[3]})
    page.goto(f"{server}/{path}?{query}", wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stApp']")
    page.get_by_text(wait_text, exact=False).first.wait_for()
    _assert_inert(page, bg, f"query_{path or 'home'}")


# ------------------------------------------------------------------ Markdown sinks (issue 12)

MD_NAME = "[x](http://127.0.0.1:9/a) ![i](http://127.0.0.1:9/i.png) <b>b</b> $x^2$.txt"
MD_TEXT = ("the cat sat on the mat. the dog sat on the log. " * 40).strip()


def _upload(page, label: str, name: str, data: bytes, mime: str):
    """Give a Streamlit file uploader a file with any name (built in the page: a real
    file of this name cannot exist on disk, it holds '/')."""
    box = page.locator("[data-testid='stFileUploader']").filter(has_text=label).first
    box.wait_for()
    box.locator("input[type=file]").evaluate(
        """(input, [name, bytes, mime]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
            input.files = dt.files;
            input.dispatchEvent(new Event('change', {bubbles: true}));
        }""",
        [name, list(data), mime],
    )


def _main_text(page) -> str:
    return page.locator("[data-testid='stMain']").first.inner_text().replace("\u2060", "")


def _wait_main_text(page, needle: str, count: int = 1, timeout: float = 120.0) -> str:
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = _main_text(page)
        if text.count(needle) >= count:
            return text
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} not shown {count}x literally; page text: {text[:1500]!r}")


def _assert_no_markdown_effects(page, requests):
    assert page.locator("a[href*='127.0.0.1:9']").count() == 0, "a link was made from text we did not write"
    assert page.locator("img[src*='127.0.0.1:9']").count() == 0, "an image was made from text we did not write"
    assert page.locator("[data-testid='stMain'] b").filter(has_text="b").count() == 0
    assert page.locator(".katex annotation").filter(has_text="x^2").count() == 0, "KaTeX rendered $x^2$"
    assert not [u for u in requests if "127.0.0.1:9/" in u], requests


def test_file_name_and_card_fields_shown_literally(page, server):
    from rnnviz.corpora import Vocab
    from rnnviz.models import build

    requests = []
    page.on("request", lambda r: requests.append(r.url))
    bg = _open(page, server, "train", "Press Train to start")

    # a text file with a Markdown/HTML/LaTeX file name: the summary line names it
    page.get_by_text("Upload a file", exact=True).first.click()
    _upload(page, "A plain-text file", MD_NAME, MD_TEXT.encode(), "text/plain")
    _wait_main_text(page, f"({MD_NAME})")

    # a checkpoint whose card's name, corpus and description hold the same text
    vocab = Vocab.from_text(MD_TEXT)
    model = build("gru", len(vocab), layers=1, hidden=16, embed=8, seed=0)
    data = ckpt.to_bytes(model, vocab, name=MD_NAME, corpus=MD_NAME, description=MD_NAME, steps=0)
    _upload(page, "Load a model downloaded from rnnviz", "hostile.safetensors", data, "application/octet-stream")
    text = _wait_main_text(page, f"Loaded {MD_NAME} (")
    assert f"Its card says: {MD_NAME}" in text
    _wait_main_text(page, f"trained on {MD_NAME} for 0 steps")  # the card's corpus, under Start from
    _assert_no_markdown_effects(page, requests)

    # train it on the uploaded file: the locked settings name both, still literally
    page.get_by_role("button", name="Step +").first.click()
    text = _wait_main_text(page, f"Training on {MD_NAME}:")
    assert f"continued from {MD_NAME}." in text
    _assert_no_markdown_effects(page, requests)
    _assert_inert(page, bg, "markdown_sinks")
