"""Forward-only against bidirectional, trained side by side on the same batches.

``TaggingRace`` is a ``rnnviz.race.Race`` of two taggers that differ only in
direction: "forward" reads the text left to right, "bi" reads it both ways. Both
start from the same seed and see the same windows of Shakespeare at every step,
so the gap between their curves comes from reading backwards and nothing else.

Size: with ``match="direction"`` both models have ``hidden`` units per direction,
so the bidirectional one has about twice the recurrent weights; with
``match="total"`` the forward model gets ``2 * hidden`` units, as many as both
directions together (then it has MORE weights than the bidirectional one, since
its units also talk to each other). ``parameter_counts`` gives the numbers.

Every window (training or held-out) is tagged as a text on its own, like a typed
sentence: a word cut by the window's edge ends there. Held-out evaluation:
``EVAL_WINDOWS`` windows of ``EVAL_LEN`` characters spread over the held-out
tenth of the text (see ``metrics.scores`` for the numbers).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import celltypes
from ..race import Race
from ..seeds import check_seed
from . import metrics, tasks, text
from .model import Tagger, parameter_count

RUNS = ("forward", "bi")
RUN_LABELS = {"forward": "forward only", "bi": "bidirectional"}
MATCHES = {"direction": "Same units per direction", "total": "Same units in total"}
HIDDEN = (8, 16, 32, 64, 128)
EVAL_WINDOWS, EVAL_LEN = 64, 128


@dataclass(frozen=True)
class TagConfig:
    task: str = "last"
    k: int = 5  # the word length of the "long" task
    cell: str = "lstm"
    hidden: int = 32  # units per direction of the bidirectional model
    match: str = "direction"
    embed: int = 16
    lr: float = 0.01
    batch: int = 32
    seq_len: int = 64
    seed: int = 0
    eval_every: int = 50

    def validate(self) -> "TagConfig":
        tasks.get(self.task)
        tasks.check_k(self.k)
        celltypes.of(self.cell)
        if self.match not in MATCHES:
            raise ValueError(f"Unknown size matching {self.match!r}; use one of: {', '.join(MATCHES)}.")
        if not 2 <= int(self.hidden) <= 256:
            raise ValueError(f"Use 2 to 256 hidden units per direction (got {self.hidden}).")
        if not 2 <= int(self.embed) <= 128:
            raise ValueError(f"The embedding needs 2 to 128 dimensions (got {self.embed}).")
        if not (math.isfinite(self.lr) and 1e-5 <= self.lr <= 1):
            raise ValueError(f"The learning rate must be between 0.00001 and 1 (got {self.lr}).")
        if not 1 <= int(self.batch) <= 512:
            raise ValueError(f"The batch size must be between 1 and 512 (got {self.batch}).")
        if not 8 <= int(self.seq_len) <= 512:
            raise ValueError(f"Training windows must be 8 to 512 characters long (got {self.seq_len}).")
        if not 1 <= int(self.eval_every) <= 10_000:
            raise ValueError(f"Evaluate every 1 to 10,000 steps (got {self.eval_every}).")
        check_seed(self.seed)
        return self

    @property
    def tag_k(self) -> int:
        """k as it matters for the tags (tasks without k share one data set)."""
        return self.k if tasks.get(self.task).uses_k else 0

    def widths(self) -> dict[str, int]:
        return {"forward": self.hidden * (2 if self.match == "total" else 1), "bi": self.hidden}

    def to_dict(self) -> dict:
        return asdict(self)


_ASCII = np.frombuffer("".join(text.VOCAB.chars).encode("ascii"), dtype=np.uint8)
_SPACE = text.VOCAB.stoi[" "]


def windows_text(ids: np.ndarray) -> str:
    """[N, L] ids -> one string: the N windows, each followed by a space."""
    n, length = ids.shape
    padded = np.full((n, length + 1), _SPACE, dtype=np.uint8)
    padded[:, :length] = ids
    return _ASCII[padded].tobytes().decode("ascii")


def window_tags(task: str, k: int, ids: np.ndarray, positions: bool = False):
    """The tags of every window of ``ids`` ([N, L]) as a text on its own: the models
    read only the window, so a word cut by its edge ends (or starts) there, just as a
    typed sentence ends with its last word. With ``positions`` also the position codes."""
    n, length = ids.shape
    s = windows_text(ids)
    tags = tasks.get(task).tags(s, k).reshape(n, length + 1)[:, :length]
    if not positions:
        return tags
    return tags, tasks.positions(s).reshape(n, length + 1)[:, :length]


@functools.lru_cache(maxsize=4)
def data(task: str, k: int) -> dict[str, np.ndarray]:
    """Training ids (uint8, the first 90 % of the text) and the held-out windows
    (ids, tags, positions: [EVAL_WINDOWS, EVAL_LEN]). Read-only."""
    split = text.shakespeare()
    held = len(split.text) - split.cut
    starts = split.cut + (np.arange(EVAL_WINDOWS) * (held - EVAL_LEN)) // EVAL_WINDOWS
    val_ids = split.ids[starts[:, None] + np.arange(EVAL_LEN)]
    val_tags, val_pos = window_tags(task, k, val_ids, positions=True)
    return {"train_ids": split.ids[: split.cut], "val_ids": val_ids, "val_tags": val_tags.astype(np.uint8),
            "val_pos": val_pos.astype(np.uint8)}


def build_models(cfg: TagConfig) -> dict[str, Tagger]:
    out = {}
    for run, width in cfg.widths().items():
        torch.manual_seed(cfg.seed)
        out[run] = Tagger(len(text.VOCAB), cell=cfg.cell, hidden=width, embed=cfg.embed, bidirectional=run == "bi")
    return out


class TaggingRace(Race):
    STATIC = ("train_ids", "val_ids", "val_tags", "val_pos")

    def __init__(self, config: TagConfig):
        self.config = config.validate()
        d = data(config.task, config.tag_k)
        self.train_ids = torch.from_numpy(d["train_ids"])
        self.val_ids = torch.from_numpy(d["val_ids"]).long()
        self.val_tags, self.val_pos = d["val_tags"], d["val_pos"]
        super().__init__(build_models(config), lr=config.lr, seed=config.seed, eval_every=config.eval_every)

    def static_key(self) -> str:
        return f"tagging:{self.config.task}:{self.config.tag_k}"

    def batch(self, gen: torch.Generator):
        T = self.config.seq_len
        starts = torch.randint(0, len(self.train_ids) - T, (self.config.batch,), generator=gen)
        ids = self.train_ids[starts[:, None] + torch.arange(T)]
        tags = window_tags(self.config.task, self.config.tag_k, ids.numpy())
        return ids.long(), torch.from_numpy(tags).float()

    def loss(self, run, model, batch):
        x, y = batch
        return F.binary_cross_entropy_with_logits(model(x), y)

    def evaluate(self, run, model):
        logits = model(self.val_ids)
        loss = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(self.val_tags).float())
        pred = (logits > 0).long().numpy()
        return {"loss": float(loss), **metrics.scores(pred, self.val_tags, self.val_pos)}

    def summary(self) -> dict:
        return {"config": self.config.to_dict(), "params": parameter_counts(self.models)}


def parameter_counts(models) -> dict[str, int]:
    return {run: parameter_count(m) for run, m in models.items()}


def baseline(cfg: TagConfig) -> dict[str, float]:
    """Always answering the common tag on the same held-out windows."""
    d = data(cfg.task, cfg.tag_k)
    return metrics.majority_baseline(d["val_tags"], d["val_pos"])


def read(models, sentence: str, task: str, k: int) -> dict:
    """Everything the "under each character" view shows for one prepared sentence:
    the true tags, each run's probability of tag 1 and its hidden states
    ({run: {"forward": [T, H], "backward": [T, H]}}). Reads the models only."""
    ids = torch.from_numpy(text.VOCAB.encode(sentence)).long()
    out = {"tags": tasks.get(task).tags(sentence, k), "positions": tasks.positions(sentence), "prob": {},
           "states": {}}
    with torch.no_grad():
        for run, m in models.items():
            out["prob"][run] = torch.sigmoid(m(ids[None]))[0].numpy()
            out["states"][run] = {d: s.numpy() for d, s in m.states(ids).items()}
    return out
