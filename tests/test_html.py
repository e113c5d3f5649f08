"""Per-character HTML: every character and every tooltip is escaped; only our own tags survive."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser

import numpy as np
import pytest

from rnnviz.ui import html as H

NASTY = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<style>body{display:none}</style>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "a & b &amp; c &lt; d",
    "\"double\" and 'single' quotes",
    "</span></div><b>bold</b>",
]


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def parse(markup):
    p = Collector()
    p.feed(markup)
    p.close()
    return p


def visible(text):
    """What the reader should see: newlines get a glyph, everything else is itself."""
    return text.replace("\n", H.NEWLINE_GLYPH + "\n")


@pytest.mark.parametrize("text", NASTY)
def test_heat_text_escapes_everything(text):
    out = H.heat_text(text, np.linspace(-1, 1, len(text)), label="cell <7>")
    p = parse(out)
    assert set(p.tags) <= {"div", "span"}
    assert {k for k, _ in p.attrs} <= {"class", "style", "title"}
    assert "".join(p.text) == visible(text)
    for forbidden in ("<script", "<img", "<style", "<iframe", "<b>", "onerror="):
        assert forbidden not in out
    titles = [v for k, v in p.attrs if k == "title"]
    assert len(titles) == len(text)
    assert all("cell <7> =" in t for t in titles)  # tooltip text survives, escaped
    assert "cell &lt;7&gt;" in out


def test_specific_escapes():
    out = H.heat_text("<&\"'>", [0.0] * 5)
    for ent in ("&lt;", "&amp;", "&quot;", "&#x27;", "&gt;"):
        assert f">{ent}</span>" in out


def test_tooltips_with_quotes_cannot_break_out():
    out = H.heat_text('"', [0.5])
    p = parse(out)
    (title,) = [v for k, v in p.attrs if k == "title"]
    assert title == "'\"'  value = +0.500"
    assert 'title="\'&quot;\'' in out.replace("&#x27;", "'")


@pytest.mark.parametrize("text", NASTY)
def test_prob_text_escapes_text_prime_and_alternatives(text):
    prime = "<b>prime</b>"
    probs = np.full(len(text), 0.25)
    top = [[("<", 0.5), ('"', 0.2), ("&", 0.1), ("'", 0.1), (">", 0.1)]] * len(text)
    out = H.prob_text(text, probs, top, prime=prime, caption="<i>caption</i>")
    p = parse(out)
    assert set(p.tags) <= {"div", "span"}
    assert "".join(p.text) == "<i>caption</i>" + visible(prime + text)
    titles = [v for k, v in p.attrs if k == "title"]
    assert titles[: len(prime)] == ["prime text (given, not sampled)"] * len(prime)
    assert all("top 5: '<' 0.50, '\"' 0.20, '&' 0.10" in t for t in titles[len(prime) :])
    assert "<b>" not in out and "<i>" not in out


def test_newline_glyph_and_real_line_break():
    out = H.heat_text("a\nb", [0.1, 0.2, 0.3])
    assert f"{H.NEWLINE_GLYPH}</span>\n</span>" in out
    titles = [v for k, v in parse(out).attrs if k == "title"]
    assert titles[1].startswith("newline")


def test_control_characters_are_shown_as_escapes():
    out = H.heat_text("a\x01\x1bb\x7f", [0.0] * 5)
    assert "".join(parse(out).text) == "a\\x01\\x1bb\\x7f"
    assert "\x1b" not in out


def test_tab_and_space():
    out = H.char_spans(list("\t "))
    assert "".join(parse(out).text) == H.TAB_GLYPH + "    "


def test_colours_come_only_from_numbers():
    assert H.diverging_rgb(-1) == (255, 65, 65)
    assert H.diverging_rgb(0) == (255, 255, 255)
    assert H.diverging_rgb(1) == (55, 105, 255)
    assert H.diverging_rgb(float("nan")) == (255, 255, 255)
    assert H.diverging_rgb(50) == H.diverging_rgb(1)
    out = H.heat_text("ab", [float("nan"), float("inf")])
    assert "nan" not in out.split("title")[0]
    assert H.prob_rgb(0)[0] == 255 and H.prob_rgb(1)[1] > H.prob_rgb(1)[0]
    spans = H.char_spans(["x"], colors=[(999, -5, 12.7)])
    assert "rgb(255,0,12)" in spans


def test_heat_text_length_mismatch():
    with pytest.raises(ValueError, match="one value per character"):
        H.heat_text("abc", [1.0, 2.0])


def test_legend_escapes_labels():
    out = H.legend("prob", label="<script>x</script>")
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "p = 0 (surprised)" in out
    assert "-1" in H.legend()


def test_esc():
    assert H.esc("<a href='x'>&</a>") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&lt;/a&gt;"
    assert H.describe_char(" ") == "space" and H.describe_char("\t") == "tab"


# ------------------------------------------------------------------ md(): text into Markdown sinks

HOSTILE_NAME = "[x](http://127.0.0.1:9/a) ![i](http://127.0.0.1:9/i.png) <b>b</b> $x^2$.txt"


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s).replace(H.WORD_JOINER, "")


ALWAYS = "\\`*[]<>&$~:|"  # characters that can make markup anywhere in a line


@pytest.mark.parametrize("text", [HOSTILE_NAME, *NASTY, ":red[x] :smile: :material/home: **b** _i_ `c` ~~s~~",
                                  "a\\b \\[not\\] escaped", "| a | b |", "x_y _lead trail_ __both__"])
def test_md_escapes_every_markup_character(text):
    out = H.md(text)
    plain = out.replace(H.WORD_JOINER, "")
    k = 0
    while k < len(plain):  # every markup character is preceded by a backslash
        if plain[k] == "\\":
            assert plain[k + 1] in string.punctuation, (k, plain)
            k += 2
            continue
        assert plain[k] not in ALWAYS, (k, plain)
        if plain[k] == "_":  # an unescaped underscore only between two letters/digits
            assert plain[k - 1].isalnum() and plain[k + 1].isalnum(), (k, plain)
        k += 1
    assert _unescape(out) == text  # nothing lost: shown literally


@pytest.mark.parametrize("text, start", [("# heading", "\\#"), ("- item", "\\-"), ("+ item", "\\+"),
                                         ("1. one", "1\\."), ("12) x", "12\\)"), ("   > quote", "   \\>"),
                                         ("=== x", "\\="), ("*a*", "\\*")])
def test_md_no_block_can_start(text, start):
    assert H.md(text).startswith(start) and _unescape(H.md(text)) == text


def test_md_keeps_harmless_punctuation_and_one_line():
    assert H.md("ok.txt") == "ok.txt" and H.md("names_gru") == "names_gru" and H.md("C/C++, a-b (c)!") == "C/C++, a-b (c)!"
    assert H.md("line one\nline two\r\n# three") == "line one line two # three"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a", "HTTPS://x.org/y", "www.example.com", "WWW.Example.org",
                                 "someone@example.com", "mailto:c@d.org"])
def test_md_breaks_autolinks(url):
    # GFM autolinks are found after escapes are resolved: the unescaped text must not match them.
    shown = re.sub(r"\\(.)", r"\1", H.md(f"see {url} now"))
    assert not re.search(r"(?i)https?://|www\.|[\w.+-]@[\w-]", shown), shown
    assert shown.replace(H.WORD_JOINER, "") == f"see {url} now"


def test_md_accepts_anything():
    assert H.md(None) == "None" and H.md(12) == "12" and H.md("") == ""
    assert H.md("tab\there\x00nul") == "tab here nul"
