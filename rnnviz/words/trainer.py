"""Live word2vec training: ``Word2VecTrainer``, a ``rnnviz.protocol.LiveTrainer``.

One step reads the next ``words_per_step`` words of the corpus (wrapping round
at the end: one pass is an epoch), drops frequent words by subsampling, builds
the skip-gram pairs or CBOW windows of what is left with word2vec's shrunk
window, draws the negatives and applies SGD in mini-batches of at most
``batch_pairs`` examples (small batches stay in the CPU cache, which measured
faster than large ones). Negatives are drawn once per block of ``negative_block``
consecutive examples and shared by them (``rnnviz.words.model._ns_update``):
each example still gets k draws from unigram^0.75, training ran two to three
times faster than with k fresh draws per example, and after equal epochs on
Shakespeare the analogy and WordSim scores were as good; ``negative_block=1`` is
word2vec's own scheme. The learning rate falls linearly from ``lr`` to
``min_lr`` over ``epochs`` passes, as in word2vec, then stays there.

Everything random comes from one ``numpy`` generator seeded by ``seed`` and kept in
the trainer's state, so ``step(n)`` from the same state gives the same weights,
whether it runs here or in a worker process after a pickle round trip.

Recorded for the page: the loss of every step, words/s, and every
``track_every`` steps the rank of the expected answer to the tracked analogy
(default king - man + woman = queen) among all words, query words excluded.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..protocol import LiveTrainer
from . import model as w2v
from .negatives import NegativeSampler, draw_from_table
from .pairs import cbow_batch, skipgram_batch
from .subsample import keep_table
from .tokens import WordCorpus
from .vectors import Embeddings

ARCHS = ("skipgram", "cbow")
LOSSES = ("negative", "softmax")
HISTORY = 20_000


@dataclass
class Word2VecConfig:
    arch: str = "skipgram"
    loss: str = "negative"
    dim: int = 100
    window: int = 5
    negatives: int = 5
    sample: float = 1e-3  # subsampling threshold s; 0 switches subsampling off
    lr: float = 0.025
    min_lr: float = 0.0001
    epochs: float = 5.0  # passes over which the learning rate decays
    words_per_step: int = 1000
    batch_pairs: int = 512
    negative_block: int = 64  # examples sharing one draw of k negatives; 1 = a draw per example
    seed: int = 1
    track: tuple = ("king", "man", "woman", "queen")  # a - b + c = expected
    track_every: int = 50

    def validate(self) -> Word2VecConfig:
        if self.arch not in ARCHS:
            raise ValueError(f"Unknown model {self.arch!r}; choose skipgram or cbow.")
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown objective {self.loss!r}; choose negative (sampling) or softmax.")
        checks = [
            (1 <= int(self.dim) <= 1024, f"The vector size must be between 1 and 1,024 (got {self.dim})."),
            (1 <= int(self.window) <= 20, f"The window must be between 1 and 20 words (got {self.window})."),
            (1 <= int(self.negatives) <= 50, f"Draw between 1 and 50 negatives per pair (got {self.negatives})."),
            (math.isfinite(self.sample) and 0 <= self.sample < 1,
             f"The subsampling threshold must be 0 (off) or a small positive number such as 0.001 (got {self.sample})."),
            (math.isfinite(self.lr) and 0 < self.lr <= 10, f"The learning rate must be a positive number up to 10 (got {self.lr})."),
            (math.isfinite(self.min_lr) and 0 <= self.min_lr <= self.lr,
             f"The final learning rate must be between 0 and the starting one (got {self.min_lr})."),
            (math.isfinite(self.epochs) and self.epochs > 0, f"Epochs must be a positive number (got {self.epochs})."),
            (1 <= int(self.words_per_step) <= 1_000_000,
             f"Words per step must be between 1 and 1,000,000 (got {self.words_per_step})."),
            (16 <= int(self.batch_pairs) <= 65_536, f"Batch size must be between 16 and 65,536 (got {self.batch_pairs})."),
            (1 <= int(self.negative_block) <= 65_536,
             f"The pairs sharing their negatives must number between 1 and 65,536 (got {self.negative_block})."),
            (int(self.track_every) >= 1, "Track the analogy at least every step (track_every >= 1)."),
            (self.track == () or (len(self.track) == 4 and all(isinstance(w, str) for w in self.track)),
             "The tracked analogy needs four words: a, b, c and the expected answer."),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        return self


class Word2VecTrainer(LiveTrainer):
    HISTORIES = ("loss_history", "speed_history", "rank_history")
    COUNTERS = ("steps", "words_done", "epoch", "pos", "lr_now")
    STATIC = ("ids", "words", "counts", "keep", "noise_table")

    def __init__(self, corpus: WordCorpus, cfg: Word2VecConfig | None = None):
        cfg = (cfg or Word2VecConfig()).validate()
        V = len(corpus.vocab)
        if cfg.loss == "softmax" and V > w2v.SOFTMAX_MAX_WORDS:
            raise ValueError(
                f"A full softmax over {V:,} words is too slow to train live (limit "
                f"{w2v.SOFTMAX_MAX_WORDS:,}). Use negative sampling, or raise the minimum count "
                "to shrink the vocabulary."
            )
        if len(corpus.ids) < 2:
            raise ValueError("The corpus has fewer than two words to train on. Use a longer text.")
        self.cfg = cfg
        self.corpus_name = corpus.name
        self.ids = np.ascontiguousarray(corpus.ids, dtype=np.int64)
        self.words = corpus.vocab.words
        self.counts = corpus.vocab.counts
        self.keep = keep_table(self.counts, cfg.sample)
        self.noise_table = NegativeSampler(self.counts).table
        self.model = w2v.Word2Vec(V, cfg.dim, torch.Generator().manual_seed(cfg.seed))
        self.rng = np.random.default_rng(cfg.seed)
        self.steps = self.words_done = self.pos = 0
        self.epoch = 0
        self.lr_now = cfg.lr
        self.loss_history = deque(maxlen=HISTORY)
        self.speed_history = deque(maxlen=HISTORY)
        self.rank_history = deque(maxlen=HISTORY)
        self.divergence = None
        stoi = corpus.vocab.stoi
        self.track_ids = tuple(stoi[w] for w in cfg.track) if cfg.track and all(w in stoi for w in cfg.track) else None
        self._key = hashlib.sha1(self.ids.tobytes() + repr((cfg.sample,)).encode()).hexdigest()[:16]
        self._record_rank()

    # ------------------------------------------------------------ protocol
    def static_key(self) -> str:
        return f"word2vec:{self._key}"

    def step(self, n: int = 1) -> int:
        done = 0
        for _ in range(int(n)):
            if self.diverged:
                break
            t0 = time.perf_counter()
            chunk = self._next_chunk()
            loss = self._train_chunk(chunk)
            self.steps += 1
            done += 1
            self.words_done += len(chunk)
            elapsed = max(time.perf_counter() - t0, 1e-9)
            self.speed_history.append((self.steps, len(chunk) / elapsed))
            if loss is not None:
                self.loss_history.append((self.steps, loss))
                if not math.isfinite(loss):
                    self.divergence = (
                        "The loss became infinite or not a number, so training stopped. Lower the "
                        "learning rate and press reset."
                    )
            if self.steps % self.cfg.track_every == 0:
                self._record_rank()
        return done

    def summary(self) -> dict:
        last = lambda h: h[-1][1] if h else None
        return {
            "steps": self.steps, "words": self.words_done, "epoch": self.epoch,
            "epochs_done": self.words_done / len(self.ids), "lr": self.lr_now,
            "loss": last(self.loss_history), "words_per_s": last(self.speed_history),
            "rank": last(self.rank_history), "vocab": len(self.words),
            "arch": self.cfg.arch, "objective": self.cfg.loss,
        }

    # ------------------------------------------------------------ views
    def embeddings(self) -> Embeddings:
        """A copy of the current input vectors (safe to keep while training goes on)."""
        return Embeddings(self.words, self.model.W_in.detach().numpy().copy(),
                          f"the live {self.cfg.arch} model")

    def card(self) -> dict:
        return {"corpus": self.corpus_name, "config": asdict(self.cfg), "steps": self.steps,
                "words_trained": self.words_done, "epochs": round(self.words_done / len(self.ids), 3),
                "last_loss": self.summary()["loss"]}

    # ------------------------------------------------------------ internals
    def _next_chunk(self) -> np.ndarray:
        n = self.cfg.words_per_step
        chunk = self.ids[self.pos: self.pos + n]
        self.pos += len(chunk)
        if self.pos >= len(self.ids):
            self.pos = 0
            self.epoch += 1
        return chunk

    def _lr(self) -> float:
        planned = self.cfg.epochs * len(self.ids)
        frac = min(1.0, self.words_done / planned)
        return max(self.cfg.min_lr, self.cfg.lr * (1.0 - frac))

    def _train_chunk(self, chunk: np.ndarray) -> float | None:
        cfg, rng = self.cfg, self.rng
        kept = chunk[rng.random(len(chunk)) < self.keep[chunk]] if cfg.sample > 0 else chunk
        if len(kept) < 2:
            return None
        self.lr_now = lr = self._lr()
        if cfg.arch == "skipgram":
            centres, targets = skipgram_batch(kept, cfg.window, rng)
            ctx = mask = None
        else:
            ctx, mask, targets = cbow_batch(kept, cfg.window, rng)
        total, count = 0.0, 0
        # Updates of one row within a mini-batch add up; on a small vocabulary every word
        # would repeat many times per batch and the summed steps overshoot (training blew up
        # on a 16-word text), so batches are capped at half the vocabulary.
        # The same holds for a shared negative, which gets one update per example of its
        # block: blocks are capped by the batch size, and the examples are shuffled first.
        # In text order a block holds a few centres with all their pairs (or CBOW windows
        # that overlap), which then move together against the same negatives: on a
        # 500-word vocabulary with 20 negatives and window 10 that diverged.
        bs = max(16, min(cfg.batch_pairs, len(self.words) // 2))
        block = min(cfg.negative_block, bs)
        if cfg.loss == "negative" and block > 1:
            order = rng.permutation(len(targets))
            targets = targets[order]
            if cfg.arch == "skipgram":
                centres = centres[order]
            else:
                ctx, mask = ctx[order], mask[order]
        for s in range(0, len(targets), bs):
            sl = slice(s, s + bs)
            tgt = torch.from_numpy(targets[sl])
            if cfg.loss == "negative":
                shape = (w2v.blocks_of(len(tgt), block), cfg.negatives)
                negs = torch.from_numpy(draw_from_table(self.noise_table, shape, rng))
            if cfg.arch == "skipgram":
                c = torch.from_numpy(centres[sl])
                loss = (w2v.skipgram_ns_step(self.model, c, tgt, negs, lr, block) if cfg.loss == "negative"
                        else w2v.skipgram_softmax_step(self.model, c, tgt, lr))
            else:
                x, m = torch.from_numpy(ctx[sl]), torch.from_numpy(mask[sl])
                loss = (w2v.cbow_ns_step(self.model, x, m, tgt, negs, lr, block) if cfg.loss == "negative"
                        else w2v.cbow_softmax_step(self.model, x, m, tgt, lr))
            total += loss * len(tgt)
            count += len(tgt)
        return total / count if count else None

    def _record_rank(self) -> None:
        if self.track_ids is None:
            return
        a, b, c, e = self.track_ids
        emb = Embeddings(self.words, self.model.W_in.detach().numpy(), "live")
        w = self.words
        self.rank_history.append((self.steps, emb.rank(w[a], w[b], w[c], w[e])))
