"""Every seed a user can give is checked by one validator with one clear message
(issue 12: seeds beyond 2^63 raised bare overflow errors from torch)."""

from __future__ import annotations

import pytest

from rnnviz import corpora, gradients, hello, seeds, train
from rnnviz.models import build
from rnnviz.sample import sample

BAD = [2**63, 2**64, 10**30, -1, 1.5, "7", True]
CLEAR = "must be a whole number from 0 to 9,223,372,036,854,775,807"


@pytest.fixture(scope="module")
def names():
    return corpora.load("names")


def _entry_points(names):
    model = build("gru", len(names.vocab), layers=1, hidden=16, embed=8, seed=0)
    tiny = dict(cell="gru", layers=1, hidden=16, embed=8, seq_len=16, batch_size=4)
    return {
        "sample": lambda s: sample(model, names.vocab, 5, seed=s),
        "build": lambda s: build("gru", 5, 1, 16, 8, seed=s),
        "trainer": lambda s: train.Trainer(names, train.TrainConfig(**tiny, seed=s)),
        "clip demo": lambda s: gradients.ClipDemoConfig(seed=s, steps=2).validate(),
        "hello init": lambda s: hello.init_params(5, 3, seed=s),
        "hello sampling": lambda s: hello.sample_chain(hello.init_params(4, 3), list("helo"), seed=s),
        "copy task": lambda s: hello.train_copy_task(gap=2, k=2, chars=100, hidden=4, seed=s, evals=1),
    }


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_every_entry_point_refuses_bad_seeds_clearly(names, bad):
    for name, call in _entry_points(names).items():
        if name == "clip demo" and isinstance(bad, (str, float, bool)):
            continue  # the demo's config converts with int() first, as its number widget does
        with pytest.raises(ValueError, match=CLEAR):
            call(bad)


def test_the_largest_seed_works(names):
    for call in _entry_points(names).values():
        call(seeds.MAX_SEED)  # no error
    a = sample(build("gru", len(names.vocab), 1, 16, 8, seed=seeds.MAX_SEED), names.vocab, 30, seed=seeds.MAX_SEED)
    b = sample(build("gru", len(names.vocab), 1, 16, 8, seed=seeds.MAX_SEED), names.vocab, 30, seed=seeds.MAX_SEED)
    assert a.text == b.text  # still reproducible


def test_train_cli_refuses_a_huge_seed_before_loading_anything(capsys):
    with pytest.raises(SystemExit) as e:
        train.main(["--corpus", "names", "--seed", str(2**64), "--steps", "1"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and CLEAR in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        train.main(["--corpus", "names", "--seed", "twelve", "--steps", "1"])
    assert "must be a whole number; got 'twelve'" in capsys.readouterr().err
