"""The names pages' library helpers: bundled models per dataset and task, held-out
scores beside the baseline, typed name lists (hostile ones included), milestone
samples, and the new figures (readout curves, step-by-step trajectories)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnviz.names import baseline, data, lab, metrics, store
from rnnviz.names.model import classify, trajectory
from rnnviz.names.trainer import evaluate
from rnnviz.plots import names as P


@pytest.mark.parametrize("dataset", ["surnames", "genders"])
def test_every_dataset_has_a_bundled_classifier_and_generator(dataset):
    ds = data.load(dataset)
    for kind in lab.KINDS:
        cp = lab.bundled(dataset, kind)
        assert cp.kind == kind and tuple(cp.classes) == ds.classes
        assert cp.card["data_fingerprint"] == ds.fingerprint()
        assert lab.dataset_of(cp) is ds
        assert lab.bundled(dataset, kind) is cp  # loaded once, shared
    with pytest.raises(ValueError, match="No bundled"):
        lab.bundled(dataset, "translator")


@pytest.mark.parametrize("dataset", ["surnames", "genders"])
def test_held_out_scores_match_the_model_and_the_baseline(dataset):
    ds = data.load(dataset)
    cp = lab.bundled(dataset, "classifier")
    ho = lab.held_out(cp)
    assert ho.split == "test" and ho.rnn.n == len(ds.test)
    assert ho.rnn.accuracy == evaluate(cp, ds, "test").accuracy
    nb = metrics.evaluate(ds.test, baseline.fit(ds).predict_proba(list(ds.test.names)), ds.classes)
    assert ho.baseline.accuracy == nb.accuracy and ho.baseline.balanced_accuracy == nb.balanced_accuracy
    rows = ho.rows("GRU")
    assert [r["model"] for r in rows] == ["GRU", "naive Bayes (letter pairs)"]
    assert rows[0]["accuracy"] == ho.rnn.accuracy and rows[1]["class-balanced accuracy"] == nb.balanced_accuracy
    assert card_accuracy(cp) == pytest.approx(ho.rnn.accuracy)
    with pytest.raises(ValueError, match="Only a classifier"):
        lab.held_out(lab.bundled(dataset, "generator"))


def card_accuracy(cp):
    return cp.card["test_accuracy"]


def test_a_model_of_other_classes_is_refused():
    cp = lab.bundled("surnames", "classifier")
    other = store.NamesCheckpoint(cp.model, cp.vocab, cp.classes, dict(cp.card, dataset="genders"))
    with pytest.raises(ValueError, match="other classes"):
        lab.dataset_of(other)


def test_typed_name_lists_keep_good_names_and_explain_bad_ones():
    vocab = lab.bundled("surnames", "classifier").vocab
    names, problems = lab.parse_names(" Murphy, Müller ,, Rossi, Murphy", vocab)
    assert names == ["Murphy", "Müller", "Rossi"] and problems == []
    hostile = "<b>x</b>, 😀, " + "a" * 300 + ", Novák"
    names, problems = lab.parse_names(hostile, vocab)
    assert names == ["Novák"] and len(problems) == 3
    assert "'<'" in problems[0] and "Name 1" in problems[0]
    assert "😀" in problems[1] and "300 characters" in problems[2]
    # past the cap the list is cut at its last comma, said first; only three refusals are spelled out
    names, problems = lab.parse_names("Novák, " + ", ".join(["<i>"] * 50_000) + ", Rossi", vocab)
    assert names == ["Novák"] and len(problems) == 5
    assert problems[0].startswith(f"The list is {7 + 5 * 50_000 + 5:,} characters long; only its first 400")
    assert [p[:7] for p in problems[1:4]] == ["Name 2:", "Name 3:", "Name 4:"]
    n_read = len(("Novák, " + ", ".join(["<i>"] * 50_000))[:lab.MAX_LIST].rsplit(",", 1)[0].split(","))
    assert problems[4] == f"{n_read - 1 - 3:,} more names could not be read either; fix the ones above first."
    assert lab.parse_names("", vocab) == ([], [])
    many = ", ".join(["Rossi", "Murphy", "Novák", "Dubois", "Smith", "Kowal", "Berg", "Lind"])
    names, problems = lab.parse_names(many, vocab, limit=6)
    assert len(names) == 6 and "first 6" in problems[-1]


def test_milestone_samples_pick_one_class_in_step_order():
    samples = [(100, {"Irish": ["Ó Briain"], "Finnish": ["Virtanen"]}), (0, {"Irish": ["xq"], "Finnish": ["zz"]})]
    assert lab.milestone_samples(samples, "Irish") == [(0, ["xq"]), (100, ["Ó Briain"])]
    assert lab.milestone_samples(samples, "Dutch") == [(0, []), (100, [])]


def test_trajectory_figure_grows_step_by_step_on_fixed_axes():
    cp = lab.bundled("surnames", "classifier")
    tr = trajectory(cp.model, cp.vocab, cp.classes, ["Murphy", "Rossi"])
    assert tr.classes == tuple(cp.classes)
    full, two = P.trajectory_figure(tr), P.trajectory_figure(tr, upto=2)
    pts = [t for t in two.data if t.mode == "markers+text"]
    assert [len(t.x) for t in pts] == [2, 2]
    assert two.layout.xaxis.range == full.layout.xaxis.range
    assert np.allclose(pts[0].x, tr.points[0][:2, 0])
    probs = classify(cp.model, cp.vocab, cp.classes, ["Mu"])[0]
    assert cp.classes[int(probs.argmax())] in pts[0].hovertext[1]


def test_curves_figure_dashes_balanced_lines_and_escapes_labels():
    fig = json.loads(P.curves_figure({"<b>last</b>": [(0, 0.1), (10, 0.5)], "<b>last</b> (balanced)": [(0, 0.1)]},
                                     ytitle="accuracy").to_json())
    assert [t["line"]["dash"] for t in fig["data"]] == ["solid", "dash"]
    assert fig["data"][0]["line"]["color"] == fig["data"][1]["line"]["color"]
    assert "<b>" not in json.dumps(fig)
