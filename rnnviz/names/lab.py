"""What the names pages need from the library, in one place (no Streamlit).

* ``bundled(dataset, kind)``: the bundled model that serves a dataset and task, loaded
  once per process and shared (frozen: never mutate it, ``.model.copy()`` first);
* ``held_out(cp)``: a classifier's scores on the test names beside the naive Bayes
  baseline fitted on the same training names, so every page compares like with like;
* ``parse_names``: a comma-separated list of typed names, each checked against the
  model's alphabet, with one plain sentence per refused name;
* ``milestone_samples``: a generator run's samples at its milestone steps, for one class.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from . import baseline, data, metrics, store
from .model import classify

KINDS = ("classifier", "generator")
BUNDLED = {("surnames", "classifier"): "surnames_gru", ("surnames", "generator"): "names_generator",
           ("genders", "classifier"): "genders_gru", ("genders", "generator"): "genders_generator"}
MAX_NAMES = 6  # names drawn at once in a trajectory
MAX_LIST = 400  # characters of a typed name list that are read (6 names of 32 letters fit twice)
MAX_PROBLEMS = 3  # refused names spelled out one by one; the rest are counted


@functools.lru_cache(maxsize=len(BUNDLED))
def bundled(dataset: str, kind: str) -> store.NamesCheckpoint:
    if (dataset, kind) not in BUNDLED:
        raise ValueError(f"No bundled {kind} for {dataset!r}; choose surnames or genders, classifier or generator.")
    return store.load_bundled(BUNDLED[dataset, kind])


def dataset_of(cp: store.NamesCheckpoint) -> data.NameDataset:
    """The dataset a checkpoint was trained on; ValueError if its classes differ from it."""
    ds = data.load(str(cp.card.get("dataset", "")))
    if tuple(cp.classes) != tuple(ds.classes):
        raise ValueError("This model was trained on other classes than its dataset has now.")
    return ds


@functools.lru_cache(maxsize=len(data.DATASETS))
def _baseline(dataset: str) -> baseline.NaiveBayes:
    return baseline.fit(data.load(dataset))


@functools.lru_cache(maxsize=len(data.DATASETS) * 2)
def baseline_scores(dataset: str, split: str = "test") -> metrics.Evaluation:
    ds = data.load(dataset)
    sp = ds.split(split)
    return metrics.evaluate(sp, _baseline(dataset).predict_proba(list(sp.names)), ds.classes)


@dataclass
class HeldOut:
    split: str
    rnn: metrics.Evaluation
    baseline: metrics.Evaluation

    def rows(self, label: str = "RNN") -> list[dict]:
        """One row per model for a table: accuracy, class-balanced accuracy, loss."""
        return [{"model": name, "names": ev.n, "accuracy": ev.accuracy, "class-balanced accuracy":
                 ev.balanced_accuracy, "loss (nats)": ev.loss}
                for name, ev in ((label, self.rnn), ("naive Bayes (letter pairs)", self.baseline))]


def held_out(cp: store.NamesCheckpoint, split: str = "test") -> HeldOut:
    """The classifier and the baseline scored on the same held-out names."""
    if cp.kind != "classifier":
        raise ValueError("Only a classifier can be scored for accuracy.")
    ds = dataset_of(cp)
    sp = ds.split(split)
    rnn = metrics.evaluate(sp, classify(cp.model, cp.vocab, cp.classes, list(sp.names)), ds.classes)
    return HeldOut(split, rnn, baseline_scores(ds.key, split))


def parse_names(text: str, vocab, what: str = "this model", limit: int = MAX_NAMES) -> tuple[list[str], list[str]]:
    """``"Murphy, Müller, Rossi"`` -> (accepted names, messages). Duplicates are dropped;
    more than ``limit`` names are cut, a list longer than MAX_LIST characters is cut at
    its last comma before the cap, and at most MAX_PROBLEMS refusals are spelled out
    (the rest are counted), each cut with a message saying so."""
    text, notes = str(text or ""), []
    if len(text) > MAX_LIST:
        notes.append(f"The list is {len(text):,} characters long; only its first {MAX_LIST} characters are read "
                     f"(room for {limit} names of up to {data.MAX_NAME} letters).")
        text = text[:MAX_LIST].rsplit(",", 1)[0] if "," in text[:MAX_LIST] else text[:MAX_LIST]
    names, problems = [], []
    for i, part in enumerate(p for p in text.split(",") if p.strip()):
        try:
            name = data.check_name(vocab, part, what)
        except ValueError as e:
            problems.append(f"Name {i + 1}: {e}")
            continue
        if name not in names:
            names.append(name)
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [f"{rest:,} more name{'s' if rest > 1 else ''} could not be read either; "
                                              "fix the ones above first."]
    if len(names) > limit:
        problems.append(f"Only the first {limit} names are drawn; remove some to see the others.")
        names = names[:limit]
    return names, notes + problems


def milestone_samples(samples, cls: str) -> list[tuple[int, list[str]]]:
    """``[(step, {class: [names]})]`` -> ``[(step, names of cls)]`` in step order."""
    return [(step, list(by_class.get(cls, []))) for step, by_class in sorted(samples, key=lambda s: s[0])]
