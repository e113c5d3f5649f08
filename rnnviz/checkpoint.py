"""Checkpoints: safetensors weights plus a JSON card. Never pickle.

A checkpoint is one ``.safetensors`` file whose metadata carries the card (so a
single downloaded file is self-contained), and, for bundled models, a readable
``card.json`` next to it. Loading checks the format, the card and every tensor's
name and shape, and raises ``ValueError`` with a plain explanation otherwise.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from . import __version__
from .corpora import Vocab
from .models import CharModel, ModelConfig

FORMAT = "rnnviz-charmodel/1"
MAX_CHECKPOINT_BYTES = 200 * 1024 * 1024


@dataclass
class Checkpoint:
    model: CharModel
    vocab: Vocab
    card: dict

    @property
    def name(self) -> str:
        return self.card.get("name", "model")


def versions() -> dict:
    import numpy

    return {
        "rnnviz": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def make_card(model: CharModel, vocab: Vocab, **extra) -> dict:
    card = {
        "format": FORMAT,
        "name": extra.pop("name", "model"),
        "model": model.config.to_dict(),
        "vocab": list(vocab.chars),
        "params": model.num_params(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": versions(),
    }
    card.update(extra)
    return card


def to_bytes(model: CharModel, vocab: Vocab, card: dict | None = None, **extra) -> bytes:
    """Serialise to safetensors bytes with the card in the header metadata."""
    card = dict(card) if card else make_card(model, vocab, **extra)
    card["format"] = FORMAT
    card["model"] = model.config.to_dict()
    card["vocab"] = list(vocab.chars)
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    return st_save(tensors, metadata={"rnnviz_card": json.dumps(card, ensure_ascii=False)})


def save(model: CharModel, vocab: Vocab, folder: str, card: dict | None = None, **extra) -> dict:
    """Write ``folder/model.safetensors`` and ``folder/card.json``; return the card."""
    os.makedirs(folder, exist_ok=True)
    data = to_bytes(model, vocab, card, **extra)
    card = read_card(data)
    tmp = os.path.join(folder, "model.safetensors.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "card.json"), "w", encoding="utf-8") as fh:
        json.dump(card, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return card


def read_card(data: bytes) -> dict:
    """Parse only the safetensors header and return the card (validated)."""
    card = header_card(data)
    _check_card(card)
    return card


def header_card(data: bytes) -> dict:
    """The rnnviz card from a safetensors header, parsed but not yet validated
    (each checkpoint format checks its own card)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) < 8:
        raise ValueError("This is not a safetensors file (it is empty or too short).")
    n = int.from_bytes(data[:8], "little")
    header = None
    if 0 < n <= min(len(data) - 8, 100_000_000):
        try:
            header = json.loads(data[8 : 8 + n].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            header = None
    if not isinstance(header, dict):
        if data[:1] == b"\x80" or data[:2] == b"PK":
            raise ValueError(
                "This file is a pickle / PyTorch .pt archive, not safetensors. rnnviz never loads "
                "pickles because they can run code; download the model from rnnviz again."
            )
        raise ValueError("This is not a valid safetensors file (its header is malformed).")
    meta = header.get("__metadata__") or {}
    if "rnnviz_card" not in meta:
        raise ValueError(
            "This safetensors file was not saved by rnnviz (it has no model card), so its "
            "architecture is unknown. Load a model downloaded from rnnviz."
        )
    try:
        card = json.loads(meta["rnnviz_card"])
    except json.JSONDecodeError:
        raise ValueError("The model card inside this file is not valid JSON.") from None
    if not isinstance(card, dict):
        raise ValueError("The model card inside this file is not a JSON object.")
    return card


def _check_card(card):
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ValueError(f"Unsupported model card format (expected {FORMAT}).")
    if not isinstance(card.get("vocab"), list) or not all(
        isinstance(c, str) and len(c) == 1 for c in card["vocab"]
    ):
        raise ValueError("The model card's vocabulary is malformed.")
    if len(set(card["vocab"])) != len(card["vocab"]):
        raise ValueError("The model card's vocabulary has duplicate characters.")
    try:
        cfg = ModelConfig.from_dict(card.get("model") or {})
        cfg.validate()
    except (TypeError, ValueError) as e:
        raise ValueError(f"The model card describes an invalid model: {e}") from None
    if cfg.vocab_size != len(card["vocab"]):
        raise ValueError("The model card's vocabulary size does not match its model.")


def from_bytes(data: bytes) -> Checkpoint:
    """Load a checkpoint from bytes (e.g. an upload). Raises ValueError if unusable."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise ValueError("This checkpoint is larger than 200 MB; rnnviz models are far smaller.")
    card = read_card(data)
    tensors = load_tensors(data)
    cfg = ModelConfig.from_dict(card["model"])
    model = CharModel(cfg)
    check_tensors(model.state_dict(), tensors)
    model.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()})
    model.eval()
    return Checkpoint(model=model, vocab=Vocab(tuple(card["vocab"])), card=card)


def load_tensors(data: bytes) -> dict:
    """The tensors of a safetensors file (after its card was checked)."""
    try:
        return st_load(bytes(data))
    except (SafetensorError, Exception) as e:  # safetensors raises several types
        raise ValueError(f"The weights in this file could not be read ({type(e).__name__}).") from None


def check_tensors(expected: dict, tensors: dict) -> None:
    """Every expected tensor present with its shape, floating point and finite; nothing extra."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ValueError(
            "The file's tensors do not match its model card"
            + (f"; missing: {', '.join(missing[:5])}" if missing else "")
            + (f"; unexpected: {', '.join(extra[:5])}" if extra else "")
            + "."
        )
    for k, v in expected.items():
        t = tensors[k]
        if tuple(t.shape) != tuple(v.shape):
            raise ValueError(
                f"Tensor {k} has shape {tuple(t.shape)} but the card's model needs {tuple(v.shape)}."
            )
        if not t.dtype.is_floating_point:
            raise ValueError(f"Tensor {k} is not floating point.")
        if not torch.isfinite(t).all():
            raise ValueError(f"Tensor {k} contains NaN or infinite values; the model is broken.")


def load(path: str) -> Checkpoint:
    """Load ``path`` (a .safetensors file, or a folder containing model.safetensors)."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.exists(path):
        raise ValueError(f"No checkpoint at {path}.")
    if os.path.getsize(path) > MAX_CHECKPOINT_BYTES:
        raise ValueError("This checkpoint is larger than 200 MB; rnnviz models are far smaller.")
    with open(path, "rb") as fh:
        return from_bytes(fh.read())


PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained")


def pretrained_names() -> list[str]:
    """Bundled models (folders of ``pretrained/`` holding a model.safetensors)."""
    if not os.path.isdir(PRETRAINED_DIR):
        return []
    return sorted(
        d for d in os.listdir(PRETRAINED_DIR)
        if os.path.exists(os.path.join(PRETRAINED_DIR, d, "model.safetensors"))
    )


def pretrained_card(name: str) -> dict:
    """The card of a bundled model, read from its card.json (no weights loaded)."""
    if name not in pretrained_names():
        raise ValueError(f"No bundled model called {name!r}.")
    path = os.path.join(PRETRAINED_DIR, name, "card.json")
    try:
        with open(path, encoding="utf-8") as fh:
            card = json.load(fh)
    except (OSError, json.JSONDecodeError):
        return read_card(open(os.path.join(PRETRAINED_DIR, name, "model.safetensors"), "rb").read())
    _check_card(card)
    return card


def load_pretrained(name: str) -> Checkpoint:
    if name not in pretrained_names():
        raise ValueError(f"No bundled model called {name!r}.")
    return load(os.path.join(PRETRAINED_DIR, name))
