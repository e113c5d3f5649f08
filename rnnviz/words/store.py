"""Saving and loading word vectors: one safetensors file plus a JSON card. Never pickle.

``vectors.safetensors`` holds one float32 tensor ``vectors`` (words x dim); its
metadata carries the card (format, words in row order, how they were trained),
so the single file is self-contained; ``card.json`` next to it is the same card,
readable. Loading checks the header before any tensor is allocated: the format,
a list of distinct non-empty words, a shape that matches it, a size limit, and
finite values.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..checkpoint import versions, write_folder
from .vectors import Embeddings

FORMAT = "rnnviz-wordvectors/1"
FILE = "vectors.safetensors"
MAX_BYTES = 500 * 1024 * 1024
MAX_WORDS = 2_000_000
MAX_DIM = 1024


def to_bytes(emb: Embeddings, **card) -> bytes:
    card = {"format": FORMAT, "name": emb.name, "words": list(emb.words), "dim": emb.dim,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "versions": versions(),
            **card}
    tensor = torch.from_numpy(np.ascontiguousarray(emb.matrix, dtype=np.float32).copy())
    return st_save({"vectors": tensor}, metadata={"rnnviz_card": json.dumps(card, ensure_ascii=False)})


def save(emb: Embeddings, folder: str, **card) -> dict:
    """Write ``folder/vectors.safetensors`` and ``folder/card.json``; return the card."""
    data = to_bytes(emb, **card)
    card = read_card(data)
    write_folder(folder, data, card, file=FILE)
    return card


def _header(data: bytes) -> dict:
    if len(data) < 8:
        raise ValueError("This is not a safetensors file (it is empty or too short).")
    n = int.from_bytes(data[:8], "little")
    if not 0 < n <= min(len(data) - 8, 100_000_000):
        raise ValueError("This is not a valid safetensors file (its header size is wrong).")
    try:
        header = json.loads(data[8: 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict):
        raise ValueError("This is not a valid safetensors file (its header is malformed).")
    return header


def read_card(data: bytes) -> dict:
    """The card of saved vectors, validated against the tensor's declared shape."""
    header = _header(data)
    meta = header.get("__metadata__") or {}
    try:
        card = json.loads(meta.get("rnnviz_card", ""))
    except json.JSONDecodeError:
        raise ValueError("These vectors have no readable card; save them with rnnviz again.") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ValueError(f"This file does not hold rnnviz word vectors (expected format {FORMAT}).")
    words = card.get("words")
    if (not isinstance(words, list) or not 2 <= len(words) <= MAX_WORDS
            or not all(isinstance(w, str) and w for w in words)):
        raise ValueError("The card's word list is missing or malformed (it needs 2 or more non-empty words).")
    if len(set(words)) != len(words):
        raise ValueError("The card's word list has duplicate words.")
    info = header.get("vectors")
    dim = card.get("dim")
    if not isinstance(info, dict) or info.get("dtype") != "F32" or info.get("shape") != [len(words), dim]:
        raise ValueError(
            "The file's tensor does not match its card: it needs one float32 row of "
            f"{dim} numbers per word ({len(words)} words)."
        )
    if not isinstance(dim, int) or not 1 <= dim <= MAX_DIM:
        raise ValueError(f"The card's vector size must be between 1 and {MAX_DIM}.")
    return card


def from_bytes(data: bytes) -> tuple[Embeddings, dict]:
    if len(data) > MAX_BYTES:
        raise ValueError(f"This file is larger than {MAX_BYTES // 2**20} MB; rnnviz vectors are far smaller.")
    card = read_card(data)
    try:
        matrix = st_load(bytes(data))["vectors"].numpy()
    except (SafetensorError, Exception) as e:  # safetensors raises several types
        raise ValueError(f"The vectors in this file could not be read ({type(e).__name__}).") from None
    if not np.isfinite(matrix).all():
        raise ValueError("The vectors contain NaN or infinite values; they are broken.")
    return Embeddings(card["words"], matrix, card.get("name") or "saved vectors"), card


def load(path: str) -> tuple[Embeddings, dict]:
    """Vectors and card from a folder (or the .safetensors file itself)."""
    if os.path.isdir(path):
        path = os.path.join(path, FILE)
    if not os.path.isfile(path):
        raise ValueError(f"No saved vectors at {path}. Train with --out FOLDER first.")
    if os.path.getsize(path) > MAX_BYTES:
        raise ValueError(f"This file is larger than {MAX_BYTES // 2**20} MB; rnnviz vectors are far smaller.")
    with open(path, "rb") as fh:
        return from_bytes(fh.read())
