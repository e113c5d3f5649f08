"""Checkpoints of the names lab: safetensors weights with a JSON card. Never pickle.

The card (in the safetensors header, and as ``card.json`` beside bundled models)
says which network it is (``kind``: classifier or generator), its configuration,
the alphabet (``vocab``, id 0 = BOUNDARY), the class names and the dataset they
came from. Loading checks the card completely - format, kind, configuration within
the library's bounds, alphabet and classes consistent with it - *before* any
network is built, then checks every tensor's name, shape, type and finiteness.
Anything wrong raises ``ValueError`` with a plain sentence.

Bundled models live in ``pretrained/<name>/names.safetensors`` (not
``model.safetensors``), so the character-model lists of other pages never see them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import torch
from safetensors.torch import save as st_save

from .. import checkpoint as ckpt
from ..corpora import Vocab
from .data import BOUNDARY
from .model import ClassifierConfig, GeneratorConfig, NameClassifier, NameGenerator

FORMAT = "rnnviz-names/1"
FILE = "names.safetensors"
MAX_BYTES = 20 * 1024 * 1024  # the largest allowed configuration is far below this
KINDS = {"classifier": (ClassifierConfig, NameClassifier), "generator": (GeneratorConfig, NameGenerator)}
BUNDLED = ("surnames_gru", "names_generator", "genders_gru", "genders_generator")


@dataclass
class NamesCheckpoint:
    model: NameClassifier | NameGenerator
    vocab: Vocab
    classes: tuple[str, ...]
    card: dict

    @property
    def kind(self) -> str:
        return self.card["kind"]

    @property
    def name(self) -> str:
        return str(self.card.get("name", "model"))


def make_card(kind: str, model, vocab: Vocab, classes, **extra) -> dict:
    card = {"format": FORMAT, "kind": kind, "name": extra.pop("name", "model"),
            "model": model.config.to_dict(), "vocab": list(vocab.chars), "classes": list(classes),
            "params": model.num_params(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": ckpt.versions()}
    card.update(extra)
    return card


def to_bytes(cp: NamesCheckpoint) -> bytes:
    check_card(cp.card)
    tensors = {k: v.detach().contiguous().clone() for k, v in cp.model.state_dict().items()}
    return st_save(tensors, metadata={"rnnviz_card": json.dumps(cp.card, ensure_ascii=False)})


def save(cp: NamesCheckpoint, folder: str) -> dict:
    """Write ``folder/names.safetensors`` and ``folder/card.json``; return the card."""
    ckpt.write_folder(folder, to_bytes(cp), cp.card, file=FILE)
    return cp.card


def check_card(card) -> tuple[type, object]:
    """Validate a card; return (network class, its configuration)."""
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ValueError(f"This is not a names-lab model (its card's format is not {FORMAT}).")
    kind = card.get("kind")
    if kind not in KINDS:
        raise ValueError("The model card does not say whether this is a classifier or a generator.")
    vocab, classes = card.get("vocab"), card.get("classes")
    if (not isinstance(vocab, list) or not all(isinstance(c, str) and len(c) == 1 for c in vocab)
            or len(set(vocab)) != len(vocab) or not vocab or vocab[0] != BOUNDARY):
        raise ValueError("The model card's alphabet is malformed.")
    if (not isinstance(classes, list) or not all(isinstance(c, str) and 0 < len(c) <= 40 for c in classes)
            or len(set(classes)) != len(classes)):
        raise ValueError("The model card's class names are malformed (unique texts of 1 to 40 characters).")
    cfg_cls, net = KINDS[kind]
    try:
        cfg = cfg_cls.from_dict(card.get("model"))
    except (TypeError, ValueError) as e:
        raise ValueError(f"The model card describes an invalid model: {e}") from None
    if cfg.vocab_size != len(vocab) or cfg.classes != len(classes):
        raise ValueError("The model card's alphabet or classes do not match its model's size.")
    return net, cfg


def from_bytes(data: bytes) -> NamesCheckpoint:
    if len(data) > MAX_BYTES:
        raise ValueError("This file is larger than 20 MB; names-lab models are far smaller.")
    card = ckpt.header_card(data)
    net, cfg = check_card(card)  # everything checked before anything is allocated
    tensors = ckpt.load_tensors(data)
    model = net(cfg)
    ckpt.check_tensors(model.state_dict(), tensors)
    model.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()})
    return NamesCheckpoint(model.frozen(), Vocab(tuple(card["vocab"])), tuple(card["classes"]), card)


def load(path: str) -> NamesCheckpoint:
    """Load a ``.safetensors`` file, or a folder holding ``names.safetensors``."""
    if os.path.isdir(path):
        path = os.path.join(path, FILE)
    if not os.path.exists(path):
        raise ValueError(f"No names-lab model at {path}.")
    if os.path.getsize(path) > MAX_BYTES:
        raise ValueError("This file is larger than 20 MB; names-lab models are far smaller.")
    with open(path, "rb") as fh:
        return from_bytes(fh.read())


def load_bundled(name: str) -> NamesCheckpoint:
    if name not in BUNDLED:
        raise ValueError(f"No bundled names model called {name!r}; choose {', '.join(BUNDLED)}.")
    return load(os.path.join(ckpt.PRETRAINED_DIR, name))
