"""Hypotheses about what single cells track, and the tools that test them (a package,
one module per concept; every name is re-exported here, so ``probes.X`` keeps working).

Karpathy, Johnson & Fei-Fei (2015) found LSTM cells that switch on inside quotes,
count the position in a line or follow the nesting depth of code. They found
them by eye. This module turns each such idea into a *feature*: one number per
character of a text (``1`` inside a string, the indentation depth, ...). A cell
"tracks" the idea when its activation over the text correlates with the feature.

* ``feature(key, text, language)`` - the hypotheses in ``HYPOTHESES``. Python
  strings and comments come from ``tokenize`` (excerpts that do not tokenize fall
  back to a small lexer), C/C++ from a small lexer that knows ``//``, ``/* */``
  and escaped string/char literals. Convention: the value at character t is what
  is true *after reading* t, which is all a left-to-right network can know. So an
  opening quote is already "inside" and a closing quote is already "outside".
* ``CellMatrix.rank`` - Pearson r of every (layer, signal, cell) with a feature,
  vectorised: one matrix product for all cells.
* ``linear_probe`` - ridge regression on all cells of a layer, scored on held-out
  characters with nested cross-validation (standardisation and ridge strength
  chosen inside each training fold; Cholesky solves, safe with several threads):
  the ceiling a single cell is compared with.
* ``select_cells`` / ``find_matches`` - LSTMVis-style (Strobelt et al. 2016): the
  cells that are on inside a chosen range and off around it, and other places in
  the text where the same cells switch on together.
* ``clamp_suggestion`` / ``compare_clamp`` - a clamp value that still moves h
  (saturated cells flagged), and sampling with and without it (same seed).
* User regular expressions run with RE2 (linear time), so no pattern can freeze
  a classroom server; unsupported syntax gets a message that names it.
* ``report`` / ``python -m rnnviz.probes CHECKPOINT [--text FILE] [--hypotheses ...]
  [--html OUT]`` - the finder and probes on any model and any text as JSON (the
  model cards' numbers), with an optional standalone, escaped HTML page; the text
  length is capped by the memory the trace needs.
"""

from .excerpts import EXAMPLE_PYTHON, Excerpt, context_start, excerpt, validation_excerpt
from .explorer import CellPick, Exploration, Panel, explore, heat_panel, sample_panels
from .features import (
    INDENT_UNIT,
    MAX_PROBE_CHARS,
    _line_index,
    bracket_depth,
    column,
    if_condition,
    indent_depth,
)
from .finder import ORDERS, CellMatrix, CellScore, Ranking, cell_order, rank_cells, top_cells
from .hypotheses import (
    BENCH_KEYS,
    DEFAULT_HYPOTHESIS,
    HYPOTHESES,
    Hypothesis,
    available,
    constant_warning,
    feature,
    hypothesis,
)
from .intervention import (
    C_CLAMP_LIMIT,
    PRIMES,
    SATURATED,
    SATURATED_SHARE,
    ClampComparison,
    ClampPlan,
    ClampSuggestion,
    clamp_effect,
    clamp_spec,
    clamp_suggestion,
    compare_clamp,
    effect_metrics,
    is_saturated,
    on_value,
    plan_clamp,
    saturation,
    scoring,
    written_share,
)
from .languages import CORPUS_LANGUAGE, EXTENSION_LANGUAGE, LANGUAGE_LABELS, LANGUAGES, language_for
from .lexing import (
    ELIDED_END,
    ELIDED_START,
    ELIDED_START_LOWER,
    Lexed,
    _apostrophes,
    _lex_c,
    _lex_python_small,
    _lex_python_tokenize,
    _lex_text,
    lex,
)
from .linear import ProbeResult, fold_ids, linear_probe, probe_layers, probe_rows
from .patterns import MAX_PATTERN_CHARS, REGEX_SECONDS, compile_pattern, regex_feature
from .report import (
    TRACE_BUDGET_BYTES,
    Measurement,
    _parse_keys,
    bytes_per_char,
    check_length,
    html_report,
    main,
    max_chars,
    measure,
    probe_table,
    report,
    state_signals,
    trace_arrays,
    trace_matrix,
)
from .selection import (
    THETA,
    UNBOUNDED,
    BoxPick,
    Match,
    PatternSearch,
    bounded_signals,
    box_pick,
    contrast,
    default_selection,
    find_matches,
    first_selective,
    near_misses,
    pattern_candidates,
    search_pattern,
    select_cells,
    why_no_cells,
)

__all__ = [  # today's names (private lexers too: the tests call them)
    "EXAMPLE_PYTHON", "Excerpt", "context_start", "excerpt", "validation_excerpt", "CellPick", "Exploration",
    "Panel", "explore", "heat_panel", "sample_panels", "INDENT_UNIT", "MAX_PROBE_CHARS", "_line_index",
    "bracket_depth", "column", "if_condition", "indent_depth", "ORDERS", "CellMatrix", "CellScore", "Ranking",
    "cell_order", "rank_cells", "top_cells", "BENCH_KEYS", "DEFAULT_HYPOTHESIS", "HYPOTHESES", "Hypothesis",
    "available", "constant_warning", "feature", "hypothesis", "C_CLAMP_LIMIT", "PRIMES", "SATURATED",
    "SATURATED_SHARE", "ClampComparison", "ClampPlan", "ClampSuggestion", "clamp_effect", "clamp_spec",
    "clamp_suggestion", "compare_clamp", "effect_metrics", "is_saturated", "on_value", "plan_clamp",
    "saturation", "scoring", "written_share", "CORPUS_LANGUAGE", "EXTENSION_LANGUAGE", "LANGUAGE_LABELS",
    "LANGUAGES", "language_for", "ELIDED_END", "ELIDED_START", "ELIDED_START_LOWER", "Lexed", "_apostrophes",
    "_lex_c", "_lex_python_small", "_lex_python_tokenize", "_lex_text", "lex", "ProbeResult", "fold_ids",
    "linear_probe", "probe_layers", "probe_rows", "MAX_PATTERN_CHARS", "REGEX_SECONDS", "compile_pattern",
    "regex_feature", "TRACE_BUDGET_BYTES", "Measurement", "_parse_keys", "bytes_per_char", "check_length",
    "html_report", "main", "max_chars", "measure", "probe_table", "report", "state_signals", "trace_arrays",
    "trace_matrix", "THETA", "UNBOUNDED", "BoxPick", "Match", "PatternSearch", "bounded_signals", "box_pick",
    "contrast", "default_selection", "find_matches", "first_selective", "near_misses", "pattern_candidates",
    "search_pattern", "select_cells", "why_no_cells",
]
