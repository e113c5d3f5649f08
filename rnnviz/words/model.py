"""The word2vec network: two embedding matrices and their update steps.

``W_in`` (V x d) holds the word vectors we keep: row w is word w's embedding, the
hidden layer for a one-hot input. ``W_out`` (V x d) holds the output ("context")
vectors. The score of a (centre, context) pair is the dot product of the
centre's input vector and the context's output vector.

Three objectives:

* negative sampling (skip-gram or CBOW): log sigma(u_o . h) + sum_k log sigma(-u_k . h),
  where h is the centre's input vector (skip-gram) or the average of the context
  words' input vectors (CBOW), and u_k are k drawn negatives - shared by the
  examples of a block (see ``_ns_update``);
* full softmax (small vocabularies only): cross-entropy of softmax(h W_out^T)
  against the true word.

The gradients are written out by hand and applied as plain SGD with
``index_add_`` on the touched rows only (as the original C code does): with
autograd and a sparse optimiser each step built a graph and sparse tensors and
measured slower. Several updates of one row in a batch are summed.
"""

from __future__ import annotations

import torch
from torch import nn

SOFTMAX_MAX_WORDS = 5000  # above this a full softmax is too slow to be worth showing


class Word2Vec(nn.Module):
    def __init__(self, vocab_size: int, dim: int, generator: torch.Generator | None = None):
        super().__init__()
        if vocab_size < 2:
            raise ValueError("Word2vec needs a vocabulary of at least two words.")
        if not 1 <= dim <= 1024:
            raise ValueError(f"The vector size must be between 1 and 1024 (got {dim}).")
        # word2vec's initialisation: small uniform input vectors, zero output vectors.
        w_in = (torch.rand(vocab_size, dim, generator=generator) - 0.5) / dim
        self.W_in = nn.Parameter(w_in, requires_grad=False)
        self.W_out = nn.Parameter(torch.zeros(vocab_size, dim), requires_grad=False)

    @property
    def vocab_size(self) -> int:
        return self.W_in.shape[0]

    @property
    def dim(self) -> int:
        return self.W_in.shape[1]


def blocks_of(n_pairs: int, block: int) -> int:
    """How many blocks of ``block`` pairs (the last one may be shorter) ``n_pairs`` pairs make."""
    if block < 1:
        raise ValueError(f"A block needs at least one pair (got {block}).")
    return -(-n_pairs // block)


def _ns_update(W_out: torch.Tensor, h: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor,
               lr: float, block: int) -> tuple[torch.Tensor, float]:
    """Score the true targets and the negatives against hidden vectors ``h``, update their
    output vectors and return (d loss / d h, mean loss).

    ``negatives`` has one row of k words per block of ``block`` consecutive examples: every
    example of a block is contrasted with the same k negatives (``block=1`` is word2vec's
    own scheme, k negatives per example). Each example still sees k independent draws from
    the noise distribution, so its loss is word2vec's in expectation; what sharing buys is
    speed: the negative scores of a block are one small matrix product and only k output
    rows per block are written back, instead of k per example (writing rows back with
    ``index_add_`` was a third of the training time).
    """
    B, d = h.shape
    nb, k = negatives.shape
    if nb != blocks_of(B, block):
        raise ValueError(f"{B} examples in blocks of {block} need {blocks_of(B, block)} rows of negatives, "
                         f"not {nb}.")
    pad = nb * block - B
    hb = (torch.cat((h, h.new_zeros(pad, d))) if pad else h).view(nb, block, d)  # zero rows change nothing
    u_pos = W_out.index_select(0, targets)
    u_neg = W_out.index_select(0, negatives.reshape(-1)).view(nb, k, d)
    s_pos = (u_pos * h).sum(1)
    s_neg = torch.bmm(hb, u_neg.transpose(1, 2))  # (nb, block, k)
    # loss = -log s(pos) - sum log s(-neg) = softplus(-pos) + sum softplus(neg)
    sp = torch.nn.functional.softplus
    loss = float(sp(-s_pos).sum() + sp(s_neg.view(-1, k)[:B]).sum()) / max(1, B)
    g_pos = torch.sigmoid(s_pos).sub_(1.0)  # d loss / d pos score: s(pos) - 1
    g_neg = torch.sigmoid_(s_neg)  # d loss / d neg score: s(neg)
    grad_h = torch.bmm(g_neg, u_neg).view(-1, d)[:B].addcmul_(g_pos.unsqueeze(1), u_pos)
    W_out.index_add_(0, targets, g_pos.unsqueeze(1) * h, alpha=-lr)
    W_out.index_add_(0, negatives.reshape(-1), torch.bmm(g_neg.transpose(1, 2), hb).view(-1, d), alpha=-lr)
    return grad_h, loss


def skipgram_ns_step(m: Word2Vec, centres: torch.Tensor, contexts: torch.Tensor,
                     negatives: torch.Tensor, lr: float, block: int = 1) -> float:
    """One SGD step of skip-gram with negative sampling; returns the mean loss before it.

    ``negatives``: (number of blocks, k), one row per ``block`` consecutive pairs.
    """
    W_in = m.W_in.data
    h = W_in.index_select(0, centres)
    grad_h, loss = _ns_update(m.W_out.data, h, contexts, negatives, lr, block)
    W_in.index_add_(0, centres, grad_h, alpha=-lr)
    return loss


def _cbow_hidden(W_in: torch.Tensor, ctx: torch.Tensor, mask: torch.Tensor):
    maskf = mask.to(W_in.dtype)
    n = maskf.sum(1, keepdim=True).clamp_min(1.0)
    rows = W_in.index_select(0, ctx.reshape(-1)).view(*ctx.shape, -1)
    return (rows * maskf.unsqueeze(2)).sum(1) / n, maskf, n


def _cbow_backprop(W_in: torch.Tensor, ctx: torch.Tensor, maskf: torch.Tensor, n: torch.Tensor,
                   grad_h: torch.Tensor, lr: float) -> None:
    # The average spreads the hidden layer's gradient equally over the context words.
    g = (grad_h / n).unsqueeze(1) * maskf.unsqueeze(2)  # (B, C, d)
    W_in.index_add_(0, ctx.reshape(-1), g.reshape(-1, W_in.shape[1]), alpha=-lr)


def cbow_ns_step(m: Word2Vec, ctx: torch.Tensor, mask: torch.Tensor, centres: torch.Tensor,
                 negatives: torch.Tensor, lr: float, block: int = 1) -> float:
    """One SGD step of CBOW with negative sampling (context -> centre); negatives as in
    ``skipgram_ns_step``, one row per block of ``block`` windows."""
    W_in = m.W_in.data
    h, maskf, n = _cbow_hidden(W_in, ctx, mask)
    grad_h, loss = _ns_update(m.W_out.data, h, centres, negatives, lr, block)
    _cbow_backprop(W_in, ctx, maskf, n, grad_h, lr)
    return loss


def _softmax_grads(h: torch.Tensor, targets: torch.Tensor, W_out: torch.Tensor):
    logits = h @ W_out.T  # (B, V)
    loss = float(torch.nn.functional.cross_entropy(logits, targets))
    g = torch.softmax(logits, 1)
    g[torch.arange(len(targets)), targets] -= 1.0
    return loss, g, g @ W_out  # d loss / d logits, d loss / d h


def skipgram_softmax_step(m: Word2Vec, centres: torch.Tensor, contexts: torch.Tensor, lr: float) -> float:
    """One SGD step of skip-gram with a full softmax over the vocabulary."""
    W_in, W_out = m.W_in.data, m.W_out.data
    h = W_in.index_select(0, centres)
    loss, g, grad_h = _softmax_grads(h, contexts, W_out)
    W_out.add_(g.T @ h, alpha=-lr)
    W_in.index_add_(0, centres, grad_h, alpha=-lr)
    return loss


def cbow_softmax_step(m: Word2Vec, ctx: torch.Tensor, mask: torch.Tensor, centres: torch.Tensor,
                      lr: float) -> float:
    """One SGD step of CBOW with a full softmax over the vocabulary."""
    W_in, W_out = m.W_in.data, m.W_out.data
    h, maskf, n = _cbow_hidden(W_in, ctx, mask)
    loss, g, grad_h = _softmax_grads(h, centres, W_out)
    W_out.add_(g.T @ h, alpha=-lr)
    _cbow_backprop(W_in, ctx, maskf, n, grad_h, lr)
    return loss
