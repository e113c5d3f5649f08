"""Words and a vocabulary with counts: the unit word2vec learns a vector for.

A word is a run of letters or digits, with inner apostrophes kept ("o'er",
"'tis" loses its leading one), lower-cased so "The" and "the" share a vector.
The vocabulary is ordered by count (most frequent first, ties alphabetically),
which is also the order subsampling and the noise distribution are shown in.

Built-in corpora come from ``rnnviz.corpora`` and user text passes the same checks
(``corpora.validate_text`` / ``decode_bytes``) before the word-level ones here.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .. import corpora

# Linear-time pattern: each apostrophe must be followed by a letter, so there is
# never more than one way to match a run.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
MIN_WORDS = 2  # distinct words needed to have anything to predict


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text`` in order ("The quick, brown fox." -> the quick brown fox).

    Words are found in the original text and lowered one by one: lowering first can
    change the text ("\u0130" becomes "i" plus a combining dot, which split the word)."""
    return [w.lower() for w in _WORD.findall(text)]


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of every word of ``text``: the words of ``tokenize`` with where
    they stand in the original text, so a page can colour them in place."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class WordVocab:
    """Words (most frequent first) with their counts in the corpus."""

    words: tuple[str, ...]
    counts: np.ndarray  # int64, aligned with ``words``
    stoi: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "stoi", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def from_tokens(cls, tokens, min_count: int = 1, max_words: int | None = None) -> WordVocab:
        counted = Counter(tokens)
        items = sorted(((w, c) for w, c in counted.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
        if max_words is not None:
            items = items[:max_words]
        return cls(tuple(w for w, _ in items), np.array([c for _, c in items], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def frequencies(self) -> np.ndarray:
        """z(w): each word's fraction of all (kept) tokens."""
        return self.counts / max(1, self.total)

    def encode(self, tokens) -> np.ndarray:
        """Ids of the tokens that are in the vocabulary (the others are dropped, as in word2vec)."""
        stoi = self.stoi
        return np.fromiter((stoi[t] for t in tokens if t in stoi), dtype=np.int32)


@dataclass
class WordCorpus:
    """A text as a stream of word ids over a vocabulary."""

    name: str
    vocab: WordVocab
    ids: np.ndarray  # int32 word ids in text order (words under min_count dropped)
    raw_tokens: int  # words in the text before rare ones were dropped
    description: str = ""

    def __len__(self) -> int:
        return len(self.ids)


def _check_words(tokens: list[str], vocab: WordVocab, what: str, min_count: int) -> None:
    if not tokens:
        raise ValueError(
            f"{what} contains no words (only punctuation, symbols or spaces). Give it some ordinary text."
        )
    distinct = len(set(tokens))
    if distinct < MIN_WORDS:
        raise ValueError(
            f"{what} uses only one distinct word ({tokens[0]!r}); word2vec needs at least two "
            "different words, one to predict the other."
        )
    if len(vocab) < MIN_WORDS:
        raise ValueError(
            f"Only {len(vocab)} word(s) of {what.lower()} appear at least {min_count} times. "
            "Lower the minimum count or use a longer text."
        )


def from_text(text: str, name: str = "your text", *, min_count: int = 1,
              max_words: int | None = None, what: str = "The text") -> WordCorpus:
    """A word corpus from a pasted or uploaded string; ValueError with advice if unusable."""
    text = corpora.validate_text(text, min_chars=1, what=what)
    tokens = tokenize(text)
    vocab = WordVocab.from_tokens(tokens, min_count=min_count, max_words=max_words)
    _check_words(tokens, vocab, what, min_count)
    return WordCorpus(name, vocab, vocab.encode(tokens), len(tokens), "Your own text.")


def from_bytes(data: bytes, name: str = "uploaded file", *, min_count: int = 1,
               max_words: int | None = None) -> WordCorpus:
    """A word corpus from uploaded bytes (decoded with ``corpora.decode_bytes``)."""
    return from_text(corpora.decode_bytes(data), name, min_count=min_count, max_words=max_words,
                     what="The file")


BUILTIN = ("shakespeare",)  # the built-in corpora that are prose or verse, not code or name lists


@functools.lru_cache(maxsize=8)
def builtin(name: str = "shakespeare", min_count: int = 5, max_words: int | None = None) -> WordCorpus:
    """A built-in corpus as words (cached; treat it as read-only). ``max_words`` keeps only
    the most frequent words (the others are dropped from the stream, as rare words are)."""
    if name not in BUILTIN:
        raise ValueError(f"Unknown word corpus {name!r}. Choose one of: {', '.join(BUILTIN)}.")
    base = corpora.load(name)
    tokens = tokenize(base.text)
    vocab = WordVocab.from_tokens(tokens, min_count=min_count, max_words=max_words)
    ids = vocab.encode(tokens)
    ids.setflags(write=False)
    return WordCorpus(name, vocab, ids, len(tokens), base.description)


def choose(source: str, max_words: int | None = None, data: bytes | None = None, paste: str | None = None
           ) -> WordCorpus:
    """The corpus a page's choice names: a built-in one (``max_words`` most frequent words,
    or all used 5+ times), else uploaded bytes, else pasted text (every word kept)."""
    if source in BUILTIN:
        return builtin(source, 5, max_words)
    if data:
        return from_bytes(data, "uploaded file", min_count=1)
    if paste and paste.strip():
        return from_text(paste, "pasted text", min_count=1)
    raise ValueError("Upload a text file or paste some text first, or choose Shakespeare.")
