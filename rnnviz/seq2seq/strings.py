"""Reverse or copy a string of symbols: the seq2seq task where attention matters most.

Every string has the same length L (the student picks it, ``MIN_LEN`` ... ``MAX_LEN``)
and uses the ten letters ``a`` ... ``j``. The target is the string reversed
("abcde" -> "edcba") or copied unchanged. Without attention, the decoder must
rebuild all L symbols from one summary vector, and L symbols of ten kinds are
L·log2(10) bits to squeeze in: the longer the string, the harder. With attention
it only has to learn *where* to look (the anti-diagonal for reversal, the diagonal
for copying).

The strings come from a ``random.Random`` with a fixed seed; duplicates are dropped
before the split, so no string appears in two splits (held-out strings are never
seen in training). ``check_input`` explains clearly what is wrong with a typed string.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from .dates import PAD, Example, Vocab

ALPHABET = "abcdefghij"
TASKS = {"reverse": "Reverse", "copy": "Copy"}
MIN_LEN, MAX_LEN = 5, 30
OUT_VOCAB = Vocab(tuple(ALPHABET))
IN_VOCAB = Vocab((PAD, *ALPHABET))


def target(task: str, text: str) -> str:
    return text[::-1] if task == "reverse" else text


def example_text(length: int) -> str:
    """A readable default input: the alphabet in order, repeated to ``length``."""
    return (ALPHABET * (length // len(ALPHABET) + 1))[:length]


@dataclass(frozen=True)
class StringData:
    """Train / validation / test strings of one task and length (same fields as ``DateData``)."""

    task: str
    length: int
    seed: int
    train: tuple[Example, ...]
    val: tuple[Example, ...]
    test: tuple[Example, ...]
    in_vocab: Vocab = IN_VOCAB
    out_vocab: Vocab = OUT_VOCAB

    @property
    def out_len(self) -> int:
        return self.length

    @property
    def key(self) -> str:
        return f"{self.task}:{self.length}:{self.seed}:{len(self.train)}:{len(self.val)}:{len(self.test)}"


def check_settings(task: str, length: int) -> None:
    if task not in TASKS:
        raise ValueError(f"Unknown string task {task!r}: use one of {', '.join(TASKS)}.")
    if isinstance(length, bool) or not isinstance(length, int) or not MIN_LEN <= length <= MAX_LEN:
        raise ValueError(f"The string length must be a whole number from {MIN_LEN} to {MAX_LEN} (got {length!r}).")


@functools.lru_cache(maxsize=8)
def make(task: str = "reverse", length: int = 10, seed: int = 0, n_train: int = 20_000, n_val: int = 500,
         n_test: int = 1_000) -> StringData:
    """The data set for (task, length, seed): the same arguments always give the same strings."""
    check_settings(task, length)
    rng = random.Random(f"strings:{length}:{seed}")  # the task only changes the targets
    total, seen, texts = n_train + n_val + n_test, set(), []
    while len(texts) < total:  # 10**5 strings exist at the shortest length, far more than asked for
        s = "".join(rng.choices(ALPHABET, k=length))
        if s not in seen:
            seen.add(s)
            texts.append(s)
    ex = [Example(s, target(task, s), "", task) for s in texts]
    return StringData(task, length, seed, tuple(ex[:n_train]), tuple(ex[n_train:n_train + n_val]),
                      tuple(ex[n_train + n_val:]))


def check_input(text: str, vocab: Vocab, length: int) -> str:
    """Return ``text`` without spaces, or raise ``ValueError`` saying what to change."""
    if not isinstance(text, str):
        raise ValueError(f"Type a string of {length} letters from a to j, for example {example_text(length)!r}.")
    text = "".join(text.split())
    if not text:
        raise ValueError(f"The input is empty: type {length} letters from a to j, for example "
                         f"{example_text(length)!r}.")
    vocab.check_known(text, "Use only the lowercase letters a to j.")
    if len(text) != length:
        raise ValueError(f"The input has {len(text):,} letters, but this model was trained on strings of "
                         f"exactly {length}. Type {length} letters, or change the length in the Race view.")
    return text
