"""Corpora: built-ins load offline and deterministically; every bad input gets a clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz import corpora
from rnnviz.corpora import MAX_BYTES, MIN_CHARS, Vocab

GOOD = "The quick brown fox jumps over the lazy dog.\nPack my box with five dozen liquor jugs!\n"


# ------------------------------------------------------------------ built-ins


@pytest.mark.parametrize("name", ["shakespeare", "python", "cpp", "names"])
def test_builtin_loads_and_is_deterministic(name):
    c = corpora.load(name)
    assert c.name == name
    assert len(c) > 30_000 and len(c.vocab) >= 26
    assert c.description
    # A second, uncached build gives exactly the same text (fixed file order and subset).
    assert corpora.BUILTIN[name][2]() == c.text
    # The vocabulary covers the corpus and round-trips it.
    head = c.text[:5000]
    assert c.vocab.decode(c.vocab.encode(head)) == head
    assert c.ids.dtype == np.int64 and len(c.ids) == len(c)


def test_builtin_contents_look_right():
    assert "ROMEO" in corpora.load("shakespeare").text
    py = corpora.load("python")
    assert "def " in py.text and "\t" not in py.text  # tabs expanded to spaces
    cpp = corpora.load("cpp")
    assert "#include" in cpp.text and len(cpp) <= corpora.CPP_MAX_BYTES + corpora.CPP_MAX_FILE
    names = corpora.load("names").text.split("\n")
    assert "Mary" in names and "James" in names
    assert all(n == n.capitalize() for n in names if n)


def test_unknown_builtin_names_the_choices():
    with pytest.raises(ValueError, match="Unknown corpus 'klingon'.*shakespeare"):
        corpora.load("klingon")


def test_builtin_names_and_titles():
    assert corpora.builtin_names() == ["shakespeare", "python", "cpp", "names"]
    assert corpora.title("python") == "Python source"
    assert corpora.title("my text") == "my text"


# ------------------------------------------------------------------ vocab and split


def test_vocab_round_trip_and_order():
    v = Vocab.from_text("banana\n¿é€")
    assert v.chars == tuple(sorted(set("banana\n¿é€")))
    assert len(v) == 7
    ids = v.encode("nab€\n")
    assert ids.dtype == np.int64
    assert v.decode(ids) == "nab€\n"
    assert "a" in v and "z" not in v


def test_vocab_unknown_chars_are_named():
    v = Vocab.from_text("abc")
    assert v.unknown("abxyx") == ["x", "y"]
    with pytest.raises(ValueError, match=r"never seen: 'x', 'y'"):
        v.encode("abxy")


def test_vocab_unknown_message_is_bounded():
    v = Vocab.from_text("ab")
    with pytest.raises(ValueError, match="and 5 more"):
        v.encode("ab" + "cdefghijklmnopq")


def test_val_is_last_ten_percent():
    text = "".join(chr(ord("a") + (i * 7) % 26) for i in range(1000))
    c = corpora.from_text(text)
    assert c.split_index == 900
    assert c.train_text == text[:900] and c.val_text == text[900:]
    assert c.train_text + c.val_text == text
    assert np.array_equal(c.train_ids, c.vocab.encode(text[:900]))
    assert np.array_equal(c.val_ids, c.vocab.encode(text[900:]))
    big = corpora.load("names")
    assert len(big.val_ids) == len(big) - math.floor(len(big) * 0.9)


def test_from_text_normalises_line_endings():
    c = corpora.from_text(GOOD.replace("\n", "\r\n"), name="mine")
    assert c.name == "mine"
    assert "\r" not in c.text and c.text == GOOD


# ------------------------------------------------------------------ bad text


def test_empty_text():
    with pytest.raises(ValueError, match="empty"):
        corpora.from_text("")


def test_whitespace_only_text():
    with pytest.raises(ValueError, match="only whitespace"):
        corpora.from_text(" \n\t " * 50)


def test_one_distinct_character():
    with pytest.raises(ValueError, match="only one distinct character"):
        corpora.from_text("a" * 500)


def test_shorter_than_one_sequence():
    short = "ab" * ((MIN_CHARS - 1) // 2)
    with pytest.raises(ValueError, match=f"fewer than one training sequence \\({MIN_CHARS}\\)"):
        corpora.from_text(short)
    # exactly the minimum is accepted
    assert len(corpora.from_text(("ab" * MIN_CHARS)[:MIN_CHARS])) == MIN_CHARS


def test_text_with_nul():
    with pytest.raises(ValueError, match="NUL"):
        corpora.from_text(GOOD + "\x00" + GOOD)


def test_text_over_cap(monkeypatch):
    monkeypatch.setattr(corpora, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="larger than"):
        corpora.from_text("ab" * 600)


def test_not_a_string():
    with pytest.raises(ValueError, match="must be a string"):
        corpora.validate_text(b"bytes are not text")


# ------------------------------------------------------------------ bad bytes


def test_empty_bytes():
    with pytest.raises(ValueError, match="empty"):
        corpora.from_bytes(b"")


def test_nul_bytes_rejected_as_binary():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(ValueError, match="NUL bytes.*binary"):
        corpora.from_bytes(png)


def test_undecodable_binary_without_nul():
    junk = bytes((i * 37 + 11) % 255 + 1 for i in range(4000))  # no NUL, mostly not text
    with pytest.raises(ValueError, match="neither UTF-8 nor Latin-1"):
        corpora.from_bytes(junk)


def test_latin1_fallback():
    text = "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade. " * 5
    data = text.encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    c = corpora.from_bytes(data)
    assert c.text == text and "\u00e9" in c.vocab


def test_utf8_bytes_and_bom():
    text = "Grüße aus Köln — “quotes” and emoji 🙂\n" * 3
    plain = corpora.from_bytes(text.encode("utf-8"))
    bom = corpora.from_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert plain.text == bom.text == text
    assert "\ufeff" not in bom.vocab


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec):
    text = "Hello, world! Unicode from Windows Notepad.\n" * 3
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    c = corpora.from_bytes(bom + text.encode(codec))
    assert c.text == text


def test_bytes_over_cap(monkeypatch):
    monkeypatch.setattr(corpora, "MAX_BYTES", 4096)
    with pytest.raises(ValueError, match="limit"):
        corpora.from_bytes(GOOD.encode() * 100)


def test_real_cap_is_20_mb():
    assert MAX_BYTES == 20 * 1024 * 1024
    data = b"ab\n" * (MAX_BYTES // 3 + 1)
    assert len(data) > MAX_BYTES
    with pytest.raises(ValueError, match="20 MB"):
        corpora.from_bytes(data)


def test_bytes_that_decode_to_bad_text():
    with pytest.raises(ValueError, match="whitespace"):
        corpora.from_bytes(b"   \r\n  \n" * 20)
    with pytest.raises(ValueError, match="one distinct"):
        corpora.from_bytes(b"z" * 200)
    with pytest.raises(ValueError, match="fewer than one training sequence"):
        corpora.from_bytes(b"tiny file")


def test_not_bytes():
    with pytest.raises(ValueError, match="could not be read"):
        corpora.decode_bytes(12345)


# ------------------------------------------------------------------ limits that say what they mean

LATIN1_LINE = "Öl süß, Ärger für Äöü: ça où déjà élève à Ñandú ÿ\n"  # half the characters need 2 bytes in UTF-8


def test_upload_cap_is_measured_on_the_bytes_sent(monkeypatch):
    """A Latin-1 file within the cap grows past it in UTF-8; it must still be accepted."""
    monkeypatch.setattr(corpora, "MAX_BYTES", 4096)
    data = (LATIN1_LINE * 90).encode("latin-1")[:4000]
    assert len(data) <= 4096 < len(data.decode("latin-1").encode("utf-8"))  # 4,000 vs about 5,400
    c = corpora.from_bytes(data)
    assert "ß" in c.vocab and len(c.text) == 4000
    with pytest.raises(ValueError, match="larger than"):  # a paste of the same text is what it is in UTF-8
        corpora.from_text(data.decode("latin-1"))


def test_a_15_mb_latin1_file_is_accepted():
    data = (LATIN1_LINE * (15 * 1024 * 1024 // len(LATIN1_LINE) + 1)).encode("latin-1")[: 15 * 1024 * 1024]
    assert len(data.decode("latin-1").encode("utf-8")) > MAX_BYTES  # refused before issue 12
    c = corpora.from_bytes(data, name="gross.txt")
    assert len(c.text) == 15 * 1024 * 1024 and "ß" in c.vocab


@pytest.mark.parametrize("bad, where", [("\ud800", 101), ("\udfff", 101), ("x\udc80y", 102)])
def test_lone_surrogates_refused_when_loaded(bad, where):
    text = (GOOD * 2)[:100] + bad + GOOD
    with pytest.raises(ValueError, match=f"character {where}\\): a lone surrogate"):
        corpora.from_text(text)
    with pytest.raises(ValueError, match="lone surrogate"):
        corpora.validate_text(text)


def test_a_proper_pair_is_fine():
    c = corpora.from_text(GOOD + "\U0001f642")  # one character, not two halves
    assert "\U0001f642" in c.vocab
