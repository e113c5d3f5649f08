"""The lecture's cell equations filled in with one step's numbers (LaTeX strings).

The LSTM gates page shows, for one cell at one position, every addend of every
pre-activation and the resulting c_t and h_t inside the equations students know
from the slides. The numbers come from ``rnnviz.gates.inspect_step`` (recomputed
from the weights); this module only writes them down, so it is pure and tested
without Streamlit. Each builder returns the lines of one ``aligned`` block; the
cell-type registry (``rnnviz.celltypes``) points at them.
"""

from __future__ import annotations


def num(v: float, nd: int = 4) -> str:
    """A number for use inside a sum: negative values in brackets, e.g. ``(-0.1234)``."""
    s = f"{v:.{nd}f}"
    return s if v >= 0 else f"({s})"


def _gate_line(name: str, fn: str, q: dict, x_sub: str) -> str:
    """``name_t = fn(W_x x_t + W_h h_{t-1} + b) = fn(pre) = value``, each addend labelled."""
    return (
        rf"{name}_t &= {fn}\big(\underbrace{{{num(q['x'])}}}_{{W_{{{x_sub}{name}}} x_t}} + "
        rf"\underbrace{{{num(q['h'])}}}_{{W_{{h{name}}} h_{{t-1}}}} + "
        rf"\underbrace{{{num(q['b'])}}}_{{b_{name}}}\big) = {fn}({q['pre']:.4f}) = {q['value']:.4f}"
    )


def lstm_lines(d: dict) -> list[str]:
    """Gates i, f, o, candidate g, then c_t (kept + written) and h_t."""
    p = d["parts"]
    lines = [_gate_line(n, fn, p[n], "x")
             for n, fn in (("i", r"\sigma"), ("f", r"\sigma"), ("o", r"\sigma"), ("g", r"\tanh"))]
    i, f, g, o = (p[n]["value"] for n in "ifgo")
    lines.append(
        rf"c_t &= f_t\, c_{{t-1}} + i_t\, g_t = {f:.4f} \cdot {num(d['c_prev'])} + {i:.4f} \cdot {num(g)}"
        rf" \\ &= \underbrace{{{num(d['keep'])}}}_{{\text{{kept}}}} + \underbrace{{{num(d['write'])}}}"
        rf"_{{\text{{written}}}} = \mathbf{{{d['c']:.4f}}}"
    )
    lines.append(
        rf"h_t &= o_t \tanh(c_t) = {o:.4f} \cdot \tanh({d['c']:.4f}) = {o:.4f} \cdot {num(d['tanh_c'])}"
        rf" = \mathbf{{{d['h']:.4f}}}"
    )
    return lines


def gru_lines(d: dict) -> list[str]:
    """Gates r, z, the candidate n (reset applied after the product, as PyTorch does), then h_t."""
    p = d["parts"]
    lines = [_gate_line(n, r"\sigma", p[n], "i") for n in ("r", "z")]
    n, r, z = p["n"], p["r"]["value"], p["z"]["value"]
    lines.append(
        rf"n_t &= \tanh\big(\underbrace{{{num(n['x'] + n['b_x'])}}}_{{W_{{in}} x_t + b_{{in}}}} + r_t "
        rf"(\underbrace{{{num(n['h'] + n['b_h'])}}}_{{W_{{hn}} h_{{t-1}} + b_{{hn}}}})\big)"
        rf" \\ &= \tanh({n['x'] + n['b_x']:.4f} + {r:.4f} \cdot {num(n['h'] + n['b_h'])})"
        rf" = \tanh({n['pre']:.4f}) = {n['value']:.4f}"
    )
    lines.append(
        rf"h_t &= (1 - z_t)\, n_t + z_t\, h_{{t-1}} = {1 - z:.4f} \cdot {num(n['value'])} + {z:.4f} \cdot "
        rf"{num(d['h_prev'])} \\ &= \underbrace{{{num(d['write'])}}}_{{\text{{new}}}} + "
        rf"\underbrace{{{num(d['keep'])}}}_{{\text{{kept}}}} = \mathbf{{{d['h']:.4f}}}"
    )
    return lines


def rnn_lines(d: dict) -> list[str]:
    """The pre-activation a_t and h_t = tanh(a_t) (or relu)."""
    q = d["parts"]["a"]
    fn = r"\tanh" if d["activation"] == "tanh" else r"\operatorname{relu}"
    return [
        rf"a_t &= \underbrace{{{num(q['h'])}}}_{{W_{{hh}} h_{{t-1}}}} + "
        rf"\underbrace{{{num(q['x'])}}}_{{W_{{xh}} x_t}} + \underbrace{{{num(q['b'])}}}_{{b}} = {q['pre']:.4f}",
        rf"h_t &= {fn}(a_t) = {fn}({q['pre']:.4f}) = \mathbf{{{q['value']:.4f}}}",
    ]


def aligned(lines: list[str]) -> str:
    """One ``aligned`` block, a little space between the lines (for ``st.latex``)."""
    return r"\begin{aligned}" + r" \\[4pt] ".join(lines) + r"\end{aligned}"


def lstm(d: dict) -> str:
    return aligned(lstm_lines(d))


def gru(d: dict) -> str:
    return aligned(gru_lines(d))


def rnn(d: dict) -> str:
    return aligned(rnn_lines(d))
