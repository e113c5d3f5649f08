"""``python -m rnnviz.seq2seq``: train -> save -> decode, and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rnnviz.seq2seq import checkpoint as ck


def cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "rnnviz.seq2seq", *args], capture_output=True, text=True, check=False,
                          timeout=timeout)


def test_train_save_decode(tmp_path):
    out = tmp_path / "m"
    r = cli("--steps", "20", "--enc-hidden", "8", "--dec-hidden", "12", "--threads", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "test exact match" in r.stdout and f"saved {out}" in r.stdout
    card = ck.load(str(out)).card
    assert card["steps"] == 20 and 0 <= card["test_exact_match"] <= 1 and card["model"]["enc_hidden"] == 8
    r = cli("--model", str(out), "--decode", "jeudi 25 juin 2009")
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()
    assert len(line) == 10 and set(line) <= set("-0123456789")


def test_a_string_reverser_trains_saves_and_decodes(tmp_path):
    out = tmp_path / "rev"
    r = cli("--task", "reverse", "--length", "6", "--steps", "10", "--enc-hidden", "8", "--dec-hidden", "8",
            "--threads", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "strings" in r.stdout and ck.load(str(out)).model.config.out_len == 6
    r = cli("--model", str(out), "--decode", "abcdef")
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()
    assert len(line) == 6 and set(line) <= set("abcdefghij")
    r = cli("--model", str(out), "--decode", "abc")
    assert r.returncode != 0 and "exactly 6" in r.stderr


def test_the_bundled_model_decodes_by_default():
    r = cli("--decode", "jeudi 25 juin 2009")
    assert r.returncode == 0 and r.stdout.strip() == "2009-06-25"


@pytest.mark.parametrize("args,message", [
    (("--decode", "<script>alert(1)</script>"), "never saw these characters"),
    (("--decode", "9" * 10_000), "10,000 characters"),
    (("--decode", "\U0001F600 25 juin"), "never saw these characters"),
    (("--decode", ""), "empty"),
    (("--model", "/nonexistent", "--decode", "25 juin 2009"), "No checkpoint at"),
    (("--steps", "0"), "--steps must be at least 1"),
    (("--minutes", "-1"), "--minutes must be above 0"),
    (("--attention", "magic"), "invalid choice"),
    (("--model", "x"), "add --decode"),
    (("--task", "reverse", "--length", "3", "--steps", "1"), "length must be a whole number from 5 to 30"),
])
def test_bad_arguments_fail_clearly(args, message):
    r = cli(*args)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr
