"""Rebuild every bundled model in ``pretrained/`` with one command.

    python -m rnnviz.pretrain            # all models, one after another
    python -m rnnviz.pretrain --only python_lstm cpp_lstm
    python -m rnnviz.pretrain --only kernel_lstm austen_lstm   # need Debian packages, see below

Budgets are in optimisation steps with fixed seeds, so a rerun on the same
software gives the same loss curve (wall times differ by machine). On the 2-core
reference machine the whole set takes a little over an hour per lane; the
recorded wall time and validation loss of each run land in its ``card.json``.

``kernel_lstm`` and ``austen_lstm`` train on corpora that only pretraining needs
(``corpora.PRETRAIN_ONLY``): ``apt-get install -y linux-source-6.1`` for the kernel,
and ``r-cran-janeaustenr`` for Austen (installed, or without R: ``apt-get download
r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_*.deb DIR`` and
``RNNVIZ_AUSTEN_DIR=DIR``). Before training, their held-out part is written to
``rnnviz/heldout/``: the app shows that excerpt and the cards' cells are measured on it.
"""

from __future__ import annotations

import argparse
import importlib
import os

from . import corpora, train

# name -> (description, CLI arguments)
MODELS = {
    "python_lstm": (
        "2x256 LSTM on Python standard-library source; the cell explorer's model for "
        "indentation, column and string cells.",
        "--corpus python --cell lstm --layers 2 --hidden 256 --seq-len 128 --batch-size 32 "
        "--lr 2e-3 --steps 16000 --decay",
    ),
    "shakespeare_lstm": (
        "2x256 LSTM on the complete works of Shakespeare.",
        "--corpus shakespeare --cell lstm --layers 2 --hidden 256 --seq-len 64 --batch-size 32 "
        "--lr 2e-3 --steps 20000 --decay",
    ),
    "shakespeare_rnn": (
        "2x256 vanilla (tanh) RNN on Shakespeare, for comparison with the LSTM and GRU.",
        "--corpus shakespeare --cell rnn --layers 2 --hidden 256 --seq-len 64 --batch-size 32 "
        "--lr 1e-3 --steps 8000 --decay",
    ),
    "shakespeare_gru": (
        "2x256 GRU on Shakespeare, for comparison with the LSTM and vanilla RNN.",
        "--corpus shakespeare --cell gru --layers 2 --hidden 256 --seq-len 64 --batch-size 32 "
        "--lr 2e-3 --steps 6000 --decay",
    ),
    "cpp_lstm": (
        "2x256 LSTM on C/C++ headers from PyTorch (stand-in for the Linux kernel corpus).",
        "--corpus cpp --cell lstm --layers 2 --hidden 256 --seq-len 64 --batch-size 32 "
        "--lr 2e-3 --steps 6000 --decay",
    ),
    "kernel_lstm": (
        "1x128 LSTM on the Linux 6.1 kernel's C (the top-level kernel/*.c files); the cell explorer's model "
        "for comment and string cells. Held out: kernel/auditfilter.c and kernel/signal.c.",
        "--corpus kernel --cell lstm --layers 1 --hidden 128 --seq-len 128 --batch-size 32 "
        "--lr 3e-3 --steps 1800 --decay --eval-every 250",
    ),
    "austen_lstm": (
        "1x256 LSTM on Jane Austen's six novels; the cell explorer's model for the quote cell and the "
        "position-in-line cell. Held out: the last seven chapters of Pride and Prejudice.",
        "--corpus austen --cell lstm --layers 1 --hidden 256 --seq-len 128 --batch-size 32 --carry-state "
        "--lr 2e-3 --steps 12000 --decay --eval-every 500",
    ),
    "names_gru": (
        "1x128 GRU on US census first names: invents new names.",
        "--corpus names --cell gru --layers 1 --hidden 128 --embed 32 --seq-len 32 --batch-size 32 "
        "--lr 3e-3 --steps 3000 --decay --eval-every 100",
    ),
    "dates_attention": (
        "Date translator: bidirectional GRU 2x32 encoder, additive attention, GRU-64 decoder; "
        "human-readable dates in eight locales -> ISO yyyy-MM-dd.",
        "--attention additive --cell gru --enc-hidden 32 --dec-hidden 64 --batch-size 100 --lr 5e-3 "
        "--steps 1500 --decay --seed 0 --data-seed 0",
        "rnnviz.seq2seq.cli",
    ),
    "dates_no_attention": (
        "Date translator without attention: bidirectional GRU 2x32 encoder, GRU-64 decoder that sees only "
        "the encoder's final states (the one-vector bottleneck); human-readable dates in eight locales -> "
        "ISO yyyy-MM-dd.",
        "--attention none --cell gru --enc-hidden 32 --dec-hidden 64 --batch-size 100 --lr 5e-3 "
        "--steps 1500 --decay --seed 0 --data-seed 0",
        "rnnviz.seq2seq.cli",
    ),
}


# Names-lab models, built by ``python -m rnnviz.names`` (name -> (description, arguments)).
NAMES_MODELS = {
    "surnames_gru": (
        "GRU-64 surname -> language classifier (18 Latin-script languages from Faker), last-state read-out.",
        "--train classifier --dataset surnames --cell gru --hidden 64 --embed 32 --readout last "
        "--lr 3e-3 --batch-size 64 --seed 0 --steps 4000 --decay",
    ),
    "names_generator": (
        "GRU-128 surname generator conditioned on the language (class embedding fed with every letter).",
        "--train generator --dataset surnames --cell gru --hidden 128 --embed 32 --condition input "
        "--lr 3e-3 --batch-size 64 --seed 0 --steps 4000 --decay",
    ),
    "genders_gru": (
        "GRU-64 first name -> gender classifier (US census lists, soft labels), last-state read-out.",
        "--train classifier --dataset genders --cell gru --hidden 64 --embed 32 --readout last "
        "--lr 3e-3 --batch-size 64 --seed 0 --steps 2000 --decay",
    ),
    "genders_generator": (
        "GRU-64 first-name generator conditioned on the gender (class embedding fed with every letter).",
        "--train generator --dataset genders --cell gru --hidden 64 --embed 32 --condition input "
        "--lr 3e-3 --batch-size 64 --seed 0 --steps 2000 --decay",
    ),
}

# Models whose card records their best interpretable cells: name -> (characters of
# held-out text, hypotheses). Pretraining-only corpora are measured on their shipped
# held-out excerpt (``corpora.held_out``), which pretraining writes first.
PROBED = {
    "python_lstm": (20_000, ("indent", "column", "string")),
    "kernel_lstm": (20_000, ("comment", "string", "indent", "bracket", "if_cond", "column")),
    "austen_lstm": (20_000, ("double_quote", "column")),
}


# Issue 19's acceptance goals (best |r| on held-out text); the card says plainly
# whether the bundled model meets them (``acceptance``).
GOALS = {
    "python_lstm": {"string": 0.8, "indent": 0.85},
    "kernel_lstm": {"comment": 0.7, "string": 0.6},
    "austen_lstm": {"double_quote": 0.8, "column": 0.8},
}


def acceptance(goals: dict, reports: dict) -> dict:
    """{"goals", "measured" (per text: best |r| per goal), "met"} for a card."""
    measured = {where: {k: rep[k]["abs_r"] for k in goals} for where, rep in reports.items()}
    met = all(v >= goals[k] for m in measured.values() for k, v in m.items())
    return {"goals": goals, "measured": measured, "met": met}


# Extra held-out texts a card is measured on: name -> (card key, text, language).
PROBED_TEXTS = {"kernel_lstm": ("probes_deck", corpora.kernel_deck_functions, "c")}


def annotate_probes(folder: str, chars: int, keys=("indent", "column", "string"), extra=None) -> dict:
    """Measure the best cell per hypothesis in ``keys`` on held-out text and store
    them in the card (``probes``), in card.json and the safetensors header; ``extra``
    = (card key, text function, language) measures them on one more text too."""
    from . import checkpoint as ckpt
    from . import probes

    cp = ckpt.load(folder)
    rep = probes.report(cp, length=chars, keys=keys)
    card = dict(cp.card)
    card["probes"] = rep
    if extra is not None:
        key, text, language = extra
        card[key] = probes.report(cp, text(), language=language, keys=keys)
    name = card.get("name")
    if name in GOALS:
        card["acceptance"] = acceptance(GOALS[name], {k: card[k] for k in ("probes", "probes_deck") if k in card})
    ckpt.save(cp.model, cp.vocab, folder, card)
    return rep


def _build_names_model(name: str, args) -> None:
    from .names.__main__ import main as names_main

    desc, cli = NAMES_MODELS[name]
    parts = cli.split()
    if args.quick:
        k = parts.index("--steps")
        parts[k + 1] = str(max(20, int(parts[k + 1]) // 100))
    print(f"== {name}: {' '.join(parts)}", flush=True)
    names_main(parts + ["--threads", str(args.threads), "--out", os.path.join(args.out, name),
                        "--name", name, "--description", desc])


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m rnnviz.pretrain")
    p.add_argument("--only", nargs="*", default=None, help="names of models to build")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="1/100 of the steps (smoke test only)")
    p.add_argument("--annotate-only", action="store_true",
                   help="skip training; only (re)measure the interpretable cells of existing models")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(__file__)), "pretrained"))
    args = p.parse_args(argv)
    names = args.only or list(MODELS) + list(NAMES_MODELS)
    for name in names:
        if name in NAMES_MODELS:
            _build_names_model(name, args)
            continue
        desc, cli, *module = MODELS[name]  # a third item names another CLI module than rnnviz.train
        if args.quick:
            parts = cli.split()
            k = parts.index("--steps")
            parts[k + 1] = str(max(20, int(parts[k + 1]) // 100))
            cli = " ".join(parts) + ("" if module else " --final-eval-chars 20000")
        folder = os.path.join(args.out, name)
        corpus_name = cli.split()[cli.split().index("--corpus") + 1] if "--corpus" in cli.split() else None
        if corpus_name in corpora.PRETRAIN_ONLY and not args.annotate_only:
            print(f"   held-out text: {corpora.write_held_out(corpus_name)}", flush=True)
        if not args.annotate_only:
            print(f"== {name}: {cli}", flush=True)
            main_fn = importlib.import_module(module[0]).main if module else train.main
            main_fn(cli.split() + ["--threads", str(args.threads), "--out", folder,
                                   "--name", name, "--description", desc])
        if name in PROBED:
            chars, keys = PROBED[name]
            rep = annotate_probes(folder, chars if not args.quick else 2_000, keys, PROBED_TEXTS.get(name))
            print("   best cells: " + ", ".join(f"{k} |r|={rep[k]['abs_r']:.2f}" for k in keys), flush=True)


if __name__ == "__main__":
    main()
