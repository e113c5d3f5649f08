"""Figure builders of the seq2seq lab: shapes, escaping, and no map without attention."""

from __future__ import annotations

import pytest
import torch

from rnnviz.plots import seq2seq as P
from rnnviz.seq2seq import dates, explain
from rnnviz.seq2seq.model import (
    DecodeStep,
    Decoding,
    Seq2Seq,
    Seq2SeqConfig,
    decode_steps,
)


def test_attention_map_has_one_row_per_output_and_escaped_labels():
    steps = [DecodeStep(c, 0.9, [0.5, 0.25, 0.25], [("<", 0.9)] * 5) for c in "2009-06-25"]
    fig = P.attention_map(Decoding("a<b", "2009-06-25", steps))
    hm = fig.data[0]
    assert hm.z.shape == (10, 3) and list(fig.layout.xaxis.ticktext) == ["a", "&lt;", "b"]
    assert "<b>" not in "".join(t for row in hm.text for t in row).replace("<br>", "")
    with pytest.raises(ValueError, match="no attention"):
        P.attention_map(Decoding("ab", "x", [DecodeStep("x", 1.0, None, [])]))


def test_the_other_figures_build_from_library_results():
    data = dates.make(0, n_train=300, n_val=50, n_test=60)
    torch.manual_seed(0)
    m = Seq2Seq(Seq2SeqConfig(len(data.in_vocab), enc_hidden=8, dec_hidden=8, embed=4)).eval()
    assert P.attention_map(decode_steps(m, data.in_vocab, "25 juin 2009")).data[0].z.shape[1] == 12
    pos = P.accuracy_by_position({"<b>with</b>": [1.0, 0.5], "without": [0.25, 0.0]})
    assert [list(t.y) for t in pos.data] == [[100.0, 50.0], [25.0, 0.0]] and "<b>" not in pos.data[0].name
    bins = explain.accuracy_by_length(m, data)
    fig = P.accuracy_by_length({"with attention": bins})
    assert sum(fig.data[0].customdata) == 60
    fig = P.attention_test(explain.attention_test(m, data, limit=20))
    assert len(fig.data[0].y) == 10


def test_top5_bars_put_the_greedy_choice_on_top_and_escape_labels():
    step = DecodeStep("<", 0.6, None, [("<", 0.6), ("0", 0.2), ("1", 0.1), ("2", 0.06), ("3", 0.04)])
    fig = P.top5(step)
    bar = fig.data[0]
    assert list(fig.layout.yaxis.ticktext) == ["3", "2", "1", "0", "&lt;"]  # plotly draws bottom-up
    assert list(bar.x) == pytest.approx([4.0, 6.0, 10.0, 20.0, 60.0])
    assert bar.marker.color[-1] != bar.marker.color[0]  # the chosen character stands out
