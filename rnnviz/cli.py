"""Argument types and checks shared by the command-line tools.

argparse turns an ``ArgumentTypeError`` into "argument --x: <message>" and exit code
2, so a bad number never reaches the library as a traceback (``python -m
rnnviz.train``, ``python -m rnnviz.sample``). The labs' tools (tagging, dropout,
memory, forecast, deepnet, names, seq2seq, word2vec) print their own one-line
"error: ..." and exit 2 for every bad setting; ``check_training_args`` is their one
check of the training budget (--steps, --seconds / --minutes) and of --threads,
so each refuses the same mistakes with the same sentence.
"""

from __future__ import annotations

import argparse
import math
import os

TIME_LIMITS = {"seconds": 86_400, "minutes": 1_440}  # a day, in the unit of the option


def int_at_least(low: int):
    """An argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low:,} (got {value:,})")
        return value

    return parse


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text})")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number (got {text})")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number (got {text})")
    return value


def cores() -> int:
    return os.cpu_count() or 1


def check_threads(threads: int) -> int:
    """``threads`` if it is 1 … the cores of this machine, else ValueError with a sentence."""
    n = cores()
    if not 1 <= threads <= n:
        raise ValueError(f"--threads must be from 1 to {n}, the number of cores of this machine (got {threads}); "
                         "more threads than cores make training slower, not faster.")
    return threads


def check_training_args(args, *, min_steps: int = 0, time: str | None = "seconds", exclusive: bool = True) -> None:
    """Check a lab CLI's parsed budget and threads; raise ValueError with one sentence.

    ``args.steps`` (None = not given) must be at least ``min_steps``; ``args.<time>``
    ("seconds" or "minutes", None = not given) above 0 and at most a day; with
    ``exclusive`` only one of the two may be given; ``args.threads``, if the tool has
    it, 1 … the cores of this machine.
    """
    steps = getattr(args, "steps", None)
    budget = getattr(args, time, None) if time else None
    if exclusive and steps is not None and budget is not None:
        raise ValueError(f"Give --steps or --{time}, not both.")
    if steps is not None and steps < min_steps:
        hint = ": give a positive number of steps" if min_steps == 1 else ""
        raise ValueError(f"--steps must be at least {min_steps:,} (got {steps:,}){hint}.")
    if budget is not None and not (math.isfinite(budget) and 0 < budget <= TIME_LIMITS[time]):
        raise ValueError(f"--{time} must be above 0 and at most {TIME_LIMITS[time]:,} (a day); got {budget:g}.")
    if getattr(args, "threads", None) is not None:
        check_threads(args.threads)
