"""The encoder-decoder: an RNN reads the date, another RNN writes the ISO date.

Encoder: embedding + GRU or LSTM (optionally bidirectional) over the input
characters, giving one vector h_j per input position. A bridge turns the encoder's
final state into the decoder's first state s_0.

Decoder (one step, ``Seq2Seq.step``): from the previous state s_{i-1} it scores every
input position, e_ij, turns the scores into weights a_ij = softmax_j(e_ij) over the
real (unpadded) positions, and reads the context c_i = sum_j a_ij h_j. Then
s_i = cell([embed(y_{i-1}); c_i], s_{i-1}) and the next-character logits come from
[s_i; c_i]. Scores:

- ``additive`` (Bahdanau): e_ij = v . tanh(W s_{i-1} + U h_j)
- ``dot`` (Luong, with a projection because the sizes differ): e_ij = (W s_{i-1}) . h_j / sqrt(d)
- ``none``: no attention; c_i is the same summary vector (the encoder's final state)
  at every step, the one-vector bottleneck.

``config.task`` says what the model writes: an ISO date (``dates``) or a reversed /
copied string of ``config.out_len`` letters (``strings``); ``check_input`` applies
that task's check to typed text.

Training uses teacher forcing (``forward``). ``greedy`` decodes a batch;
``decode_steps`` decodes one text step by step and reports, per output character,
the attention weights and the top-5 next characters. Both call ``step``, so they agree.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from . import dates, strings
from .dates import OUT_LEN, OUT_VOCAB, Vocab, encode_input

CELLS = ("gru", "lstm")
ATTENTIONS = ("none", "additive", "dot")
MAX_WIDTH = 512
TASKS = ("dates", *strings.TASKS)


LABELS = {"none": "without attention", "additive": "with additive attention", "dot": "with dot-product attention"}


@dataclass
class Seq2SeqConfig:
    in_vocab_size: int
    cell: str = "gru"
    bidirectional: bool = True
    enc_hidden: int = 32
    dec_hidden: int = 64
    embed: int = 16
    attention: str = "additive"
    attn_dim: int = 32
    task: str = "dates"  # "dates", or a string task of ``strings`` ("reverse", "copy")
    out_len: int = OUT_LEN  # characters the decoder writes (a date's 10, or the string length)

    def validate(self) -> Seq2SeqConfig:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}.")
        if self.task == "dates" and self.out_len != OUT_LEN:
            raise ValueError(f"a date translator writes {OUT_LEN} characters, not {self.out_len!r}.")
        if self.task != "dates":
            strings.check_settings(self.task, self.out_len)
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}.")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, not {self.attention!r}.")
        if not isinstance(self.bidirectional, bool):
            raise ValueError("bidirectional must be true or false.")
        for name in ("in_vocab_size", "enc_hidden", "dec_hidden", "embed", "attn_dim"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= (4096 if name == "in_vocab_size" else MAX_WIDTH):
                raise ValueError(f"{name} must be a whole number between 1 and "
                                 f"{4096 if name == 'in_vocab_size' else MAX_WIDTH}, not {v!r}.")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Seq2SeqConfig:
        if not isinstance(d, dict):
            raise ValueError("the model description is not a JSON object")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(sorted(unknown))}")
        return cls(**d).validate()


def out_vocab(config: Seq2SeqConfig) -> Vocab:
    """The characters a model of ``config`` writes."""
    return OUT_VOCAB if config.task == "dates" else strings.OUT_VOCAB


def check_input(text, vocab: Vocab, config: Seq2SeqConfig) -> str:
    """The task's own check of a typed input (a clear ValueError when it will not do)."""
    if config.task == "dates":
        return dates.check_input(text, vocab)
    return strings.check_input(text, vocab, config.out_len)


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig):
        super().__init__()
        self.config = cfg = config.validate()
        rnn = nn.GRU if cfg.cell == "gru" else nn.LSTM
        cell = nn.GRUCell if cfg.cell == "gru" else nn.LSTMCell
        dirs = 2 if cfg.bidirectional else 1
        self.enc_dim = enc = dirs * cfg.enc_hidden
        self.in_embed = nn.Embedding(cfg.in_vocab_size, cfg.embed, padding_idx=0)
        self.encoder = rnn(cfg.embed, cfg.enc_hidden, batch_first=True, bidirectional=cfg.bidirectional)
        self.bridge = nn.Linear(enc, cfg.dec_hidden)
        self.out_vocab = out_vocab(cfg)
        self.out_embed = nn.Embedding(len(self.out_vocab) + 1, cfg.embed)  # last index = start symbol
        self.decoder = cell(cfg.embed + enc, cfg.dec_hidden)
        if cfg.attention == "additive":
            self.att_w = nn.Linear(cfg.dec_hidden, cfg.attn_dim, bias=False)
            self.att_u = nn.Linear(enc, cfg.attn_dim)
            self.att_v = nn.Linear(cfg.attn_dim, 1, bias=False)
        elif cfg.attention == "dot":
            self.att_w = nn.Linear(cfg.dec_hidden, enc, bias=False)
        self.out = nn.Linear(cfg.dec_hidden + enc, len(self.out_vocab))

    @property
    def start_id(self) -> int:
        return len(self.out_vocab)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def copy(self) -> Seq2Seq:
        return copy.deepcopy(self)

    # ------------------------------------------------------------ encoder
    def encode(self, x: torch.Tensor, lens: torch.Tensor):
        """Encoder outputs H (B, T, enc), a mask of real positions (B, T), the keys
        used by additive attention and the decoder's first state."""
        emb = self.in_embed(x)
        packed = nn.utils.rnn.pack_padded_sequence(emb, lens.cpu(), batch_first=True, enforce_sorted=False)
        out, last = self.encoder(packed)
        H, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        h_n = last[0] if isinstance(last, tuple) else last  # (dirs, B, hidden)
        summary = torch.cat(list(h_n), dim=-1)  # (B, enc): each direction's final state
        s0 = torch.tanh(self.bridge(summary))
        state = (s0, torch.zeros_like(s0)) if self.config.cell == "lstm" else s0
        mask = torch.arange(x.shape[1])[None, :] < lens[:, None]
        keys = self.att_u(H) if self.config.attention == "additive" else None
        return {"H": H, "mask": mask, "keys": keys, "summary": summary, "state": state}

    # ------------------------------------------------------------ one decoder step
    def attend(self, enc: dict, s_prev: torch.Tensor):
        """Context (B, enc) and weights (B, T); weights are None without attention."""
        att = self.config.attention
        if att == "none":
            return enc["summary"], None
        if att == "additive":
            scores = self.att_v(torch.tanh(enc["keys"] + self.att_w(s_prev)[:, None, :])).squeeze(-1)
        else:
            q = self.att_w(s_prev)
            scores = torch.einsum("bd,btd->bt", q, enc["H"]) / math.sqrt(self.enc_dim)
        scores = scores.masked_fill(~enc["mask"], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return torch.einsum("bt,btd->bd", weights, enc["H"]), weights

    def step(self, enc: dict, prev: torch.Tensor, state):
        """One decoder step: logits (B, V_out), the new state and the attention weights."""
        s_prev = state[0] if isinstance(state, tuple) else state
        context, weights = self.attend(enc, s_prev)
        state = self.decoder(torch.cat([self.out_embed(prev), context], dim=-1), state)
        s = state[0] if isinstance(state, tuple) else state
        return self.out(torch.cat([s, context], dim=-1)), state, weights

    # ------------------------------------------------------------ training
    def forward(self, x, lens, y):
        """Teacher forcing: logits (B, OUT_LEN, V_out) given the true previous characters."""
        enc = self.encode(x, lens)
        prev = torch.full((x.shape[0],), self.start_id, dtype=torch.long)
        state, logits = enc["state"], []
        for i in range(y.shape[1]):
            lg, state, _ = self.step(enc, prev, state)
            logits.append(lg)
            prev = y[:, i]
        return torch.stack(logits, dim=1)

    # ------------------------------------------------------------ decoding
    @torch.no_grad()
    def greedy(self, x, lens, steps: int | None = None):
        """Batched greedy decode: ids (B, steps), probabilities (B, steps, V_out) and
        attention weights (B, steps, T) (zeros without attention)."""
        enc = self.encode(x, lens)
        prev = torch.full((x.shape[0],), self.start_id, dtype=torch.long)
        state, ids, probs, atts = enc["state"], [], [], []
        for _ in range(steps or self.config.out_len):
            lg, state, w = self.step(enc, prev, state)
            p = torch.softmax(lg, dim=-1)
            prev = p.argmax(dim=-1)
            ids.append(prev)
            probs.append(p)
            atts.append(w if w is not None else torch.zeros(x.shape[0], x.shape[1]))
        return torch.stack(ids, 1), torch.stack(probs, 1), torch.stack(atts, 1)


@dataclass
class DecodeStep:
    """One output character of a step-by-step decode."""

    char: str
    prob: float
    attention: list[float] | None  # one weight per input character (None without attention)
    top5: list[tuple[str, float]]

    @property
    def looked_at(self) -> int | None:
        """The input position with the most weight (None without attention)."""
        return None if self.attention is None else max(range(len(self.attention)), key=self.attention.__getitem__)


@dataclass
class Decoding:
    text: str  # the input as the model read it
    output: str
    steps: list[DecodeStep]

    def attention_matrix(self) -> list[list[float]] | None:
        """Output characters x input characters (None without attention)."""
        if self.steps and self.steps[0].attention is None:
            return None
        return [s.attention for s in self.steps]


def encode_texts(texts, vocab: Vocab, config: Seq2SeqConfig | None = None):
    """Check every text for ``config``'s task (dates by default; a clear ValueError
    otherwise) and encode them."""
    checked = [check_input(t, vocab, config or Seq2SeqConfig(len(vocab))) for t in texts]
    return checked, *encode_input(checked, vocab)


@torch.no_grad()
def translate(model: Seq2Seq, vocab: Vocab, texts) -> list[str]:
    """ISO dates for a list of typed texts (batched greedy decode)."""
    _, x, lens = encode_texts(texts, vocab, model.config)
    ids, _, _ = model.greedy(x, lens)
    return dates.decode_output(ids, model.out_vocab)


@torch.no_grad()
def decode_steps(model: Seq2Seq, vocab: Vocab, text: str, steps: int | None = None) -> Decoding:
    """Greedy decode of one text, one decoder step at a time, with what the page shows."""
    (text,), x, lens = encode_texts([text], vocab, model.config)
    chars = model.out_vocab.chars
    enc = model.encode(x, lens)
    prev = torch.tensor([model.start_id])
    state, out = enc["state"], []
    for _ in range(steps or model.config.out_len):
        lg, state, w = model.step(enc, prev, state)
        p = torch.softmax(lg, dim=-1)[0]
        top = torch.topk(p, 5)
        k = int(top.indices[0])
        out.append(DecodeStep(
            char=chars[k], prob=float(p[k]),
            attention=[float(v) for v in w[0]] if w is not None else None,
            top5=[(chars[int(i)], float(v)) for v, i in zip(top.values, top.indices)],
        ))
        prev = torch.tensor([k])
    return Decoding(text=text, output="".join(s.char for s in out), steps=out)
