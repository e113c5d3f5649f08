"""rnnviz.gradients: gradient norms against finite differences, the linear-RNN
vanishing/exploding experiments, the clipping demo, and the figures."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnviz import corpora
from rnnviz import gradients as G
from rnnviz.models import build, layer_weights
from rnnviz.plots import gradients as gp


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# ------------------------------------------------------------------ an independent reference forward


def _ref_step(cell, w, x, h, c, inject):
    """One step written out from the equations; ``inject`` adds to h (or c, before h is derived)."""
    H = h.shape[0]
    if cell == "rnn":
        h = torch.tanh(w.w_ih @ x + w.b_ih + w.w_hh @ h + w.b_hh)
        return h + inject.get("h", 0), None
    if cell == "lstm":
        a = w.w_ih @ x + w.b_ih + w.w_hh @ h + w.b_hh
        i, f, g, o = (torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H]), torch.tanh(a[2 * H:3 * H]),
                      torch.sigmoid(a[3 * H:]))
        c = f * c + i * g + inject.get("c", 0)
        return o * torch.tanh(c) + inject.get("h", 0), c
    gi, gh = w.w_ih @ x + w.b_ih, w.w_hh @ h + w.b_hh
    r = torch.sigmoid(gi[:H] + gh[:H])
    z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
    return (1 - z) * n + z * h + inject.get("h", 0), None


def _ref_loss(model, ids, emb=None, inject=None):
    """-log p(ids[-1] | ids[:-1]) with optional additive perturbations {(layer, t, 'h'|'c'): vector}."""
    inject = inject or {}
    cfg = model.config
    x_seq = model.embed(ids[:-1]) if emb is None else emb
    for k in range(cfg.layers):
        w = layer_weights(model, k)
        h = torch.zeros(cfg.hidden)
        c = torch.zeros(cfg.hidden) if cfg.cell == "lstm" else None
        out = []
        for t in range(x_seq.shape[0]):
            inj = {s: v for (kk, tt, s), v in inject.items() if kk == k and tt == t}
            h, c = _ref_step(cfg.cell, w, x_seq[t], h, c, inj)
            out.append(h)
        x_seq = torch.stack(out)
    logits = model.head(x_seq[-1])
    return -F.log_softmax(logits, dim=-1)[ids[-1]]


def _fd_grad(fn, n, eps=1e-6):
    g = np.zeros(n)
    for j in range(n):
        e = torch.zeros(n)
        e[j] = eps
        g[j] = (float(fn(e)) - float(fn(-e))) / (2 * eps)
    return g


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_profile_matches_finite_differences(float64, cell):
    torch.manual_seed(0)
    model = build(cell, vocab_size=7, layers=2, hidden=16, embed=5, seed=3).eval()
    ids = torch.as_tensor(np.random.default_rng(1).integers(0, 7, size=13))
    p = G.gradient_profile(model, ids)
    T = len(ids) - 1
    assert p.h.shape == (2, T)
    with torch.no_grad():
        base = float(_ref_loss(model, ids))
        assert p.loss == pytest.approx(base, rel=1e-10)
        signals = ["h", "c"] if cell == "lstm" else ["h"]
        for layer in (0, 1):
            for t in (0, T // 2, T - 1):
                for sig in signals:
                    fd = _fd_grad(lambda d: _ref_loss(model, ids, inject={(layer, t, sig): d}), 16)
                    got = (p.h if sig == "h" else p.c)[layer, t]
                    assert got == pytest.approx(np.linalg.norm(fd), rel=1e-5, abs=1e-12), (layer, t, sig)
    # the top layer at the last step is the only route to the loss there: a sanity anchor
    assert p.h[1, -1] > 0


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_connectivity_matches_finite_differences(float64, cell):
    model = build(cell, vocab_size=6, layers=1, hidden=16, embed=4, seed=5).eval()
    ids = torch.as_tensor(np.random.default_rng(2).integers(0, 6, size=10))
    pos = 8
    vals, prob = G.connectivity(model, ids, pos)
    assert vals.shape == (pos,)
    with torch.no_grad():
        emb = model.embed(ids[:pos])
        sub = ids[:pos + 1]
        assert prob == pytest.approx(math.exp(-float(_ref_loss(model, sub))), rel=1e-10)
        for k in (0, 4, pos - 1):
            def f(d, k=k):
                e = emb.clone()
                e[k] += d
                return -_ref_loss(model, sub, emb=e)
            assert vals[k] == pytest.approx(np.linalg.norm(_fd_grad(f, 4)), rel=1e-5, abs=1e-12)


def test_profile_never_changes_the_model():
    model = build("lstm", vocab_size=9, layers=2, hidden=16, embed=4, seed=0)
    for p in model.parameters():
        p.requires_grad_(False)  # like the shared bundled models
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ids = np.arange(9).repeat(2)
    G.gradient_profile(model, ids)
    G.connectivity(model, ids, 5)
    G.scale_recurrent(model, 2.0)
    G.batch_profile(model, G.batch_windows(ids, 6, 2, seed=0))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())


# ------------------------------------------------------------------ vanishing / exploding


def _linear_profile(sigma, *, orthogonal=False, steps=50):
    model = build("rnn", vocab_size=10, layers=1, hidden=32, embed=8, seed=0)
    scaled = G.scale_recurrent(model, sigma, orthogonal=orthogonal)
    ids = np.random.default_rng(0).integers(0, 10, size=steps + 1)
    return G.gradient_profile(scaled, ids, activation="linear")


def test_linear_rnn_sigma_half_decays_monotonically_over_50_steps():
    p = _linear_profile(0.5)
    assert p.sigma[0] == pytest.approx(0.5, rel=1e-5)
    h = p.h[0]
    assert p.steps == 50 and np.isfinite(h).all() and (h > 0).all()
    assert np.all(np.diff(h) > 0), "each step further back must be strictly smaller"
    assert h[0] / h[-1] < 0.5 ** 40
    assert np.all(h <= p.bound() * (1 + 1e-4))  # never above (beta_W beta_h)^(T-t)


def test_linear_rnn_sigma_one_and_a_half_grows_over_50_steps():
    p = _linear_profile(1.5, orthogonal=True)
    assert p.sigma[0] == pytest.approx(1.5, rel=1e-5)
    assert p.radius[0] == pytest.approx(1.5, rel=1e-4)
    h = p.h[0]
    assert np.isfinite(h).all()
    assert np.all(np.diff(h) < 0), "each step further back must be strictly larger"
    assert h[0] / h[-1] > 1.5 ** 45
    assert p.ratio_per_step() == pytest.approx(1.5, rel=1e-3)


def test_largest_singular_value_alone_does_not_decide_growth():
    # Plain scaling to sigma 1.5 leaves a random matrix's |eigenvalues| below 1: the
    # bound allows growth, but the gradient still shrinks in the long run.
    p = _linear_profile(1.5, orthogonal=False)
    assert p.radius[0] < 1.0
    assert p.h[0][0] < p.h[0][-1]
    assert np.all(p.h[0] <= p.bound() * (1 + 1e-4))


def test_bound_holds_for_tanh_and_relu_top_layer():
    model = build("rnn", vocab_size=10, layers=2, hidden=32, embed=8, seed=1)
    ids = np.random.default_rng(3).integers(0, 10, size=40)
    for act in ("tanh", "relu"):
        p = G.gradient_profile(G.scale_recurrent(model, 1.3), ids, activation=act)
        assert np.all(p.h[-1] <= p.bound() * (1 + 1e-4)), act


def test_scale_recurrent_copies_and_validates():
    model = build("gru", vocab_size=5, layers=2, hidden=16, embed=4, seed=0)
    before = G.spectral_norms(model)
    m2 = G.scale_recurrent(model, 0.7, layers=[1])
    assert G.spectral_norms(model) == before
    s = G.spectral_norms(m2)
    assert s[0] == pytest.approx(before[0]) and s[1] == pytest.approx(0.7, rel=1e-5)
    for bad in (0, -1, float("nan"), 1000):
        with pytest.raises(ValueError):
            G.scale_recurrent(model, bad)
    with pytest.raises(ValueError, match="vanilla RNN"):
        G.scale_recurrent(model, 1.0, orthogonal=True)
    with pytest.raises(ValueError, match="Layer 3"):
        G.scale_recurrent(model, 1.0, layers=[2])


def test_overflow_is_reported_not_raised():
    p = _linear_profile(6.0, orthogonal=True, steps=60)  # 6^60 overflows float32
    assert not p.finite
    fig = gp.break_figure(p, bound=p.bound())
    json.dumps(fig.to_plotly_json(), default=str)


def test_encode_errors_are_plain_sentences():
    vocab = corpora.Vocab.from_text("abc \n")
    with pytest.raises(ValueError, match="empty"):
        G.encode(vocab, "")
    with pytest.raises(ValueError, match="at least 2"):
        G.encode(vocab, "a")
    with pytest.raises(ValueError, match="never seen"):
        G.encode(vocab, "ab<z>")
    with pytest.raises(ValueError, match="at most"):
        G.encode(vocab, "a" * (G.MAX_STEPS + 5))
    assert list(G.encode(vocab, "ab")) == [2, 3]
    m = build("rnn", vocab_size=5, layers=1, hidden=16, embed=4)
    with pytest.raises(ValueError, match="position"):
        G.connectivity(m, [1, 2, 3], 0)
    with pytest.raises(ValueError, match="Only the vanilla RNN"):
        G.gradient_profile(build("lstm", vocab_size=5, layers=1, hidden=16, embed=4), [1, 2, 3], activation="relu")


# ------------------------------------------------------------------ batch view


def test_batch_profile_shapes_and_values():
    model = build("lstm", vocab_size=8, layers=2, hidden=16, embed=4, seed=0)
    ids = np.random.default_rng(0).integers(0, 8, size=500)
    w = G.batch_windows(ids, 20, 3, seed=7)
    assert w.shape == (3, 21)
    assert np.array_equal(w, G.batch_windows(ids, 20, 3, seed=7))
    bp = G.batch_profile(model, w)
    assert bp.h.shape == (3, 2, 20) and bp.loss.shape == (3, 20)
    assert np.isfinite(bp.h).all() and (bp.h > 0).all()
    assert bp.loss.mean() == pytest.approx(math.log(8), abs=0.3)  # untrained ~ uniform
    with pytest.raises(ValueError):
        G.batch_windows(ids[:2], 20, 3, seed=0)
    fig = gp.batch_heatmap(bp.h[:, 1], ["x" * 20] * 3)
    assert fig.data[0].z.dtype == np.float32


# ------------------------------------------------------------------ clipping demo


@pytest.fixture(scope="module")
def demo_corpus():
    return G.demo_corpus()


def test_default_clipping_demo_diverges_only_without_clipping(demo_corpus):
    cfg = G.ClipDemoConfig()
    seen = []
    out = G.clipping_demo(cfg, corpus=demo_corpus, progress=lambda f, m: seen.append(f))
    no, yes = out.runs
    assert not no.clip and yes.clip
    assert no.diverged_at is not None and no.diverged_at <= 20
    assert "Training stopped at step" in no.divergence and "clipping" in no.divergence
    assert yes.divergence is None and yes.steps == cfg.steps
    assert yes.final_loss < math.log(len(demo_corpus.vocab)) - 1.0  # it actually learned
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    fig = gp.clip_figure(out.runs)
    assert any("blew up at step" in a.text for a in fig.layout.annotations)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clipping_demo_is_robust_across_seeds(demo_corpus, seed):
    out = G.clipping_demo(G.ClipDemoConfig(seed=seed, steps=40), corpus=demo_corpus)
    assert out.runs[0].diverged_at is not None
    assert out.runs[1].divergence is None and out.runs[1].steps == 40


def test_clipping_demo_validates_config():
    with pytest.raises(ValueError, match="Steps"):
        G.ClipDemoConfig(steps=0).validate()
    with pytest.raises(ValueError, match="learning rate"):
        G.ClipDemoConfig(lr=-1).validate()


def test_comparison_figure_has_log_axes_and_gaps():
    model = build("lstm", vocab_size=6, layers=2, hidden=16, embed=4, seed=0)
    p = G.gradient_profile(model, [1, 2, 3, 4, 5, 0, 1], text="abcdefa")
    p.h[0, 0] = 0.0  # underflow -> gap, not a crash on the log axis
    fig = gp.comparison_figure([("LSTM", p, p), ("again", p, None)])
    assert fig.layout.yaxis.type == "log"
    names = [t.name for t in fig.data]
    assert "trained: layer 1 c" in names and "at init: layer 2 h" in names
    assert fig.data[0].y[0] is None
    ys = [y for t in fig.data for y in t.y if y]
    lo, hi = fig.layout.yaxis.range  # room above the highest curve: it ran along the top edge before
    assert lo < math.log10(min(ys)) - 0.5 and hi > math.log10(max(ys)) + 0.5
    u = gp.strength_unit([1e-6, 1e-3, 1.0, 0.0], decades=3)
    assert u.tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0])
    assert gp.strength_unit([1e-2, 1e-1, 1.0], decades=2).tolist() == pytest.approx([0.0, 0.5, 1.0])


# ------------------------------------------------------------------ page recipes (moved out of the page)


def test_init_model_is_a_frozen_fresh_copy_with_a_fixed_seed():
    trained = build("gru", vocab_size=6, layers=2, hidden=16, embed=4, seed=9)
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    a, b = G.init_model(trained), G.init_model(trained)
    assert a is not trained and a.config == trained.config
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not all(torch.equal(x, before[k]) for k, x in a.state_dict().items())
    assert all(not p.requires_grad for p in a.parameters())
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    other = G.init_model(trained, seed=1)
    assert not torch.equal(other.state_dict()["embed.weight"], a.state_dict()["embed.weight"])


def test_layers_to_scale_and_last_steps():
    assert G.layers_to_scale("all") is None
    assert G.layers_to_scale("1") == [0] and G.layers_to_scale("2") == [1]
    with pytest.raises(ValueError, match="layer choice"):
        G.layers_to_scale("3")
    assert G.last_steps("abcdef", 3) == "cdef"
    assert G.last_steps("abc", 10) == "abc"
    with pytest.raises(ValueError, match="at least one step"):
        G.last_steps("abc", 0)
    assert G.plain_recurrence("rnn") and not G.plain_recurrence("lstm") and not G.plain_recurrence("gru")


def test_break_profile_rescales_a_copy_and_reports_before_and_after():
    model = build("rnn", vocab_size=10, layers=2, hidden=16, embed=4, seed=0)
    ids = np.random.default_rng(0).integers(0, 10, size=31)
    before, p = G.break_profile(model, ids, activation="linear", sigma=1.3, layers=[1], orthogonal=True)
    assert before == G.spectral_norms(model)  # the given model is untouched
    assert p.sigma[0] == pytest.approx(before[0]) and p.sigma[1] == pytest.approx(1.3, rel=1e-5)
    assert p.radius[1] == pytest.approx(1.3, rel=1e-4)  # orthogonal: every |eigenvalue| is sigma
    assert p.activation == "linear" and p.h.shape == (2, 30)
    same_before, ref = G.break_profile(model, ids)
    assert same_before == before and ref.sigma == before
    assert np.allclose(ref.h, G.gradient_profile(model, ids).h)
    # a gated cell ignores the RNN-only options instead of failing
    lstm = build("lstm", vocab_size=10, layers=1, hidden=16, embed=4, seed=0)
    _, q = G.break_profile(lstm, ids, activation="relu", sigma=0.5, orthogonal=True)
    assert q.activation == "tanh" and q.sigma[0] == pytest.approx(0.5, rel=1e-5)
    with pytest.raises(ValueError, match="Layer 2"):
        G.break_profile(lstm, ids, sigma=0.5, layers=[1])


def test_summary_and_layer_report_use_the_measured_numbers():
    p = _linear_profile(0.5, orthogonal=True, steps=60)
    far, ratio = G.far_ratio(p)
    assert far == 50 and ratio == pytest.approx(p.h[-1][-51] / p.h[-1][-1])
    assert ratio == pytest.approx(0.5 ** 50, rel=1e-3)  # linear + orthogonal: exactly sigma per step
    text = G.summary(p)
    assert text.startswith(f"p(last character) = {p.prob:.3f}") and f"**{ratio:.1e}**" in text
    short = _linear_profile(0.5, steps=5)
    assert G.far_ratio(short)[0] == 4
    assert G.far_ratio(_linear_profile(0.5, steps=1)) is None
    assert "steps back" not in G.summary(_linear_profile(0.5, steps=1))
    rows = G.layer_report(p, [0.8])
    assert rows == [("Layer 1: beta_W of W_hh", "0.50", f"{p.sigma[0] - 0.8:+.2f} (was 0.80), largest "
                     f"|eigenvalue| {p.radius[0]:.2f}")]


def test_live_batch_and_refresh_rule():
    vocab = corpora.Vocab.from_text("abcdefgh")
    model = build("rnn", vocab_size=len(vocab), layers=1, hidden=16, embed=4, seed=0)
    ids = np.random.default_rng(0).integers(0, len(vocab), size=300)
    cp = types.SimpleNamespace(model=model, vocab=vocab)
    bp, texts = G.live_batch(cp, ids, 12, 3, seed=5)
    assert bp.h.shape == (3, 1, 12) and len(texts) == 3
    assert texts == [vocab.decode(w[:-1]) for w in G.batch_windows(ids, 12, 3, seed=5)]
    assert np.allclose(bp.h, G.batch_profile(model, G.batch_windows(ids, 12, 3, seed=5)).h)
    assert G.needs_refresh(None, 0, 25)
    assert not G.needs_refresh(100, 110, 25) and G.needs_refresh(100, 125, 25)
    assert G.needs_refresh(100, 40, 25)  # the run restarted
    calls = []

    def compute():
        calls.append(1)
        return bp, texts

    held = G.refresh_live(None, ("run", 3), 100, 25, compute)
    assert held.steps == 100 and held.profile is bp and held.texts == texts
    assert G.refresh_live(held, ("run", 3), 110, 25, compute) is held  # still current: not recomputed
    assert G.refresh_live(held, ("run", 2), 110, 25, compute) is not held  # other batch size
    assert G.refresh_live(held, ("run", 3), 125, 25, compute).steps == 125
    assert len(calls) == 3


def test_experiment_dispatches_and_clip_run_reports():
    vocab = corpora.Vocab.from_text("abcdefgh ")
    model = build("lstm", vocab_size=len(vocab), layers=1, hidden=16, embed=4, seed=0)
    text = "abc defg hab"
    p = G.experiment("profile", model, vocab, text)
    assert np.allclose(p.h, G.gradient_profile(model, vocab.encode(text)).h) and p.text == text
    before, q = G.experiment("break", model, vocab, text, sigma=0.5)
    assert q.sigma[0] == pytest.approx(0.5, rel=1e-5) and before == G.spectral_norms(model)
    vals, prob = G.experiment("connectivity", model, vocab, text, position=5)
    assert vals.shape == (5,) and 0 < prob < 1
    with pytest.raises(ValueError, match="never seen"):
        G.experiment("profile", model, vocab, "xyz")
    with pytest.raises(ValueError, match="Unknown experiment"):
        G.experiment("nope", model, vocab, text)
    ok = G.ClipRun("with clipping", True, [], [], 30, None, None, 2.5)
    assert ok.report() == (True, "Trained all 30 steps without overflow; last loss 2.500 nats/char.")
    bad = G.ClipRun("without clipping", False, [], [], 7, "Training stopped at step 7.", 7, None)
    assert bad.report() == (False, "Training stopped at step 7.")


def test_clip_demo_store_keeps_results_by_config(monkeypatch):
    calls = []

    def fake_demo(config, corpus=None, progress=None):
        calls.append(config.key())
        return G.ClipDemo(config=config)

    monkeypatch.setattr(G, "clipping_demo", fake_demo)
    store = G.ClipDemoStore(maxsize=2)
    a, b, c = G.ClipDemoConfig(seed=1), G.ClipDemoConfig(seed=2), G.ClipDemoConfig(seed=3)
    assert store.get(a) is None
    ra = store.run(a)
    assert store.get(G.ClipDemoConfig(seed=1)) is ra  # equal settings, same result
    store.run(b)
    store.get(a)  # a is now the most recent
    store.run(c)
    assert store.get(b) is None and store.get(a) is ra and store.get(c) is not None
    assert calls == [a.key(), b.key(), c.key()]


def test_connectivity_html_escapes_and_marks_the_target():
    text = 'a<b>&"c\nd'
    vals = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 0.5, 1e-6, 0.2])
    out = gp.connectivity_html(text, 8, vals, 0.25, decades=3)
    assert "<b>" not in out and "&lt;" in out and "&amp;" in out and "&quot;" in out
    assert out.count("<span") >= 9 and "p = 0.250" in out
    assert "rgb(255,214,0)" in out and "font-weight: 700" in out
    assert f"rgb{gp.strength_rgb(1.0)}".replace(" ", "") in out  # the strongest in the deepest colour
    long = gp.connectivity_html("x" * 700, 650, np.ones(650), 0.5, decades=2, window=100)
    assert long.count("<span") == 101
    with pytest.raises(ValueError):
        gp.connectivity_html(text, 8, vals[:3], 0.25, decades=3)
    assert "2 powers of ten" in gp.strength_legend(2)


def test_subplot_titles_leave_room_for_the_toolbar():
    model = build("rnn", vocab_size=6, layers=1, hidden=16, embed=4, seed=0)
    p = G.gradient_profile(model, [1, 2, 3, 4, 5], text="abcde")
    assert gp.comparison_figure([("RNN", p, None)]).layout.margin.t >= 80
    run = G.ClipRun("with clipping", True, [(1, 2.0)], [(1, 1.0)], 1, None, None, 2.0)
    assert gp.clip_figure([run]).layout.margin.t >= 80
    fig = gp.break_figure(p)
    assert fig.layout.margin.t == 40 and fig.layout.legend.y < 0  # no subplot titles; legend below, clear of the toolbar
