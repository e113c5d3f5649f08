"""The Words pages in a real browser (system Chromium via Playwright).

Hostile text typed into the sentence box and hostile text uploaded as a training
corpus stay inert: no payload runs, no markup is created, the page is not
restyled, and the text is shown literally where it is shown at all.
"""

from __future__ import annotations

import os

import pytest
from test_browser_xss import ALL, HOSTILE, _assert_inert, _open, _wait_shown

pytestmark = pytest.mark.browser


def test_sentence_box_shows_hostile_text_literally(page, server):
    bg = _open(page, server, "words_pipeline", "A sentence")
    box = page.get_by_role("textbox", name="A sentence (yours or the deck's)")
    text = " ".join(HOSTILE)[:400]
    box.fill(text)
    box.press("Enter")
    _wait_shown(page, [HOSTILE[0], HOSTILE[1]])
    page.get_by_text("pairs with this centre", exact=False).first.wait_for()
    _assert_inert(page, bg, "words_sentence")


def test_uploaded_hostile_text_trains_and_stays_inert(page, server, tmp_path):
    bg = _open(page, server, "words_lab", "Nearest neighbours of")
    page.get_by_text("Your own text", exact=True).first.click()
    path = os.path.join(tmp_path, "evil.txt")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write((ALL + "the king loves the queen and the man loves the woman\n") * 30)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(path)
    page.get_by_text("evil.txt", exact=False).first.wait_for()
    page.get_by_role("button", name="Step 100").click()
    # trained on it: the status, the loss chart and the neighbour table (the words of the payloads
    # are plain words there: "script", "img", "onerror") are on the page
    page.get_by_text("Stopped at step 100, as many steps as asked for", exact=False).first.wait_for(timeout=240_000)
    page.get_by_text("Rank of the expected answer", exact=False).first.wait_for()
    _assert_inert(page, bg, "words_upload")
