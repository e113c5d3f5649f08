"""The tagging lab's library: tags, cleaned text and its split, metrics, the
bidirectional mechanism, the race and the CLI."""

import numpy as np
import pytest
import torch

from rnnviz import celltypes
from rnnviz.tagging import cli, metrics, tasks, text
from rnnviz.tagging.model import Tagger, parameter_count
from rnnviz.tagging.race import TagConfig, TaggingRace, baseline, data, parameter_counts, read, window_tags

SENTENCE = "to be, or not to bee a"


def test_tags_of_every_task_on_a_hand_checked_sentence():
    #           t o _ b e , _ o r _ n o t _ t o _ b e e _ a
    last = [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1]
    first = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]
    long2 = [0] * 10 + [1, 1, 1] + [0] * 4 + [1, 1, 1, 0, 0]
    assert tasks.get("last").tags(SENTENCE).tolist() == last
    assert tasks.get("first").tags(SENTENCE).tolist() == first
    assert tasks.get("long").tags(SENTENCE, 2).tolist() == long2
    assert tasks.get("long").tags(SENTENCE, 3).sum() == 0
    p = tasks.positions(SENTENCE)
    assert p[0] == tasks.FIRST and p[1] == tasks.LAST and p[2] == tasks.NOT_LETTER and p[-1] == tasks.SINGLE
    assert p[18] == tasks.MIDDLE  # the middle e of "bee"
    assert tasks.positions("").tolist() == [] and tasks.get("last").tags("  ").tolist() == [0, 0]
    with pytest.raises(ValueError, match="3 to 8"):
        tasks.check_k(9)
    with pytest.raises(ValueError, match="Unknown task"):
        tasks.get("nope")


def test_only_the_control_task_needs_nothing_from_the_future():
    assert [t.key for t in tasks.TASKS.values() if not t.looks_ahead] == ["first"]
    # the first-letter tag at t never changes when a later character does; the last-letter tag does
    a, b = "the cat", "thecat."
    assert tasks.get("first").tags(a)[:3].tolist() == tasks.get("first").tags(b)[:3].tolist()
    assert tasks.get("last").tags(a)[2] != tasks.get("last").tags(b)[2]


def test_cleaned_corpus_is_split_by_position_with_no_overlap():
    split = text.shakespeare()
    assert set(split.text) <= set(text.VOCAB.chars) and "  " not in split.text
    assert split.text[split.cut - 1] == " "  # cut between two words
    assert 0.88 < split.cut / len(split.text) < 0.91
    assert (split.ids[:2000] == text.VOCAB.encode(split.text[:2000])).all()
    d = data("last", 0)
    assert len(d["train_ids"]) == split.cut
    ex = text.excerpts(split, n=5)
    assert len(ex) == 5 and all(e and e in split.held_out_text for e in ex)
    # the held-out windows are held-out text, each tagged as a text on its own
    w = d["val_ids"][3]
    window = "".join(text.VOCAB.chars[i] for i in w)
    assert window in split.held_out_text and split.text.find(window) >= split.cut
    assert d["val_tags"].shape == d["val_pos"].shape == (64, 128)
    assert d["val_tags"][3].tolist() == tasks.get("last").tags(window).tolist()
    assert d["val_pos"][3].tolist() == tasks.positions(window).tolist()
    ids = np.stack([text.VOCAB.encode("ab cd"), text.VOCAB.encode("efg h")])
    assert window_tags("last", 0, ids).tolist() == [[0, 1, 0, 0, 1], [0, 0, 1, 0, 1]]


def test_typed_text_is_cleaned_with_a_note_and_unknown_characters_get_the_one_message():
    p = text.prepare("Don't\nSTOP")
    assert p.text == "dont stop" and p.error is None
    assert "capital letters" in p.notes[0] and "apostrophes" in p.notes[0] and "line breaks" in p.notes[0]
    bad = text.prepare("año 1600")
    assert bad.text == "" and bad.error == text.VOCAB.unknown_message("año 1600")
    long = text.prepare("ab " * 100)
    assert len(long.text) == text.MAX_INPUT and any("only the first 200" in n for n in long.notes)
    assert text.prepare("   ").error and text.prepare("plain words").notes == ()


def test_metrics_do_not_let_always_no_look_good():
    truth = tasks.get("last").tags(SENTENCE)
    pos = tasks.positions(SENTENCE)
    lazy = metrics.scores(np.zeros_like(truth), truth, pos)
    assert lazy["accuracy"] == pytest.approx(1 - truth.mean()) and lazy["f1"] == 0.0 and lazy["acc_last"] == 0.0
    assert metrics.majority_baseline(truth, pos) == lazy
    perfect = metrics.scores(truth, truth, pos)
    assert perfect["f1"] == 1.0 and perfect["acc_last"] == 1.0 and perfect["acc_other"] == 1.0
    one_wrong = truth.copy()
    one_wrong[0] = 1  # a false positive on the first "t"
    s = metrics.scores(one_wrong, truth, pos)
    tp = truth.sum()
    assert s["precision"] == pytest.approx(tp / (tp + 1)) and s["recall"] == 1.0
    assert s["acc_first"] == pytest.approx(1 - 1 / (pos == tasks.FIRST).sum())


@pytest.mark.parametrize("cell", list(celltypes.CELL_TYPES))
def test_only_the_bidirectional_output_at_t_sees_a_later_character(cell):
    torch.manual_seed(0)
    fwd = Tagger(len(text.VOCAB), cell=cell, hidden=8, embed=6, bidirectional=False)
    bi = Tagger(len(text.VOCAB), cell=cell, hidden=8, embed=6, bidirectional=True)
    a = torch.from_numpy(text.VOCAB.encode("to be or not to be")).long()[None]
    b = torch.from_numpy(text.VOCAB.encode("to be or not tx be")).long()[None]  # position 14 changed
    with torch.no_grad():
        fa, fb, ba, bb = fwd(a), fwd(b), bi(a), bi(b)
    assert torch.equal(fa[0, :14], fb[0, :14])  # exactly: the forward model has not read position 14 yet
    assert not torch.equal(fa[0, 14:], fb[0, 14:])
    assert (ba[0, :14] - bb[0, :14]).abs().min() > 0  # every earlier output of the bidirectional one moved
    st = bi.states(a[0])
    assert set(st) == {"forward", "backward"} and st["forward"].shape == st["backward"].shape == (18, 8)
    assert set(fwd.states(a[0])) == {"forward"}
    with pytest.raises(ValueError, match="Unknown cell"):
        Tagger(10, cell="transformer", hidden=4, embed=4, bidirectional=True)


def test_size_matching_and_parameter_counts():
    h, e, v = 8, 6, len(text.VOCAB)
    same = TagConfig(cell="lstm", hidden=h, embed=e)
    total = TagConfig(cell="lstm", hidden=h, embed=e, match="total")
    assert same.widths() == {"forward": 8, "bi": 8} and total.widths() == {"forward": 16, "bi": 8}

    def lstm(hid, dirs):
        return dirs * 4 * (hid * e + hid * hid + 2 * hid) + dirs * hid + 1 + v * e

    m = Tagger(v, cell="lstm", hidden=h, embed=e, bidirectional=True)
    assert parameter_count(m) == lstm(8, 2)
    assert parameter_count(Tagger(v, cell="lstm", hidden=16, embed=e, bidirectional=False)) == lstm(16, 1)
    with pytest.raises(ValueError, match="size matching"):
        TagConfig(match="bigger").validate()
    with pytest.raises(ValueError, match="learning rate"):
        TagConfig(lr=5.0).validate()


def tiny(**kw):
    return TaggingRace(TagConfig(**{"hidden": 16, "embed": 8, "lr": 0.02, "batch": 16, "seq_len": 48,
                                    "eval_every": 50, **kw}))


def test_race_is_reproducible_and_bidirectional_wins_only_where_the_answer_lies_ahead():
    torch.set_num_threads(1)
    a, b = tiny(), tiny()
    a.step(5)
    b.step(5)
    assert list(a.loss_hist) == list(b.loss_hist)
    a.step(145)
    last = a.latest
    assert last["bi"]["f1"] > 0.95 and last["bi"]["f1"] > last["forward"]["f1"] + 0.1
    assert last["bi"]["acc_last"] > last["forward"]["acc_last"] + 0.15
    assert baseline(a.config)["f1"] == 0.0
    ctrl = tiny(task="first")
    ctrl.step(150)
    assert ctrl.latest["forward"]["f1"] > 0.95 and ctrl.latest["bi"]["f1"] > 0.95  # the control: no gap
    out = read(a.models, "the end", "last", 5)
    assert out["tags"].tolist() == [0, 0, 1, 0, 0, 0, 1]
    assert out["prob"]["bi"][2] > 0.5 and out["prob"]["bi"][1] < 0.5
    assert out["states"]["bi"]["backward"].shape == (7, 16) and "backward" not in out["states"]["forward"]
    assert a.static_key() == "tagging:last:0" and tiny(task="long", k=4).static_key() == "tagging:long:4"
    assert parameter_counts(a.models)["bi"] > parameter_counts(a.models)["forward"]


def test_cli_prints_the_table_and_rejects_bad_arguments(capsys):
    assert cli.main(["--steps", "20", "--hidden", "8", "--eval-every", "10", "--cell", "gru"]) == 0
    out = capsys.readouterr().out
    assert "forward only" in out and "bidirectional" in out and "always 0" in out and "20 steps" in out
    assert cli.main(["--k", "2", "--task", "long"]) == 2
    assert "from 3 to 8" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["--cell", "cnn"])
    assert e.value.code == 2
    assert cli.main(["--steps", "-1"]) == 2
