"""The load test's ``--soak`` mode (issue 12, item 9): 22 inspectors for 30 minutes,
judged on whether the server's RSS after warm-up stays within +-5 % of its start."""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import loadtest  # noqa: E402


def _samples(values, every=10.0):
    return [loadtest.Sample(t=i * every, rss_mb=v + 500, server_rss_mb=v, trainer_threads=0, threads=5,
                            connected=22, load1=1.0) for i, v in enumerate(values)]


def test_soak_sets_the_class_of_inspectors():
    args = loadtest.parse_args(["--soak"])
    assert (args.sessions, args.trainers, args.drop, args.solo, args.duration) == (22, 0, 0, 0, 1800)
    short = loadtest.parse_args(["--soak", "--duration", "480"])
    assert (short.sessions, short.trainers, short.duration) == (22, 0, 480)
    assert loadtest.parse_args([]).sessions == 30 and not loadtest.parse_args([]).soak


def test_flat_memory_is_within_the_band():
    band = loadtest.rss_band(_samples([800, 810, 790, 805] * 20), 0, 10_000)
    assert band["ref"] == pytest.approx(5605 / 7)  # mean of the first minute: t = 0, 10, ..., 60 s
    assert band["min"] == 790 and band["max"] == 810
    assert band["deviation"] < loadtest.SOAK_BAND


def test_a_creep_of_half_a_megabyte_per_second_fails_the_band():
    # 0.5 MB/s for 10 minutes from 800 MB: 300 MB more, far outside +-5 %.
    band = loadtest.rss_band(_samples([800 + 5 * i for i in range(61)]), 0, 10_000)
    assert band["max"] == 1100
    assert band["deviation"] > loadtest.SOAK_BAND
    assert band["deviation"] == pytest.approx((1100 - band["ref"]) / band["ref"])


def test_samples_before_the_warm_up_are_ignored():
    band = loadtest.rss_band(_samples([70, 400, 800, 800, 801, 799, 800, 800, 800, 800]), 20, 10_000)
    assert band["min"] == 799 and band["deviation"] < 0.01
    assert loadtest.rss_band(_samples([800]), 0, 100) is None
