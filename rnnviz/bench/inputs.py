"""Input-limit benchmark: how cheaply a crafted checkpoint is refused.

A header-only safetensors file (no weights, about 1.6 MB) whose card claims a
vocabulary of 100,000 characters, hidden size 1,024 and 3 layers used to make
``checkpoint.from_bytes`` build the whole model before any shape was checked
(+885 MB, 1.4 s per upload). Now the card and the header are checked first.

Measure it in a fresh interpreter (``python -m rnnviz.bench --only inputs``), as
peak RSS only grows: the extra peak RSS, the peak of Python allocations
(tracemalloc), and the median CPU and wall time of a refusal. Goals: <= 20 MB,
<= 100 ms.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

from .. import checkpoint as ckpt
from ..models import ModelConfig
from . import result

CRAFTED = {"cell": "lstm", "vocab_size": 100_000, "layers": 3, "hidden": 1024, "embed": 64}


def big_vocab(n: int) -> list[str]:
    """``n`` distinct single characters (CJK and beyond, no surrogates)."""
    return [chr(c) for c in range(0x4E00, 0x4E00 + n + 0x800) if not 0xD800 <= c < 0xE000][:n]


def crafted_file(cfg: ModelConfig, vocab: list[str], edit=None, zeros: bool = False) -> bytes:
    """A safetensors file whose header describes ``cfg``'s tensors (F32) and whose
    card claims ``cfg``, but which holds no weights (or, with ``zeros``, zero bytes
    for every tensor). ``edit(header)`` may tamper with the header first."""
    header, offset = {}, 0
    for k, shape in ckpt.expected_shapes(cfg).items():
        n = 4 * math.prod(shape)
        header[k] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    card = {"format": ckpt.FORMAT, "name": "crafted", "model": cfg.to_dict(), "vocab": vocab}
    header["__metadata__"] = {"rnnviz_card": json.dumps(card)}
    if edit:
        edit(header)
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + (bytes(offset) if zeros else b"")


def _refuse(data: bytes) -> str | None:
    try:
        ckpt.from_bytes(data)
    except ValueError as e:
        return str(e)
    return None


def measure_refusal(runs: int = 5, **config) -> dict:
    """Refuse one crafted file in this process; return the message and its costs.

    Memory is measured on the first refusal (peak RSS delta and tracemalloc peak);
    time on ``runs`` more without tracemalloc (which slows allocation), as medians."""
    cfg = ModelConfig(**{**CRAFTED, **config})
    data = crafted_file(cfg, big_vocab(cfg.vocab_size))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    msg = _refuse(data)
    py_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # KiB on Linux
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        _refuse(data)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return {"message": msg, "cpu_s": statistics.median(cpu), "wall_s": statistics.median(wall),
            "python_peak_bytes": py_peak, "rss_peak_delta_bytes": rss, "file_bytes": len(data),
            "config": cfg.to_dict()}


def measure_in_fresh_process(**config) -> dict:
    code = f"import json; from rnnviz.bench.inputs import measure_refusal; print(json.dumps(measure_refusal(**{config!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[dict]:
    r = measure_in_fresh_process()
    mb = r["rss_peak_delta_bytes"] / 2**20
    detail = {k: v for k, v in r.items() if k != "config"}
    return [
        result("crafted 100k x 1024 x 3 checkpoint: extra peak RSS", mb, "MB", "<= 20", mb <= 20, **detail),
        result("crafted 100k x 1024 x 3 checkpoint: time to refuse (wall)", r["wall_s"] * 1000, "ms", "<= 100",
               r["wall_s"] <= 0.1, cpu_ms=r["cpu_s"] * 1000),
    ]
