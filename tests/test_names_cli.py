"""python -m rnnviz.names from a shell: the three read-outs compared, bad arguments."""

import pytest

from rnnviz.names import __main__ as cli
from rnnviz.names import store
from rnnviz.names.model import READOUTS


def test_readout_all_trains_the_three_side_by_side_and_saves_each(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert cli.main(["--train", "classifier", "--readout", "all", "--dataset", "genders", "--steps", "30",
                     "--hidden", "16", "--embed", "8", "--eval-every", "30", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = {line.split()[0]: line for line in text.splitlines() if line.split() and line.split()[0] in READOUTS}
    assert set(rows) == set(READOUTS) and "naive Bayes" in text and "30 steps" in text
    for r in READOUTS:
        cp = store.load(f"{out}-{r}")
        assert cp.kind == "classifier" and cp.card["steps"] == 30
        assert f"{cp.card['test_accuracy']:.1%}" in rows[r]
    # the three networks differ only in their read-out
    assert {store.load(f"{out}-{r}").model.config.readout for r in READOUTS} == set(READOUTS)


@pytest.mark.parametrize("argv, words", [(["--train", "classifier", "--steps", "0"], "positive"),
                                         (["--train", "classifier", "--threads", "0"], "threads")])
def test_bad_arguments_exit_2_with_a_sentence(argv, words, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert words in capsys.readouterr().err
