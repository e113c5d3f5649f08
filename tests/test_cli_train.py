"""``python -m rnnviz.train``: own text, resume and fine-tune, best and periodic
checkpoints, and a clear message plus exit code 2 for every bad argument.

Models are tiny (one layer of 16 units) so each run takes a second or two even on a
busy machine; the subprocess runs have generous timeouts.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

from rnnviz import checkpoint as ckpt
from rnnviz import corpora, train
from rnnviz.sample import sample

TEXT = (
    "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore.\n"
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood?\n"
) * 4
TINY = ["--layers", "1", "--hidden", "16", "--embed", "8", "--seq-len", "16", "--batch-size", "4",
        "--eval-every", "10", "--threads", "1"]
CLI_TIMEOUT = 600  # seconds; a busy 2-core machine needs tens of seconds to import torch


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, timeout=CLI_TIMEOUT,
                          cwd=ROOT, env=env, check=False)


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "own.txt"
    path.write_text(TEXT, encoding="utf-8")
    return str(path)


def state(folder):
    return train.read_train_state(str(folder))[0]


def test_own_text_trains_and_samples_back_like_the_library(tmp_path, text_file):
    out = tmp_path / "run"
    r = run_cli("rnnviz.train", "--text", text_file, *TINY, "--steps", "30", "--out", str(out))
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    assert "chars/s" in err and "val " in err and "loss " in err and "30/30" in err  # the tqdm bar
    assert "saved" in r.stdout.decode()
    cp = ckpt.load(str(out))
    assert cp.card["corpus"] == "own.txt" and cp.card["steps"] == 30
    assert cp.vocab == corpora.Vocab.from_text(TEXT)

    r = run_cli("rnnviz.sample", str(out), "--prime", "The ", "--length", "80", "--seed", "7",
                "--temperature", "0.8")
    assert r.returncode == 0, r.stderr.decode()
    expected = sample(cp.model, cp.vocab, 80, prime="The ", temperature=0.8, seed=7)
    assert r.stdout.decode("utf-8") == expected.full_text + "\n"


def test_resume_continues_the_step_count_and_the_loss_curve(tmp_path, text_file, capsys):
    whole, part = tmp_path / "whole", tmp_path / "part"
    train.main(["--text", text_file, *TINY, "--steps", "40", "--quiet", "--out", str(whole)])
    train.main(["--text", text_file, *TINY, "--steps", "25", "--quiet", "--out", str(part)])
    assert ckpt.load(str(part)).card["steps"] == 25
    train.main(["--init-from", str(part), "--text", text_file, "--seq-len", "16", "--batch-size", "4",
                "--eval-every", "10", "--threads", "1", "--steps", "15", "--quiet", "--out", str(part)])
    a, b = state(whole), state(part)
    assert b["steps"] == 40 and ckpt.load(str(part)).card["steps"] == 40
    assert [s for s, _ in b["loss"]] == list(range(1, 41))
    # Optimiser moments and the sampler's random state were restored: the resumed run is
    # the uninterrupted one, step for step (plus the validation point where the first part ended).
    assert b["loss"] == a["loss"]
    assert [p for p in b["val"] if p[0] != 25] == a["val"] and [p[0] for p in a["val"]] == [0, 10, 20, 30, 40]
    wa, wb = ckpt.load(str(whole)).model.state_dict(), ckpt.load(str(part)).model.state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_periodic_checkpoints(tmp_path, text_file, monkeypatch):
    saved = []
    real = train._save

    def spy(tr, folder, card, digest, best):
        saved.append((folder, tr.steps, card["steps"]))
        real(tr, folder, card, digest, best)

    monkeypatch.setattr(train, "_save", spy)
    out = tmp_path / "periodic"
    train.main(["--text", text_file, *TINY, "--steps", "25", "--save-every", "10", "--quiet", "--out", str(out)])
    assert saved == [(str(out), 10, 10), (str(out), 20, 20), (str(out), 25, 25)]


def test_carry_state_reads_the_text_as_streams(tmp_path, text_file, monkeypatch):
    seen = []
    real = train.Trainer

    def spy(*a, **kw):
        tr = real(*a, **kw)
        seen.append(tr)
        return tr

    monkeypatch.setattr(train, "Trainer", spy)
    train.main(["--text", text_file, *TINY, "--steps", "3", "--carry-state", "--quiet"])
    tr = seen[-1]
    assert tr.config.carry_state
    assert tr._state is not None  # the last step's state is kept for the next sequence
    assert tr._pos == 3 * tr.config.seq_len  # consecutive chunks of each stream, not random windows


def test_ctrl_c_saves_what_there_is(tmp_path, text_file, monkeypatch, capsys):
    real, calls = train.Trainer.step, []

    def step(self, n=1):
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, n)

    monkeypatch.setattr(train.Trainer, "step", step)
    out = tmp_path / "stopped"
    train.main(["--text", text_file, *TINY, "--steps", "100", "--quiet", "--out", str(out)])
    assert ckpt.load(str(out)).card["steps"] == 20 and state(out)["steps"] == 20
    assert "Interrupted at step 20" in capsys.readouterr().err


def markov_text() -> str:
    """Training text where 'a' is followed by 'a' 40 % of the time; validation text all 'a'.

    A model first learns that 'a' is common (the validation loss falls), then that 'a'
    is usually followed by 'b' (the validation loss rises again): the best model is an
    early one, not the last.
    """
    rng = random.Random(0)
    out, c = [], "a"
    for _ in range(3600):
        out.append(c)
        c = "b" if c == "a" and rng.random() < 0.6 else "a"
    return "".join(out) + "a" * 400


def test_the_best_validation_model_is_kept(tmp_path, capsys):
    path = tmp_path / "markov.txt"
    path.write_text(markov_text())
    out = tmp_path / "mk"
    train.main(["--text", str(path), "--layers", "1", "--hidden", "16", "--embed", "8", "--seq-len", "16",
                "--batch-size", "8", "--eval-every", "5", "--threads", "1", "--quiet", "--steps", "150",
                "--lr", "0.01", "--out", str(out)])
    val = {s: v for s, v in state(out)["val"]}
    best_step = min(val, key=val.get)
    assert 0 < best_step < 150 and val[150] > val[best_step] + 0.1  # the run did get worse
    best, last = ckpt.load(str(out / "best")), ckpt.load(str(out))
    assert best.card["steps"] == best_step and best.card["best_of_run"]["step"] == best_step
    assert last.card["steps"] == 150
    corpus = train.fit_vocab(corpora.from_text(path.read_text(), name="markov.txt"), best, "best")
    assert best.card["val_loss"] == pytest.approx(train.val_loss(best.model, corpus.val_ids), abs=1e-6)
    assert best.card["val_loss"] < last.card["val_loss"] - 0.1
    assert f"step {best_step}" in capsys.readouterr().out


def test_fine_tune_and_resume_a_bundled_model(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("\n".join(["Anna", "Bert", "Clara", "Dieter", "Emil", "Frieda", "Gustav", "Hanna"] * 6) + "\n")
    out = tmp_path / "ft"
    train.main(["--init-from", "names_gru", "--text", str(names), "--fine-tune", "--steps", "3",
                "--seq-len", "16", "--batch-size", "4", "--threads", "1", "--quiet", "--out", str(out)])
    card = ckpt.load(str(out)).card
    assert card["steps"] == 3 and card["fine_tuned"] and card["init_from"] == "names_gru"
    assert card["model"] == ckpt.pretrained_card("names_gru")["model"]
    # Resuming a bundled model on its own corpus continues its step count (no optimiser
    # state is bundled, which the user is told).
    train.main(["--init-from", "names_gru", "--steps", "2", "--seq-len", "16", "--batch-size", "4",
                "--threads", "1", "--quiet", "--out", str(tmp_path / "more"), "--final-eval-chars", "2000"])
    steps = ckpt.pretrained_card("names_gru")["steps"]
    assert ckpt.load(str(tmp_path / "more")).card["steps"] == steps + 2
    assert "fresh optimiser" in capsys.readouterr().err


def bad_files(tmp_path) -> dict:
    files = {"empty": b"", "binary": b"\x89PNG\r\n\x1a\n\x00\x00" * 20, "pickle": b"\x80\x04\x95" + b"\x00" * 64,
             "digits": b"R2D2 and C3PO walked into 1977 and 1980 and 1983 and stayed for all of it.\n" * 2,
             "shortish": b"hello there\n"}
    paths = {}
    for name, data in files.items():
        p = tmp_path / (name + (".pt" if name == "pickle" else ".txt"))
        p.write_bytes(data)
        paths[name] = str(p)
    paths["dir"] = str(tmp_path)
    return paths


BAD = [
    (["--steps", "0"], "argument --steps: must be at least 1"),
    (["--steps", "ten"], "argument --steps: expected a whole number"),
    (["--minutes", "0"], "argument --minutes: must be a positive number"),
    (["--steps", "5", "--minutes", "1"], "not allowed with argument"),
    (["--corpus", "names", "--text", "{digits}"], "not allowed with argument"),
    (["--corpus", "klingon", "--steps", "1"], "Unknown corpus"),
    (["--corpus", "{digits}", "--steps", "1"], "use --text"),
    (["--text", "/no/such/file.txt", "--steps", "1"], "There is no file"),
    (["--text", "{empty}", "--steps", "1"], "is empty"),
    (["--text", "{binary}", "--steps", "1"], "binary"),
    (["--text", "{shortish}", "--steps", "1"], "fewer than one training sequence"),
    (["--lr", "-1"], "argument --lr: must be a positive number"),
    (["--lr", "nan"], "argument --lr: must be a finite number"),
    (["--clip", "-1"], "argument --clip: must be 0 or a positive number"),
    (["--hidden", "8", "--corpus", "names", "--steps", "1"], "Hidden size must be between 16"),
    (["--seq-len", "1"], "argument --seq-len: must be at least 2"),
    (["--cell", "transformer"], "invalid choice"),
    (["--dropout", "1.5", "--corpus", "names", "--steps", "1"], "Dropout must be in [0, 1)"),
    (["--fine-tune", "--steps", "1"], "--fine-tune needs --init-from"),
    (["--save-every", "5", "--steps", "10"], "--save-every needs --out"),
    (["--threads", "999"], "more than the"),
    (["--init-from", "no_such_model", "--steps", "1"], "no bundled model or checkpoint called 'no_such_model'"),
    (["--init-from", "{pickle}", "--steps", "1"], "pickle"),
    (["--init-from", "names_gru", "--hidden", "64", "--steps", "1"], "--hidden 64 does not match the checkpoint"),
    (["--init-from", "names_gru", "--text", "{digits}", "--fine-tune", "--steps", "1"],
     "cannot learn new characters"),
    (["--init-from", "names_gru", "--corpus", "shakespeare", "--steps", "1"], "knows only the 53 characters"),
    (["--corpus", "names", "--steps", "1", "--out", "{digits}"], "Could not write the checkpoint"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_get_a_clear_message_and_exit_2(tmp_path, capsys, argv, message):
    paths = bad_files(tmp_path)
    argv = [a.format(**paths) for a in argv] + ["--quiet", "--layers", "1"] * ("--init-from" not in argv)
    with pytest.raises(SystemExit) as e:
        train.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert message in err and "Traceback" not in err
    assert "error:" in err


def test_resuming_on_other_text_needs_fine_tune(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    train.main(["--text", text_file, *TINY, "--steps", "3", "--quiet", "--out", str(out)])
    other = tmp_path / "other.txt"
    other.write_text(TEXT[::-1])
    with pytest.raises(SystemExit) as e:
        train.main(["--init-from", str(out), "--text", str(other), "--steps", "1", "--quiet"])
    assert e.value.code == 2 and "add --fine-tune" in capsys.readouterr().err


def test_a_damaged_training_state_is_refused(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    train.main(["--text", text_file, *TINY, "--steps", "3", "--quiet", "--out", str(out)])
    (out / train.STATE_FILE).write_bytes(b"\x80\x04 not a safetensors file at all")
    with pytest.raises(SystemExit) as e:
        train.main(["--init-from", str(out), "--text", text_file, "--steps", "1", "--quiet"])
    assert e.value.code == 2 and "training state" in capsys.readouterr().err


def test_decay_works_with_a_time_budget(tmp_path, text_file, monkeypatch):
    lrs = []
    real = train.Trainer.set_lr
    monkeypatch.setattr(train.Trainer, "set_lr", lambda self, lr: (lrs.append(lr), real(self, lr)))
    train.main(["--text", text_file, *TINY, "--minutes", "0.05", "--decay", "--lr", "0.004", "--quiet"])
    assert len(lrs) >= 2 and lrs[0] == pytest.approx(0.004, rel=0.05)
    assert all(b <= a for a, b in itertools.pairwise(lrs)) and lrs[-1] < lrs[0]


def test_every_option_has_help_text():
    p = train.build_parser()
    for action in p._actions:
        assert action.help and len(action.help) > 10, action.option_strings
    assert json.dumps(p.format_help())  # renders (no bad % in help strings)
