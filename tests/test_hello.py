"""rnnviz.hello, rnnviz.bptt and rnnviz.equations: the forward/backward numbers
against an independent NumPy pass, training to "hello", sampling, clipping,
truncated BPTT, and the number-filled equations."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnviz import bptt, equations, hello

TOL = 1e-6


# ---------------------------------------------------------------- NumPy reference
# Written from the equations (min-char-rnn style), sharing no code with rnnviz.hello.

def numpy_reference(P: dict, inputs: list[int], targets: list[int]) -> dict:
    Wxh, Whh, bh, Why, by = (np.asarray(P[k], dtype=np.float64) for k in ("W_xh", "W_hh", "b_h", "W_hy", "b_y"))
    H, V = Whh.shape[0], Wxh.shape[1]
    T = len(inputs)
    xs, hprev, a, hs, ys, ps, losses = [], [], [], [], [], [], []
    h = np.zeros(H)
    for t in range(T):
        x = np.zeros(V)
        x[inputs[t]] = 1.0
        hprev.append(h)
        a_t = Wxh @ x + Whh @ h + bh
        h = np.tanh(a_t)
        y = Why @ h + by
        e = np.exp(y - y.max())
        p = e / e.sum()
        xs.append(x), a.append(a_t), hs.append(h), ys.append(y), ps.append(p)
        losses.append(-np.log(p[targets[t]]))
    # backward of the summed loss
    dWxh, dWhh, dbh, dWhy, dby = (np.zeros_like(m) for m in (Wxh, Whh, bh, Why, by))
    dhnext = np.zeros(H)
    dh_total = [None] * T
    da_total = [None] * T
    for t in reversed(range(T)):
        dy = ps[t].copy()
        dy[targets[t]] -= 1.0
        dWhy += np.outer(dy, hs[t])
        dby += dy
        dh = Why.T @ dy + dhnext
        dh_total[t] = dh
        da = (1.0 - hs[t] ** 2) * dh
        da_total[t] = da
        dbh += da
        dWxh += np.outer(da, xs[t])
        dWhh += np.outer(da, hprev[t])
        dhnext = Whh.T @ da
    # gradient of the last loss only, reaching back
    dy = ps[-1].copy()
    dy[targets[-1]] -= 1.0
    dh = Why.T @ dy
    dh_last = [None] * T
    for t in reversed(range(T)):
        dh_last[t] = dh
        dh = Whh.T @ ((1.0 - hs[t] ** 2) * dh)
    jac = [0.0] + [float(np.linalg.svd((1.0 - hs[t] ** 2)[:, None] * Whh, compute_uv=False)[0]) for t in range(1, T)]
    return dict(xs=np.array(xs), h_prev=np.array(hprev), pre=np.array(a), hs=np.array(hs), logits=np.array(ys),
                probs=np.array(ps), losses=np.array(losses), loss=float(np.sum(losses)),
                cols=np.array([Wxh[:, i] for i in inputs]),
                grads=dict(W_xh=dWxh, W_hh=dWhh, b_h=dbh, W_hy=dWhy, b_y=dby),
                reach_last=np.array([np.linalg.norm(v) for v in dh_last]),
                reach_total=np.array([np.linalg.norm(v) for v in dh_total]), jac=np.array(jac),
                dh=np.array(dh_total), da=np.array(da_total))


def assert_pass_matches(p: hello.Pass):
    ref = numpy_reference(p.params, p.inputs, p.targets)
    for key in ("xs", "h_prev", "pre", "hs", "logits", "probs", "losses", "cols", "reach_last", "reach_total",
                "dh", "da"):
        np.testing.assert_allclose(getattr(p, key), ref[key], atol=TOL, rtol=0, err_msg=key)
    np.testing.assert_allclose(p.jacobian_norms, ref["jac"], atol=TOL, rtol=0)
    assert abs(p.loss - ref["loss"]) < TOL
    for k in hello.PARAM_NAMES:
        np.testing.assert_allclose(p.grads[k], ref["grads"][k], atol=TOL, rtol=0, err_msg=k)
    return ref


@pytest.mark.parametrize("hidden,seed,scale", [(3, 0, 0.3), (5, 7, 1.0), (8, 3, 0.01)])
def test_forward_backward_matches_numpy(hidden, seed, scale):
    m = hello.HelloModel(hidden=hidden, seed=seed, scale=scale)
    p = m.forward()
    assert p.inputs == [0, 1, 2, 2] and p.targets == [1, 2, 2, 3]  # h e l l -> e l l o
    assert_pass_matches(p)
    # the one-hot product really is a column lookup
    for t, i in enumerate(p.inputs):
        np.testing.assert_array_equal(p.cols[t], p.params["W_xh"][:, i])
    # 'o' is never an input, so its column of W_xh gets no gradient at all
    assert np.all(p.grads["W_xh"][:, 3] == 0)


def test_numbers_still_match_after_training_and_for_another_word():
    m = hello.HelloModel(hidden=4, seed=1, optimizer="adam", lr=0.05)
    m.train(25)
    assert_pass_matches(m.forward())
    w = hello.HelloModel(word="banana", hidden=6, seed=2)
    assert w.vocab == ["b", "a", "n"]
    assert_pass_matches(w.forward())


def test_untrained_loss_near_uniform_and_history():
    m = hello.HelloModel(hidden=3, seed=0, scale=0.01)
    assert abs(m.forward().loss - 4 * np.log(4)) < 0.05
    assert m.loss_hist == [(0, pytest.approx(m.forward().loss))]


def test_adagrad_update_is_min_char_rnn():
    m = hello.HelloModel(hidden=3, seed=4, optimizer="adagrad", lr=0.1, clip="elementwise", clip_limit=5.0)
    before = hello.params_numpy(m.params)
    g = m.forward().grads
    m.train(1)
    after = hello.params_numpy(m.params)
    for k in hello.PARAM_NAMES:
        d = np.clip(g[k], -5, 5)
        expect = before[k] - 0.1 * d / np.sqrt(d * d + 1e-8)
        np.testing.assert_allclose(after[k], expect, atol=1e-12, rtol=0)


@pytest.mark.parametrize("opt,lr", [("adagrad", 0.1), ("adam", 0.05)])
def test_learns_hello_within_200_steps(opt, lr):
    m = hello.HelloModel(hidden=3, seed=0, scale=0.3, optimizer=opt, lr=lr)
    assert m.greedy() != "hello"
    for _ in range(200):
        m.train(1)
        if m.greedy() == "hello":
            break
    assert m.greedy() == "hello", f"{opt}: still {m.greedy()!r} after {m.steps} steps"
    assert m.steps <= 200
    first, last = m.pcorrect_hist[0][1], m.pcorrect_hist[-1][1]
    assert all(b > a for a, b in zip(first, last))  # every position's correct letter became more likely
    assert m.loss_hist[-1][1] < m.loss_hist[0][1]


def test_clipping_elementwise_vs_norm():
    g = {"W_xh": np.array([[6.0, -1.0]]), "W_hh": np.array([[0.5]]), "b_h": np.array([-8.0]),
         "W_hy": np.array([[2.0]]), "b_y": np.array([0.0])}
    cmp = hello.compare_clipping(g, 5.0)
    np.testing.assert_allclose(cmp.elementwise, [5.0, -1.0, 0.5, -5.0, 2.0, 0.0])
    raw = np.array([6.0, -1.0, 0.5, -8.0, 2.0, 0.0])
    np.testing.assert_allclose(cmp.norm, raw * 5.0 / np.linalg.norm(raw))
    rows = {r["method"]: r for r in cmp.stats()}
    assert rows["norm ≤ 5"]["gradient norm"] == pytest.approx(5.0)
    assert rows["norm ≤ 5"]["cosine to raw"] == pytest.approx(1.0)
    assert rows["elementwise ±5"]["cosine to raw"] < 0.999
    assert rows["elementwise ±5"]["entries changed"] == 2
    assert cmp.labels[0] == "W_xh[0,0]" and cmp.labels[3] == "b_h[0]"
    with pytest.raises(ValueError, match="positive"):
        hello.compare_clipping(g, 0.0)


def test_sampling_chain_feeds_back_and_is_seeded():
    m = hello.HelloModel(hidden=3, seed=0, scale=0.3)
    m.train(100)
    chain = hello.sample_chain(m.params, m.vocab, "h", 4, greedy=True)
    assert "".join(s.sampled for s in chain) == "ello"
    assert [s.input for s in chain] == ["h", "e", "l", "l"]  # each draw is the next input
    # the chain's h and probabilities equal a plain forward pass over the same letters
    ref = numpy_reference(hello.params_numpy(m.params), [0, 1, 2, 2], [1, 2, 2, 3])
    np.testing.assert_allclose([s.h for s in chain], ref["hs"], atol=TOL)
    np.testing.assert_allclose([s.probs for s in chain], ref["probs"], atol=TOL)
    a = hello.sample_chain(m.params, m.vocab, "h", 12, temperature=2.0, seed=5)
    b = hello.sample_chain(m.params, m.vocab, "h", 12, temperature=2.0, seed=5)
    assert [s.sampled for s in a] == [s.sampled for s in b]
    for s in a:
        z = s.logits / 2.0
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        np.testing.assert_allclose(s.probs, p, atol=1e-12)
        assert s.p_sampled == pytest.approx(s.probs[m.vocab.index(s.sampled)])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        hello.sample_chain(m.params, m.vocab, "z", 3)
    with pytest.raises(ValueError, match="Temperature"):
        hello.sample_chain(m.params, m.vocab, "h", 3, temperature=0.0)


@pytest.mark.parametrize("word,msg", [("", "empty"), ("x", "at least 2"), ("aaaa", "2 different"),
                                      ("a<b>", "may only contain"), (" hello", "spaces"),
                                      ("h" * 17 + "e", "keep it to")])
def test_bad_words_are_refused(word, msg):
    with pytest.raises(ValueError, match=msg):
        hello.HelloModel(word=word)


def test_bad_hyperparameters_are_refused_and_divergence_keeps_weights():
    with pytest.raises(ValueError, match="Hidden size"):
        hello.HelloModel(hidden=20)
    m = hello.HelloModel()
    with pytest.raises(ValueError, match="positive"):
        m.set_optimizer("adam", 0.0)
    with pytest.raises(ValueError, match="far too large"):
        m.set_optimizer("sgd", 1e6)
    with pytest.raises(ValueError, match="Unknown optimiser"):
        m.set_optimizer("rmsprop", 0.1)
    # A blow-up on the 3rd step of a run: the update poisons a weight with inf. The
    # model must keep the finite weights of step 2 (not the poisoned ones) and go on.
    m.set_optimizer("sgd", 0.1)
    m.set_clip("none", 5.0)
    assert m.train(2) == 2
    real_update, calls = m.opt.update, []

    def poisoned_update(params, grads):
        real_update(params, grads)
        calls.append(1)
        if len(calls) == 3:
            params["W_hy"][0, 0] = float("inf")

    m.opt.update = poisoned_update
    good = {}
    real_record = m._record

    def record(p):  # the weights after each good step
        real_record(p)
        good.update(hello.params_numpy(m.params))

    m._record = record
    with pytest.raises(ValueError, match="diverged at step 5"):
        m.train(5)
    kept = hello.params_numpy(m.params)
    assert m.steps == 4 and len(calls) == 3
    assert all(np.isfinite(v).all() for v in kept.values())
    assert kept.keys() == good.keys() and all(np.array_equal(kept[k], good[k]) for k in kept)
    assert "last good weights were kept" in m.last_message
    m.opt.update = real_update
    assert m.train(3) == 3 and m.steps == 7


# ---------------------------------------------------------------- truncated BPTT

def numpy_reach(P, ids, t):
    """||dL_t/dh_s|| for s <= t under full BPTT, by hand."""
    Wxh, Whh, bh, Why, by = (np.asarray(P[k], dtype=np.float64) for k in ("W_xh", "W_hh", "b_h", "W_hy", "b_y"))
    h = np.zeros(Whh.shape[0])
    hs = []
    for s in range(t + 1):
        h = np.tanh(Wxh[:, ids[s]] + Whh @ h + bh)
        hs.append(h)
    y = Why @ hs[t] + by
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    p[ids[t + 1]] -= 1.0
    dh = Why.T @ p
    out = [0.0] * (t + 1)
    for s in range(t, -1, -1):
        out[s] = np.linalg.norm(dh)
        dh = Whh.T @ ((1.0 - hs[s] ** 2) * dh)
    return np.array(out)


def test_gradient_reach_stops_at_chunk_border():
    text = bptt.copy_stream(6, 3, seed=1)
    assert len(text) == 27 and text[7] == "?" and text[8] == text[0]
    params = hello.init_params(len(bptt.COPY_VOCAB), 8, seed=2, scale=0.5)
    ids = hello.encode(text, bptt.COPY_VOCAB)
    for k, t in ((4, 15), (9, 16), (5, 7)):
        r = bptt.gradient_reach(params, bptt.COPY_VOCAB, text, k, t)
        full = numpy_reach(hello.params_numpy(params), ids, t)
        np.testing.assert_allclose(r.full, full, atol=TOL)
        start = (t // k) * k
        assert r.chunk_start == start
        assert np.all(r.truncated[:start] == 0.0)
        np.testing.assert_allclose(r.truncated[start:], full[start:], atol=TOL)
        assert np.all(r.full[:start] > 0)
        assert np.all(r.h_norms > 0)  # the state itself is carried over every border
    assert bptt.chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    with pytest.raises(ValueError, match="loss position"):
        bptt.gradient_reach(params, bptt.COPY_VOCAB, text, 4, 26)


def test_truncation_costs_memory_on_the_copy_task():
    short = bptt.train_copy_task(gap=6, k=4, seed=0)
    long_ = bptt.train_copy_task(gap=6, k=9, seed=0)
    assert short.contained == 0.0 and long_.contained == 1.0
    # both learn the easy, local part of the stream
    assert short.acc_other[-1] > 0.95 and long_.acc_other[-1] > 0.95
    # only the long chunks learn to carry the letter across the gap
    assert long_.final_dependent > 0.9
    assert short.final_dependent < 0.7
    again = bptt.train_copy_task(gap=6, k=9, seed=0)
    assert again.acc_dependent == long_.acc_dependent  # deterministic


def test_hello_still_exports_the_bptt_names():
    # callers written before the split (e.g. tests/test_seeds.py) use hello.<name>
    for name in ("COPY_VOCAB", "CopyRun", "Reach", "chunk_bounds", "copy_stream", "dependency_span",
                 "gradient_reach", "train_copy_task"):
        assert getattr(hello, name) is getattr(bptt, name)
    from rnnviz.hello import train_copy_task
    assert train_copy_task is bptt.train_copy_task
    with pytest.raises(AttributeError):
        hello.no_such_name  # noqa: B018


# ---------------------------------------------------------------- equations

BMATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}")


def matrices(tex: str) -> list[np.ndarray]:
    """Every bmatrix in a LaTeX string, read back as numbers (rows split on \\\\, cells on &)."""
    return [np.array([[float(c) for c in row.split("&")] for row in body.split(r"\\")])
            for body in BMATRIX.findall(tex)]


def test_tex_primitives_escape_and_format():
    assert equations.tex_char("h") == r"\texttt{h}"
    assert equations.tex_char(" ") == r"\texttt{\textvisiblespace{}}"
    # every LaTeX special character is escaped: nothing a symbol holds can close the group
    nasty = "\\{}$%&#_^~"
    out = equations.tex_char(nasty)
    assert out.count("{") == out.count("}") and "$" not in out.replace(r"\$", "")
    assert r"\textbackslash{}" in out and r"\}" in out and r"\#" in out
    assert equations.tex_vec([1, -0.5]) == r"\begin{bmatrix}+1.000 \\ -0.500\end{bmatrix}"
    assert equations.tex_mat([[1, 2], [3, 4]], "{:.0f}") == r"\begin{bmatrix}1 & 2 \\ 3 & 4\end{bmatrix}"
    np.testing.assert_allclose(matrices(equations.tex_mat(np.eye(3)))[0], np.eye(3))
    with pytest.raises(ValueError, match="2-D"):
        equations.tex_mat([1.0, 2.0])
    assert equations.tex_labels("ab") == r"\begin{matrix}\texttt{a} \\ \texttt{b}\end{matrix}"


@pytest.mark.parametrize("t", [0, 1, 2, 3])
def test_forward_equations_hold_the_models_numbers(t):
    m = hello.HelloModel(hidden=3, seed=2, scale=0.5)
    m.train(7)
    p = m.forward()
    ref = numpy_reference(p.params, p.inputs, p.targets)
    lines = equations.hello_forward(p, t)
    assert len(lines) == 5 and all(s.count("{") == s.count("}") for s in lines)
    assert matrices(lines[0]) == []
    W_hh, h_prev, col, b_h = matrices(lines[1])
    np.testing.assert_allclose(W_hh, p.params["W_hh"], atol=0.005)
    np.testing.assert_allclose(h_prev[:, 0], ref["h_prev"][t], atol=5e-4)
    np.testing.assert_allclose(col[:, 0], ref["cols"][t], atol=5e-4)
    rec, _, _, pre, h = matrices(lines[2])
    np.testing.assert_allclose(rec[:, 0], p.params["W_hh"] @ ref["h_prev"][t], atol=5e-4)
    np.testing.assert_allclose(pre[:, 0], ref["pre"][t], atol=5e-4)
    np.testing.assert_allclose(h[:, 0], ref["hs"][t], atol=5e-4)
    y, probs = matrices(lines[3])
    np.testing.assert_allclose(y[:, 0], ref["logits"][t], atol=5e-4)
    np.testing.assert_allclose(probs[:, 0], ref["probs"][t], atol=5e-5)
    assert rf"h_{{{t + 1}}} = \tanh" in lines[0] and rf"h_{{{t}}}" in lines[0]
    assert lines[4].endswith(f"= {ref['losses'][t]:.4f}")
    assert rf"[\texttt{{{m.word[t + 1]}}}]" in lines[4]


@pytest.mark.parametrize("t", [0, 1, 2, 3])
def test_backward_equations_hold_the_models_numbers(t):
    m = hello.HelloModel(hidden=3, seed=2, scale=0.5)
    m.train(7)
    p = m.forward()
    ref = numpy_reference(p.params, p.inputs, p.targets)
    lines = equations.hello_backward(p, t)
    assert len(lines) == 5 and all(s.count("{") == s.count("}") for s in lines)
    probs, onehot, dy = matrices(lines[0])
    expect_dy = ref["probs"][t] - np.eye(len(p.vocab))[p.targets[t]]
    np.testing.assert_allclose(onehot[:, 0], np.eye(len(p.vocab))[p.targets[t]])
    np.testing.assert_allclose(dy[:, 0], expect_dy, atol=5e-5)
    ops = matrices(lines[1])
    np.testing.assert_allclose(ops[0], p.params["W_hy"].T, atol=0.005)
    sums = matrices(lines[2])
    last = t == p.steps - 1
    assert len(ops) == (2 if last else 4) and len(sums) == (2 if last else 3)
    if not last:  # what flows back from step t + 2 goes through W_hh^T
        np.testing.assert_allclose(ops[3][:, 0], ref["da"][t + 1], atol=5e-4)
        np.testing.assert_allclose(sums[1][:, 0], p.params["W_hh"].T @ ref["da"][t + 1], atol=5e-4)
    np.testing.assert_allclose(sums[0][:, 0], p.params["W_hy"].T @ expect_dy, atol=5e-4)
    np.testing.assert_allclose(sums[-1][:, 0], ref["dh"][t], atol=5e-4)
    deriv, dh, da = matrices(lines[3])
    np.testing.assert_allclose(deriv[:, 0], 1 - ref["hs"][t] ** 2, atol=5e-4)
    np.testing.assert_allclose(da[:, 0], ref["da"][t], atol=5e-4)
    (outer,) = matrices(lines[4])
    np.testing.assert_allclose(outer, np.outer(ref["da"][t], ref["h_prev"][t]), atol=5e-4)
    assert rf"[:, \texttt{{{m.word[t]}}}]" in lines[4]
    with pytest.raises(ValueError, match="between 1 and 4"):
        equations.hello_backward(p, 4)


def test_step_shares_add_up_to_the_whole_gradient():
    # the per-step shares of the backward equations are what autograd sums up
    p = hello.HelloModel(hidden=4, seed=5).forward()
    total_hh = sum(np.outer(p.da[t], p.h_prev[t]) for t in range(p.steps))
    np.testing.assert_allclose(total_hh, p.grads["W_hh"], atol=1e-12)
    total_xh = np.zeros_like(p.grads["W_xh"])
    for t, i in enumerate(p.inputs):
        total_xh[:, i] += p.da[t]
    np.testing.assert_allclose(total_xh, p.grads["W_xh"], atol=1e-12)


# ---------------------------------------------------------------- training history (links)

def test_history_replays_to_the_same_weights():
    m = hello.HelloModel(hidden=4, seed=3, scale=0.5)
    m.train(5)
    m.train(7)  # same settings: one segment of 12
    m.set_optimizer("adam", 0.05)
    m.set_clip("norm", 1.0)
    m.train(6)
    m.set_optimizer("adam", 0.02)  # same optimiser, new rate: Adam's memory is kept
    m.train(4)
    assert [s.steps for s in m.history] == [12, 6, 4]
    text = hello.history_text(m.history)
    assert text == "adagrad:0.1:elementwise:5.0:12,adam:0.05:norm:1.0:6,adam:0.02:norm:1.0:4"
    again = hello.HelloModel(hidden=4, seed=3, scale=0.5)
    again.replay(hello.parse_history(text))
    assert again.steps == 22 and again.history == m.history
    for k in hello.PARAM_NAMES:
        assert np.array_equal(hello.params_numpy(again.params)[k], hello.params_numpy(m.params)[k]), k
    assert hello.parse_history("") == []


def test_history_counts_only_the_steps_that_were_kept():
    m = hello.HelloModel()
    m.set_optimizer("sgd", 0.1)
    m.set_clip("none", 5.0)
    real_update, calls = m.opt.update, []

    def poisoned_update(params, grads):
        real_update(params, grads)
        calls.append(1)
        if len(calls) == 3:
            params["W_hy"][0, 0] = float("inf")

    m.opt.update = poisoned_update
    with pytest.raises(ValueError, match="diverged"):
        m.train(5)
    assert m.history == [hello.Segment("sgd", 0.1, "none", 5.0, 2)]


@pytest.mark.parametrize("text,msg", [("adagrad:0.1:elementwise:5", "should read"),
                                      ("rmsprop:0.1:none:5:3", "Unknown optimiser"),
                                      ("sgd:0.1:sideways:5:3", "Unknown clipping"),
                                      ("sgd:fast:none:5:3", "not a number"),
                                      ("sgd:0:none:5:3", "learning rate"),
                                      ("sgd:0.1:none:5:0", "positive"),
                                      ("sgd:0.1:none:nan:3", "positive"),
                                      ("sgd:0.1:none:5:1500,sgd:0.2:none:5:600", "at most 2000")])
def test_bad_history_is_refused(text, msg):
    with pytest.raises(ValueError, match=msg):
        hello.parse_history(text)


# ---------------------------------------------------------------- table rows

def test_table_rows_hold_the_pass_numbers():
    m = hello.HelloModel(word="hi there", hidden=3, seed=1)
    p = m.forward()
    ref = numpy_reference(p.params, p.inputs, p.targets)
    assert hello.step_labels(p)[1] == "'i' → '␣'"  # a space is shown as ␣
    assert hello.position_labels(p)[0] == "'h'→'i' (t=1)"
    rows = hello.train_rows(p)
    assert [r["p(target)"] for r in rows] == pytest.approx(p.p_correct.tolist())
    assert [r["loss"] for r in rows] == pytest.approx(ref["losses"].tolist(), abs=TOL)
    assert rows[1]["target"] == "␣"
    reach = hello.reach_rows(p)
    assert [r["from L7"] for r in reach] == pytest.approx(ref["reach_last"].tolist(), abs=TOL)
    assert [r["from all L"] for r in reach] == pytest.approx(ref["reach_total"].tolist(), abs=TOL)
    assert reach[0]["σ_max"] == hello.NO_STEP_BACK and float(reach[2]["σ_max"]) == pytest.approx(ref["jac"][2], abs=6e-6)
    chain = hello.sample_chain(m.params, m.vocab, "t", 3, seed=2)
    crow = hello.chain_rows(chain, m.vocab)
    assert [r["drawn"] for r in crow] == [hello.show(s.sampled) for s in chain]
    assert crow[0]["fed in"] == "t" and crow[1]["fed in"] == hello.show(chain[0].sampled)
    assert crow[0]["p('␣')"] == pytest.approx(float(chain[0].probs[m.vocab.index(" ")]))
    # every letter of "hi there" is read as an input somewhere; in "hello" the 'o' never is
    assert hello.unused_letters(p) == []
    assert hello.unused_letters(hello.HelloModel().forward()) == ["o"]


def test_copy_rows_and_default_loss_position():
    text = bptt.copy_stream(6, 3, seed=1)  # '?' at 7, 16, 25
    assert bptt.default_loss_position(text, 4) == 7  # 7 % 4 = 3 is the deepest; ties go to the later one
    assert bptt.default_loss_position(text, 9) == 25  # every '?' is at 7 % 9: the last wins
    with pytest.raises(ValueError, match="no '\\?'"):
        bptt.default_loss_position("ab..", 4)
    run = bptt.train_copy_task(gap=2, k=2, chars=100, hidden=4, seed=0, evals=2)
    (row,) = bptt.copy_rows([run], bptt.dependency_span(2))
    assert row["chunk length k"] == 2 and row["k > span?"] == "no"
    assert row["accuracy on the repeated letter"] == run.acc_dependent[-1]
    assert row["updates"] == 50 and row["best during training"] == max(run.acc_dependent)
