"""Every lab's command line refuses a bad budget or thread count the same way
(``rnnviz.cli.check_training_args``): one clear sentence on stderr and exit code 2,
before any data is loaded or any model is built. In-process ``main([...])`` calls."""

import pytest

from rnnviz import cli, deepnet_trainer, word2vec
from rnnviz.dropout import race as dropout
from rnnviz.forecast import trainer as forecast
from rnnviz.memory import cli as memory
from rnnviz.names import __main__ as names
from rnnviz.seq2seq import cli as seq2seq
from rnnviz.tagging import cli as tagging

# lab: (main, arguments every call needs, the time-budget option or None)
LABS = {
    "tagging": (tagging.main, [], "--seconds"),
    "dropout": (dropout.main, [], "--seconds"),
    "memory": (memory.main, [], "--seconds"),
    "forecast": (forecast.main, [], "--seconds"),
    "deepnet": (deepnet_trainer.main, [], None),
    "names": (names.main, ["--train", "classifier"], "--minutes"),
    "seq2seq": (seq2seq.main, [], "--minutes"),
    "words": (word2vec.main, [], "--minutes"),
}
TOO_MANY = str(cli.cores() + 1)
BAD = [(["--steps", "-1"], "--steps must be at least"),
       (["--threads", "0"], "--threads must be from 1 to"),
       (["--threads", TOO_MANY], f"--threads must be from 1 to {cli.cores()}, the number of cores")]


def exit_code(main, argv) -> int:
    """What ``python -m`` would exit with: main's return value or its SystemExit code."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def cases():
    for lab, (_main, _base, time) in LABS.items():
        for argv, words in BAD:
            yield pytest.param(lab, argv, words, id=f"{lab}{' '.join(argv)}")
        if time:
            yield pytest.param(lab, [time, "-1"], f"{time} must be above 0 and at most", id=f"{lab}{time}-1")


@pytest.mark.parametrize("lab, argv, words", list(cases()))
def test_each_lab_cli_refuses_a_bad_budget_or_thread_count_with_one_sentence(lab, argv, words, capsys):
    main, base, _ = LABS[lab]
    assert exit_code(main, base + argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err, err


def test_the_check_accepts_what_it_should_and_names_what_is_wrong():
    from argparse import Namespace

    cli.check_training_args(Namespace(steps=0, seconds=None, threads=1))
    cli.check_training_args(Namespace(steps=None, minutes=1_440, threads=cli.cores()), time="minutes")
    cli.check_training_args(Namespace(steps=5, seconds=2.0), exclusive=False)
    with pytest.raises(ValueError, match="Give --steps or --seconds, not both"):
        cli.check_training_args(Namespace(steps=5, seconds=2.0))
    with pytest.raises(ValueError, match=r"--steps must be at least 1 \(got 0\): give a positive number"):
        cli.check_training_args(Namespace(steps=0), min_steps=1)
    with pytest.raises(ValueError, match="--seconds must be above 0"):
        cli.check_training_args(Namespace(steps=None, seconds=float("nan")))
    with pytest.raises(ValueError, match="--minutes must be above 0 and at most 1,440"):
        cli.check_training_args(Namespace(minutes=1_441.0), time="minutes")
