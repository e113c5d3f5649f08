"""Human-readable dates in several languages and formats, paired with ISO dates.

The data set is generated offline: ``Faker`` draws calendar dates from a fixed seed
and ``Babel`` writes each one in a locale and a format ("jeudi 25 juin 2009",
"25.06.2009", "June 25, 2009"); the target is always ISO ``yyyy-MM-dd``. Splits are
made over the *underlying dates*, so no date (and hence no date string) appears in
two splits. Babel patterns use ``y``/``yyyy`` (the calendar year), never ``YYYY``,
the week-based year that turns 2009-12-31 into "2010".

Vocabularies: the input vocabulary is the training split's characters plus padding;
the output vocabulary is the eleven characters of an ISO date. ``encode_input``
explains clearly when typed text has unknown characters or is too long.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass

import torch
from babel.dates import format_date
from faker import Faker

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_PT", "nl_NL")
# Babel's named formats plus two patterns of our own; all use the calendar year.
FORMATS = ("full", "long", "medium", "EEE, d MMM yyyy", "dd.MM.yyyy")
FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)
MAX_INPUT_LEN = 40  # longer than any generated date; typed input beyond this is refused
OUT_CHARS = tuple("-0123456789")
OUT_LEN = 10  # "yyyy-MM-dd"
PAD = "\0"  # input padding (index 0), never a typed character


def render(date: dt.date, locale: str, fmt: str) -> str:
    """``date`` written in ``locale`` with a Babel named format or pattern."""
    return format_date(date, fmt, locale=locale)


def iso(date: dt.date) -> str:
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"


@dataclass(frozen=True)
class Example:
    text: str
    target: str
    locale: str
    fmt: str


@dataclass(frozen=True)
class Vocab:
    chars: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.chars)})

    def __len__(self) -> int:
        return len(self.chars)

    def check_known(self, text: str, advice: str) -> None:
        """Refuse ``text`` if it holds a character the model never saw (padding included),
        naming up to eight of them, followed by ``advice``."""
        unknown = sorted({c for c in text if c not in self.index or c == PAD})
        if unknown:
            shown = " ".join(repr(c) for c in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
            raise ValueError(f"The model never saw these characters in training: {shown}. {advice}")


OUT_VOCAB = Vocab(OUT_CHARS)


@dataclass(frozen=True)
class DateData:
    """Train / validation / test examples and the vocabularies."""

    seed: int
    train: tuple[Example, ...]
    val: tuple[Example, ...]
    test: tuple[Example, ...]
    in_vocab: Vocab
    out_vocab: Vocab = OUT_VOCAB

    task = "dates"
    out_len = OUT_LEN

    @property
    def key(self) -> str:
        return f"dates:{self.seed}:{len(self.train)}:{len(self.val)}:{len(self.test)}"


@functools.lru_cache(maxsize=4)
def make(seed: int = 0, n_train: int = 20_000, n_val: int = 1_000, n_test: int = 2_000) -> DateData:
    """The data set for ``seed``: the same seed always gives the same examples."""
    total = n_train + n_val + n_test
    if total > (LAST - FIRST).days + 1:
        raise ValueError("Ask for fewer examples: there are not that many distinct dates in 1950-2049.")
    fake = Faker()
    fake.seed_instance(seed)
    seen: set[dt.date] = set()
    dates: list[dt.date] = []
    while len(dates) < total:
        d = fake.date_between_dates(FIRST, LAST)
        if d not in seen:
            seen.add(d)
            dates.append(d)
    rng = random.Random(seed)
    examples = []
    for d in dates:
        loc, fmt = rng.choice(LOCALES), rng.choice(FORMATS)
        examples.append(Example(render(d, loc, fmt), iso(d), loc, fmt))
    train = tuple(examples[:n_train])
    val = tuple(examples[n_train:n_train + n_val])
    test = tuple(examples[n_train + n_val:])
    chars = sorted({c for e in train for c in e.text})
    return DateData(seed, train, val, test, Vocab((PAD, *chars)))


def check_input(text: str, vocab: Vocab) -> str:
    """Return ``text`` stripped, or raise ``ValueError`` saying what to change."""
    if not isinstance(text, str):
        raise ValueError("Type a date as text, for example 'jeudi 25 juin 2009'.")
    text = " ".join(text.split())
    if not text:
        raise ValueError("The input is empty: type a date, for example '25 June 2009'.")
    if len(text) > MAX_INPUT_LEN:
        raise ValueError(f"The input has {len(text):,} characters; the model reads at most "
                         f"{MAX_INPUT_LEN}. Type a single date, for example '25 June 2009'.")
    vocab.check_known(text, "Use letters, digits, spaces and the punctuation of dates (, . / -).")
    return text


def encode_input(texts, vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded index tensor (B, T) and lengths (B,) for already checked texts."""
    lens = [len(t) for t in texts]
    width, index = max(lens), vocab.index
    rows = [[index[c] for c in t] + [0] * (width - len(t)) for t in texts]
    return torch.tensor(rows, dtype=torch.long), torch.tensor(lens, dtype=torch.long)


def encode_output(targets, out_vocab: Vocab = OUT_VOCAB) -> torch.Tensor:
    return torch.tensor([[out_vocab.index[c] for c in t] for t in targets], dtype=torch.long)


def decode_output(ids, out_vocab: Vocab = OUT_VOCAB) -> list[str]:
    return ["".join(out_vocab.chars[int(i)] for i in row) for row in ids]


def tensors(examples, vocab: Vocab, out_vocab: Vocab = OUT_VOCAB) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, lengths, targets) for a split (of dates, or of ``strings`` with their ``out_vocab``)."""
    x, lens = encode_input([e.text for e in examples], vocab)
    return x, lens, encode_output([e.target for e in examples], out_vocab)


def split_tensors(data, examples):
    """``tensors`` of ``examples`` with ``data``'s own vocabularies (dates or strings)."""
    return tensors(examples, data.in_vocab, data.out_vocab)
