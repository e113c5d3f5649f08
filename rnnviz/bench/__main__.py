"""Run the benchmark suites and print a table + JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time

import torch

from . import SUITES


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m rnnviz.bench")
    p.add_argument("--only", nargs="*", default=None, help=f"suites to run (default all: {' '.join(SUITES)})")
    p.add_argument("--quick", action="store_true", help="shorter runs (smoke test, noisier numbers)")
    p.add_argument("--json", default="bench-results.json", help="where to write the JSON report")
    args = p.parse_args(argv)
    report = {
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "cores": torch.get_num_threads(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": {},
    }
    for name in args.only or SUITES:
        try:
            mod = importlib.import_module(f"rnnviz.bench.{name}")
        except ModuleNotFoundError:
            print(f"(suite {name} not available)", file=sys.stderr)
            continue
        print(f"== {name}", flush=True)
        rows = mod.run(quick=args.quick)
        report["results"][name] = rows
        for r in rows:
            mark = "" if r["ok"] is None else ("  OK" if r["ok"] else "  MISSED")
            val = r["value"]
            small = isinstance(val, float) and val == val and 0 < abs(val) < 0.01  # NaN != NaN
            val_s = (f"{val:.2e}" if small else f"{val:,.3f}") if isinstance(val, float) else str(val)
            goal = f"  (goal {r['goal']})" if r["goal"] else ""
            print(f"  {r['name']:<58} {val_s:>14} {r['unit']:<10}{goal}{mark}", flush=True)
    with open(args.json, "w") as fh:
        json.dump(report, fh, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
