"""``python -m rnnviz.word2vec``: train -> save -> load -> neighbours, and clear errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from test_words_trainer import FRUIT, VEHICLES, planted_text

from rnnviz import word2vec
from rnnviz.words import store
from rnnviz.words.vectors import Embeddings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv):
    out = io.StringIO()
    return word2vec.main(argv, out=out), out.getvalue()


def test_train_save_load_neighbours(tmp_path, capsys):
    text = tmp_path / "topics.txt"
    text.write_text(planted_text(1200))
    out_dir = tmp_path / "vecs"
    rc, out = run(["--text", str(text), "--min-count", "1", "--dim", "16", "--window", "2",
                   "--sample", "0", "--lr", "0.05", "--steps", "20", "--seed", "3", "--negative-block", "8",
                   "--out", str(out_dir), "--neighbours", "apple", "--top", "3"])
    assert rc == 0, capsys.readouterr().err
    assert "done: 20 steps" in out and "saved to" in out
    card = json.loads((out_dir / "card.json").read_text())
    assert card["format"] == store.FORMAT and card["dim"] == 16 and set(card["words"]) == set(FRUIT + VEHICLES)
    assert card["trained"]["steps"] == 20 and card["trained"]["config"]["seed"] == 3
    assert card["trained"]["config"]["negative_block"] == 8
    line = next(s for s in out.splitlines() if s.startswith("apple:"))
    assert all(w.split(" (")[0] in FRUIT for w in line[len("apple: "):].split(", "))
    rc2, out2 = run(["--load", str(out_dir), "--neighbours", "apple", "--top", "3",
                     "--analogy", "apple", "banana", "car"])
    assert rc2 == 0 and line in out2.splitlines()  # the same vectors came back
    assert "apple - banana + car = " in out2


def test_module_entry_point_runs(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(planted_text(200))
    p = subprocess.run([sys.executable, "-m", "rnnviz.word2vec", "--text", str(text), "--min-count", "1",
                        "--steps", "2", "--dim", "8", "--neighbours", "car"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr
    assert "car:" in p.stdout


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("word word word", "one distinct word"),
    ("... !!! ???", "no words"),
])
def test_bad_text_exits_2_with_a_message(tmp_path, capsys, content, message):
    f = tmp_path / "bad.txt"
    f.write_text(content)
    rc, _ = run(["--text", str(f), "--min-count", "1", "--steps", "1"])
    assert rc == 2 and message in capsys.readouterr().err


def test_unknown_query_word_and_bad_arguments(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text(planted_text(100))
    rc, _ = run(["--text", str(f), "--min-count", "1", "--steps", "1", "--dim", "8", "--neighbours", "zebra"])
    err = capsys.readouterr().err
    assert rc == 2 and "'zebra' is not in the vocabulary" in err
    for argv, message in [
        (["--text", str(tmp_path / "missing.txt")], "Cannot read"),
        (["--text", str(f), "--steps", "0"], "--steps must be at least 1"),
        (["--text", str(f), "--min-count", "1", "--window", "0", "--steps", "1"], "window"),
        (["--text", str(f), "--min-count", "1", "--negative-block", "0", "--steps", "1"], "sharing their negatives"),
        (["--load", str(tmp_path)], "No saved vectors"),
    ]:
        rc, _ = run(argv)
        assert rc == 2 and message in capsys.readouterr().err, argv
    with pytest.raises(SystemExit) as e:  # argparse's own errors also exit with 2
        run(["--analogy", "king", "man"])
    assert e.value.code == 2


def _saved(tmp_path):
    emb = Embeddings(["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2), "toy")
    store.save(emb, str(tmp_path))
    return (tmp_path / store.FILE).read_bytes()


def test_store_round_trip_and_validation(tmp_path):
    data = _saved(tmp_path)
    emb, card = store.load(str(tmp_path))
    assert emb.words == ("a", "b", "c") and np.array_equal(emb.matrix, np.arange(6).reshape(3, 2))
    assert card["name"] == "toy"
    with pytest.raises(ValueError, match="too short"):
        store.from_bytes(b"\x80\x04")
    with pytest.raises(ValueError, match="header"):
        store.from_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    # A card whose word list does not match the tensor is refused before loading it.
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["rnnviz_card"])
    for change, message in [({"words": ["a", "b"]}, "does not match"),
                            ({"words": ["a", "a", "c"]}, "duplicate"),
                            ({"format": "pickle"}, "format")]:
        header["__metadata__"]["rnnviz_card"] = json.dumps({**meta, **change})
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        with pytest.raises(ValueError, match=message):
            store.from_bytes(len(raw).to_bytes(8, "little") + raw + data[8 + n:])
    bad = Embeddings(["a", "b"], np.array([[np.nan, 0], [1, 1]], dtype=np.float32))
    store.save(bad, str(tmp_path / "nan"))
    with pytest.raises(ValueError, match="NaN"):
        store.load(str(tmp_path / "nan"))
