"""Does attention explain the output? The blanking experiment against a plain reference
loop, on the bundled model, and accuracy by input length with and without attention."""

from __future__ import annotations

import pytest
import torch

from rnnviz.seq2seq import checkpoint as ck
from rnnviz.seq2seq import dates, explain
from rnnviz.seq2seq.model import decode_steps, encode_texts, translate


@pytest.fixture(scope="module")
def data():
    return dates.make(0)


@pytest.fixture(scope="module")
def bundled():
    torch.set_num_threads(1)
    return ck.load(ck.BUNDLED["attention"])


def _reference(model, vocab, text):
    """One example by hand: decode, blank the most-attended input of each output
    position in the typed index list, decode again."""
    d = decode_steps(model, vocab, text)
    _, x, lens = encode_texts([text], vocab)
    rows = []
    for i, s in enumerate(d.steps):
        j = max(range(len(s.attention)), key=s.attention.__getitem__)
        blanked = x.clone()
        blanked[0, j] = 0
        ids, _, _ = model.greedy(blanked, lens)
        new = dates.decode_output(ids)[0]
        rows.append((j, new, new[i] != d.output[i]))
    return d.output, rows


def test_blanking_one_typed_date_matches_the_reference_loop(bundled):
    for text in ("jeudi 25 juin 2009", "Thursday, December 31, 2009", "25.06.2009"):
        checked, out, rows = explain.blank_each_top(bundled.model, bundled.in_vocab, text)
        ref_out, ref = _reference(bundled.model, bundled.in_vocab, text)
        assert checked == text and out == ref_out and len(rows) == dates.OUT_LEN
        assert [(r.index, r.new_output, r.changed) for r in rows] == ref
        assert all(r.char == out[r.position] and 0 < r.weight <= 1 for r in rows)
    # The month digit "6" looks at a letter of "juin" (positions 9-12), and blanking it changes the month.
    _, _, rows = explain.blank_each_top(bundled.model, bundled.in_vocab, "jeudi 25 juin 2009")
    assert 9 <= rows[6].index <= 12 and rows[6].changed and rows[6].new_output[5:7] != "06"


def test_the_test_set_rates_equal_the_per_example_experiment(bundled, data):
    n = 25
    rep = explain.attention_test(bundled.model, data, limit=n)
    per = [explain.blank_each_top(bundled.model, data.in_vocab, e.text)[2] for e in data.test[:n]]
    assert rep.positions == n * dates.OUT_LEN
    assert rep.changed_top == pytest.approx(sum(r.changed for rows in per for r in rows) / (n * dates.OUT_LEN))
    assert rep.per_position == pytest.approx([sum(rows[i].changed for rows in per) / n
                                              for i in range(dates.OUT_LEN)])
    whole = sum(r.new_output != translate(bundled.model, data.in_vocab, [e.text])[0]
                for e, rows in zip(data.test[:n], per) for r in rows)
    assert rep.output_changed_top == pytest.approx(whole / (n * dates.OUT_LEN))


def test_attention_explains_the_bundled_model_far_better_than_chance(bundled, data):
    rep = explain.attention_test(bundled.model, data, limit=200)
    assert rep.changed_top > 0.25 and rep.changed_top > 5 * rep.changed_random
    # the dashes never depend on the input: blanking anything leaves them alone
    assert rep.per_position[4] < 0.05 and rep.per_position[7] < 0.05


def test_no_attention_no_experiment_and_typed_text_is_checked(bundled):
    none = ck.load(ck.BUNDLED["none"])
    assert none.model.config.attention == "none" and none.card["test_exact_match"] >= 0.99
    with pytest.raises(ValueError, match="no attention"):
        explain.blank_each_top(none.model, none.in_vocab, "25 juin 2009")
    with pytest.raises(ValueError, match="never saw"):
        explain.blank_each_top(bundled.model, bundled.in_vocab, "<script>alert(1)</script>")
    with pytest.raises(ValueError, match="at most 40"):
        explain.blank_each_top(bundled.model, bundled.in_vocab, "25 juin 2009 " * 10)


def test_accuracy_by_length_counts_each_bin_exactly(bundled, data):
    none = ck.load(ck.BUNDLED["none"])
    for cp in (bundled, none):
        bins = explain.accuracy_by_length(cp.model, data)
        assert sum(b.n for b in bins) == len(data.test)
        for b in bins[:3]:
            sel = [e for e in data.test if b.lo <= len(e.text) <= b.hi]
            got = translate(cp.model, data.in_vocab, [e.text for e in sel])
            assert b.n == len(sel)
            assert b.exact_match == pytest.approx(sum(g == e.target for g, e in zip(got, sel)) / len(sel))
