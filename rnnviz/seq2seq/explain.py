"""Does attention explain the output? And how does accuracy depend on input length?

``attention_test``: for every test example and output position i, find the input
character the decoder attended to most (argmax_j a_ij), replace it with the padding
symbol (a "blank" the model never saw inside a date) and decode again. If attention
explains the output, output character i should change far more often than when a
*random* other input character is blanked. Both rates are reported.

``blank_each_top``: the same experiment for one typed date, position by position,
so a student sees which blank changed which output character.

``accuracy_by_length``: exact match of a model on the test split, grouped by the
length of the input text.

For the string tasks (``strings``: reverse or copy), where every input has the same
length: ``aligned_share`` (how often the decoder looks exactly where its character
comes from) and ``accuracy_by_position`` (which output characters suffer most from
the one-vector bottleneck).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .dates import DateData, Vocab, decode_output, split_tensors
from .model import Seq2Seq, encode_texts


@dataclass
class AttentionTest:
    positions: int  # (example, output position) pairs tested
    changed_top: float  # fraction whose output character changed when the most-attended input was blanked
    changed_random: float  # same, blanking a random other input character
    output_changed_top: float  # fraction where the whole output string changed
    per_position: list[float]  # changed_top for each output position (0..9)


def _blank(x, col):
    x = x.clone()
    x[torch.arange(len(x)), col] = 0
    return x


def _no_attention(model: Seq2Seq):
    if model.config.attention == "none":
        raise ValueError("This model has no attention, so there is nothing to test: pick a model "
                         "trained with additive or dot-product attention.")


@torch.no_grad()
def attention_test(model: Seq2Seq, data: DateData, limit: int | None = 1000, seed: int = 0) -> AttentionTest:
    """Blank each test date's most-attended input character, one output position at a
    time, and count how often the output changes (see the module docstring)."""
    _no_attention(model)
    x, lens, _ = split_tensors(data, data.test[:limit])
    ids, _, att = model.greedy(x, lens)
    top = att.argmax(dim=-1)  # (N, OUT_LEN)
    gen = torch.Generator().manual_seed(seed)
    changed, changed_rand, whole = [], [], []
    for i in range(ids.shape[1]):
        col = top[:, i]
        # a random real position other than the most attended one (inputs are >= 2 characters)
        r = (col + 1 + (torch.rand(len(x), generator=gen) * (lens - 1)).long()) % lens
        new, _, _ = model.greedy(_blank(x, col), lens)
        rnd, _, _ = model.greedy(_blank(x, r), lens)
        changed.append((new[:, i] != ids[:, i]).float())
        changed_rand.append((rnd[:, i] != ids[:, i]).float())
        whole.append((new != ids).any(dim=1).float())
    c, cr, w = torch.stack(changed, 1), torch.stack(changed_rand, 1), torch.stack(whole, 1)
    return AttentionTest(positions=c.numel(), changed_top=float(c.mean()), changed_random=float(cr.mean()),
                         output_changed_top=float(w.mean()), per_position=[float(v) for v in c.mean(0)])


@dataclass
class Blanked:
    """Output position ``position`` of one typed date, with its most-attended input character blanked."""

    position: int
    char: str  # the output character before blanking
    index: int  # the most-attended input position
    weight: float  # its attention weight
    new_output: str  # the whole output after blanking it
    changed: bool  # did output character ``position`` change?


@torch.no_grad()
def blank_each_top(model: Seq2Seq, vocab: Vocab, text: str) -> tuple[str, str, list[Blanked]]:
    """For each output position of ``text``'s translation, blank the input character it
    attended to most and decode again. Returns (checked text, output, one row per position)."""
    _no_attention(model)
    (text,), x, lens = encode_texts([text], vocab, model.config)
    ids, _, att = model.greedy(x, lens)
    top = att[0].argmax(dim=-1)  # (OUT_LEN,)
    n = len(top)
    new, _, _ = model.greedy(_blank(x.repeat(n, 1), top), lens.repeat(n))
    out, news = decode_output(ids, model.out_vocab)[0], decode_output(new, model.out_vocab)
    return text, out, [Blanked(i, out[i], int(top[i]), float(att[0, i, top[i]]), news[i],
                               bool(new[i, i] != ids[0, i])) for i in range(n)]


@dataclass
class LengthBin:
    lo: int
    hi: int  # inclusive
    n: int
    exact_match: float


@torch.no_grad()
def accuracy_by_length(model: Seq2Seq, data: DateData, width: int = 5) -> list[LengthBin]:
    """Test exact match in bins of ``width`` input characters (empty bins left out)."""
    x, lens, y = split_tensors(data, data.test)
    ids, _, _ = model.greedy(x, lens)
    ok = (ids == y).all(dim=1)
    bins = []
    for lo in range(int(lens.min()) // width * width, int(lens.max()) + 1, width):
        sel = (lens >= lo) & (lens < lo + width)
        if sel.any():
            bins.append(LengthBin(lo, lo + width - 1, int(sel.sum()), float(ok[sel].float().mean())))
    return bins


@torch.no_grad()
def test_exact_match(model: Seq2Seq, data: DateData) -> float:
    from .trainer import exact_match

    return exact_match(model, *split_tensors(data, data.test))


def source_positions(task: str, length: int) -> torch.Tensor:
    """For a string task, the input position each output position should read:
    the mirror image for reversal (the anti-diagonal of the map), itself for copying."""
    pos = torch.arange(length)
    return pos.flip(0) if task == "reverse" else pos


@torch.no_grad()
def aligned_share(model: Seq2Seq, data, limit: int | None = 200, slack: int = 0) -> float:
    """For a string task: the share of (test string, output position) pairs whose
    most-attended input position is the one the output character comes from (or at
    most ``slack`` positions away from it)."""
    _no_attention(model)
    x, lens, _ = split_tensors(data, data.test[:limit])
    _, _, att = model.greedy(x, lens)
    want = source_positions(data.task, data.length)
    return float(((att.argmax(dim=-1) - want[None, :]).abs() <= slack).float().mean())


@torch.no_grad()
def accuracy_by_position(model: Seq2Seq, data) -> list[float]:
    """Test accuracy of each output character on its own (position 1, 2, ...)."""
    x, lens, y = split_tensors(data, data.test)
    ids, _, _ = model.greedy(x, lens, steps=y.shape[1])
    return [float(v) for v in (ids == y).float().mean(0)]


def measure(what: str, model: Seq2Seq, data, limit: int | None = None):
    """The page's test-set reports: "explain" (``attention_test`` over ``limit``
    examples) or "length" (``accuracy_by_length`` for dates, ``accuracy_by_position``
    for the string tasks, whose inputs all have one length)."""
    if what == "explain":
        return attention_test(model, data, limit=limit)
    return accuracy_by_length(model, data) if data.task == "dates" else accuracy_by_position(model, data)
