"""Rebuild every bundled model in ``pretrained/`` with one command.

    python -m rnnviz.pretrain            # all models, one after another
    python -m rnnviz.pretrain --only python_lstm cpp_lstm

Budgets are in optimisation steps with fixed seeds, so a rerun on the same
software gives the same loss curve (wall times differ by machine). On the 2-core
reference machine the whole set takes a little over an hour per lane; the
recorded wall time and validation loss of each run land in its ``card.json``.
"""

from __future__ import annotations

import argparse
import importlib
import os

from . import train

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

PROBED = {"python_lstm": 20_000}  # models whose card records their best interpretable cells


def annotate_probes(folder: str, chars: int) -> dict:
    """Measure the best indentation / column / string cells on validation text and
    store them in the card (``probes``), in card.json and the safetensors header."""
    from . import checkpoint as ckpt
    from . import probes

    cp = ckpt.load(folder)
    rep = probes.report(cp, length=chars)
    card = dict(cp.card)
    card["probes"] = rep
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
        if not args.annotate_only:
            print(f"== {name}: {cli}", flush=True)
            main_fn = importlib.import_module(module[0]).main if module else train.main
            main_fn(cli.split() + ["--threads", str(args.threads), "--out", folder,
                                   "--name", name, "--description", desc])
        if name in PROBED:
            rep = annotate_probes(folder, PROBED[name] if not args.quick else 2_000)
            print("   best cells: " + ", ".join(
                f"{k} |r|={rep[k]['abs_r']:.2f}" for k in ("indent", "column", "string")), flush=True)


if __name__ == "__main__":
    main()
