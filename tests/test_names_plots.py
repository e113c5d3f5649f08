"""Names-lab figures and the map of shapes, from the bundled models."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from rnnviz.names import baseline, data, metrics, shapes, store
from rnnviz.names.model import generate, letter_probs, trajectory
from rnnviz.names.trainer import evaluate
from rnnviz.plots import names as P

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / "pretrained" / "surnames_gru" / store.FILE).exists(),
                                reason="bundled names models missing")


@pytest.fixture(scope="module")
def models():
    return store.load_bundled("surnames_gru"), store.load_bundled("names_generator")


def test_shapes_map_follows_a_real_forward_pass(models):
    clf, gen = models
    sm = {s.key: s for s in shapes.shapes_map(clf, gen, "Kowalski", seed=1)}
    assert list(sm) == list(shapes.TITLES)
    mto = sm["many_to_one"].steps
    assert [s.input for s in mto] == list("Kowalski") and [s.output for s in mto[:-1]] == [None] * 7
    lp = letter_probs(clf.model, clf.vocab, clf.classes, "Kowalski")
    assert mto[-1].output == lp.top(1)[0][0] and mto[-1].output_p == pytest.approx(lp.top(1)[0][1])
    assert len(sm["one_to_one"].steps) == 1
    otm = sm["one_to_many"].steps
    g = generate(gen.model, gen.vocab, gen.classes, mto[-1].output, 0.8, seed=1)
    assert [s.output for s in otm] == [("⏎" if c == "\n" else c) for c in g.letters]
    assert otm[0].input == mto[-1].output and all(s.input is None for s in otm[1:])
    assert len(sm["many_to_many"].steps) == len("Kowalski") + 1
    ed = sm["encoder_decoder"].steps
    assert [s.part for s in ed] == ["encoder"] * 8 + ["decoder"] * len(otm)
    assert ed[7].output == mto[-1].output == ed[8].input  # the encoder's answer is the decoder's first input
    fig = P.shape_figure(sm["encoder_decoder"])
    assert len(fig.layout.shapes) == 3 * len(ed)
    arrows = [a for a in fig.layout.annotations if not a.text and a.ay == 1]  # state -> next state
    assert len(arrows) == len(ed) - 2  # none from the encoder's last state into the decoder
    part = P.shape_figure(sm["many_to_one"], current=2)
    assert len(part.layout.shapes) == 3 * 3 + 1  # three steps taken, the current one outlined
    assert [a.text for a in part.layout.annotations if a.text and a.y == 0] == ["K", "o", "w"]


def test_figures_build_and_escape_text(models):
    clf, gen = models
    ds = data.surnames()
    lp = letter_probs(clf.model, clf.vocab, clf.classes, "Rossi")
    fig = P.letter_probs_figure(lp.letters, ["<b>x</b>"] + list(clf.classes[1:]), lp.probs, top=len(clf.classes))
    spec = json.dumps(fig.to_plotly_json())
    assert "<b>x</b>" not in spec and "&lt;b&gt;x&lt;/b&gt;" in spec
    assert np.allclose(fig.data[0].y, lp.probs[:, np.argsort(-lp.probs.max(0))[0]])
    ev = evaluate(clf, ds, "test")
    nb = metrics.evaluate(ds.test, baseline.fit(ds).predict_proba(list(ds.test.names)), ds.classes)
    cm = P.confusion_figure(ev)
    assert np.allclose(np.array(cm.data[0].z).sum(1), 1.0, atol=1e-5)
    acc = P.accuracy_by_length_figure({"RNN": ev, "naive Bayes": nb})
    assert len(acc.data) == 2 and acc.data[1].y[0] == nb.by_length[min(nb.by_length)][1]
    tr = trajectory(clf.model, clf.vocab, clf.classes, ["Rossi", "Murphy"])
    tf = P.trajectory_figure(tr)
    assert np.allclose(tf.data[1].x, tr.points[0][:, 0])
    # the fill colours have a key: one legend entry per class that is likeliest at some step
    key = [t for t in tf.data if t.mode == "markers"]
    shown = sorted({int(k) for p in tr.probs for k in p.argmax(1)})
    assert [t.name for t in key] == [f"likeliest: {clf.classes[k]}" for k in shown]
    assert [t.marker.color for t in key] == [P.PALETTE[k] for k in shown]
    first = sorted({int(p[0].argmax()) for p in tr.probs})
    assert len([t for t in P.trajectory_figure(tr, upto=1).data if t.mode == "markers"]) == len(first)
    assert not [t for t in P.trajectory_figure(tr, "name").data if t.mode == "markers"]
    assert len(P.class_counts_figure(ds.class_counts()["train"]).data[0].x) == len(ds.classes)
    g = generate(gen.model, gen.vocab, gen.classes, "Finnish", 1.0, seed=2)
    sf = P.step_distribution_figure(g, gen.vocab.chars)
    assert np.array(sf.data[0].z).shape[1] == len(g.letters)


def test_training_loss_is_labelled_per_name_for_a_classifier_and_per_letter_for_a_generator():
    loss, val = [(0, 2.9), (10, 2.1)], [(10, 2.2)]
    clf = P.training_loss_figure(loss, val, "classifier", 18, 120)
    assert clf.layout.title.text == "Loss (nats per name)" and clf.layout.yaxis.title.text == "loss (nats per name)"
    guess = clf.data[-1]
    assert guess.name == f"uniform guess ln K = {np.log(18):.2f} (18 classes)" and guess.y == (np.log(18),) * 2
    assert "ln|V|" not in json.dumps(clf.to_plotly_json())
    gen = P.training_loss_figure(loss, val, "generator", 18, 120)
    assert gen.layout.yaxis.title.text == "loss (nats/char)" and gen.data[-1].name.startswith("uniform guess ln|V|")
    assert gen.data[-1].y == (np.log(120),) * 2
    assert clf.layout.legend.y == gen.layout.legend.y == -0.3  # clear of the axis title when presenting
    assert len(set(P.PALETTE)) == len(P.PALETTE) == 18  # a colour per surname class, none repeated
