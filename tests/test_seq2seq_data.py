"""The date data set: deterministic, leak-free, calendar years, clear input errors."""

from __future__ import annotations

import datetime as dt

import pytest

from rnnviz.seq2seq import dates


@pytest.fixture(scope="module")
def data():
    return dates.make(0)


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(data):
    again = dates.make.__wrapped__(0)  # bypass the cache: really generate again
    assert again.train == data.train and again.val == data.val and again.test == data.test
    assert again.in_vocab == data.in_vocab
    other = dates.make.__wrapped__(1, n_train=500, n_val=50, n_test=50)
    assert [e.text for e in other.train[:50]] != [e.text for e in data.train[:50]]


def test_no_date_is_in_two_splits(data):
    splits = [{e.target for e in s} for s in (data.train, data.val, data.test)]
    assert [len(s) for s in splits] == [len(data.train), len(data.val), len(data.test)]  # one text per date
    assert not splits[0] & splits[1] and not splits[0] & splits[2] and not splits[1] & splits[2]
    texts = [{e.text for e in s} for s in (data.train, data.val, data.test)]
    assert not texts[0] & texts[2] and not texts[1] & texts[2] and not texts[0] & texts[1]


def test_the_data_covers_every_locale_and_format_and_the_targets_are_iso(data):
    assert {e.locale for e in data.train} == set(dates.LOCALES)
    assert {e.fmt for e in data.train} == set(dates.FORMATS)
    for e in data.test:
        assert dt.date.fromisoformat(e.target).isoformat() == e.target
        assert len(e.text) <= dates.MAX_INPUT_LEN


@pytest.mark.parametrize("day", [dt.date(2009, 12, 31), dt.date(2010, 1, 1), dt.date(2008, 12, 29)])
def test_week_year_pitfall_is_avoided(day):
    """Babel's YYYY would write 2009-12-31 as 2010 (and 2008-12-29 as 2009)."""
    assert not any("Y" in f for f in dates.FORMATS)
    for loc in dates.LOCALES:
        for fmt in dates.FORMATS:
            text = dates.render(day, loc, fmt)
            assert str(day.year) in text and str(day.year + 1) not in text, (loc, fmt, text)
    assert dates.iso(day) == day.isoformat()


def test_typed_input_errors_are_clear(data):
    v = data.in_vocab
    assert dates.check_input("  jeudi 25   juin 2009 ", v) == "jeudi 25 juin 2009"
    with pytest.raises(ValueError, match="empty"):
        dates.check_input("   ", v)
    with pytest.raises(ValueError, match="10,000 characters.*at most 40"):
        dates.check_input("a" * 10_000, v)
    with pytest.raises(ValueError, match=r"never saw.*'<'.*'>'"):
        dates.check_input("<b>25 juin</b>", v)
    with pytest.raises(ValueError, match="never saw"):
        dates.check_input("25 juin 2009 \U0001F600", v)
    with pytest.raises(ValueError, match="never saw"):
        dates.check_input("25\0juin", v)
    with pytest.raises(ValueError, match="as text"):
        dates.check_input(None, v)
