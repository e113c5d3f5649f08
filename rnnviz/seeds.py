"""Random seeds typed by users: one validator for every entry point.

Seeds reach torch (``torch.manual_seed``, ``torch.Generator``) and NumPy
(``default_rng``), and the trainer adds its step count to its seed for milestone
samples. Torch refuses anything outside 64 bits with a bare "Overflow when
unpacking long long", NumPy refuses negatives: so every seed is checked here
first and gets one clear sentence instead. The range is 0 ... 2**63 - 1.
"""

from __future__ import annotations

import argparse
import numbers

MAX_SEED = 2**63 - 1


def check_seed(seed, what: str = "The seed") -> int:
    """Return ``seed`` as an int, or raise ValueError saying what a seed may be."""
    ok = isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
    if not ok and isinstance(seed, float) and seed.is_integer():
        seed, ok = int(seed), True
    if not ok or not 0 <= int(seed) <= MAX_SEED:
        shown = str(seed) if len(str(seed)) <= 40 else str(seed)[:37] + "..."
        raise ValueError(
            f"{what} must be a whole number from 0 to {MAX_SEED:,} (2^63 - 1); got {shown}. "
            "Any number in that range gives a reproducible run."
        )
    return int(seed)


def parse_seed(text: str) -> int:
    """``argparse`` type for ``--seed``: the same rule, reported as a usage error."""
    try:
        return check_seed(int(text, 10))
    except ValueError as e:
        if "whole number" in str(e):
            raise argparse.ArgumentTypeError(str(e)) from None
        raise argparse.ArgumentTypeError(f"The seed must be a whole number; got {text[:40]!r}.") from None
