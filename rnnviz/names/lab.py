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
    """``"Murphy, Müller, Rossi"`` -> (accepted names, one message per refused name).
    Duplicates are dropped; more than ``limit`` names are cut with a message."""
    names, problems = [], []
    parts = [p for p in (str(text or "")).split(",") if p.strip()]
    for i, part in enumerate(parts):
        try:
            name = data.check_name(vocab, part, what)
        except ValueError as e:
            problems.append(f"Name {i + 1}: {e}")
            continue
        if name not in names:
            names.append(name)
    if len(names) > limit:
        problems.append(f"Only the first {limit} names are drawn; remove some to see the others.")
        names = names[:limit]
    return names, problems


def milestone_samples(samples, cls: str) -> list[tuple[int, list[str]]]:
    """``[(step, {class: [names]})]`` -> ``[(step, names of cls)]`` in step order."""
    return [(step, list(by_class.get(cls, []))) for step, by_class in sorted(samples, key=lambda s: s[0])]
