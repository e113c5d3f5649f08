"""Names trainers: losses fall, imbalance handling works, both trainers run through
``BackgroundTrainer`` with both executors, checkpoints round-trip and crafted files
are refused, and the command line works and fails clearly."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import WAIT, wait_for
from safetensors.torch import save as st_save

from rnnviz.live import BackgroundTrainer, SlotLimiter
from rnnviz.names import data, store
from rnnviz.names.model import READOUTS, classify, generate
from rnnviz.names.trainer import (
    ReadoutsTrainer,
    evaluate,
    make_trainer,
)
from rnnviz.protocol import LiveTrainer

ROOT = pathlib.Path(__file__).resolve().parent.parent
SMALL = dict(hidden=16, embed=8, batch_size=32, eval_every=20)



@pytest.fixture(scope="module")
def ds():
    return data.surnames()


@pytest.fixture(scope="module")
def genders():
    return data.genders()


def test_classifier_loss_falls_with_each_imbalance_handling(ds):
    for balance in ("none", "weights", "oversample"):
        tr = make_trainer("classifier", ds, balance=balance, **dict(SMALL, hidden=32, lr=1e-2))
        assert isinstance(tr, LiveTrainer) and tr.val_hist[0][0] == 0
        first_val = tr.val_hist[0][1]
        tr.step(150)
        losses = [v for _, v in tr.loss_hist]
        assert np.mean(losses[-20:]) < 0.9 * np.mean(losses[:10]), balance
        assert tr.val_hist[-1][1] < first_val and tr.steps == 150
        s = tr.summary()
        assert 0 <= s["balanced_accuracy"] <= 1 and s["best_accuracy"] >= s["accuracy"] - 1e-12


def test_oversampling_draws_small_classes_as_often_as_large_ones(ds):
    tr = make_trainer("classifier", ds, balance="oversample", **SMALL)
    idx = torch.multinomial(tr.sample_p, 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
    per_class = tr.train_targets[idx].sum(0).numpy()
    assert per_class.max() < 1.25 * per_class.min()  # about 1 / K each (shared surnames blur it a little)
    assert ds.train.counts().max() > 10 * ds.train.counts().min()  # while the data itself is far from even
    counts = ds.train.counts()
    assert np.isclose((tr.class_weights.numpy() * counts).sum(), len(ds.train), rtol=1e-4)


def test_generator_loss_falls_and_samples_are_kept(genders):
    tr = make_trainer("generator", genders, milestones=(0, 100), **SMALL)
    v0 = tr.val_hist[0][1]
    assert abs(v0 - np.log(len(genders.vocab))) < 0.5  # step 0: about uniform over the alphabet
    tr.step(120)
    assert tr.val_hist[-1][1] < v0 - 0.5
    assert [s for s, _ in tr.samples] == [0, 100] and set(tr.samples[-1][1]) == {"female", "male"}


def test_readouts_side_by_side_equal_three_separate_trainings(ds):
    both = make_trainer("classifier", ds, readout="all", balance="weights", **SMALL)
    assert isinstance(both, ReadoutsTrainer)
    both.step(40)
    last_losses = []
    for i, r in enumerate(READOUTS):
        alone = make_trainer("classifier", ds, readout=r, balance="weights", **SMALL)
        alone.step(40)
        last_losses.append(alone.loss_hist[-1][1])
        mine, theirs = both.model[r].state_dict(), alone.model.state_dict()
        assert mine.keys() == theirs.keys()
        for k in mine:
            torch.testing.assert_close(mine[k], theirs[k], rtol=1e-4, atol=1e-5)
        row = both.readout_hist[-1]
        assert row[0] == alone.val_hist[-1][0] == 40
        assert row[1 + i] == pytest.approx(alone.val_hist[-1][2], abs=1e-6)  # accuracy
        assert row[1 + 2 * len(READOUTS) + i] == pytest.approx(alone.val_hist[-1][1], rel=1e-4)  # loss
        cp = both.checkpoint(f"live:{r}")
        assert cp.model.config.readout == r and cp.card["steps"] == 40
        assert np.allclose(classify(cp.model, cp.vocab, cp.classes, ["Rossi"]),
                           classify(alone.model.eval(), ds.vocab, ds.classes, ["Rossi"]), atol=1e-5)
    assert both.loss_hist[-1][1] == pytest.approx(np.mean(last_losses), rel=1e-4)
    assert set(both.summary()["readouts"]) == set(READOUTS)
    assert set(both.preview(name="Novák")) == set(READOUTS)
    with pytest.raises(ValueError, match="read-out"):
        both.checkpoint("live:median")


@pytest.fixture
def runners():
    made = []
    yield made
    for r in made:
        r.stop()


@pytest.mark.parametrize("executor", ["thread", "process"])
@pytest.mark.parametrize("kind", ["classifier", "generator", "readouts"])
def test_trainers_run_through_the_live_machinery(ds, runners, executor, kind):
    tr = make_trainer("classifier", ds, readout="all", **SMALL) if kind == "readouts" else make_trainer(kind, ds, **SMALL)
    vocab = tr.vocab
    r = BackgroundTrainer(tr, limiter=SlotLimiter(1), executor=executor, chunk=10, idle_timeout=3600)
    runners.append(r)
    r.step_once()
    assert wait_for(lambda: r.steps == 10 and r.status == "paused", WAIT)
    r.start()
    assert wait_for(lambda: r.steps >= 60, WAIT)
    r.pause(wait=WAIT)
    assert wait_for(lambda: r.status == "paused", WAIT)
    snap = r.snapshot()
    assert [s for s, _ in snap.loss] == list(range(1, snap.steps + 1))
    assert [v[0] for v in snap.val] == list(range(0, snap.steps + 1, 20))
    assert snap.val[-1][1] < snap.val[0][1] and snap.extra["val_loss"] == snap.val[-1][1]
    assert tr.vocab is vocab  # the static part stays the server's
    cp = r.checkpoint_copy("live")
    assert cp.kind == kind.replace("readouts", "classifier") and cp.card["steps"] == snap.steps
    assert all(not p.requires_grad for p in cp.model.parameters())
    if kind == "generator":
        assert snap.samples[0][0] == 0
    elif kind == "readouts":
        assert [v[0] for v in snap.readout_hist] == [v[0] for v in snap.val]
        assert set(snap.extra["readouts"]) == set(READOUTS)
    else:
        assert len(r.with_trainer(lambda t: t.preview(name="Rossi")).letters) == 5


def test_checkpoint_round_trip(ds, tmp_path):
    for kind in ("classifier", "generator"):
        tr = make_trainer(kind, ds, **SMALL)
        tr.step(5)
        cp = tr.checkpoint("mine")
        store.save(cp, str(tmp_path / kind))
        back = store.load(str(tmp_path / kind))
        assert back.kind == kind and back.classes == ds.classes and back.vocab == ds.vocab
        assert json.loads((tmp_path / kind / "card.json").read_text())["name"] == "mine"
        for k, v in cp.model.state_dict().items():
            assert torch.equal(v, back.model.state_dict()[k])
        if kind == "classifier":
            np.testing.assert_allclose(classify(back.model, back.vocab, back.classes, ["Rossi"]),
                                       classify(tr.model.eval(), ds.vocab, ds.classes, ["Rossi"]), atol=1e-6)
            assert 0 <= evaluate(back, ds).accuracy <= 1
        else:
            assert generate(back.model, back.vocab, back.classes, "Irish", seed=1).name == \
                generate(cp.model, cp.vocab, cp.classes, "Irish", seed=1).name


def _crafted(card: dict, tensors: dict) -> bytes:
    return st_save(tensors, metadata={"rnnviz_card": json.dumps(card)})


def test_crafted_checkpoints_are_refused(ds):
    tr = make_trainer("classifier", ds, **SMALL)
    cp = tr.checkpoint("x")
    good = store.to_bytes(cp)
    tensors = {k: v.clone() for k, v in cp.model.state_dict().items()}
    assert store.from_bytes(good).kind == "classifier"
    huge = dict(cp.card, model=dict(cp.card["model"], hidden=1_000_000))
    with pytest.raises(ValueError, match="Hidden size"):
        store.from_bytes(_crafted(huge, tensors))  # refused before any allocation
    with pytest.raises(ValueError, match="classifier or a generator"):
        store.from_bytes(_crafted(dict(cp.card, kind="pickle"), tensors))
    with pytest.raises(ValueError, match="alphabet"):
        store.from_bytes(_crafted(dict(cp.card, vocab=["ab"] * 3), tensors))
    with pytest.raises(ValueError, match="do not match its model's size"):
        store.from_bytes(_crafted(dict(cp.card, classes=cp.card["classes"][:-1]), tensors))
    bad = dict(tensors)
    bad["head.weight"] = torch.full_like(bad["head.weight"], float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        store.from_bytes(_crafted(cp.card, bad))
    wrong = dict(tensors)
    wrong["head.weight"] = torch.zeros(3, 3)
    with pytest.raises(ValueError, match="shape"):
        store.from_bytes(_crafted(cp.card, wrong))
    with pytest.raises(ValueError, match="pickle"):
        store.from_bytes(b"\x80\x04" + b"\x00" * 100)
    with pytest.raises(ValueError, match="not a names-lab model"):
        store.from_bytes(_crafted(dict(cp.card, format="rnnviz-charmodel/1"), tensors))


def test_bundled_models_load_and_work():
    for name in store.BUNDLED:
        folder = ROOT / "pretrained" / name
        if not (folder / store.FILE).exists():
            pytest.skip(f"pretrained/{name} not built")
        assert (folder / store.FILE).stat().st_size < 2_000_000
    clf, gen = store.load_bundled("surnames_gru"), store.load_bundled("names_generator")
    assert clf.kind == "classifier" and gen.kind == "generator"
    ds = data.surnames()
    assert clf.card["data_fingerprint"] == ds.fingerprint()
    assert evaluate(clf, ds, "test").accuracy > 0.6
    names = {generate(gen.model, gen.vocab, gen.classes, "Irish", 0.8, seed=s).name for s in range(5)}
    assert len(names) >= 3 and all(names)


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "rnnviz.names", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_cli_trains_saves_and_uses_a_model(tmp_path):
    out = tmp_path / "clf"
    r = _cli("--train", "classifier", "--dataset", "genders", "--steps", "40", "--hidden", "16",
             "--eval-every", "20", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "held-out accuracy" in r.stdout and "naive Bayes" in r.stdout
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 40 and 0 < card["test_accuracy"] <= 1
    r = _cli("--classify", "Maria", "--model", str(out))
    assert r.returncode == 0 and "female" in r.stdout and r.stdout.count("\n") == 6
    g = tmp_path / "gen"
    r = _cli("--train", "generator", "--dataset", "genders", "--steps", "20", "--hidden", "16", "--out", str(g))
    assert r.returncode == 0 and "nats per character" in r.stdout, r.stderr
    r = _cli("--generate", "male", "--model", str(g), "--count", "3")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3


@pytest.mark.parametrize("args, message", [
    (("--classify", "<img src=x onerror=alert(1)>"), "never uses"),
    (("--classify", "x" * 10_000), "10,000 characters"),
    (("--classify", ""), "empty"),
    (("--classify", "😀"), "never uses"),
    (("--generate", "Klingon"), "Unknown class 'Klingon'"),
    (("--generate", "Irish", "--count", "0"), "--count"),
    (("--train", "classifier", "--steps", "-3"), "positive"),
    (("--classify", "Smith", "--model", "/nonexistent"), "No names-lab model"),
])
def test_cli_bad_arguments_exit_with_a_clear_message(args, message):
    r = _cli(*args)
    assert r.returncode == 2 and message in r.stderr, (r.returncode, r.stderr)
