"""Save and load a date translator: safetensors weights + a JSON card, never pickle.

Same layout as ``rnnviz.checkpoint`` (the card lives in the safetensors header, and a
readable ``card.json`` sits beside bundled models), with its own format tag. Loading
reads only the header first, validates the card (format, vocabulary, model settings)
and every tensor's name, dtype and shape against the model the card describes
before any weights are allocated.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .. import checkpoint as charckpt
from .dates import PAD, Vocab
from .model import Seq2Seq, Seq2SeqConfig

FORMAT = "rnnviz-seq2seq/1"
MAX_BYTES = 20 * 1024 * 1024
DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}
PRETRAINED = os.path.join(charckpt.PRETRAINED_DIR, "dates_attention")
# The bundled pair: the same recipe with and without attention.
BUNDLED = {"attention": PRETRAINED, "none": os.path.join(charckpt.PRETRAINED_DIR, "dates_no_attention")}


@dataclass
class Seq2SeqCheckpoint:
    model: Seq2Seq
    in_vocab: Vocab
    card: dict

    @property
    def name(self) -> str:
        return self.card.get("name", "model")


def make_card(model: Seq2Seq, vocab: Vocab, extra: dict | None = None) -> dict:
    """The card: ``extra`` (name, training facts) plus the fields loading relies on."""
    card = {"format": FORMAT, "name": "model", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": charckpt.versions(), **(extra or {})}
    card.update(format=FORMAT, model=model.config.to_dict(), vocab=list(vocab.chars), params=model.num_params())
    return card


def to_bytes(model: Seq2Seq, vocab: Vocab, card: dict | None = None) -> bytes:
    card = make_card(model, vocab, card)
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    return st_save(tensors, metadata={"rnnviz_card": json.dumps(card, ensure_ascii=False)})


def save(model: Seq2Seq, vocab: Vocab, folder: str, card: dict | None = None) -> dict:
    """Write ``folder/model.safetensors`` and ``folder/card.json``; return the card."""
    data = to_bytes(model, vocab, card)
    card, _ = _header(data)
    charckpt.write_folder(folder, data, card)
    return card


def _header(data: bytes) -> tuple[dict, dict]:
    """The validated card and the tensor table, from the header alone."""
    if not isinstance(data, (bytes, bytearray)) or len(data) < 8:
        raise ValueError("This is not a safetensors file (it is empty or too short).")
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8")) if 0 < n <= len(data) - 8 else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict):
        if data[:1] == b"\x80" or data[:2] == b"PK":
            raise ValueError("This file is a pickle / PyTorch archive, not safetensors. rnnviz never "
                             "loads pickles because they can run code.")
        raise ValueError("This is not a valid safetensors file (its header is malformed).")
    meta = header.pop("__metadata__", None) or {}
    try:
        card = json.loads(meta["rnnviz_card"])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise ValueError("This file has no readable rnnviz model card, so its model is unknown. "
                         "Load a date translator saved by rnnviz.") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ValueError(f"This is not a date translator checkpoint (expected format {FORMAT}).")
    vocab = card.get("vocab")
    if (not isinstance(vocab, list) or not vocab or vocab[0] != PAD
            or not all(isinstance(c, str) and len(c) == 1 for c in vocab) or len(set(vocab)) != len(vocab)):
        raise ValueError("The model card's input vocabulary is malformed.")
    try:
        cfg = Seq2SeqConfig.from_dict(card.get("model"))
    except (TypeError, ValueError) as e:
        raise ValueError(f"The model card describes an invalid model: {e}") from None
    if cfg.in_vocab_size != len(vocab):
        raise ValueError("The model card's vocabulary size does not match its model.")
    return card, header


def from_bytes(data: bytes) -> Seq2SeqCheckpoint:
    if len(data) > MAX_BYTES:
        raise ValueError("This checkpoint is larger than 20 MB; date translators are far smaller.")
    card, table = _header(data)
    cfg = Seq2SeqConfig.from_dict(card["model"])
    with torch.device("meta"):  # shapes only, nothing allocated
        expected = {k: tuple(v.shape) for k, v in Seq2Seq(cfg).state_dict().items()}
    if set(table) != set(expected):
        missing, extra = sorted(set(expected) - set(table)), sorted(set(table) - set(expected))
        raise ValueError("The file's tensors do not match its model card"
                         + (f"; missing: {', '.join(missing[:5])}" if missing else "")
                         + (f"; unexpected: {', '.join(extra[:5])}" if extra else "") + ".")
    for k, shape in expected.items():
        info = table[k]
        if not isinstance(info, dict) or info.get("dtype") not in DTYPES:
            raise ValueError(f"Tensor {k} is not stored as floating point.")
        if tuple(info.get("shape", ())) != shape:
            raise ValueError(f"Tensor {k} has shape {tuple(info.get('shape', ()))} but the card's "
                             f"model needs {shape}.")
    try:
        tensors = st_load(bytes(data))
    except Exception as e:  # safetensors raises several types
        raise ValueError(f"The weights in this file could not be read ({type(e).__name__}).") from None
    for k, t in tensors.items():
        if not torch.isfinite(t).all():
            raise ValueError(f"Tensor {k} contains NaN or infinite values; the model is broken.")
    model = Seq2Seq(cfg)
    model.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return Seq2SeqCheckpoint(model, Vocab(tuple(card["vocab"])), card)


def load(path: str = PRETRAINED) -> Seq2SeqCheckpoint:
    """Load ``path`` (a .safetensors file or a folder holding model.safetensors);
    by default the bundled ``pretrained/dates_attention``."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.exists(path):
        raise ValueError(f"No checkpoint at {path}.")
    if os.path.getsize(path) > MAX_BYTES:
        raise ValueError("This checkpoint is larger than 20 MB; date translators are far smaller.")
    with open(path, "rb") as fh:
        return from_bytes(fh.read())
