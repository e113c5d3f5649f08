"""``python -m rnnviz.sample``: the same text and probabilities as the library call
``rnnviz.sample.sample(...)`` with the same arguments, and clear errors."""

from __future__ import annotations

import json

import pytest
from test_cli_train import TEXT, TINY, run_cli

from rnnviz import checkpoint as ckpt
from rnnviz import sample as sample_module
from rnnviz import train
from rnnviz.sample import sample


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample_cli")
    (folder / "own.txt").write_text(TEXT, encoding="utf-8")
    train.main(["--text", str(folder / "own.txt"), *TINY, "--steps", "20", "--quiet", "--out", str(folder / "m")])
    return str(folder / "m")


def cli_text(capsysbinary, argv) -> str:
    sample_module.main(argv)
    return capsysbinary.readouterr().out.decode("utf-8")


OPTIONS = [
    (["--seed", "3"], {"seed": 3}),
    (["--prime", "The quick", "--length", "50", "--seed", "11"], {"length": 50, "prime": "The quick", "seed": 11}),
    (["--temperature", "0.5", "--top-k", "3", "--seed", "2"], {"temperature": 0.5, "top_k": 3, "seed": 2}),
    (["--greedy", "--prime", "She "], {"greedy": True, "prime": "She "}),
    (["--temperature", "0", "--length", "30"], {"temperature": 0.0, "length": 30, "seed": None}),
]


@pytest.mark.parametrize("argv, kwargs", OPTIONS, ids=[" ".join(a) for a, _ in OPTIONS])
def test_cli_text_is_the_library_sample(trained, capsysbinary, argv, kwargs):
    cp = ckpt.load(trained)
    kwargs = {"length": 500, **kwargs}
    expected = sample(cp.model, cp.vocab, kwargs.pop("length"), **kwargs)
    assert cli_text(capsysbinary, [trained, *argv]) == expected.full_text + "\n"


def test_json_has_every_probability_of_the_library_sample(trained, capsysbinary):
    got = json.loads(cli_text(capsysbinary, [trained, "--prime", "How", "--length", "40", "--seed", "5",
                                             "--top-k", "10", "--json"]))
    cp = ckpt.load(trained)
    s = sample(cp.model, cp.vocab, 40, prime="How", top_k=10, seed=5)
    assert got["text"] == s.text and got["prime"] == "How" and got["seed"] == 5 and got["top_k"] == 10
    assert [c["char"] for c in got["chars"]] == list(s.text)
    assert [c["prob"] for c in got["chars"]] == [float(p) for p in s.probs]
    assert [[(a["char"], a["prob"]) for a in c["top"]] for c in got["chars"]] == s.top
    assert got["mean_log_prob"] == pytest.approx(s.mean_log_prob())


def test_a_bundled_model_by_name_through_python_m():
    cp = ckpt.load_pretrained("names_gru")
    r = run_cli("rnnviz.sample", "names_gru", "--prime", "Mar", "--length", "60", "--seed", "1")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode("utf-8") == sample(cp.model, cp.vocab, 60, prime="Mar", seed=1).full_text + "\n"


def test_without_a_seed_the_seed_is_reported_and_reproduces(trained, capsysbinary):
    first = sample_module.main([trained, "--length", "60"]) or capsysbinary.readouterr()
    seed = int(first.err.decode().split("--seed ")[1].split()[0])
    assert cli_text(capsysbinary, [trained, "--length", "60", "--seed", str(seed)]) == first.out.decode()


def test_unknown_prime_characters_get_the_apps_message(trained, capsys):
    cp = ckpt.load(trained)
    with pytest.raises(ValueError) as lib:
        sample(cp.model, cp.vocab, 10, prime="Zoë §")
    with pytest.raises(SystemExit) as e:
        sample_module.main([trained, "--prime", "Zoë §"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and str(lib.value) in err and "'ë'" in err


BAD = [
    ([], "the following arguments are required: checkpoint"),
    (["nowhere_model"], "no bundled model or checkpoint called 'nowhere_model'"),
    (["{model}", "--length", "0"], "argument --length: must be at least 1"),
    (["{model}", "--length", "30000"], "Length must be a whole number between 1 and 20,000"),
    (["{model}", "--temperature", "-1"], "argument --temperature: must be 0 or a positive number"),
    (["{model}", "--temperature", "hot"], "argument --temperature: expected a number"),
    (["{model}", "--temperature", "500"], "Temperature must be between 0 and 100"),
    (["{model}", "--top-k", "0"], "argument --top-k: must be at least 1"),
    (["{model}", "--seed", "-4"], "argument --seed: The seed must be a whole number from 0 to"),
    (["{model}", "--seed", str(2**64)], "argument --seed: The seed must be a whole number from 0 to"),
    (["{model}", "--greedy", "--temperature", "0.7"], "cannot be combined"),
    (["{model}", "--greedy", "--top-k", "3"], "cannot be combined"),
    (["{model}/card.json"], "not a valid safetensors file"),
]


@pytest.mark.parametrize("argv, message", BAD, ids=[" ".join(a) or "nothing" for a, _ in BAD])
def test_bad_arguments_get_a_clear_message_and_exit_2(trained, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        sample_module.main([a.format(model=trained) for a in argv])
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and "Traceback" not in err


def test_every_option_has_help_text():
    for action in sample_module.build_parser()._actions:
        assert action.help and len(action.help) > 10, action.option_strings
