"""Checkpoints: safetensors weights plus a JSON card. Never pickle.

A checkpoint is one ``.safetensors`` file whose metadata carries the card (so a
single downloaded file is self-contained), and, for bundled models, a readable
``card.json`` next to it. Loading checks the format, the card and every tensor's
name and shape, and raises ``ValueError`` with a plain explanation otherwise.

Everything is checked before anything is allocated: the card (architecture within
what rnnviz supports, the model's float32 size within ``MAX_CHECKPOINT_BYTES``) and
the safetensors header, which is parsed here (8-byte length + JSON) so that every
tensor's name, dtype, shape and byte range is compared with the card's model before
``safetensors`` reads a single weight. A crafted file that claims a huge model is
refused in milliseconds instead of after building that model.
"""

from __future__ import annotations

import json
import math
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
MAX_HEADER_BYTES = 100_000_000
# safetensors dtypes rnnviz accepts for weights (converted to float32 on load).
FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def too_large_message() -> str:
    return f"This checkpoint is larger than {_mb(MAX_CHECKPOINT_BYTES)}; rnnviz models are far smaller."


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
    data = to_bytes(model, vocab, card, **extra)
    card = read_card(data)
    write_folder(folder, data, card)
    return card


def write_folder(folder: str, data: bytes, card: dict, file: str = "model.safetensors") -> None:
    """Write a checkpoint folder: ``file`` (atomically, through a temporary name) and
    ``card.json``. Shared by every checkpoint format (char models and the labs')."""
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, file + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, file))
    with open(os.path.join(folder, "card.json"), "w", encoding="utf-8") as fh:
        json.dump(card, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def _read_header(data) -> dict:
    """The safetensors JSON header (parsed by hand: nothing else is read)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) < 8:
        raise ValueError("This is not a safetensors file (it is empty or too short).")
    n = int.from_bytes(data[:8], "little")
    header = None
    if 0 < n <= min(len(data) - 8, MAX_HEADER_BYTES):
        try:
            header = json.loads(bytes(data[8 : 8 + n]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            header = None
    if not isinstance(header, dict):
        if data[:1] == b"\x80" or data[:2] == b"PK":
            raise ValueError(
                "This file is a pickle / PyTorch .pt archive, not safetensors. rnnviz never loads "
                "pickles because they can run code; download the model from rnnviz again."
            )
        raise ValueError("This is not a valid safetensors file (its header is malformed).")
    return header


def _card_of(header: dict) -> dict:
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not isinstance(meta.get("rnnviz_card"), str):
        raise ValueError(
            "This safetensors file was not saved by rnnviz (it has no model card), so its "
            "architecture is unknown. Load a model downloaded from rnnviz."
        )
    try:
        card = json.loads(meta["rnnviz_card"])
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("The model card inside this file is not valid JSON.") from None
    if not isinstance(card, dict):
        raise ValueError("The model card inside this file is not a JSON object.")
    return card


def header_card(data: bytes) -> dict:
    """The rnnviz card from a safetensors header, parsed but not yet validated
    (each checkpoint format -- char models, the labs' models -- checks its own card)."""
    return _card_of(_read_header(data))


def read_card(data: bytes) -> dict:
    """Parse only the safetensors header and return the card (validated)."""
    card = header_card(data)
    _check_card(card)
    return card


def load_tensors(data: bytes) -> dict:
    """The tensors of a safetensors file (call after its card and header were checked)."""
    try:
        return st_load(bytes(data))
    except (SafetensorError, Exception) as e:  # safetensors raises several types
        raise ValueError(f"The weights in this file could not be read ({type(e).__name__}).") from None


def _same_names(expected, found) -> None:
    """The file holds exactly the tensors the card's model has (names only)."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise ValueError(
            "The file's tensors do not match its model card"
            + (f"; missing: {', '.join(missing[:5])}" if missing else "")
            + (f"; unexpected: {', '.join(str(k)[:40] for k in extra[:5])}" if extra else "")
            + "."
        )


def check_tensors(expected: dict, tensors: dict) -> None:
    """Every expected tensor present with its shape, floating point and finite; nothing extra
    (for formats whose models are cheap to build before their tensors are compared)."""
    _same_names(expected, tensors)
    for k, v in expected.items():
        t = tensors[k]
        if tuple(t.shape) != tuple(v.shape):
            raise ValueError(f"Tensor {k} has shape {tuple(t.shape)} but the card's model needs {tuple(v.shape)}.")
        if not t.dtype.is_floating_point:
            raise ValueError(f"Tensor {k} is not floating point.")
        if not torch.isfinite(t).all():
            raise ValueError(f"Tensor {k} contains NaN or infinite values; the model is broken.")


def expected_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor name of ``CharModel(cfg).state_dict()`` with its shape, computed
    from the config alone (no model is built)."""
    V, E, H = int(cfg.vocab_size), int(cfg.embed), int(cfg.hidden)
    G = GATES[cfg.cell] * H
    shapes = {"embed.weight": (V, E)}
    for k in range(int(cfg.layers)):
        shapes[f"rnn.weight_ih_l{k}"] = (G, E if k == 0 else H)
        shapes[f"rnn.weight_hh_l{k}"] = (G, H)
        shapes[f"rnn.bias_ih_l{k}"] = (G,)
        shapes[f"rnn.bias_hh_l{k}"] = (G,)
    shapes["head.weight"] = (V, H)
    shapes["head.bias"] = (V,)
    return shapes


def _check_tensors(header: dict, data_bytes: int, cfg: ModelConfig) -> None:
    """Compare the header's tensor entries with the card's model, before loading."""
    expected = expected_shapes(cfg)
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    _same_names(expected, entries)
    for k, shape in expected.items():
        e = entries[k]
        if not isinstance(e, dict):
            raise ValueError(f"The header entry of tensor {k} is malformed.")
        dtype, got, offsets = e.get("dtype"), e.get("shape"), e.get("data_offsets")
        if dtype not in FLOAT_DTYPES:
            raise ValueError(f"Tensor {k} is not floating point (dtype {str(dtype)[:10]}).")
        if not isinstance(got, list) or not all(type(d) is int for d in got):
            raise ValueError(f"The header gives tensor {k} a malformed shape.")
        if tuple(got) != shape:
            raise ValueError(f"Tensor {k} has shape {tuple(got)} but the card's model needs {shape}.")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1]
                or offsets[1] - offsets[0] != math.prod(shape) * FLOAT_DTYPES[dtype]):
            raise ValueError(f"The header gives tensor {k} a byte range that does not fit its shape.")
        if offsets[1] > data_bytes:
            raise ValueError(
                "The weights in this file could not be read: the file is cut short (it holds "
                f"{data_bytes:,} bytes of weights, tensor {k} needs {offsets[1]:,}). Download it again."
            )


def _check_card(card):
    """Validate a card; the model's size comes before the (possibly long) vocabulary."""
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ValueError(f"Unsupported model card format (expected {FORMAT}).")
    try:
        cfg = ModelConfig.from_dict(card.get("model") or {})
        cfg.validate()
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"The model card describes an invalid model: {e}") from None
    if not all(type(getattr(cfg, k)) is int for k in ("vocab_size", "layers", "hidden", "embed")):
        raise ValueError("The model card describes an invalid model: its sizes must be whole numbers.")
    size = 4 * sum(math.prod(s) for s in expected_shapes(cfg).values())
    if size > MAX_CHECKPOINT_BYTES:
        raise ValueError(
            f"The model card describes a model of {size // 4:,} parameters ({_mb(size)} in float32), "
            f"more than the {_mb(MAX_CHECKPOINT_BYTES)} rnnviz loads. rnnviz models are far smaller; "
            "load one trained with rnnviz."
        )
    vocab = card.get("vocab")
    if not isinstance(vocab, list) or not all(isinstance(c, str) and len(c) == 1 for c in vocab):
        raise ValueError("The model card's vocabulary is malformed.")
    if cfg.vocab_size != len(vocab):
        raise ValueError("The model card's vocabulary size does not match its model.")
    if len(set(vocab)) != len(vocab):
        raise ValueError("The model card's vocabulary has duplicate characters.")
    _check_card_fields(card)


# Card fields the pages show: (type check, what it must be). Text fields may hold
# anything (pages escape them) but not everything.
TEXT_FIELDS = {"name": 200, "corpus": 200, "description": 2000}


def _is_number(v, low=0.0):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= low


def _check_card_fields(card: dict) -> None:
    for key, limit in TEXT_FIELDS.items():
        v = card.get(key)
        if v is not None and (not isinstance(v, str) or len(v) > limit):
            raise ValueError(f"The model card's {key} must be a text of at most {limit:,} characters.")
    steps = card.get("steps")
    if steps is not None and not (type(steps) is int and steps >= 0):
        raise ValueError("The model card's step count must be a whole number of at least 0.")
    for key in ("val_loss", "wall_seconds"):
        if card.get(key) is not None and not _is_number(card[key]):
            raise ValueError(f"The model card's {key} must be a finite number of at least 0.")


def from_bytes(data: bytes) -> Checkpoint:
    """Load a checkpoint from bytes (e.g. an upload). Raises ValueError if unusable.

    The card and every header entry are checked first (see the module docstring);
    only a file that matches its card is handed to ``safetensors``.
    """
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise ValueError(too_large_message())
    header = _read_header(data)
    card = _card_of(header)
    _check_card(card)
    cfg = ModelConfig.from_dict(card["model"])
    _check_tensors(header, len(data) - 8 - int.from_bytes(data[:8], "little"), cfg)
    tensors = load_tensors(data)
    for k, t in tensors.items():
        if not torch.isfinite(t).all():
            raise ValueError(f"Tensor {k} contains NaN or infinite values; the model is broken.")
    model = CharModel(cfg)
    model.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()})
    model.eval()
    return Checkpoint(model=model, vocab=Vocab(tuple(card["vocab"])), card=card)


def load(path: str) -> Checkpoint:
    """Load ``path`` (a .safetensors file, or a folder containing model.safetensors)."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.exists(path):
        raise ValueError(f"No checkpoint at {path}.")
    if os.path.getsize(path) > MAX_CHECKPOINT_BYTES:
        raise ValueError(too_large_message())
    with open(path, "rb") as fh:
        return from_bytes(fh.read())


PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained")


def pretrained_names() -> list[str]:
    """Bundled character models (folders of ``pretrained/`` with a model.safetensors)."""
    if not os.path.isdir(PRETRAINED_DIR):
        return []
    return sorted(d for d in os.listdir(PRETRAINED_DIR) if _is_char_model(os.path.join(PRETRAINED_DIR, d)))


def _is_char_model(folder: str) -> bool:
    """A bundled character model (the labs' bundled models have cards of other formats)."""
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        return False
    try:
        with open(os.path.join(folder, "card.json"), encoding="utf-8") as fh:
            return json.load(fh).get("format", FORMAT) == FORMAT
    except (OSError, ValueError, AttributeError):
        return True  # no readable card.json: the weights file's own card decides on load


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
