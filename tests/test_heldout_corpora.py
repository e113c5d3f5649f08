"""The pretraining-only corpora (issue 19): the Linux kernel subset and Jane Austen's
novels need Debian packages only to rebuild the bundled models; the app and this
suite read the shipped held-out excerpts. The loaders are tested on small fake
packages built here (a kernel tarball, an R data base), so none of this needs
``linux-source-6.1`` or ``r-cran-janeaustenr`` installed."""

import gzip
import io
import os
import struct
import tarfile
import zlib

import pytest

from rnnviz import corpora, rdata
from rnnviz.probes import language_for

DECK_FUNCTIONS = ("audit_unpack_string", "audit_dupe_lsm_field", "audit_match_class_bits", "__dequeue_signal")


@pytest.fixture
def no_packages(monkeypatch, tmp_path):
    """As on a machine without the Debian packages (CI)."""
    monkeypatch.setenv("RNNVIZ_KERNEL_TARBALL", str(tmp_path / "missing.tar.xz"))
    monkeypatch.delenv("RNNVIZ_AUSTEN_DIR", raising=False)
    monkeypatch.setattr(corpora, "AUSTEN_DIRS", (str(tmp_path / "no-r"),))
    corpora.load.cache_clear()
    yield
    corpora.load.cache_clear()


def test_without_the_packages_the_full_corpora_say_how_to_install_them(no_packages):
    with pytest.raises(ValueError, match="apt-get install -y linux-source-6.1"):
        corpora.load("kernel")
    with pytest.raises(ValueError, match="r-cran-janeaustenr"):
        corpora.load("austen")
    assert "kernel" not in corpora.builtin_names() and "austen" not in corpora.builtin_names()  # not in Train


@pytest.mark.parametrize("name, language", [("kernel", "c"), ("austen", "text")])
def test_held_out_excerpts_are_what_the_app_reads(no_packages, name, language):
    c = corpora.viewable(name)
    assert c is corpora.held_out(name) and c.name == name
    assert c.split_index == 0 and c.val_text == c.text and len(c.text) > 50_000  # all of it is held out
    assert language_for(name) == language
    assert name in corpora.viewable_names()
    assert corpora.viewable("python") is corpora.load("python")


def test_kernel_excerpt_holds_the_decks_functions_and_their_licences():
    text = corpora.held_out("kernel").text
    for fn in DECK_FUNCTIONS:
        assert f" {fn}(" in text, fn
    assert text.startswith("// SPDX-License-Identifier: GPL-2.0-or-later\n/* auditfilter.c")
    assert "// SPDX-License-Identifier: GPL-2.0-only\n/*\n *  linux/kernel/signal.c" in text
    licence = open(os.path.join(corpora.HELD_OUT_DIR, "GPL-2.0.txt"), encoding="utf-8").read()
    assert "GNU GENERAL PUBLIC LICENSE" in licence and "Version 2, June 1991" in licence


def test_austen_excerpt_is_the_end_of_pride_and_prejudice():
    text = corpora.held_out("austen").text
    assert text.startswith("Chapter 55\n") and "\nChapter 61\n" in text and text.count('"') > 400


def test_missing_held_out_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(corpora, "HELD_OUT_DIR", str(tmp_path))
    corpora.held_out.cache_clear()
    try:
        with pytest.raises(ValueError, match="held-out Linux kernel C text is missing"):
            corpora.held_out("kernel")
    finally:
        corpora.held_out.cache_clear()
    with pytest.raises(ValueError, match="no shipped held-out text"):
        corpora.held_out("python")


# ---------------------------------------------------------------- the loaders on fake packages


def _tar_xz(path, files):
    with tarfile.open(path, "w:xz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"linux-source-6.1/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_kernel_subset_is_top_level_c_files_with_the_held_out_ones_last(monkeypatch, tmp_path):
    files = {"kernel/fork.c": "int nr_forks; /* how many so far */\n", "kernel/auditfilter.c": "/* audit */\n",
             "kernel/signal.c": "int sig;\n\n", "kernel/acct.c": "int acct;\n", "kernel/sched/core.c": "int sched;\n",
             "kernel/audit.h": "#define A\n", "fs/open.c": "int open;\n"}
    _tar_xz(tmp_path / "linux.tar.xz", files)
    monkeypatch.setenv("RNNVIZ_KERNEL_TARBALL", str(tmp_path / "linux.tar.xz"))
    corpora.load.cache_clear()
    try:
        c = corpora.load("kernel")
    finally:
        corpora.load.cache_clear()
    assert c.train_text == "int acct;\n\nint nr_forks; /* how many so far */\n\n"  # sorted, top-level .c only
    assert c.val_text == "/* audit */\n\nint sig;\n"  # KERNEL_HELD_OUT, in that order


def _r_string_vector(lines) -> bytes:
    out = [b"X\n", struct.pack(">iii", 2, 0x040201, 0x020300), struct.pack(">ii", 16, len(lines))]
    for s in lines:
        if s is None:
            out.append(struct.pack(">ii", 9, -1))
        else:
            b = s.encode("utf-8")
            out.append(struct.pack(">ii", 9 | (1 << 15), len(b)) + b)  # CHARSXP, UTF-8 flag
    return b"".join(out)


def _r_named_list(items: dict, element) -> bytes:
    """A named generic vector (VECSXP with a ``names`` attribute) of ``element(value)``."""
    out = [struct.pack(">ii", 19 | (1 << 9), len(items))]
    out += [element(v) for v in items.values()]
    out.append(struct.pack(">i", 2 | (1 << 10)))  # pairlist node with a tag
    out.append(struct.pack(">i", 1) + struct.pack(">ii", 9, 5) + b"names")  # the tag: symbol "names"
    out.append(struct.pack(">ii", 16, len(items)))
    for k in items:
        out.append(struct.pack(">ii", 9, len(k)) + k.encode())
    out.append(struct.pack(">i", 254))  # end of the attribute pairlist
    return b"".join(out)


def _r_data_base(folder, objects: dict):
    blob, offsets = b"", {}
    for name, lines in objects.items():
        raw = _r_string_vector(lines)
        chunk = struct.pack(">I", len(raw)) + zlib.compress(raw)
        offsets[name] = (len(blob), len(chunk))
        blob += chunk
    ints = lambda pair: struct.pack(">ii", 13, 2) + struct.pack(">ii", *pair)  # noqa: E731
    index = b"X\n" + struct.pack(">iii", 2, 0x040201, 0x020300) + _r_named_list(
        {"variables": offsets, "references": {}, "compressed": (1, 0)},
        lambda v: _r_named_list(v, ints) if isinstance(v, dict) else ints(v))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "Rdata.rdx"), "wb") as fh:
        fh.write(gzip.compress(index))
    with open(os.path.join(folder, "Rdata.rdb"), "wb") as fh:
        fh.write(blob)


def test_r_data_base_reader_reads_character_vectors(tmp_path):
    _r_data_base(tmp_path, {"poem": ["\u201cHello,\u201d she said.", None, "Caf\u00e9"], "other": ["x"]})
    assert rdata.character_vectors(str(tmp_path)) == {"poem": ["\u201cHello,\u201d she said.", "", "Caf\u00e9"],
                                                      "other": ["x"]}
    with pytest.raises(ValueError, match="Cannot read the R data base"):
        rdata.character_vectors(str(tmp_path / "nowhere"))


def test_austen_corpus_from_an_extracted_package(monkeypatch, tmp_path):
    novels = {n: [n.upper(), "", '"Yes," said she.'] for n in corpora.AUSTEN_NOVELS}
    novels["prideprejudice"] += ["", "", "Chapter 55", "", '"No."', "", "Chapter 56", "The end."]
    _r_data_base(tmp_path / "usr/lib/R/site-library/janeaustenr/data", novels)
    monkeypatch.setenv("RNNVIZ_AUSTEN_DIR", str(tmp_path))  # dpkg-deb -x r-cran-janeaustenr_*.deb DIR
    corpora.load.cache_clear()
    try:
        c = corpora.load("austen")
    finally:
        corpora.load.cache_clear()
    assert c.val_text == 'Chapter 55\n\n"No."\n\nChapter 56\nThe end.\n'
    assert c.train_text.startswith('EMMA\n\n"Yes," said she.\n\n\n\nMANSFIELDPARK')
    assert c.train_text.endswith('PRIDEPREJUDICE\n\n"Yes," said she.\n\n\n')


def test_the_decks_kernel_functions_are_cut_whole_from_the_held_out_text():
    deck = corpora.kernel_deck_functions()
    assert deck.startswith("/* Unpack a filter field's string representation from user-space\n")
    for fn in DECK_FUNCTIONS:
        assert deck.count(f" {fn}(") == 1 or deck.count(f"*{fn}(") == 1, fn
    assert deck.count("\n}\n") == 4 and deck.endswith("\treturn 1;\n}\n")
    held = corpora.held_out("kernel").text
    blocks = [b.lstrip("\n") + "\n}\n" for b in deck.split("\n}\n") if b.strip()]
    assert len(blocks) == 4 and all(b in held for b in blocks)  # each one verbatim
