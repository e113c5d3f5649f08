"""Name datasets for the many-to-one and one-to-many labs: surname -> language and
first name -> gender, with a fixed, leak-free train / validation / test split.

**Surnames** come from the per-locale surname lists of ``Faker`` (pinned in
``requirements.txt``). One class per *language*, Latin script only, so the model
must learn spelling patterns rather than spot an alphabet. ``LANGUAGES`` lists the
locales behind each class and why; a language spread over several locales (German
in Germany and Austria) is their union. Faker's lists are of very different sizes
(Irish has about 2,400 names, Hungarian 100): that imbalance is kept on purpose,
because handling it is part of the lesson. Names are NFC-normalised and kept only if
they consist of letters, spaces, apostrophes and hyphens.

**First names** come from the US census lists in ``names==0.3.0`` (1,219 male and
4,275 female names, each with its share of the population in percent). 331 names
are in both lists. Instead of forcing one answer, every name gets a *soft label*:
P(female | name) = f_female / (f_female + f_male), from the two frequencies (the
lists are printed to 0.001 %, so a listed 0.000 is read as 0.0005, half a unit).
"Mary" is then 0.996 female, "Jordan" 0.18 and "Alva" 0.46.

**One example per distinct name.** A surname listed for several languages (Adam is
German, French, Czech, ...) becomes one example whose target spreads evenly over
those languages; nothing can be right about it for sure, and the data says so.
A prediction counts as correct when it picks a class with the largest target share
(any of the tied languages; for first names the likelier gender).

**The split** depends on the name only: bucket = SHA-256 of the case-folded name
modulo 10; bucket 0 is test, bucket 1 validation, the rest training (about
80 / 10 / 10). It needs no seed, never changes between runs or machines, and puts
every copy of a name in the same split - so no name, in any spelling case or from
any second locale, is in both training and test.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..corpora import Vocab

BOUNDARY = "\n"  # id 0: padding for the classifier, start/end of a name for the generator
MAX_NAME = 32  # longest name the models read (the longest in the data has 26 characters)
TEST_BUCKET, VAL_BUCKET = 0, 1

# class -> (Faker locales, why these). Left out: non-Latin scripts (Russian, Greek,
# ...), locales whose lists are tiny or placeholders (pl_PL has one name, "Doe"),
# and locales that repeat another language's list (en_GB, de_CH, fr_CA, es_MX, ...).
LANGUAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "English": (("en_US",), "US surnames (Faker's English list)"),
    "Irish": (("ga_IE",), "Irish-language surnames (Ó Briain, Mac Giolla)"),
    "German": (("de_DE", "de_AT"), "German and Austrian lists"),
    "Dutch": (("nl_NL",), "Dutch, including tussenvoegsels (van der, 's)"),
    "French": (("fr_FR", "fr_QC"), "France and Quebec"),
    "Italian": (("it_IT",), "Italian"),
    "Spanish": (("es_ES",), "Spain"),
    "Portuguese": (("pt_PT", "pt_BR"), "Portugal and Brazil (small lists)"),
    "Czech": (("cs_CZ",), "male and female forms (-ová)"),
    "Slovak": (("sk_SK",), "male and female forms; close to Czech on purpose"),
    "Croatian": (("hr_HR",), "Croatian (-ić)"),
    "Slovenian": (("sl_SI",), "Slovenian (-ič)"),
    "Hungarian": (("hu_HU",), "the smallest class (100 names)"),
    "Finnish": (("fi_FI",), "Finnish"),
    "Swedish": (("sv_SE",), "Swedish"),
    "Estonian": (("et_EE",), "the Estonian-language list only (not et_EE's Russian one)"),
    "Turkish": (("tr_TR",), "Turkish"),
    "Azerbaijani": (("az_AZ",), "Azerbaijani (-ov, -ova, -lı)"),
}
# Attributes of a Faker person provider that hold surnames (et_EE also has a Russian list).
_SURNAME_ATTRS = ("last_names", "last_names_male", "last_names_female", "last_names_nonbinary",
                  "last_names_unisex")
_ESTONIAN_ATTRS = ("last_names_est",)
GENDERS = ("female", "male")


def clean(name: str) -> str:
    return unicodedata.normalize("NFC", str(name)).strip()


def is_name(name: str) -> bool:
    """Letters, spaces, apostrophes and hyphens only, 1..MAX_NAME characters."""
    return 0 < len(name) <= MAX_NAME and all(c.isalpha() or c in " '-" for c in name) and name[0].isalpha()


def bucket(name: str) -> int:
    return int(hashlib.sha256(name.casefold().encode("utf-8")).hexdigest()[:8], 16) % 10


def split_of(name: str) -> str:
    b = bucket(name)
    return "test" if b == TEST_BUCKET else "val" if b == VAL_BUCKET else "train"


@dataclass
class Split:
    """One part of a dataset: names, soft targets [N, K] and each name's main class."""

    names: tuple[str, ...]
    targets: np.ndarray  # float32 [N, K], rows sum to 1

    @property
    def main(self) -> np.ndarray:
        """The class with the largest share (the lowest index on ties)."""
        return self.targets.argmax(axis=1)

    def __len__(self) -> int:
        return len(self.names)

    def counts(self) -> np.ndarray:
        """Soft class counts (an even three-way surname adds 1/3 to each)."""
        return self.targets.sum(axis=0)

    def correct(self, predicted: np.ndarray) -> np.ndarray:
        """Whether each prediction picked a class with the largest target share."""
        t = self.targets
        return t[np.arange(len(t)), np.asarray(predicted)] >= t.max(axis=1) - 1e-6


@dataclass
class NameDataset:
    key: str  # "surnames" or "genders"
    title: str
    classes: tuple[str, ...]
    vocab: Vocab  # id 0 is BOUNDARY
    train: Split
    val: Split
    test: Split
    sources: dict = field(default_factory=dict)  # class -> where its names came from

    def split(self, which: str) -> Split:
        if which not in ("train", "val", "test"):
            raise ValueError(f"Unknown split {which!r}; use train, val or test.")
        return getattr(self, which)

    def class_counts(self) -> dict[str, dict[str, float]]:
        """{split: {class: soft count}}: the imbalance, for a bar chart."""
        return {s: dict(zip(self.classes, map(float, self.split(s).counts()))) for s in ("train", "val", "test")}

    def fingerprint(self) -> str:
        """A short hash of every (name, target) in every split: equal iff the data is."""
        h = hashlib.sha256()
        for s in ("train", "val", "test"):
            sp = self.split(s)
            h.update("\x1f".join(sp.names).encode("utf-8"))
            h.update(np.ascontiguousarray(sp.targets).tobytes())
        return h.hexdigest()[:16]

    def encode(self, name: str) -> np.ndarray:
        """Ids of a name typed by a user; ValueError with a clear reason otherwise."""
        return encode(self.vocab, name, what=self.title)


def encode(vocab: Vocab, name, what: str = "this model") -> np.ndarray:
    check_name(vocab, name, what)
    return np.array([vocab.stoi[c] for c in clean(name)], dtype=np.int64)


QUOTE_MAX = 40  # characters of a refused name quoted back in its message


def quoted(name: str) -> str:
    """A typed name as a message quotes it: in curly quotes, cut to QUOTE_MAX characters."""
    return f"\u201c{name[:QUOTE_MAX]}{'...' if len(name) > QUOTE_MAX else ''}\u201d"


def describe_char(c: str) -> str:
    """``'<'``, or the code point and Unicode name of a character one cannot see."""
    if c == " ":
        return "' ' (a space)"
    if c.isprintable():
        return repr(c)
    return f"U+{ord(c):04X} ({unicodedata.name(c, 'a control character').lower()})"


def alphabet_hint(vocab: Vocab) -> str:
    """One sentence naming what a model can read, built from its own vocabulary."""
    chars = [c for c in vocab.chars if c != BOUNDARY]
    plain = [c for c in chars if c.isascii() and c.isalpha()]
    accented = [c for c in chars if c.isalpha() and not c.isascii()]
    letters = "A-Z and a-z" if len(plain) == 52 else "".join(plain)
    if accented:
        such = ([c for c in "éüñš" if c in accented] or accented)[:3]
        letters = f"letters ({letters.replace(' and ', ', ')} and {len(accented)} accented ones such as {', '.join(such)})"
    else:
        letters = f"the plain letters {letters}"
    parts = [letters] if plain or accented else []
    parts += [word for c, word in ((" ", "spaces"), ("'", "apostrophes"), ("-", "hyphens")) if c in chars]
    if not parts:
        return ""
    return f"It can read only {', '.join(parts[:-1]) + ' and ' if len(parts) > 1 else ''}{parts[-1]}."


def without_accents(name: str) -> str:
    """\u201cZoë\u201d -> \u201cZoe\u201d: the same letters with their combining marks removed."""
    return unicodedata.normalize("NFC", "".join(
        c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c)))


def check_name(vocab: Vocab, name, what: str = "this model") -> str:
    """The cleaned name, or ValueError saying what is wrong and what to type instead.
    The message quotes the name (at most QUOTE_MAX characters) and names every
    refused character, invisible ones by code point."""
    if not isinstance(name, str):
        raise ValueError("A name must be text.")
    name = clean(name)
    if not name:
        raise ValueError("The name is empty: type a name of one or more letters.")
    if len(name) > MAX_NAME:
        raise ValueError(f"That is {len(name):,} characters long ({quoted(name)}); names here have at most "
                         f"{MAX_NAME}. Type a single name.")

    def unknown_in(s):
        return [c for c in dict.fromkeys(s) if c not in vocab.stoi or c == BOUNDARY]

    unknown = unknown_in(name)
    if unknown:
        shown = ", ".join(map(describe_char, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        plain = without_accents(name)
        tip = f" Try {quoted(plain)}, the same letters without accents." if plain != name and not unknown_in(plain) else ""
        raise ValueError(f"{quoted(name)} cannot be read: the data behind {what} never uses {shown}. "
                         f"{alphabet_hint(vocab)}{tip}")
    return name


def _build(key, title, classes, labelled: dict[str, np.ndarray], sources) -> NameDataset:
    """labelled: name -> target vector; split by the name's hash, sorted for determinism."""
    chars = {BOUNDARY} | {c for n in labelled for c in n}
    vocab = Vocab(tuple(sorted(chars)))
    parts = {"train": [], "val": [], "test": []}
    for name in sorted(labelled):
        parts[split_of(name)].append(name)
    splits = {s: Split(tuple(ns), np.stack([labelled[n] for n in ns]).astype(np.float32)
                       if ns else np.zeros((0, len(classes)), np.float32))
              for s, ns in parts.items()}
    return NameDataset(key, title, tuple(classes), vocab, sources=sources, **splits)


def _provider(locale: str):
    return importlib.import_module(f"faker.providers.person.{locale}").Provider


def _faker_surnames(locale: str) -> set[str]:
    prov = _provider(locale)
    attrs = _ESTONIAN_ATTRS if locale == "et_EE" else _SURNAME_ATTRS
    out: set[str] = set()
    for a in attrs:
        v = getattr(prov, a, None)
        if v:
            out |= {clean(n) for n in v}  # lists, tuples and weighted dicts alike
    return {n for n in out if is_name(n)}


@functools.lru_cache(maxsize=1)
def surnames() -> NameDataset:
    """Surname -> language over ``LANGUAGES`` (18 Latin-script classes)."""
    classes = tuple(LANGUAGES)
    member: dict[str, set[int]] = {}
    for k, (locales, _why) in enumerate(LANGUAGES.values()):
        for loc in locales:
            for n in _faker_surnames(loc):
                member.setdefault(n, set()).add(k)
    labelled = {}
    for n, ks in member.items():
        t = np.zeros(len(classes), np.float32)
        t[sorted(ks)] = 1.0 / len(ks)
        labelled[n] = t
    sources = {c: {"locales": list(locs), "note": why} for c, (locs, why) in LANGUAGES.items()}
    return _build("surnames", "the surname classifier", classes, labelled, sources)


def _census(path: str) -> dict[str, float]:
    out = {}
    with open(path, encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2:
                out[parts[0].capitalize()] = max(float(parts[1]), 0.0005)
    return out


@functools.lru_cache(maxsize=1)
def genders() -> NameDataset:
    """First name -> gender with soft labels from the census frequencies."""
    import names as census

    female = _census(census.FILES["first:female"])
    male = _census(census.FILES["first:male"])
    labelled = {}
    for n in set(female) | set(male):
        f, m = female.get(n, 0.0), male.get(n, 0.0)
        labelled[n] = np.array([f / (f + m), m / (f + m)], np.float32)
    sources = {"female": {"file": "names/dist.female.first", "names": len(female)},
               "male": {"file": "names/dist.male.first", "names": len(male)},
               "in both lists": len(set(female) & set(male))}
    return _build("genders", "the first-name classifier", GENDERS, labelled, sources)


DATASETS = {"surnames": surnames, "genders": genders}


def load(key: str) -> NameDataset:
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {key!r}; choose {' or '.join(DATASETS)}.")
    return DATASETS[key]()


def ambiguous(ds: NameDataset, split: str = "train", below: float = 0.8) -> list[tuple[str, dict]]:
    """Names whose largest target share is below ``below``, with their shares."""
    sp = ds.split(split)
    keep = np.nonzero(sp.targets.max(axis=1) < below)[0]
    return [(sp.names[i], {c: float(p) for c, p in zip(ds.classes, sp.targets[i]) if p > 0}) for i in keep]
