"""Models: the step-by-step ``trace`` is an exact replay of the fused forward."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn as nn

from rnnviz import models
from rnnviz.models import SIGNALS, CharModel, ModelConfig, build, trace

V, E, H, T = 11, 8, 16, 23
TOL = 1e-5
MODES = {
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
    "grad": contextlib.nullcontext,
}


def tiny(cell, layers=1, hidden=H, seed=0, **kw):
    return build(cell, vocab_size=V, layers=layers, hidden=hidden, embed=E, seed=seed, **kw).eval()


def ids_of(n=T, seed=1):
    return torch.randint(0, V, (n,), generator=torch.Generator().manual_seed(seed))


def random_state(model, seed=2, scale=0.8):
    g = torch.Generator().manual_seed(seed)
    c = model.config
    h = scale * (2 * torch.rand(c.layers, 1, c.hidden, generator=g) - 1)
    if c.cell == "lstm":
        return h, 2 * scale * (2 * torch.rand(c.layers, 1, c.hidden, generator=g) - 1)
    return h


def single_layer(model, k):
    """A fused one-layer module holding layer k's weights (reference for per-layer h)."""
    c = model.config
    kw = dict(batch_first=True)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(c.cell)
    in_size = c.embed if k == 0 else c.hidden
    mod = cls(in_size, c.hidden, 1, **kw) if cls else nn.RNN(in_size, c.hidden, 1, nonlinearity=c.nonlinearity, **kw)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(mod, f"{name}_l0").copy_(getattr(model.rnn, f"{name}_l{k}"))
    return mod


def layer_state(state, cell, k):
    if cell == "lstm":
        return state[0][k : k + 1], state[1][k : k + 1]
    return state[k : k + 1]


def close(a, b, tol=TOL):
    return torch.allclose(a.detach(), b.detach(), atol=tol, rtol=0)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_trace_equals_fused_forward(cell, layers, mode):
    model = tiny(cell, layers, seed=layers)
    ids = ids_of()
    state = random_state(model)
    with torch.no_grad():
        ref_logits, ref_state = model(ids[None], state)
        # per-layer h (and c) from fused one-layer modules, layer by layer
        x = model.embed(ids)[None]
        ref_h, ref_c = [], []
        for k in range(layers):
            mod = single_layer(model, k)
            s = layer_state(state, cell, k)
            out, _ = mod(x, s)
            ref_h.append(out[0])
            if cell == "lstm":  # c_t is not an output of nn.LSTM: step it one char at a time
                cs = []
                for t in range(T):
                    _, s = mod(x[:, t : t + 1], s)
                    cs.append(s[1][0, 0])
                ref_c.append(torch.stack(cs))
            x = out
    with MODES[mode]():
        tr = trace(model, ids, state)
    assert tr.logits.shape == (T, V)
    assert close(tr.logits, ref_logits[0])
    if cell == "lstm":
        assert close(tr.state[0], ref_state[0]) and close(tr.state[1], ref_state[1])
    else:
        assert close(tr.state, ref_state)
    for k in range(layers):
        assert set(tr.layers[k]) == set(SIGNALS[cell])
        for sig in SIGNALS[cell]:
            assert tr.layers[k][sig].shape == (T, H)
        assert close(tr.layers[k]["h"], ref_h[k]), f"layer {k} h differs"
        if cell == "lstm":
            assert close(tr.layers[k]["c"], ref_c[k]), f"layer {k} c differs"
            L = tr.layers[k]
            assert close(L["tanh_c"], torch.tanh(L["c"]))
            assert close(L["h"], L["o"] * L["tanh_c"])
    assert close(tr.probs.sum(-1), torch.ones(T))
    assert tr.numpy(0, "h").dtype.name == "float32"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_trace_gate_equations(cell):
    """The recorded gates satisfy the textbook equations (PyTorch gate order)."""
    model = tiny(cell, 2)
    tr = trace(model, ids_of(), random_state(model))
    for k in range(2):
        L = tr.layers[k]
        if cell == "lstm":
            c_prev = torch.cat([random_state(model)[1][k], L["c"][:-1]])
            assert close(L["c"], L["f"] * c_prev + L["i"] * L["g"])
            for g in "ifo":
                assert (L[g] > 0).all() and (L[g] < 1).all()
        elif cell == "gru":
            h_prev = torch.cat([random_state(model)[k], L["h"][:-1]])
            assert close(L["h"], (1 - L["z"]) * L["n"] + L["z"] * h_prev)
        else:
            assert close(L["h"], torch.tanh(L["pre"]))


def stepwise(model, ids, state=None, **kw):
    """The step-by-step path: with gradients enabled trace() runs cell_step per step."""
    with torch.enable_grad():
        return trace(model, ids, state, **kw)


def assert_same_trace(a, b, cell, tol=TOL):
    for k in range(len(a.layers)):
        for sig in SIGNALS[cell]:
            assert a.layers[k][sig].shape == b.layers[k][sig].shape
            assert close(a.layers[k][sig], b.layers[k][sig], tol), f"layer {k} {sig}"
    assert close(a.logits, b.logits, tol)
    for x, y in zip(a.state if cell == "lstm" else (a.state,), b.state if cell == "lstm" else (b.state,)):
        assert x.shape == y.shape and close(x, y, tol)


CELL_KINDS = {"rnn_tanh": ("rnn", {}), "rnn_relu": ("rnn", {"nonlinearity": "relu"}), "lstm": ("lstm", {}),
              "gru": ("gru", {})}


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("kind", list(CELL_KINDS))
def test_fused_no_grad_path_equals_step_by_step(kind, layers, with_state, mode):
    cell, kw = CELL_KINDS[kind]
    model = tiny(cell, layers, seed=10 + layers, **kw)
    ids = ids_of(40, seed=layers)
    state = random_state(model, seed=layers) if with_state else None
    with MODES[mode]():
        fused = trace(model, ids, state)
    generic = stepwise(model, ids, state)
    assert fused.steps == [None] * layers, "no grad, no clamp -> the fused path"
    assert all(s is not None for s in generic.steps)
    assert not fused.logits.requires_grad
    assert_same_trace(fused, generic, cell)
    if cell == "lstm":  # the LSTM's own identities hold exactly as cell_step defines them
        for L in fused.layers:
            assert torch.equal(L["tanh_c"], torch.tanh(L["c"]))
            assert torch.equal(L["h"], L["o"] * L["tanh_c"])


def test_fused_lstm_cell_scan_in_unit_blocks(monkeypatch):
    """Wide layers run the c scan in blocks (so NumPy keeps the GIL); blocks change nothing."""
    model = tiny("lstm", 2, hidden=16)
    ids, state = ids_of(30), random_state(model)
    with torch.no_grad():
        whole = trace(model, ids, state)
    monkeypatch.setattr(models, "_NUMPY_GIL_BLOCK", 5)  # 16 units -> blocks of 5, 5, 5, 1
    with torch.no_grad():
        blocked = trace(model, ids, state)
    for k in range(2):
        for sig in SIGNALS["lstm"]:
            assert torch.equal(whole.layers[k][sig], blocked.layers[k][sig]), sig
    assert_same_trace(blocked, stepwise(model, ids, state), "lstm")


def test_fused_path_skips_when_steps_or_interventions_are_needed():
    rnn = tiny("rnn", 2)
    with torch.inference_mode():
        linear = trace(rnn, ids_of(), activation="linear")  # not the model's own activation
        relu = trace(rnn, ids_of(), activation="relu")
        own = trace(rnn, ids_of(), activation="tanh")  # the model's own: fused
        clamped = trace(tiny("gru", 1), ids_of(), clamp={(0, "h", 1): 0.5})
    assert linear.steps[0] is not None and relu.steps[0] is not None and clamped.steps[0] is not None
    assert own.steps == [None, None]
    assert close(linear.layers[0]["h"], linear.layers[0]["pre"])
    assert close(relu.layers[0]["h"], stepwise(rnn, ids_of(), activation="relu").layers[0]["h"])
    assert torch.all(clamped.layers[0]["h"][:, 1] == 0.5)


class _CountTorchCalls(torch.overrides.TorchFunctionMode):
    """Counts every call from Python into torch (each one releases and re-takes the GIL)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_no_grad_trace_makes_a_fixed_number_of_torch_calls(cell):
    """O(layers) torch calls, independent of the sequence length (the GIL convoy fix)."""
    model = tiny(cell, 3)
    counts = {}
    for n in (20, 200):
        with torch.inference_mode(), _CountTorchCalls() as c:
            trace(model, ids_of(n))
        counts[n] = c.calls
    assert counts[20] == counts[200] < 200
    with _CountTorchCalls() as c:  # the step-by-step path: calls grow with T
        stepwise(model, ids_of(200))
    assert c.calls > 3 * 200


def test_inference_mode_returns_inference_tensors():
    model = tiny("gru", 1)
    with torch.inference_mode():
        tr = trace(model, ids_of())
    assert not tr.logits.requires_grad and tr.logits.is_inference()
    assert tr.steps == [None]  # no per-step tensors without gradients
    assert tr.numpy(0, "h").shape == (T, H)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradients_flow_to_every_step(cell):
    model = tiny(cell, 2)
    ids = ids_of(12)
    tr = trace(model, ids)
    loss = torch.nn.functional.cross_entropy(tr.logits[-1:], ids[-1:])
    for k in range(2):
        hs = tr.steps[k]["h"]
        assert len(hs) == 12
        grads = torch.autograd.grad(loss, hs, retain_graph=True)
        assert all(g.shape == (H,) for g in grads)
        assert all(g.abs().sum() > 0 for g in grads), "every earlier h_t influences the last prediction"
        if cell == "lstm":
            gc = torch.autograd.grad(loss, tr.steps[k]["c"], retain_graph=True)
            assert all(g.abs().sum() > 0 for g in gc)
    # causality: the prediction at step 3 does not depend on h at step 5
    g = torch.autograd.grad(tr.logits[3].sum(), tr.steps[0]["h"][5], allow_unused=True)[0]
    assert g is None or g.abs().sum() == 0


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradients_match_fused_backward(cell):
    """d loss / d h0 through the trace equals the fused module's gradient."""
    model = tiny(cell, 2)
    ids = ids_of(15)
    base = random_state(model)

    def grads(fn):
        st = tuple(s.clone().requires_grad_(True) for s in base) if cell == "lstm" else base.clone().requires_grad_(True)
        logits = fn(st)
        loss = torch.nn.functional.cross_entropy(logits[:-1], ids[1:])
        return torch.autograd.grad(loss, st if cell == "lstm" else (st,))

    fused = grads(lambda st: model(ids[None], st)[0][0])
    stepped = grads(lambda st: trace(model, ids, st).logits)
    for a, b in zip(fused, stepped):
        assert close(a, b, 1e-6)


def test_embeddings_override_for_saliency():
    model = tiny("lstm", 1)
    ids = ids_of(10)
    emb = model.embed(ids).detach().requires_grad_(True)
    tr = trace(model, ids, embeddings=emb)
    assert close(tr.logits, trace(model, ids).logits)
    (g,) = torch.autograd.grad(tr.logits[-1].max(), emb)
    assert g.shape == (10, E) and g[0].abs().sum() > 0


def test_clamp_h_holds_units_and_changes_output():
    model = tiny("gru", 2)
    ids = ids_of()
    free = trace(model, ids)
    tr = trace(model, ids, clamp={(0, "h", 3): 0.9, (1, "h", 0): -0.5})
    assert torch.all(tr.layers[0]["h"][:, 3] == 0.9)
    assert torch.all(tr.layers[1]["h"][:, 0] == -0.5)
    assert not close(tr.logits, free.logits, 1e-3)


def test_clamp_lstm_c_propagates_to_h():
    model = tiny("lstm", 1)
    with torch.no_grad():  # clamping bypasses the fused path but must still work
        tr = trace(model, ids_of(), clamp={(0, "c", 5): 1.5})
    L = tr.layers[0]
    assert torch.all(L["c"][:, 5] == 1.5)
    assert close(L["h"][:, 5], L["o"][:, 5] * torch.tanh(torch.tensor(1.5)))


@pytest.mark.parametrize(
    "clamp, match",
    [
        ({(2, "h", 0): 1.0}, "Layer 2 does not exist"),
        ({(0, "h", H): 1.0}, f"Cell {H} does not exist"),
        ({(0, "c", 0): 1.0}, "Only h"),
        ({(0, "x", 0): 1.0}, "Only h"),
    ],
)
def test_bad_clamps(clamp, match):
    with pytest.raises(ValueError, match=match):
        trace(tiny("gru", 1), ids_of(), clamp=clamp)


def test_clamp_h_and_c_in_one_layer_is_refused():
    with pytest.raises(ValueError, match="not both"):
        trace(tiny("lstm", 1), ids_of(), clamp={(0, "h", 0): 1.0, (0, "c", 1): 1.0})


def test_linear_activation_for_rnn_experiments():
    model = tiny("rnn", 1)
    tr = trace(model, ids_of(), activation="linear")
    assert close(tr.layers[0]["h"], tr.layers[0]["pre"])
    relu = trace(model, ids_of(), activation="relu")
    assert (relu.layers[0]["h"] >= 0).all()
    with pytest.raises(ValueError, match="Unknown activation"):
        trace(model, ids_of(), activation="sine")


def test_relu_rnn_trace_matches_fused():
    model = tiny("rnn", 2, nonlinearity="relu")
    ids = ids_of()
    with torch.no_grad():
        ref, _ = model(ids[None])
    assert close(trace(model, ids).logits, ref[0])


def test_trace_input_errors():
    model = tiny("lstm", 2)
    with pytest.raises(ValueError, match="empty"):
        trace(model, [])
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        trace(model, [0, V])
    with pytest.raises(ValueError, match="pair"):
        trace(model, ids_of(), torch.zeros(2, 1, H))
    with pytest.raises(ValueError, match="does not match the model"):
        trace(model, ids_of(), (torch.zeros(3, 1, H), torch.zeros(3, 1, H)))
    with pytest.raises(ValueError, match="batch size 1"):
        trace(model, ids_of(), (torch.zeros(2, 4, H), torch.zeros(2, 4, H)))


def test_trace_accepts_2d_state_and_lists():
    model = tiny("rnn", 2)
    s = random_state(model)
    a = trace(model, ids_of().tolist(), s)
    b = trace(model, ids_of().numpy(), s[:, 0])
    assert close(a.logits, b.logits, 0)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(cell="transformer"), "Unknown cell"),
        (dict(layers=0), "Layers"),
        (dict(layers=4), "Layers"),
        (dict(hidden=8), "Hidden size"),
        (dict(hidden=2048), "Hidden size"),
        (dict(embed=0), "Embedding size"),
        (dict(vocab_size=1), "Vocabulary size"),
        (dict(dropout=1.0), "Dropout"),
        (dict(dropout=-0.1), "Dropout"),
        (dict(nonlinearity="sigmoid"), "tanh or relu"),
    ],
)
def test_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        CharModel(ModelConfig(**kw))


def test_config_round_trip_and_helpers():
    cfg = ModelConfig(cell="gru", vocab_size=30, layers=3, hidden=24, embed=5, dropout=0.1)
    assert ModelConfig.from_dict({**cfg.to_dict(), "unknown_key": 1}) == cfg
    m = CharModel(cfg)
    assert m.cell == "gru"
    assert m.init_state(4).shape == (3, 4, 24)
    h, c = build("lstm", 30, 2, 16, 4).init_state(2)
    assert h.shape == c.shape == (2, 2, 16) and h.data_ptr() != c.data_ptr()
    assert m.num_params() == sum(p.numel() for p in m.parameters())


def test_build_seed_is_reproducible_and_copy_is_independent():
    a, b = tiny("lstm", 2, seed=7), tiny("lstm", 2, seed=7)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    c = a.copy()
    with torch.no_grad():
        c.head.bias.add_(1.0)
    assert not torch.equal(a.head.bias, c.head.bias)


def test_fused_forward_shapes():
    model = tiny("gru", 2)
    logits, state = model(torch.randint(0, V, (3, 9)))
    assert logits.shape == (3, 9, V) and state.shape == (2, 3, H)


def test_layer_weights_gate_slices():
    model = tiny("lstm", 2)
    w = models.layer_weights(model, 1)
    assert w.w_ih.shape == (4 * H, H) and w.w_hh.shape == (4 * H, H)
    assert w.w_hh.data_ptr() == model.rnn.weight_hh_l1.data_ptr()  # same weights, not a copy


# ------------------------------------------------------------------ trace size cap (issue 12)


def test_trace_memory_estimate_matches_what_a_trace_keeps():
    m = build("lstm", vocab_size=11, layers=2, hidden=16, embed=4, seed=0).eval()
    with torch.inference_mode():
        tr = trace(m, torch.arange(11).repeat(3))
    kept = sum(t.numel() * t.element_size() for layer in tr.layers for t in layer.values())
    kept += tr.logits.numel() * tr.logits.element_size()
    assert models.trace_memory_bytes(m.config, 33) == kept


def test_trace_length_capped_by_memory(monkeypatch):
    m = build("gru", vocab_size=5, layers=2, hidden=16, embed=4, seed=0).eval()
    per_char = models.trace_memory_bytes(m.config, 1)
    assert per_char == 4 * (2 * 16 * 4 + 5)
    monkeypatch.setattr(models, "MAX_TRACE_BYTES", per_char * 100)
    assert models.max_trace_chars(m.config) == 100
    with torch.inference_mode():
        assert trace(m, torch.zeros(100, dtype=torch.long)).logits.shape == (100, 5)
        with pytest.raises(ValueError, match=r"Tracing 101 characters .* 2 x 16 GRU .* which is 100 characters"):
            trace(m, torch.zeros(101, dtype=torch.long))
    with pytest.raises(ValueError, match="limit is 0 MB"):  # the message states the (patched) cap
        models.check_trace_size(m.config, 101)


def test_real_trace_cap_fits_the_pages_and_refuses_a_huge_text():
    cfg = ModelConfig(cell="lstm", vocab_size=166, layers=2, hidden=256, embed=64)  # the largest bundled models
    assert models.max_trace_chars(cfg) >= 15_000  # the pages trace at most 5,000 characters
    m = CharModel(cfg).eval()
    with pytest.raises(ValueError, match=r"1,000,000 characters.*limit is 256 MB"):
        trace(m, torch.zeros(1_000_000, dtype=torch.long))
