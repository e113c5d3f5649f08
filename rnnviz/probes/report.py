"""The finder and the probes on any model and any text as JSON (the model cards'
numbers), with an optional standalone, escaped HTML page, and the command line
``python -m rnnviz.probes CHECKPOINT [--text FILE] [--hypotheses ...] [--html OUT]``.
The text length is capped by the memory the trace needs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .excerpts import validation_excerpt
from .features import MAX_PROBE_CHARS
from .finder import CellMatrix
from .hypotheses import HYPOTHESES, available, feature, hypothesis
from .intervention import is_saturated
from .languages import EXTENSION_LANGUAGE, LANGUAGE_LABELS, LANGUAGES, language_for
from .linear import probe_layers
from .patterns import compile_pattern


def trace_arrays(model, ids) -> dict:
    """{(layer, signal): [T, H] float32} for every recorded signal (no autograd)."""
    import torch

    from ..models import trace

    with torch.inference_mode():
        tr = trace(model, ids)
    return {(k, s): tr.numpy(k, s).copy() for k in range(len(tr.layers)) for s in tr.signals()}


def state_signals(cell: str) -> tuple[str, ...]:
    """The state a linear probe reads and a clamp can hold: h, plus the memory c when the
    cell type has one."""
    from ..models import SIGNALS

    return tuple(s for s in ("h", "c") if s in SIGNALS[cell])


def probe_table(cm: CellMatrix, y, cell: str, *, binary: bool | None = None) -> list[dict]:
    """A linear probe per layer of ``cm`` on its state (``state_signals``), as table rows."""
    from .linear import probe_rows

    sigs = state_signals(cell)
    layers = sorted({k for k, _ in cm.keys})
    return probe_rows(probe_layers({k: cm.block(*k) for k in cm.keys}, y, layers, sigs, binary=binary), sigs)


def trace_matrix(model, text_ids) -> CellMatrix:
    """Every recorded signal of ``model`` over the encoded text, side by side (see ``CellMatrix``)."""
    return CellMatrix(trace_arrays(model, text_ids))


TRACE_BUDGET_BYTES = 1 << 30  # memory one measurement may use for traces and probes (1 GiB)


def bytes_per_char(config) -> int:
    """Memory a measurement needs per character of text: every recorded signal of every
    layer as float32, three times (the trace, its NumPy copy and the finder's matrix),
    plus the probe's float64 copy of one layer's state (twice)."""
    from ..models import SIGNALS

    n_sig = len(SIGNALS[config.cell])
    n_state = len(state_signals(config.cell))
    return 4 * config.layers * config.hidden * n_sig * 3 + 8 * config.hidden * n_state * 2


def max_chars(config, budget: int = TRACE_BUDGET_BYTES) -> int:
    """The longest text a model of ``config`` can be measured on within ``budget``."""
    return min(MAX_PROBE_CHARS, max(1, budget // bytes_per_char(config)))


def check_length(config, chars: int, budget: int = TRACE_BUDGET_BYTES) -> None:
    """Refuse a measurement whose memory (layers x hidden x characters) exceeds the budget."""
    cap = max_chars(config, budget)
    if chars > cap:
        need = chars * bytes_per_char(config)
        raise ValueError(
            f"Measuring {chars:,} characters would need about {need / 2**20:,.0f} MB for this model "
            f"({config.layers} layer(s) x {config.hidden} cells, {bytes_per_char(config) / 1024:.0f} KB per "
            f"character); the limit is {budget / 2**20:,.0f} MB, which allows at most {cap:,} characters. "
            "Use fewer characters."
        )


@dataclass
class Measurement:
    result: dict  # what ``report`` returns (JSON-ready)
    text: str
    cells: CellMatrix
    features: dict  # key -> float32 feature over ``text``


def measure(checkpoint, text: str, *, language: str, keys, prefix: str = "", top: int = 1,
            pattern: str | None = None, probes_from: int = 1000) -> Measurement:
    """The finder and the linear probe for each hypothesis in ``keys`` on ``text``."""
    cfg = checkpoint.model.config
    check_length(cfg, len(text))
    for key in keys:  # bad hypotheses fail before the (slow) trace
        if hypothesis(key, language).takes_pattern:
            compile_pattern(pattern or "")
        else:
            feature(key, text[:1], language)
    arrays = trace_arrays(checkpoint.model, checkpoint.vocab.encode(text))
    cm = CellMatrix(arrays)
    state = state_signals(cfg.cell)
    out, feats = {"chars": len(text), "language": language, "corpus": (checkpoint.card or {}).get("corpus")}, {}
    for key in keys:
        y = feature(key, text, language, prefix=prefix, pattern=pattern)
        feats[key] = y
        ranked = cm.rank(y, max(1, int(top)))
        best = ranked[0]
        probes = probe_layers(arrays, y, range(cfg.layers), state) if len(text) >= probes_from else {}
        out[key] = {
            "r": round(best.r, 4), "abs_r": round(abs(best.r), 4), "layer": best.layer,
            "signal": best.signal, "unit": best.unit,
            "probe_r2": {k: round(p.r2, 4) for k, p in probes.items()},
            "top": [{"layer": c.layer, "signal": c.signal, "unit": c.unit, "r": round(c.r, 4),
                     "saturated": is_saturated(cm.column_of(c.layer, c.signal, c.unit), c.signal)}
                    for c in ranked],
        }
    return Measurement(out, text, cm, feats)


def report(checkpoint, text: str | None = None, *, language: str | None = None, length: int = 5000,
           keys=("indent", "column", "string"), top: int = 1, pattern: str | None = None) -> dict:
    """Best |r| per hypothesis on text the model did not train on.

    With ``text=None`` the excerpt comes from the validation split of the corpus
    named in the checkpoint's card. Returns {key: {"r", "abs_r", "layer", "signal",
    "unit", "probe_r2", "top"}} plus "chars", "language" and "corpus"; "top" lists
    the ``top`` best cells, each flagged when it is saturated.
    """
    return _measure_report(checkpoint, text, language=language, length=length, keys=keys, top=top,
                           pattern=pattern).result


def _measure_report(checkpoint, text, *, language, length, keys, top, pattern) -> Measurement:
    from .. import corpora

    corpus_name = (checkpoint.card or {}).get("corpus")
    if text is None:
        if corpus_name not in corpora.viewable_names():
            raise ValueError("This model's corpus is not built in; pass the text to measure on (--text FILE).")
        language = language or language_for(corpus_name)
        check_length(checkpoint.model.config, int(length))
        ex = validation_excerpt(corpora.viewable(corpus_name), language, length)
        text, prefix = ex.text, ex.context
    else:
        prefix = ""
    language = language or language_for(corpus_name, text)
    return measure(checkpoint, text, language=language, keys=keys, prefix=prefix, top=top, pattern=pattern)


def html_report(m: Measurement, *, title: str, cells_per_key: int = 3, chars: int = 2000) -> str:
    """A standalone HTML page: for every hypothesis, its feature and its best cells as
    coloured text. Every character of the text and every label is escaped."""
    from ..ui import html as H

    text = m.text[:chars]
    intro = (f"{m.result['chars']:,} characters, language: {LANGUAGE_LABELS[m.result['language']]}. Colours: red "
             "for negative, white for zero, blue for positive values; hover a character for its value.")
    parts = [f"<h1>{H.esc(title)}</h1>", f"<p>{H.esc(intro)}</p>"]
    for key, y in m.features.items():
        hyp = HYPOTHESES[key]
        res = m.result[key]
        parts.append(f"<h2>{H.esc(hyp.label)}</h2><p>{H.esc(hyp.description)}</p>")
        ymax = max(1e-9, float(np.abs(y).max()))
        parts.append(H.heat_text(text, y[: len(text)], vmin=-ymax, vmax=ymax, label=key, max_height=300,
                                 caption=f"hypothesis: {hyp.label} (scaled to ±{ymax:.2f})"))
        for i, c in enumerate(res["top"][:cells_per_key]):
            v = m.cells.column_of(c["layer"], c["signal"], c["unit"])
            vmax = max(1.0, float(np.abs(v).max()))
            flag = " · saturated" if c["saturated"] else ""
            parts.append(H.heat_text(text, v[: len(text)], vmin=-vmax, vmax=vmax, label=c["signal"], max_height=300,
                                     caption=f"#{i + 1} layer {c['layer'] + 1} · {c['signal']} · cell {c['unit']} · "
                                             f"r = {c['r']:+.2f}{flag} (scaled to ±{vmax:.2f})"))
    body = "\n".join(parts)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{H.esc(title)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;"
            "padding:0 1em;color:#222}} h2{{margin-top:1.6em}} .rnnviz-text{{margin:0.6em 0}}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def _parse_keys(raw: str, language: str) -> tuple:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if keys == ("all",):
        return tuple(h.key for h in available(language) if not h.takes_pattern)
    if not keys:
        raise ValueError("Name at least one hypothesis after --hypotheses, e.g. indent,column,string.")
    for k in keys:
        if k not in HYPOTHESES:
            raise ValueError(f"Unknown hypothesis {k!r}; choose from {', '.join(HYPOTHESES)} (or 'all').")
        if language not in HYPOTHESES[k].languages:
            raise ValueError(f"The hypothesis {k!r} does not apply to {LANGUAGE_LABELS[language]} text; "
                             f"for this text choose from {', '.join(h.key for h in available(language))}.")
    return keys


def _read_text(path: str) -> str:
    from .. import corpora

    try:
        with open(path, "rb") as fh:
            data = fh.read(corpora.MAX_BYTES + 1)
    except OSError as e:
        raise ValueError(f"Cannot read the text file {path}: {e.strerror or e}.") from None
    text = corpora.decode_bytes(data, what=f"The text file {path}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def main(argv=None) -> int:
    import argparse
    import json
    import sys

    import torch

    from .. import checkpoint as ckpt

    p = argparse.ArgumentParser(
        prog="python -m rnnviz.probes",
        description="Find interpretable cells: rank every cell of a model against hypotheses about a text "
                    "(Pearson r) and fit a linear probe per layer. Prints JSON.")
    p.add_argument("checkpoint", help="a bundled model name (e.g. python_lstm) or a checkpoint folder / .safetensors file")
    p.add_argument("--text", metavar="FILE",
                   help="text to measure on (default: the validation split of the model's built-in corpus)")
    p.add_argument("--language", choices=LANGUAGES,
                   help="how strings, comments and quotes are recognised (default: guessed from the text)")
    p.add_argument("--hypotheses", default="indent,column,string", metavar="KEYS",
                   help=f"comma-separated, or 'all'; one of: {', '.join(HYPOTHESES)} (default: indent,column,string, "
                        "keeping those that apply to the language)")
    p.add_argument("--regex", metavar="PATTERN", help="the pattern for the 'regex' hypothesis (RE2 syntax)")
    p.add_argument("--chars", type=int, default=5000,
                   help="how many characters to measure (default 5000; capped by the memory the trace needs)")
    p.add_argument("--top", type=int, default=5, help="how many best cells to list per hypothesis (default 5)")
    p.add_argument("--html", metavar="OUT", help="also write a standalone HTML page with the top cells' coloured text")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)

    def fail(msg):
        print(f"python -m rnnviz.probes: error: {msg}", file=sys.stderr)
        return 2

    if args.chars < 1:
        return fail(f"--chars must be at least 1 (got {args.chars}).")
    if not 1 <= args.top <= 100:
        return fail(f"--top must be between 1 and 100 (got {args.top}).")
    if args.threads < 1:
        return fail(f"--threads must be at least 1 (got {args.threads}).")
    torch.set_num_threads(args.threads)
    try:
        if args.checkpoint in ckpt.pretrained_names():
            cp = ckpt.load_pretrained(args.checkpoint)
        elif os.path.exists(args.checkpoint):
            cp = ckpt.load(args.checkpoint)
        else:
            return fail(f"{args.checkpoint!r} is neither a bundled model ({', '.join(ckpt.pretrained_names())}) "
                        "nor an existing checkpoint folder or file.")
        check_length(cp.model.config, args.chars)
        text = None
        if args.text is not None:
            text = _read_text(args.text)
            if not text.strip():
                return fail(f"The text file {args.text} contains only whitespace; give it some text to measure.")
            if len(text) > args.chars:
                print(f"note: measuring the first {args.chars:,} of {len(text):,} characters (see --chars).",
                      file=sys.stderr)
                text = text[: args.chars]
            missing = cp.vocab.unknown(text)
            if missing:
                shown = ", ".join(repr(c) for c in missing[:12]) + (f" and {len(missing) - 12} more"
                                                                  if len(missing) > 12 else "")
                return fail(f"The text has {len(missing)} character(s) the model never saw in training: {shown}. "
                            "Remove or replace them, or use a model trained on such text.")
        corpus_name = (cp.card or {}).get("corpus")
        language = args.language or (language_for(corpus_name) if text is None
                                     else EXTENSION_LANGUAGE.get(os.path.splitext(args.text)[1].lower())
                                     or language_for(None, text))
        if args.hypotheses == p.get_default("hypotheses"):  # today's three, where they apply
            keys = tuple(k for k in args.hypotheses.split(",") if language in HYPOTHESES[k].languages)
        else:
            keys = _parse_keys(args.hypotheses, language)
        needs = [k for k in keys if HYPOTHESES[k].takes_pattern]
        if needs and not args.regex:
            return fail(f"The {needs[0]!r} hypothesis needs a pattern: add --regex PATTERN.")
        m = _measure_report(cp, text, language=language, length=args.chars, keys=keys, top=args.top,
                            pattern=args.regex)
    except ValueError as e:
        return fail(str(e))
    m.result["model"] = args.checkpoint
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as fh:
                fh.write(html_report(m, title=f"Interpretable cells of {args.checkpoint}"))
        except OSError as e:
            return fail(f"Cannot write the HTML report to {args.html}: {e.strerror or e}.")
    print(json.dumps(m.result, indent=2))
    return 0
