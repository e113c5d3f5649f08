"""``python -m rnnviz.probes`` (issue 18, item 3): the cell finder on any model and
any text, JSON on stdout, an optional escaped HTML report, clear errors."""

import html
import json
import os
import re
import subprocess
import sys

import pytest

from rnnviz import checkpoint as ckpt
from rnnviz import probes
from rnnviz.corpora import Vocab
from rnnviz.models import build

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY_TEXT = ('def f(x):\n    """Doc <b>bold</b> & more."""\n    if x < 3:  # small\n'
           "        return 'a' + \"b\"\n    return x\n\n") * 12


def run(capsys, *argv):
    rc = probes.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "my code.py"
    p.write_text(PY_TEXT, encoding="utf-8")
    return str(p)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A small LSTM saved as a checkpoint folder, trained on nothing: the CLI needs any model."""
    vocab = Vocab(tuple(sorted(set(PY_TEXT))))
    model = build("lstm", len(vocab), layers=2, hidden=24, embed=8, seed=0)
    folder = str(tmp_path_factory.mktemp("ck") / "tiny")
    ckpt.save(model, vocab, folder, corpus="my code")
    return folder


def test_any_model_on_any_text_as_json(capsys, tiny_ckpt, text_file):
    rc, out, err = run(capsys, tiny_ckpt, "--text", text_file, "--hypotheses", "string,comment,indent", "--top", "3")
    assert rc == 0, err
    rep = json.loads(out)
    assert rep["chars"] == len(PY_TEXT) and rep["language"] == "python" and rep["model"] == tiny_ckpt
    cp = ckpt.load(tiny_ckpt)
    cm = probes.CellMatrix(probes.trace_arrays(cp.model, cp.vocab.encode(PY_TEXT)))
    for key in ("string", "comment", "indent"):
        want = cm.rank(probes.feature(key, PY_TEXT, "python"), 3)
        assert [(c["layer"], c["signal"], c["unit"]) for c in rep[key]["top"]] == [(w.layer, w.signal, w.unit) for w in want]
        assert rep[key]["r"] == pytest.approx(want[0].r, abs=1e-4)
        assert set(rep[key]["probe_r2"]) == {"0", "1"}


def test_bundled_model_default_is_its_validation_split(capsys):
    rc, out, err = run(capsys, "python_lstm", "--chars", "1200", "--top", "1")
    assert rc == 0, err
    rep = json.loads(out)
    cp = ckpt.load_pretrained("python_lstm")
    assert rep == json.loads(json.dumps({**probes.report(cp, length=1200, top=1), "model": "python_lstm"}))
    assert list(rep)[:3] == ["chars", "language", "corpus"] and rep["corpus"] == "python"
    assert {"indent", "column", "string"} <= set(rep)


def test_html_report_is_standalone_and_escaped(capsys, tiny_ckpt, text_file, tmp_path):
    out_html = str(tmp_path / "report.html")
    rc, _, err = run(capsys, tiny_ckpt, "--text", text_file, "--hypotheses", "string", "--top", "2",
                     "--html", out_html)
    assert rc == 0, err
    with open(out_html, encoding="utf-8") as fh:
        page = fh.read()
    assert page.startswith("<!doctype html>") and "</html>" in page and "<script" not in page
    assert "<b>" not in page  # the text's markup is shown, not obeyed
    assert page.count('class="rnnviz-text"') == 1 + 2  # the hypothesis and the two top cells
    blocks = re.findall(r'<div class="rnnviz-text">(.*?)</div></div>', page, re.DOTALL)
    shown = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<div[^>]*>[^<]*</div>", "", blocks[0], count=1)))
    assert shown.replace("\u21b5", "") == PY_TEXT[:2000]  # every character, in order (newlines marked ↵)
    assert "Inside a string literal" in page


def test_regex_hypothesis_from_the_command_line(capsys, tiny_ckpt, text_file):
    rc, out, err = run(capsys, tiny_ckpt, "--text", text_file, "--hypotheses", "regex", "--regex", r"\breturn\b")
    assert rc == 0, err
    assert json.loads(out)["regex"]["top"]


@pytest.mark.parametrize("args, message", [
    (["--hypotheses", "nope"], "Unknown hypothesis 'nope'"),
    (["--hypotheses", "regex"], "needs a pattern: add --regex"),
    (["--hypotheses", "regex", "--regex", "(a)\\1"], "backreferences"),
    (["--language", "text", "--hypotheses", "comment"], "does not apply to Prose"),
    (["--chars", "0"], "--chars must be at least 1"),
    (["--chars", "10000000"], "the limit is 1,024 MB, which allows at most"),
    (["--top", "0"], "--top must be between 1 and 100"),
])
def test_bad_arguments_get_a_clear_message(capsys, tiny_ckpt, text_file, args, message):
    rc, out, err = run(capsys, tiny_ckpt, "--text", text_file, *args)
    assert rc == 2 and out == ""
    assert message in err and err.startswith("python -m rnnviz.probes: error:")


def test_bad_checkpoint_text_and_characters(capsys, tiny_ckpt, tmp_path):
    rc, _, err = run(capsys, "no_such_model")
    assert rc == 2 and "neither a bundled model" in err and "python_lstm" in err
    rc, _, err = run(capsys, tiny_ckpt, "--text", str(tmp_path / "missing.txt"))
    assert rc == 2 and "Cannot read the text file" in err
    odd = tmp_path / "odd.txt"
    odd.write_text("if f(x): \u20ac\U0001F600\n" * 20, encoding="utf-8")
    rc, _, err = run(capsys, tiny_ckpt, "--text", str(odd))
    assert rc == 2 and "2 character(s) the model never saw" in err and "'\u20ac'" in err
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    rc, _, err = run(capsys, tiny_ckpt, "--text", str(binary))
    assert rc == 2 and "binary" in err
    rc, _, err = run(capsys, tiny_ckpt)  # no --text and a corpus that is not built in
    assert rc == 2 and "pass the text to measure on (--text FILE)" in err


def test_chars_cap_follows_the_model_size():
    small = build("lstm", 10, layers=1, hidden=32, embed=8).config
    big = build("lstm", 10, layers=3, hidden=512, embed=8).config
    assert probes.max_chars(big) < probes.max_chars(small)
    assert probes.bytes_per_char(big) == 4 * 3 * 512 * 7 * 3 + 8 * 512 * 2 * 2
    probes.check_length(big, probes.max_chars(big))
    with pytest.raises(ValueError, match=f"at most {probes.max_chars(big):,} characters"):
        probes.check_length(big, probes.max_chars(big) + 1)


def test_module_entry_point_exit_codes(tiny_ckpt, text_file):
    env = dict(os.environ, PYTHONPATH=ROOT)
    ok = subprocess.run([sys.executable, "-m", "rnnviz.probes", tiny_ckpt, "--text", text_file,
                         "--hypotheses", "indent"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["indent"]["abs_r"] >= 0.0
    bad = subprocess.run([sys.executable, "-m", "rnnviz.probes", tiny_ckpt, "--chars", "x"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr


@pytest.mark.parametrize("name, language", [("short.py", "python"), ("short.h", "c"), ("short.txt", "text")])
def test_a_short_file_takes_its_language_from_its_extension(capsys, tiny_ckpt, tmp_path, name, language):
    # Two lines of code are too few to guess from; the extension decides.
    p = tmp_path / name
    p.write_text("def f(x):\n    return 'a' + x\n", encoding="utf-8")
    rc, out, err = run(capsys, tiny_ckpt, "--text", str(p), "--hypotheses", "indent")
    assert rc == 0, err
    assert json.loads(out)["language"] == language
