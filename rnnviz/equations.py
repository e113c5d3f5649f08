"""Number-filled LaTeX: equations written out with a model's real numbers.

Pages show an equation twice: once with symbols, once with the very numbers the
model computed, so a student can check a step by hand. This module builds those
strings (plain ``str`` for ``st.latex`` or Markdown ``$$ ... $$``) and knows
nothing about Streamlit, so the tests read them without a browser.

Primitives: ``tex_char`` (a vocabulary symbol, escaped for LaTeX), ``tex_vec``
(a column vector), ``tex_mat`` (a matrix) and ``tex_labels`` (a column of
symbols set beside a vector). Builders: ``hello_forward`` and ``hello_backward``,
one step of the "hello" RNN of ``rnnviz.hello`` forwards and backwards. Time
steps are shown 1-based (h_1 is the state after the first letter, h_0 the
all-zero start state), as in the lecture.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_TEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "%": r"\%", "&": r"\&", "#": r"\#",
        "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", " ": r"\textvisiblespace{}"}

VEC_FMT = "{:+.3f}"
MAT_FMT = "{:+.2f}"
PROB_FMT = "{:.4f}"
GRAD_FMT = "{:+.4f}"


def tex_char(ch: str) -> str:
    """``ch`` in typewriter type with every LaTeX special character escaped (a space
    becomes a visible ␣), so a vocabulary symbol can never break or inject markup."""
    return r"\texttt{" + "".join(_TEX.get(c, c) for c in ch) + "}"


def tex_vec(v, fmt: str = VEC_FMT) -> str:
    """A column vector, one formatted entry per row."""
    return r"\begin{bmatrix}" + r" \\ ".join(fmt.format(float(x)) for x in np.asarray(v).reshape(-1)) + \
        r"\end{bmatrix}"


def tex_mat(M, fmt: str = MAT_FMT) -> str:
    """A matrix (2-D), one formatted entry per cell."""
    M = np.asarray(M)
    if M.ndim != 2:
        raise ValueError(f"tex_mat needs a 2-D array (got {M.ndim}-D).")
    rows = [" & ".join(fmt.format(float(x)) for x in row) for row in M]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def tex_labels(symbols: Sequence[str]) -> str:
    """A column of symbols, to set beside a vector so each row is named."""
    return r"\begin{matrix}" + r" \\ ".join(tex_char(c) for c in symbols) + r"\end{matrix}"


def _check_step(p, t: int) -> int:
    t = int(t)
    if not 0 <= t < p.steps:
        raise ValueError(f"The time step must be between 1 and {p.steps} (got {t + 1}).")
    return t


def hello_forward(p, t: int) -> list[str]:
    """Step ``t`` (0-based) of a ``hello.Pass`` forwards, as five short LaTeX lines
    (short enough for a projector): the state update in symbols, with its operands,
    the same sum evaluated, the output and softmax, and the loss."""
    t = _check_step(p, t)
    n, prev = t + 1, t
    W_hh, b_h = p.params["W_hh"], p.params["b_h"]
    rec = W_hh @ p.h_prev[t]
    target = p.targets[t]
    return [
        rf"h_{{{n}}} = \tanh\big(W_{{hh}}\,h_{{{prev}}} + W_{{xh}}\,x_{{{n}}} + b_h\big)",
        rf"= \tanh\Big({tex_mat(W_hh)}{tex_vec(p.h_prev[t])} + {tex_vec(p.cols[t])} + {tex_vec(b_h)}\Big)",
        rf"= \tanh\Big({tex_vec(rec)} + {tex_vec(p.cols[t])} + {tex_vec(b_h)}\Big)"
        rf" = \tanh{tex_vec(p.pre[t])} = {tex_vec(p.hs[t])}",
        rf"y_{{{n}}} = W_{{hy}}\,h_{{{n}}} + b_y = {tex_vec(p.logits[t])}"
        rf"\qquad p_{{{n}}} = \mathrm{{softmax}}(y_{{{n}}}) = {tex_vec(p.probs[t], PROB_FMT)}"
        + tex_labels(p.vocab),
        rf"L_{{{n}}} = -\log p_{{{n}}}[{tex_char(p.vocab[target])}] = -\log {p.probs[t, target]:.4f}"
        rf" = {p.losses[t]:.4f}",
    ]


def hello_backward(p, t: int) -> list[str]:
    """Step ``t`` (0-based) of a ``hello.Pass`` backwards (gradients of the summed
    loss L), as five LaTeX lines: the output gradient p − one-hot(target), the
    gradient reaching h (from this step's output plus what flows back from the
    next step; two lines), through tanh to the pre-activation a, and this step's share of
    the weight gradients (the used column of W_xh and an outer product for W_hh)."""
    t = _check_step(p, t)
    n = t + 1
    V = len(p.vocab)
    target = np.zeros(V)
    target[p.targets[t]] = 1.0
    dy = p.probs[t] - target
    W_hy, W_hh = p.params["W_hy"], p.params["W_hh"]
    from_y = W_hy.T @ dy
    if t + 1 < p.steps:
        later = rf" + W_{{hh}}^\top \frac{{\partial L}}{{\partial a_{{{n + 1}}}}}"
        later_num = rf" + {tex_mat(W_hh.T)}{tex_vec(p.da[t + 1])}"
        later_sum = rf" + {tex_vec(W_hh.T @ p.da[t + 1])}"
    else:
        later, later_num, later_sum = "", "", ""
    return [
        rf"\frac{{\partial L}}{{\partial y_{{{n}}}}} = p_{{{n}}} - \mathbf{{1}}[{tex_char(p.vocab[p.targets[t]])}]"
        rf" = {tex_vec(p.probs[t], PROB_FMT)} - {tex_vec(target, '{:.0f}')} = {tex_vec(dy, GRAD_FMT)}"
        + tex_labels(p.vocab),
        rf"\frac{{\partial L}}{{\partial h_{{{n}}}}} = W_{{hy}}^\top \frac{{\partial L}}{{\partial y_{{{n}}}}}{later}"
        rf" = {tex_mat(W_hy.T)}{tex_vec(dy, GRAD_FMT)}{later_num}",
        rf"= {tex_vec(from_y)}{later_sum} = {tex_vec(p.dh[t])}",
        rf"\frac{{\partial L}}{{\partial a_{{{n}}}}} = (1 - h_{{{n}}}^2) \odot \frac{{\partial L}}{{\partial h_{{{n}}}}}"
        rf" = {tex_vec(1.0 - p.hs[t] ** 2)} \odot {tex_vec(p.dh[t])} = {tex_vec(p.da[t])}",
        rf"\text{{step {n}'s share:}}\quad \frac{{\partial L}}{{\partial W_{{xh}}}}[:, {tex_char(p.vocab[p.inputs[t]])}]"
        rf" \mathrel{{+}}= \frac{{\partial L}}{{\partial a_{{{n}}}}}"
        rf"\qquad \frac{{\partial L}}{{\partial W_{{hh}}}} \mathrel{{+}}= \frac{{\partial L}}{{\partial a_{{{n}}}}}\,"
        rf"h_{{{t}}}^\top = {tex_mat(np.outer(p.da[t], p.h_prev[t]), '{:+.3f}')}",
    ]
