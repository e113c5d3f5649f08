"""Hypothesis features, the cell finder, the linear probe, LSTMVis selection and
clamped sampling (rnnviz.probes) on hand-made inputs and tiny models."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnviz import probes as P
from rnnviz.corpora import Vocab
from rnnviz.models import build, trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def on(key, text, lang="python", **kw):
    """The characters where a 0/1 feature is 1, as a string (easy to read in asserts)."""
    f = P.feature(key, text, lang, **kw)
    assert f.dtype == np.float32 and f.shape == (len(text),)
    return "".join(c for c, v in zip(text, f) if v > 0.5)


# ------------------------------------------------------------------ Python strings and comments

def test_double_quotes_with_escape_and_nested_single_quote():
    text = 'x = "a\\"b" + \'it"s\'\n'
    # opening quote counts as inside (it has been read), the closing one as outside
    assert on("double_quote", text) == '"a\\"b'
    assert on("single_quote", text) == "'it\"s"
    assert on("string", text) == '"a\\"b' + "'it\"s"


def test_single_quote_inside_double_quotes_is_content():
    assert on("single_quote", 'x = "it\'s"\n') == ""
    assert on("double_quote", 'x = "it\'s"\n') == '"it\'s'


def test_triple_quoted_string_spans_lines_and_holds_quotes():
    text = 'y = """doc\n say "hi" \'x\'\n"""\nz = 1\n'
    s = on("string", text)
    # all three opening quotes are inside, all three closing quotes outside (as described)
    assert s == '"""doc\n say "hi" \'x\'\n'
    assert "all three closing quotes are outside" in P.HYPOTHESES["string"].description
    for lexer in (P._lex_python_tokenize, P._lex_python_small):
        assert "".join(c for c, v in zip(text, lexer(text).mask("string")) if v) == s, lexer
    assert on("string", "x = '''a'''\n") == "'''a"
    assert on("string", "x = ''\n") == "'"  # an empty one-quote string is not triple-quoted
    assert on("double_quote", text) == s
    assert on("single_quote", text) == ""  # the ' inside the docstring are not strings of their own


def test_comment_containing_quotes_is_not_a_string():
    text = "x = 1  # don't \"x\"\ns = '# no'\n"
    assert on("comment", text) == "# don't \"x\""
    assert on("string", text) == "'# no"
    assert on("single_quote", text) == "'# no"


def test_prefixed_strings_and_fstrings():
    assert on("string", "x = f'{a}b' + rb\"\\x00\"\n") == "'{a}b" + '"\\x00'


def test_fragments_that_do_not_tokenize():
    # an unterminated one-line string ends at the newline
    assert on("string", 'x = "open\ny = 2\n') == '"open'
    # inconsistent dedent (a typical excerpt) still lexes: stripped indentation
    text = '        a = "s"\n    b = 1  # c\n'
    assert P._lex_python_tokenize(text) is not None
    assert on("string", text) == '"s'
    assert on("comment", text) == "# c"
    # EOF inside a docstring: inside from its opening quotes to the end
    assert on("string", 'def f():\n    """unfinished\n    doc') == '"""unfinished\n    doc'


def test_tokenize_and_small_lexer_agree():
    text = (
        'def f(a, b=\'x\'):\n    """Doc with "quotes" and \'single\'."""\n'
        '    s = "a\\"b"  # comment with "quote"\n    return f"{a}" + r\'\\d\'\n'
    )
    a, b = P._lex_python_tokenize(text), P._lex_python_small(text)
    for kind in ("string", "comment"):
        assert np.array_equal(a.mask(kind), b.mask(kind)), kind


def test_prefix_gives_the_lexer_context():
    before = 'def f():\n    """Start of a docstring\n'
    excerpt = '    still inside\n    """\nx = "s"\n'
    with_ctx = on("string", excerpt, prefix=before)
    assert with_ctx == '    still inside\n    ' + '"s'  # the closing """ is outside
    assert on("string", excerpt) != with_ctx  # without context the lexer is fooled


# ------------------------------------------------------------------ layout features

def test_indentation_depth_spaces_tabs_and_blank_lines():
    text = "def f():\n\tif x:\n\t\treturn 1\n\n    y\n  \tz\n"
    f = P.feature("indent", text, "python")
    lines = text.split("\n")
    pos = 0
    expected = [0, 1, 2, 2, 1, 1]  # blank line keeps the depth before; "  \t" tabs to column 4
    for line, depth in zip(lines, expected):
        lead = len(line) - len(line.lstrip(" \t")) if line.strip() else 0
        # from the first code character to the newline: the line's depth
        assert np.all(f[pos + lead : pos + len(line) + 1] == depth), (line, f[pos : pos + len(line) + 1])
        pos += len(line) + 1
    # inside the indentation the depth grows as it is typed (a model cannot know it sooner)
    assert f[9:11].tolist() == [1, 1]  # "\t" then "i" of "\tif x:"
    g = P.feature("indent", "x\n        y\n", "python")
    assert g.tolist() == [0, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2, 2]


def test_column_counts_within_a_line():
    f = P.feature("column", "ab\ncde\n\tx", "text")
    assert f.tolist() == [0, 1, 2, 0, 1, 2, 3, 0, 1]


def test_bracket_depth_ignores_strings_and_comments_in_code():
    text = 'f(a[1], "(", {2})  # ((\n'
    f = P.feature("bracket", text, "python")
    depth_at = {i: f[i] for i in range(len(text))}
    assert depth_at[text.index("(")] == 1
    assert depth_at[text.index("[")] == 2
    assert depth_at[text.index("{")] == 2
    assert f[-1] == 0 and f.max() == 2
    # prose counts every bracket, never below zero
    assert P.feature("bracket", ") (x)", "text").tolist() == [0, 0, 1, 1, 0]


def test_if_condition_python():
    text = "if a and (b or\n  c):\n    x = y if z else w\nelif q: pass\ns = 'if x:'\n"
    assert on("if_cond", text) == "if a and (b or\n  c)" + "elif q"


def test_c_lexer_comments_strings_chars_and_escapes():
    text = ('char *s = "a\\"b"; char c = \'\\\'\'; // it\'s "x"\n'
            '/* "no" \n it\'s */ int n = 1\'000; /* open')
    assert on("string", text, "c") == '"a\\"b' + "'\\'"
    assert on("double_quote", text, "c") == '"a\\"b'
    assert on("single_quote", text, "c") == "'\\'"
    assert on("comment", text, "c") == '// it\'s "x"' + '/* "no" \n it\'s *' + "/* open"


def test_c_line_comment_continues_after_backslash_and_raw_string():
    assert on("comment", "a; // x \\\n y\nb;", "c") == "// x \\\n y"
    assert on("string", 'auto r = R"(a "quoted" b)"; c', "c") == 'R"(a "quoted" b)'[1:]


def test_if_condition_c_skips_preprocessor_and_strings():
    text = 'if (a && (b)) { x(); }\n#if (X)\nelse if(f("(")) y;\n'
    assert on("if_cond", text, "c") == "if (a && (b)" + 'if(f("(")'


def test_prose_quotes_and_apostrophes():
    assert on("double_quote", 'He said "hi there" and\n"more\n\nnew para', "text") == '"hi there' + '"more'
    assert on("single_quote", "don't 'quote me' o'clock", "text") == "'quote me"
    assert on("double_quote", "\u201cCurly\u201d", "text") == "\u201cCurly"


@pytest.mark.parametrize("text", [
    "'Tis the season; 'twixt you and me, o'er the hills.",
    "Go to th' king, and i' the morning sing rock 'n' roll.",
    "He took the students' books and the boys' hats.",
    "'Twas brillig; they beat 'em 'gainst the wall in the '90s.",
])
def test_prose_elisions_and_possessives_are_not_quotes(text):
    assert on("single_quote", text, "text") == ""


def test_prose_single_quotes_around_elisions_and_possessives():
    # a real quote still opens and closes; the apostrophes inside it do not end it
    text = "She said 'Take the students' books, 'tis late' and left."
    assert on("single_quote", text, "text") == "'Take the students' books, 'tis late"
    # a possessive-looking s' with no other closing quote after it is the closing quote
    assert on("single_quote", "He cried 'Go to the ships' and ran.", "text") == "'Go to the ships"
    # 'A (capital) opens a quote; th' inside it does not close it
    assert on("single_quote", "'A horse to th' king!' he said", "text") == "'A horse to th' king!"
    assert on("single_quote", "\u2018Curly quotes\u2019 and it\u2019s fine", "text") == "\u2018Curly quotes"


def test_prose_paragraph_break_ends_an_open_quote():
    text = "'Never closed and \"also open\n\n'Next' para.\n \t\nThe end 'x"
    assert on("single_quote", text, "text") == "'Never closed and \"also open" + "'Next" + "'x"
    assert on("double_quote", text, "text") == '"also open'
    for key in ("single_quote", "double_quote"):
        assert "blank line" in P.HYPOTHESES[key].description


def test_shakespeare_validation_single_quotes_are_rare():
    """Shakespeare's apostrophes ('tis, th', o'er) used to open "quotes" that ran to the
    end of the paragraph: 9.6 % of the validation text counted as inside single quotes."""
    from rnnviz import corpora

    val = corpora.load("shakespeare").val_text[: P.MAX_PROBE_CHARS]
    frac = float(P.feature("single_quote", val, "text").mean())
    assert frac < 0.04, frac


def test_regex_feature_and_bad_regex():
    assert on("regex", "self.x = self.y", pattern=r"self\.\w+") == "self.xself.y"
    assert on("regex", "ab\nac\nb", pattern="^a.") == "abac"  # ^ matches at every line start
    assert on("regex", "caf\u00e9 \u00e9t\u00e9", pattern="\u00e9+") == "\u00e9\u00e9\u00e9"  # character offsets
    with pytest.raises(ValueError, match=r"not valid here \(missing \): \(\)"):
        P.feature("regex", "abc", "python", pattern="(")
    with pytest.raises(ValueError, match="Type a regular expression"):
        P.feature("regex", "abc", "python", pattern="")


@pytest.mark.parametrize("pattern, what", [
    (r"(a)\1", "backreferences"), (r"(?P<q>')x(?P=q)", "backreferences"), (r"a(?=b)", "look-ahead"),
    (r"(?<!x)y", "look-behind"), (r"(?>ab)", "atomic groups"), (r"a++", "possessive"), (r"a\Z", r"\\Z"),
    (r"(.*a){2000}", "limited to 1,000"),
])
def test_regex_names_what_re2_does_not_support(pattern, what):
    with pytest.raises(ValueError, match=what):
        P.feature("regex", "abc", "python", pattern=pattern)


def test_regex_escaped_backslashes_are_not_backreferences():
    assert on("regex", "a\\1b", pattern=r"\\1") == "\\1"


def test_catastrophic_patterns_answer_quickly():
    """Python's re backtracks for minutes on these; RE2 answers at once. They run in a
    child process so that a regression fails by timeout instead of hanging the suite."""
    code = (
        "import time\n"
        "from rnnviz import probes\n"
        "text = ('the quick brown fox jumps over a lazy dog ' * 200)[:5000]\n"
        "for p in [r'(\\w+\\s?)+:', r'(a+)+$', r'(.*a){20}', r'(x+x+)+y']:\n"
        "    t = time.perf_counter()\n"
        "    f = probes.feature('regex', text, 'text', pattern=p)\n"
        "    print(p, int(f.sum()), round(time.perf_counter() - t, 4))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().split("\n")
    assert [ln.split()[0] for ln in lines] == [r"(\w+\s?)+:", "(a+)+$", "(.*a){20}", "(x+x+)+y"]
    text = ("the quick brown fox jumps over a lazy dog " * 200)[:5000]
    assert [int(ln.split()[1]) for ln in lines] == [0, 0, text.rfind("a") + 1, 0]  # (.*a){20}: to the last a
    assert all(float(ln.split()[2]) < 10.0 for ln in lines), lines  # milliseconds when quiet


def test_regex_time_box_stops_a_pattern_with_endless_matches():
    with pytest.raises(ValueError, match="took longer than"):
        P.regex_feature("ab" * 100_000, "b*", seconds=0.0)
    assert P.regex_feature("ab" * 100, "b*").sum() == 100  # the default box is ample for a normal text


def test_registry_and_language_checks():
    assert {h.key for h in P.available("text")} >= {"column", "indent", "double_quote", "regex"}
    assert "string" not in {h.key for h in P.available("text")}
    assert all("python" in h.languages for h in P.available("python"))
    with pytest.raises(ValueError, match="does not apply"):
        P.feature("comment", "x", "text")
    with pytest.raises(ValueError, match="Unknown hypothesis"):
        P.feature("nope", "x", "python")
    assert P.language_for("cpp") == "c" and P.language_for("shakespeare") == "text"
    assert P.language_for(None, "import os\ndef f():\n    return 1\nclass A:\n    pass\n") == "python"


def test_excerpt_starts_at_a_line_and_carries_context():
    source = 'x = 1\n\n\ndef f():\n    """doc\n    more doc\n    """\n    return 2\n'
    ex = P.excerpt(source, source.index("more") + 2, 200, "python")
    assert ex.text.startswith('    """\n')  # moved to the next line start
    assert ex.context.startswith("def f():") and source[ex.start :] == ex.text
    f = P.feature("string", ex.text, "python", prefix=ex.context)
    assert f[:4].all() and not f[4:].any()  # starts inside the docstring; its closing """ is outside


# ------------------------------------------------------------------ finder and probe

def test_finder_ranks_a_planted_column_first():
    rng = np.random.default_rng(0)
    T = 3000
    y = (rng.random(T) < 0.3).astype(np.float32)
    arrays = {(k, s): rng.standard_normal((T, 32)).astype(np.float32) for k in range(2) for s in ("h", "c")}
    arrays[(1, "c")][:, 7] = -2.0 * y + 0.3 * rng.standard_normal(T)  # strongly, negatively correlated
    arrays[(0, "h")][:, 3] = 5.0  # a constant column must not break anything
    cm = P.CellMatrix(arrays)
    top = cm.rank(y, 3)
    assert (top[0].layer, top[0].signal, top[0].unit) == (1, "c", 7)
    assert top[0].r < -0.9 and abs(top[1].r) < 0.15
    r = cm.correlate(y)
    assert r[cm.offsets[(0, "h")][0] + 3] == 0.0  # constant column -> r = 0
    np.testing.assert_allclose(r[cm.offsets[(1, "c")][0] + 7], np.corrcoef(arrays[(1, "c")][:, 7], y)[0, 1], atol=1e-4)
    # several features at once give the same answer as one at a time
    R = cm.correlate(np.stack([y, np.arange(T, dtype=np.float32)], 1))
    np.testing.assert_allclose(R[:, 0], r, atol=1e-6)
    assert np.array_equal(cm.block(1, "c")[:, 7], arrays[(1, "c")][:, 7])
    assert np.all(cm.correlate(np.ones(T)) == 0)  # constant feature -> nothing to correlate


def test_linear_probe_finds_a_distributed_code_that_no_single_cell_has():
    rng = np.random.default_rng(1)
    T, D = 3000, 40
    X = rng.standard_normal((T, D)).astype(np.float32)
    y = X[:, :10].sum(1)  # spread over ten cells equally
    p = P.linear_probe(X, y)
    assert p.r2 > 0.95
    assert p.best_cell_r2 < 0.3
    assert p.accuracy is None and p.n_features == D and p.n_chars == T
    noise = P.linear_probe(X, rng.standard_normal(T))
    assert noise.r2 < 0.05  # held-out: cannot fit noise
    yb = (X[:, 5] > 0.5).astype(np.float32)
    pb = P.linear_probe(X, yb)
    assert pb.accuracy > pb.baseline and pb.accuracy > 0.85
    with pytest.raises(ValueError, match="at least"):
        P.linear_probe(X[:100], y[:100])


def test_lstmvis_selection_and_matches():
    T, H = 200, 6
    S = np.full((T, H), -0.5, dtype=np.float32)
    S[50:60, 2] = 0.9  # on exactly in the selection
    S[50:60, 4] = 0.9
    S[45:65, 4] = 0.9  # on, but also around it -> rejected
    S[120:130, 2] = 0.8  # same pattern elsewhere, same length
    S[150:152, 2] = 0.8  # shorter
    cells = P.select_cells(S, 50, 60, theta=0.5, margin=3)
    assert cells.tolist() == [2]
    m = P.find_matches(S, cells, 0.5, 10, exclude=(50, 60))
    assert [(x.start, x.end) for x in m] == [(120, 130), (150, 152)]
    assert m[0].score == pytest.approx(1.0) and m[1].score == pytest.approx(0.2)
    assert P.find_matches(S, [], 0.5, 10) == []
    with pytest.raises(ValueError, match="range"):
        P.select_cells(S, 60, 50, 0.5)


# ------------------------------------------------------------------ intervention

@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    vocab = Vocab(tuple("abcdefgh \n\"'"))
    model = build("lstm", len(vocab), layers=2, hidden=32, embed=8, seed=3)
    return model, vocab


def test_clamping_a_cell_changes_the_text_with_the_same_seed(tiny):
    model, vocab = tiny
    base = P.compare_clamp(model, vocab, P.clamp_spec(1, [5], 0.0, "c"), prime="ab", length=150, seed=7)
    again = P.compare_clamp(model, vocab, P.clamp_spec(1, [5], 0.0, "c"), prime="ab", length=150, seed=7)
    assert base.plain.text == again.plain.text  # same seed, same plain text
    strong = P.compare_clamp(model, vocab, P.clamp_spec(1, [5, 6, 7], 8.0, "c"), prime="ab", length=150, seed=7)
    assert strong.plain.text == base.plain.text
    assert strong.n_diff > 0 and strong.first_diff is not None
    assert strong.clamped.text != strong.plain.text
    # the clamp really holds the value at every step
    with torch.inference_mode():
        tr = trace(model, vocab.encode("abcabc"), clamp=P.clamp_spec(1, [5], 8.0, "c"))
    assert np.allclose(tr.numpy(1, "c")[:, 5], 8.0)


def test_zero_clamp_of_a_whole_layer_is_handled(tiny):
    model, vocab = tiny
    res = P.compare_clamp(model, vocab, P.clamp_spec(0, range(32), 0.0, "h"), prime="a", length=100, seed=2)
    assert len(res.clamped.text) == 100 and np.isfinite(res.clamped.probs).all()
    assert res.n_diff > 0
    with pytest.raises(ValueError, match="at least one"):
        P.compare_clamp(model, vocab, {}, length=10)
    with pytest.raises(ValueError, match="finite"):
        P.clamp_spec(0, [1], float("nan"))


def test_on_value_follows_the_sign_of_r():
    v = np.linspace(-2, 3, 101)
    assert P.on_value(v, 0.8) == pytest.approx(np.percentile(v, 95))
    assert P.on_value(v, -0.8) == pytest.approx(np.percentile(v, 5))


def _tiny_checkpoint(model, vocab):
    class CP:  # duck-typed checkpoint
        pass

    cp = CP()
    cp.model, cp.vocab, cp.card = model, vocab, {}
    return cp


def test_report_on_a_tiny_model(tiny):
    model, vocab = tiny
    cp = _tiny_checkpoint(model, vocab)
    text = ('ab "cd" \'e\'\n    fa "g"\n' * 60)
    rep = P.report(cp, text, language="python", keys=("indent", "column", "string"), top=4)
    assert rep["chars"] == len(text) and rep["language"] == "python"
    arrays = P.trace_arrays(model, vocab.encode(text))
    cm = P.CellMatrix(arrays)
    for key in ("indent", "column", "string"):
        y = P.feature(key, text, "python")
        want = cm.rank(y, 4)
        got = rep[key]
        assert (got["layer"], got["signal"], got["unit"]) == (want[0].layer, want[0].signal, want[0].unit)
        assert got["r"] == pytest.approx(want[0].r, abs=1e-4) and got["abs_r"] == pytest.approx(abs(want[0].r), abs=1e-4)
        assert [(c["layer"], c["signal"], c["unit"]) for c in got["top"]] == [(w.layer, w.signal, w.unit) for w in want]
        assert [c["saturated"] for c in got["top"]] == [
            P.is_saturated(cm.column_of(w.layer, w.signal, w.unit), w.signal) for w in want]
        for k in (0, 1):  # the probe of each layer, on that layer's h and c
            X = np.concatenate([arrays[(k, "h")], arrays[(k, "c")]], axis=1)
            assert got["probe_r2"][k] == pytest.approx(round(P.linear_probe(X, y).r2, 4), abs=1e-9)


def _reference_nested_probe(X, y, lams, block=50, folds=5):
    """Textbook nested cross-validation, one fold at a time with np.linalg.solve."""
    fold = (np.arange(len(y)) // block) % folds

    def fit(rows, lam):
        Xr, yr = X[rows], y[rows]
        mu, sd = Xr.mean(0), Xr.std(0)
        sd[sd < 1e-6] = 1.0
        Z = (Xr - mu) / sd
        w = np.linalg.solve(Z.T @ Z + lam * len(yr) / 1000.0 * np.eye(X.shape[1]), Z.T @ (yr - yr.mean()))
        return lambda Xt: ((Xt - mu) / sd) @ w + yr.mean()

    pred = np.zeros(len(y))
    for f in range(folds):
        errs = []
        for lam in lams:
            err = 0.0
            for g in range(folds):
                if g != f:
                    model = fit((fold != f) & (fold != g), lam)
                    err += ((model(X[fold == g]) - y[fold == g]) ** 2).sum()
            errs.append(err)
        pred[fold == f] = fit(fold != f, lams[int(np.argmin(errs))])(X[fold == f])
    return 1.0 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_linear_probe_is_honestly_nested_cross_validated():
    rng = np.random.default_rng(4)
    T, D = 1500, 60
    X = rng.standard_normal((T, D)) * rng.uniform(0.1, 5.0, D) + rng.uniform(-3, 3, D)
    y = X[:, :4] @ np.array([1.0, -0.5, 0.2, 0.1]) + 2.0 * rng.standard_normal(T)
    lams = (0.1, 1.0, 10.0, 100.0, 1000.0)
    p = P.linear_probe(X, y, lams=lams)
    assert p.r2 == pytest.approx(_reference_nested_probe(X, y, lams), abs=1e-9)
    assert p.lam in lams


def test_clamp_suggestion_moves_h_for_saturated_and_normal_cells():
    c = np.linspace(-55.0, -3.0, 500)  # c far below zero: tanh(c) = -1 on every character
    sug = P.clamp_suggestion(c, "c", r=0.74)
    assert sug.saturated and P.is_saturated(c, "c")
    assert 0.0 < sug.value <= P.C_CLAMP_LIMIT and np.tanh(sug.value) > 0.5  # the other side, where h moves
    assert P.on_value(c, 0.74) < -3  # the old suggestion was just as saturated
    ok = np.linspace(-1.5, 1.5, 500)
    up, down = P.clamp_suggestion(ok, "c", r=0.6), P.clamp_suggestion(ok, "c", r=-0.6)
    assert not up.saturated and up.value == pytest.approx(np.percentile(ok, 95), abs=1e-3)
    assert down.value == pytest.approx(np.percentile(ok, 5), abs=1e-3)
    big = P.clamp_suggestion(np.linspace(-10, 10, 500), "c", r=1.0)
    assert big.value == pytest.approx(P.C_CLAMP_LIMIT, abs=1e-3)  # kept where tanh still moves
    h = P.clamp_suggestion(np.full(300, 0.999), "h", r=1.0)
    assert h.saturated and h.value == pytest.approx(-0.9)
    assert P.saturation(np.array([0.001, 0.5, 0.999, 0.9999]), "o") == 0.75


def test_pattern_candidates_selective_default_and_reasons():
    text = 'x = 1\n    y = "ab"\n        z\n'
    cands = P.pattern_candidates(text, "python")
    assert [text[a:b] for a, b in cands] == ["    ", '"ab', "        "]  # short spans, in text order
    T, H = len(text), 4
    S = np.full((T, H), -0.5, dtype=np.float32)
    a, b = text.index("    "), text.index("    ") + 4
    S[a:b, 1] = 0.9  # cell 1 is on exactly on the first indentation
    assert P.first_selective(S, cands, 0.5, 2) == (a, b)
    assert P.first_selective(S, cands, 0.95, 2) is None
    s0, s1 = cands[1]
    assert P.why_no_cells(S, s0, s1, 0.5, 2).startswith("No cell stays at or above θ = 0.50")
    S[:, 2] = 0.9  # on everywhere: on inside, but also around
    msg = P.why_no_cells(S, s0, s1, 0.5, 2)
    assert msg.startswith("1 cell(s) stay at or above") and "also on within the 2 character(s) around" in msg
    assert P.why_no_cells(S, a, b, 0.5, 2) == ""  # cell 1 does match there


# ------------------------------------------------------------------ issue 13: registry with behaviour, page analysis

def test_adding_a_hypothesis_is_adding_one_entry(monkeypatch):
    """A new entry with its own compute function works in feature, available, the finder's
    context handling and the CLI's key check, with no other change anywhere."""
    vowel = P.Hypothesis("vowel", "On a vowel", "1 on a, e, i, o, u.", ("text",), True,
                         lambda text, language, pattern: np.array([c in "aeiou" for c in text], dtype=np.float32))
    monkeypatch.setitem(P.HYPOTHESES, "vowel", vowel)
    assert "vowel" in [h.key for h in P.available("text")] and "vowel" not in [h.key for h in P.available("c")]
    assert on("vowel", "banana split", "text") == "aaai"
    assert on("vowel", "xa", "text", prefix="ooo") == "a"  # context is computed over, then cut off
    with pytest.raises(ValueError, match="does not apply to C"):
        P.feature("vowel", "abc", "c")
    assert P._parse_keys("vowel", "text") == ("vowel",) and "vowel" in P._parse_keys("all", "text")


def test_every_feature_is_its_hypotheses_own_compute():
    text = 'def f(x):\n    if x:  # c\n        return "a(b" + g(1)\n'
    for h in P.available("python"):
        pattern = r"\bx\b" if h.takes_pattern else None
        want = h.compute(text, "python", pattern)
        np.testing.assert_array_equal(P.feature(h.key, text, "python", pattern=pattern), want)
    assert [h.key for h in P.HYPOTHESES.values() if h.takes_pattern] == ["regex"]
    assert {h.key for h in P.HYPOTHESES.values() if not h.uses_context} == {"column", "regex"}
    assert all(P.DEFAULT_HYPOTHESIS[lang] in [h.key for h in P.available(lang)] for lang in P.LANGUAGES)


def test_cell_order_by_r_std_and_number():
    rng = np.random.default_rng(2)
    block = rng.standard_normal((200, 5)).astype(np.float32) * np.array([1, 4, 2, 0.5, 3], dtype=np.float32)
    r = np.array([0.1, -0.9, 0.5, 0.5, 0.0])
    assert P.cell_order(block, r, "r").tolist() == [1, 2, 3, 0, 4]  # |r|, ties keep the lower number first
    assert P.cell_order(block, r, "std").tolist() == [1, 4, 2, 0, 3]
    assert P.cell_order(block, r, "number").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="Unknown cell order"):
        P.cell_order(block, r, "random")
    assert set(P.ORDERS) == {"r", "std", "number"}


def test_r_of_and_top_cells_skip_saturated_and_restrict_signals():
    rng = np.random.default_rng(3)
    T = 400
    y = (rng.random(T) < 0.5).astype(np.float32)
    arrays = {(0, "c"): rng.standard_normal((T, 4)).astype(np.float32),
              (0, "h"): 0.1 * rng.standard_normal((T, 4)).astype(np.float32)}
    arrays[(0, "c")][:, 2] = 20.0 * (y - 0.5) + 0.01 * rng.standard_normal(T)  # best, but tanh(c) = +-1: saturated
    arrays[(0, "h")][:, 1] = 0.5 * y + 0.05 * rng.standard_normal(T)  # second best, not saturated
    cm = P.CellMatrix(arrays)
    r = cm.correlate(y)
    np.testing.assert_array_equal(cm.r_of(r, 0, "h"), r[4:8])
    top = P.top_cells(cm, r, k=2)
    assert [(c.signal, c.unit) for c in top.cells] == [("c", 2), ("h", 1)] and top.n_ranked == len(top.r_ranked) == 8
    assert top.saturation[0] >= P.SATURATED_SHARE > top.saturation[1] and top.any_saturated
    skip = P.top_cells(cm, r, k=2, skip_saturated=True)
    assert ("c", 2) not in [(c.signal, c.unit) for c in skip.cells] and len(skip.cells) == 2
    assert skip.cells[0].unit == 1 and not skip.any_saturated
    only_h = P.top_cells(cm, r, signals=["h"], k=10)
    assert {c.signal for c in only_h.cells} == {"h"} and only_h.n_ranked == 4
    np.testing.assert_array_equal(only_h.r_ranked, cm.r_of(r, 0, "h"))
    rows = top.rows({"c": "cell state c", "h": "hidden state h"})
    assert rows[0]["layer"] == 1 and rows[0]["signal"] == "cell state c" and rows[0]["saturated"].startswith("yes (")
    assert rows[1]["saturated"].startswith("no (") and rows[1]["r²"] == pytest.approx(rows[1]["r"] ** 2, abs=2e-3)


@pytest.mark.parametrize("box, want", [
    ({"x": [9.7, 12.2], "y": [-0.4, 1.6]}, (10, 13, [5, 7])),  # centres 10, 11, 12 and rows 0, 1 covered
    ({"x": [12.2, 9.7], "y": [1.6, -0.4]}, (10, 13, [5, 7])),  # dragged the other way
    ({"x": [9.6, 9.9], "y": [2.2, 2.4]}, (10, 11, [9])),  # thinner than a cell: the nearest one
    ({"x": [-50, 500], "y": [-5, 50]}, (0, 100, [5, 7, 9, 11])),  # clipped to what is shown
])
def test_box_pick_maps_a_plotly_box_to_characters_and_cells(box, want):
    pick = P.box_pick(box, [5, 7, 9, 11], 0, 100)
    assert (pick.a, pick.b, pick.cells) == want


def test_box_pick_respects_the_window_offset():
    pick = P.box_pick({"x": [1000, 1003.4], "y": [0, 0]}, [3], 1000, 200)
    assert (pick.a, pick.b, pick.cells) == (1000, 1004, [3])
    with pytest.raises(ValueError, match="no cells"):
        P.box_pick({"x": [0, 1], "y": [0, 1]}, [], 0, 10)


def test_default_selection_and_near_misses():
    text = 'x = "abcdef" + y\n' * 4
    S = np.full((len(text), 3), -0.5, dtype=np.float32)
    y = P.feature("string", text, "python")
    S[y > 0.5, 1] = 0.9  # cell 1 is on inside every string
    a, b = P.default_selection(S, text, "python", y, theta=0.3, margin=2)
    assert text[a:b] == '"abcdef' and a >= 2  # a string with room for its margins
    near = P.near_misses(S, 0, 3, 2, floor=-1.0, k=2)
    assert near.startswith("cell ") and near.count("lowest inside") == 2 and "highest around" in near
    assert P.default_selection(np.zeros((30, 2), np.float32), "ab\n" * 10, "text", lo=0, hi=30) == (10, 20)
    assert P.bounded_signals(["pre", "c", "tanh_c", "h", "i"]) == ["tanh_c", "h", "i"]
    assert P.THETA[True][:2] == (0.0, 1.0) and P.THETA[False][:2] == (-1.0, 1.0)


def test_clamp_effect_scores_the_written_part_only():
    from types import SimpleNamespace

    plain = SimpleNamespace(prime='print("', full_text='print("ab")\n')
    clamped = SimpleNamespace(prime='print("', full_text='print("abcdefgh')
    res = P.ClampComparison(plain, clamped, 5, 2)
    before, after = P.clamp_effect(res, "string", "python")
    assert before == pytest.approx(2 / 5)  # a, b inside; the closing quote, ) and newline outside
    assert after == pytest.approx(1.0)  # never closed: every written character is inside
    assert P.written_share(SimpleNamespace(prime="ab", full_text="ab"), "string", "python") == 0.0
    assert set(P.PRIMES) == set(P.LANGUAGES)


def test_probe_rows_and_state_signals():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((1000, 4))
    y = (X[:, 0] > 0).astype(np.float64)
    rows = P.probe_rows({0: P.linear_probe(X, y)}, ("h", "c"))
    assert rows[0]["layer"] == 1 and rows[0]["inputs"] == "4 (h and c)" and rows[0]["probe accuracy"].endswith("%")
    assert "probe accuracy" not in P.probe_rows({1: P.linear_probe(X, X[:, 1])}, ("h",))[0]
    assert P.state_signals("lstm") == ("h", "c") and P.state_signals("gru") == ("h",) == P.state_signals("rnn")


def _toy_matrix(text, y):
    rng = np.random.default_rng(5)
    T = len(text)
    arrays = {(0, "c"): rng.standard_normal((T, 6)).astype(np.float32),
              (0, "h"): np.tanh(rng.standard_normal((T, 6))).astype(np.float32),
              (0, "i"): rng.random((T, 6)).astype(np.float32)}
    arrays[(0, "c")][:, 4] = 3.0 * y + 0.1 * rng.standard_normal(T)
    arrays[(0, "h")][:, 2] = np.where(y > 0.5, 0.9, -0.6)
    return P.CellMatrix(arrays)


def test_explore_cell_and_headline():
    text = 'x = "abc" + "de"\ny = 1\n' * 30
    y = P.feature("string", text, "python")
    x = P.explore(_toy_matrix(text, y), text, "python", "string")
    assert x.error is None and x.warning is None and x.T == len(text)
    np.testing.assert_allclose(x.r, x.cm.correlate(y))
    c = x.cell(0, "c", "r", 0)
    assert c.unit == 4 and c.values is not None and c.vmax >= 3.0 and not c.gate
    assert x.headline(c, "cell state c").startswith("**Layer 1 · cell state c · cell 4** (position 0 by |r|")
    assert x.cell(0, "i", "number", 99, gates=("i",)).pos == 5 and x.cell(0, "i", "number", 2, ("i",)).vmax == 1.0
    assert x.found_with == {"hyp": "string", "lang": "python", "pattern": None}
    bad = P.explore(x.cm, text, "python", "regex", pattern="(unclosed")
    assert bad.y is None and "not valid" in bad.error and not bad.r.any()
    flat = P.explore(x.cm, text, "python", "comment")
    assert flat.warning and "same value on every character" in flat.warning


def test_panels_are_escaped_and_carry_their_buttons():
    text = '<b>"x"</b>\n' * 40
    y = P.feature("double_quote", text, "text")
    x = P.explore(_toy_matrix(text, y), text, "text", "double_quote")
    c = x.cell(0, "c", "r", 0)
    main, hyp = x.cell_panels(c, 0, 50, compare=True)
    assert main.fragment.count("<span") >= 50 and "<b>" not in main.fragment and ">&lt;</span>" in main.fragment
    assert hyp.name == "hypothesis-double_quote" and len(x.cell_panels(c, 0, 50)) == 1
    box = x.box_panels(c, 10, 20, [4, 1, 2])
    assert [p.button[1] for p in box] == ["cx_pick_4", "cx_pick_1", "cx_pick_2"] and box[0].button[2] == (0, "c", 4)
    ranking = P.top_cells(x.cm, x.r, k=2)
    top = x.top_panels(ranking.cells, 0, 100)
    assert top[0].button is None and top[1].button[2][:3] == (ranking.cells[0].layer, ranking.cells[0].signal,
                                                                ranking.cells[0].unit)
    assert "Ranked **18**" in x.finder_intro(ranking)


def test_search_pattern_finds_cells_and_other_places_or_says_why():
    text = 'x = "abc" + "de"\ny = 1\n' * 30
    y = P.feature("string", text, "python")
    cm = _toy_matrix(text, y)
    S = cm.block(0, "h")
    a, b = 4, 8  # inside the first string
    found = P.search_pattern(S, a, b, 0.3, 1, where="layer 1 · h")
    assert 2 in found.cells.tolist() and found.message is None and found.matches
    assert found.summary.startswith(f"**{len(found.cells)} cell(s) match:**") and "Other places" in found.matches_header
    assert all(not (m.start < b and m.end > a) for m in found.matches)  # the selection itself is left out
    np.testing.assert_allclose(found.mean, S[:, found.cells].mean(axis=1))
    x = P.explore(cm, text, "python", "string")
    panels = x.match_panels(found)
    assert len(panels) == len(found.matches) and "<b>" not in panels[0].fragment and "score" in panels[0].title + panels[0].fragment
    none = P.search_pattern(S, a, b, 1.0, 1, where="layer 1 · h")
    assert not len(none.cells) and none.message.startswith("No cell of layer 1 · h matches") and "Closest: cell" in none.message


def test_plan_clamp_and_effect_metrics(tiny):
    model, vocab = tiny
    text = "abc \"def\" gh\n" * 20
    cm = P.trace_matrix(model, vocab.encode(text))
    assert cm.X.shape[0] == len(text) and cm.block(1, "c").shape == (len(text), 32)
    y = P.feature("double_quote", text, "text")
    r = cm.correlate(y)
    one = P.plan_clamp(cm, r, layer=1, unit=5, signal="c")
    assert one.units == (5,) and one.what == "layer 2, c, cell 5" and one.suggestion is not None
    assert one.default_value == round(one.suggestion.value, 2) and one.spec(0.5) == {(1, "c", 5): 0.5}
    every = P.plan_clamp(cm, r, layer=0, unit=5, signal="h", whole_layer=True)
    assert every.units == tuple(range(32)) and every.suggestion is None and every.default_value == 1.0
    res = P.compare_clamp(model, vocab, every.spec(0.0), prime='"', length=40, seed=1, greedy=True)
    assert res.plain.text == P.compare_clamp(model, vocab, every.spec(0.0), prime='"', length=40, seed=9,
                                             greedy=True).plain.text  # greedy ignores the seed
    assert f"**{res.n_diff}** of 40 written characters differ" in res.summary(every.what, 0.0)
    caption, rows = P.effect_metrics(res, P.scoring(None, 0, 5, {"hyp": "double_quote", "lang": "text", "pattern": None}))
    assert "selected above" in caption and rows[0][0] == "Inside double quotes, without clamp" and rows[1][2].startswith(("+", "-"))
    found = {"layer": 0, "unit": 5, "hyp": "regex", "lang": "text", "pattern": "("}
    assert P.scoring(found, 0, 5, {})["found"] and P.effect_metrics(res, P.scoring(found, 0, 5, {})) is None
    panels = P.sample_panels(res, every.what, 0.0)
    assert [p.name for p in panels] == ["sample-plain", "sample-clamped"] and "with the clamp" in panels[1].title


def test_probe_table_per_layer(tiny):
    model, vocab = tiny
    text = ("abc \"def\" gh\n" * 100)[:1200]
    cm = P.trace_matrix(model, vocab.encode(text))
    rows = P.probe_table(cm, P.feature("double_quote", text, "text"), "lstm", binary=True)
    assert [r["layer"] for r in rows] == [1, 2] and rows[0]["inputs"] == "64 (h and c)" and "probe accuracy" in rows[0]
