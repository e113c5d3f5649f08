"""Names datasets: deterministic, leak-free, imbalance visible, soft labels honest."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.names import baseline, data, metrics


@pytest.fixture(scope="module", params=["surnames", "genders"])
def ds(request):
    return data.load(request.param)


def test_rebuilt_datasets_are_identical(ds):
    builder = data.DATASETS[ds.key]
    builder.cache_clear()
    again = builder()
    assert again is not ds and again.fingerprint() == ds.fingerprint()
    assert again.train.names == ds.train.names and np.array_equal(again.test.targets, ds.test.targets)


def test_no_name_in_two_splits(ds):
    seen = {}
    for s in ("train", "val", "test"):
        for n in ds.split(s).names:
            assert seen.setdefault(n.casefold(), s) == s, n  # also not in another letter case
    sizes = [len(ds.split(s)) for s in ("train", "val", "test")]
    assert sizes[0] > 6 * sizes[2] and min(sizes) > 400  # about 80 / 10 / 10
    assert all(data.split_of(n) == "test" for n in ds.test.names)


def test_targets_are_distributions_and_counts_show_imbalance(ds):
    for s in ("train", "val", "test"):
        t = ds.split(s).targets
        assert t.shape[1] == len(ds.classes) and np.allclose(t.sum(1), 1.0) and (t >= 0).all()
    counts = ds.class_counts()["train"]
    assert max(counts.values()) > 3 * min(counts.values())


def test_surname_classes_and_shared_surnames():
    ds = data.surnames()
    assert 15 <= len(ds.classes) <= 20 and tuple(ds.classes) == tuple(data.LANGUAGES)
    names = dict(zip(ds.train.names + ds.val.names + ds.test.names,
                     np.concatenate([ds.train.targets, ds.val.targets, ds.test.targets])))
    assert len(names) == len(ds.train) + len(ds.val) + len(ds.test)  # one example per distinct name
    t = names["Adam"]  # listed for German, French and Slovak
    assert np.allclose(t[t > 0], 1 / 3) and {ds.classes[k] for k in np.nonzero(t)[0]} >= {"German", "French"}
    assert all(data.is_name(n) for n in names)


def test_first_names_get_frequency_weighted_soft_labels():
    ds = data.genders()
    everything = dict(zip(ds.train.names + ds.val.names + ds.test.names,
                          np.concatenate([ds.train.targets, ds.val.targets, ds.test.targets])))
    assert len(everything) == 4275 + 1219 - 331
    assert everything["Mary"][0] > 0.99 and everything["James"][1] > 0.99
    assert 0.1 < everything["Jordan"][0] < 0.3  # in both lists, mostly male
    amb = dict(data.ambiguous(ds, "train", 0.8) + data.ambiguous(ds, "val", 0.8) + data.ambiguous(ds, "test", 0.8))
    assert "Alva" in amb and "Jordan" not in amb and "Mary" not in amb


@pytest.mark.parametrize("bad, message", [
    ("", "empty"), ("   ", "empty"), ("x" * 10_000, "10,000 characters"),
    ("<script>alert(1)</script>", "'<'"), ("Ann😀", "'😀'"), ("Ann\nBob", "U\\+000A \\(a control character\\)"), (None, "must be text"),
])
def test_hostile_names_get_clear_messages(bad, message):
    ds = data.surnames()
    with pytest.raises(ValueError, match=message):
        ds.encode(bad)


def test_refusals_quote_the_name_name_each_character_and_say_what_can_be_read():
    sur, gen = data.surnames(), data.genders()
    with pytest.raises(ValueError) as e:
        gen.encode("👩\u200d🚀 Zoë")
    assert str(e.value) == ("\u201c👩\u200d🚀 Zoë\u201d cannot be read: the data behind the first-name classifier never "
                            "uses '👩', U+200D (zero width joiner), '🚀', ' ' (a space), 'ë'. It can read only the "
                            "plain letters A-Z and a-z.")  # no plain spelling offered: the emoji stay
    with pytest.raises(ValueError, match="never uses 'ë'. It can read only the plain letters A-Z and a-z. "
                                         "Try \u201cZoe\u201d, the same letters without accents."):
        gen.encode("Zoë")
    assert data.alphabet_hint(sur.vocab) == ("It can read only letters (A-Z, a-z and 65 accented ones such as é, "
                                             "ü, ñ), spaces, apostrophes and hyphens.")
    with pytest.raises(ValueError, match="and 2 more. It can read only letters"):
        sur.encode("<>=()[]")
    with pytest.raises(ValueError) as e:
        sur.encode("b" * 500)
    assert f"(\u201c{'b' * data.QUOTE_MAX}...\u201d)" in str(e.value) and "at most 32" in str(e.value)


def test_naive_bayes_baseline_and_metrics():
    ds = data.surnames()
    nb = baseline.fit(ds)
    probs = nb.predict_proba(list(ds.test.names))
    ev = metrics.evaluate(ds.test, probs, ds.classes)
    assert 0.6 < ev.accuracy < 0.95 and ev.balanced_accuracy < ev.accuracy
    assert ev.confusion.sum() == len(ds.test) and ev.confusion.trace() <= ev.accuracy * len(ds.test) + 1e-9
    assert sum(n for n, _ in ev.by_length.values()) == len(ds.test)
    uniform = metrics.evaluate(ds.test, np.full(probs.shape, 1 / len(ds.classes)), ds.classes)
    assert uniform.loss == pytest.approx(np.log(len(ds.classes)), rel=1e-6)
