"""Benchmarks (scripts, not tests): ``python -m rnnviz.bench [--only core live ...]``.

Each area has a module here with ``run(quick: bool) -> list[dict]``; every dict
is one measurement: ``{"name", "value", "unit", "goal" (text or None), "ok"
(bool or None), "detail" (dict)}``. Ratios are measured within one run so
machine noise cancels as far as possible. Results print as a table and are
written as JSON (``--json PATH``).
"""

SUITES = ("core", "live", "cells", "browser", "inputs", "word2vec", "seq2seq", "names", "deepnet", "tagging", "dropout", "memory",
          "forecast")


def result(name, value, unit="", goal=None, ok=None, **detail):
    return {"name": name, "value": value, "unit": unit, "goal": goal, "ok": ok, "detail": detail}
