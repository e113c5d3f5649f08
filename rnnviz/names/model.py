"""Networks of the names lab and the views into them.

``NameClassifier`` (many-to-one) embeds the letters, runs a fused GRU / LSTM / vanilla
RNN over them and turns the per-step hidden states h_1..h_T into one vector with a
*read-out*: the last state h_T, the mean of all h_t, or attention pooling
(sum_t a_t h_t with a = softmax_t(v . tanh(W h_t))). A linear layer maps it to
class scores. Batches are right-padded; masks keep padding out of every read-out.

``letter_probs`` gives the class probabilities after every letter - the classifier
"changing its mind" as it reads. Because the RNN only looks backwards, the states
of one pass over the whole name are the states of every prefix, so one pass
suffices; each prefix's read-out is then exactly what the model returns for that
prefix alone (tested).

``trajectory`` projects the traced h_t onto the first two principal components
(of the name's own states, or of a reference set so several names share axes).

``NameGenerator`` (one-to-many) is a character model conditioned on a class: the
class embedding is either concatenated to every input letter or mapped to the
initial hidden state. ``generate`` samples one letter at a time with a temperature
and records the full distribution at every step.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..corpora import Vocab
from ..models import CELLS
from .data import BOUNDARY, MAX_NAME, clean, encode

READOUTS = ("last", "mean", "attention")
CONDITIONS = ("input", "state")
MAX_CLASSES = 64


def _check_common(c) -> None:
    if c.cell not in CELLS:
        raise ValueError(f"Unknown cell {c.cell!r}; choose rnn, lstm or gru.")
    if not 1 <= int(c.layers) <= 2:
        raise ValueError(f"Layers must be 1 or 2 (got {c.layers}).")
    if not 8 <= int(c.hidden) <= 512:
        raise ValueError(f"Hidden size must be between 8 and 512 (got {c.hidden}).")
    if not 2 <= int(c.embed) <= 256:
        raise ValueError(f"Embedding size must be between 2 and 256 (got {c.embed}).")
    if not 3 <= int(c.vocab_size) <= 1000:
        raise ValueError(f"The alphabet must have between 3 and 1,000 characters (got {c.vocab_size}).")
    if not 2 <= int(c.classes) <= MAX_CLASSES:
        raise ValueError(f"There must be between 2 and {MAX_CLASSES} classes (got {c.classes}).")


class _Config:
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        if not isinstance(d, dict):
            raise ValueError("The model description must be a JSON object.")
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d}).validate()


@dataclass
class ClassifierConfig(_Config):
    cell: str = "gru"
    vocab_size: int = 60
    classes: int = 18
    layers: int = 1
    hidden: int = 64
    embed: int = 32
    readout: str = "last"

    def validate(self) -> "ClassifierConfig":
        _check_common(self)
        if self.readout not in READOUTS:
            raise ValueError(f"Unknown read-out {self.readout!r}; choose last, mean or attention.")
        return self


@dataclass
class GeneratorConfig(_Config):
    cell: str = "gru"
    vocab_size: int = 60
    classes: int = 18
    layers: int = 1
    hidden: int = 128
    embed: int = 32
    class_embed: int = 16
    condition: str = "input"

    def validate(self) -> "GeneratorConfig":
        _check_common(self)
        if not 1 <= int(self.class_embed) <= 256:
            raise ValueError(f"Class embedding size must be between 1 and 256 (got {self.class_embed}).")
        if self.condition not in CONDITIONS:
            raise ValueError(f"Unknown conditioning {self.condition!r}; choose input or state.")
        return self


def _rnn(cell, inp, hidden, layers):
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    return cls(inp, hidden, layers, batch_first=True)


def pad(seqs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id sequences with 0 -> ids [B, T], lengths [B]."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    out = torch.zeros(len(seqs), int(lengths.max()) if len(seqs) else 0, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(s)
    return out, lengths


class _Copyable(nn.Module):
    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def copy(self):
        """A private deep copy (never mutate a cached, shared model)."""
        return copy.deepcopy(self)

    def frozen(self):
        m = self.copy().eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return m


class NameClassifier(_Copyable):
    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = c = config.validate()
        self.embed = nn.Embedding(c.vocab_size, c.embed)
        self.rnn = _rnn(c.cell, c.embed, c.hidden, c.layers)
        if c.readout == "attention":
            self.attn = nn.Linear(c.hidden, c.hidden)
            self.attn_v = nn.Linear(c.hidden, 1, bias=False)
        self.head = nn.Linear(c.hidden, c.classes)

    def states(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] -> top-layer hidden states h_t [B, T, H]."""
        return self.rnn(self.embed(ids))[0]

    def attention(self, out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention weights a_t [B, T] over the unmasked steps."""
        scores = self.attn_v(torch.tanh(self.attn(out))).squeeze(-1)
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)

    def pool(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        T = out.shape[1]
        mask = torch.arange(T)[None, :] < lengths[:, None]
        if self.config.readout == "last":
            return out[torch.arange(out.shape[0]), lengths - 1]
        if self.config.readout == "mean":
            return (out * mask[..., None]).sum(1) / lengths[:, None].to(out.dtype)
        return (self.attention(out, mask)[..., None] * out).sum(1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [B, T] (right-padded), lengths [B] -> class logits [B, K]."""
        return self.head(self.pool(self.states(ids), lengths))


@dataclass
class LetterProbs:
    """Class probabilities after each letter: ``probs[t]`` has read ``letters[: t + 1]``."""

    letters: list[str]
    classes: tuple[str, ...]
    probs: np.ndarray  # [T, K]
    attention: np.ndarray | None = None  # [T] weights of the full name (attention read-out)

    def final(self) -> dict[str, float]:
        return dict(zip(self.classes, map(float, self.probs[-1])))

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs[-1])[:k]
        return [(self.classes[i], float(self.probs[-1, i])) for i in order]


def _ids(vocab: Vocab, name) -> torch.Tensor:
    return torch.as_tensor(encode(vocab, name))[None]


def letter_probs(model: NameClassifier, vocab: Vocab, classes, name: str) -> LetterProbs:
    ids = _ids(vocab, name)
    T = ids.shape[1]
    with torch.inference_mode():
        out = model.states(ids)  # [1, T, H]: the states of every prefix
        prefixes = out.expand(T, T, -1)  # row t reads the first t + 1 letters
        pooled = model.pool(prefixes, torch.arange(1, T + 1))
        probs = torch.softmax(model.head(pooled), dim=-1)
        att = None
        if model.config.readout == "attention":
            att = model.attention(out, torch.ones(1, T, dtype=torch.bool))[0].numpy()
    return LetterProbs([vocab.chars[i] for i in ids[0].tolist()], tuple(classes), probs.numpy(), att)


def classify(model: NameClassifier, vocab: Vocab, classes, names: list[str]) -> np.ndarray:
    """Class probabilities [N, K] for many names (one padded batch)."""
    ids, lengths = pad([encode(vocab, n) for n in names])
    with torch.inference_mode():
        return torch.softmax(model(ids, lengths), dim=-1).numpy()


def hidden_states(model: NameClassifier, vocab: Vocab, name: str) -> np.ndarray:
    """The traced top-layer h_t [T, H] while the model reads ``name``."""
    with torch.inference_mode():
        return model.states(_ids(vocab, name))[0].numpy()


@dataclass
class PCA:
    mean: np.ndarray  # [H]
    components: np.ndarray  # [2, H], orthonormal rows
    explained: np.ndarray  # [2] fraction of variance per component

    def project(self, states: np.ndarray) -> np.ndarray:
        return (np.asarray(states, np.float64) - self.mean) @ self.components.T


def pca_2d(states: np.ndarray) -> PCA:
    """The first two principal components of the rows of ``states`` (signs fixed so
    the largest-magnitude loading is positive, making plots reproducible)."""
    X = np.asarray(states, np.float64)
    if X.ndim != 2 or len(X) < 1:
        raise ValueError("PCA needs a [points, units] array with at least one point.")
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    comps = np.zeros((2, X.shape[1]))
    k = min(2, len(vt))
    comps[:k] = vt[:k]
    for i in range(k):
        j = np.argmax(np.abs(comps[i]))
        comps[i] *= np.sign(comps[i, j]) or 1.0
    var = s**2
    explained = np.zeros(2)
    explained[:k] = var[:k] / var.sum() if var.sum() > 0 else 0.0
    return PCA(mean, comps, explained)


@dataclass
class Trajectory:
    names: list[str]
    letters: list[list[str]]
    points: list[np.ndarray]  # per name [T, 2], in reading order
    probs: list[np.ndarray]  # per name [T, K] (colour by class)
    pca: PCA
    classes: tuple[str, ...] = ()


def trajectory(model: NameClassifier, vocab: Vocab, classes, names: list[str],
               reference: list[str] | None = None) -> Trajectory:
    """PCA trajectories of h_t for ``names``; axes from the states of ``reference``
    names if given (comparable across names), else from the names' own states."""
    if not names:
        raise ValueError("Type at least one name to draw its trajectory.")
    states = [hidden_states(model, vocab, n) for n in names]
    ref = [hidden_states(model, vocab, n) for n in reference] if reference else states
    pca = pca_2d(np.concatenate(ref))
    lp = [letter_probs(model, vocab, classes, n) for n in names]
    return Trajectory(list(names), [p.letters for p in lp], [pca.project(s) for s in states],
                      [p.probs for p in lp], pca, tuple(classes))


# ------------------------------------------------------------------ generator


class NameGenerator(_Copyable):
    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = c = config.validate()
        self.embed = nn.Embedding(c.vocab_size, c.embed)
        self.class_embed = nn.Embedding(c.classes, c.class_embed)
        inp = c.embed + (c.class_embed if c.condition == "input" else 0)
        self.rnn = _rnn(c.cell, inp, c.hidden, c.layers)
        if c.condition == "state":
            self.to_state = nn.Linear(c.class_embed, c.layers * c.hidden)
        self.head = nn.Linear(c.hidden, c.vocab_size)

    def initial_state(self, cls: torch.Tensor):
        c = self.config
        if c.condition == "input":
            return None
        h = torch.tanh(self.to_state(self.class_embed(cls)))  # [B, L*H]
        h = h.reshape(-1, c.layers, c.hidden).transpose(0, 1).contiguous()
        return (h, torch.zeros_like(h)) if c.cell == "lstm" else h

    def states(self, ids: torch.Tensor, cls: torch.Tensor, state=None):
        """ids [B, T] (the previous letters, BOUNDARY first), cls [B] -> h_t [B, T, H], final state."""
        x = self.embed(ids)
        if self.config.condition == "input":
            x = torch.cat([x, self.class_embed(cls)[:, None].expand(-1, ids.shape[1], -1)], dim=-1)
        if state is None:
            state = self.initial_state(cls)
        return self.rnn(x, state)

    def forward(self, ids: torch.Tensor, cls: torch.Tensor, state=None):
        """ids [B, T] (the previous letters, BOUNDARY first), cls [B] -> logits [B, T, V], state."""
        out, state = self.states(ids, cls, state)
        return self.head(out), state


def teacher_batch(seqs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Names as ids -> inputs [B, T+1] (BOUNDARY + name), targets (name + BOUNDARY,
    -100 on padding) and a mask; id 0 is BOUNDARY."""
    inp, lengths = pad([np.concatenate([[0], s]) for s in seqs])
    tgt, _ = pad([np.concatenate([s, [0]]) for s in seqs])
    mask = torch.arange(inp.shape[1])[None] < lengths[:, None]
    return inp, tgt.masked_fill(~mask, -100), mask


@dataclass
class Generated:
    name: str
    cls: str
    temperature: float
    letters: list[str]  # chosen at each step ("\n" = the name ends)
    probs: np.ndarray  # [steps, V] the distribution each letter was drawn from
    chosen_p: list[float] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return bool(self.letters) and self.letters[-1] == BOUNDARY


def generate(model: NameGenerator, vocab: Vocab, classes, cls: str, temperature: float = 1.0,
             seed: int = 0, max_len: int = MAX_NAME, prefix: str = "") -> Generated:
    """Sample a name of class ``cls``, one letter at a time, after an optional typed
    ``prefix``; every step's distribution is kept. Stops at BOUNDARY or ``max_len``."""
    classes = tuple(classes)
    if cls not in classes:
        raise ValueError(f"Unknown class {cls!r}; choose one of: {', '.join(classes)}.")
    if not (isinstance(temperature, (int, float)) and 0.05 <= float(temperature) <= 5.0):
        raise ValueError(f"The temperature must be between 0.05 and 5 (got {temperature}).")
    pre = encode(vocab, prefix).tolist() if prefix else []
    if len(pre) >= int(max_len):
        raise ValueError(f"The start you typed has {len(pre)} letters; leave room for the model to write: "
                         f"type at most {int(max_len) - 1}.")
    g = torch.Generator().manual_seed(int(seed))
    c = torch.tensor([classes.index(cls)])
    letters, rows, chosen = [], [], []
    with torch.inference_mode():
        logits, state = model(torch.tensor([[0] + pre]), c)
        last = logits[0, -1]
        for _ in range(max(0, int(max_len) - len(pre))):
            p = torch.softmax(last / float(temperature), dim=-1)
            i = int(torch.multinomial(p, 1, generator=g))
            rows.append(p.numpy())
            chosen.append(float(p[i]))
            letters.append(vocab.chars[i])
            if i == 0:
                break
            logits, state = model(torch.tensor([[i]]), c, state)
            last = logits[0, -1]
    name = (clean(prefix) if prefix else "") + "".join(ch for ch in letters if ch != BOUNDARY)
    probs = np.stack(rows) if rows else np.zeros((0, len(vocab)), np.float32)
    return Generated(name, cls, float(temperature), letters, probs, chosen)


def name_loss(model: NameGenerator, vocab: Vocab, classes, name: str, cls: str) -> float:
    """Mean cross-entropy per character (end of name included) of ``name`` as class ``cls``."""
    inp, tgt, _ = teacher_batch([encode(vocab, name)])
    with torch.inference_mode():
        logits, _ = model(inp, torch.tensor([tuple(classes).index(cls)]))
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100))
