"""The word2vec trainer: correct gradients, learning planted structure, the LiveTrainer protocol."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from rnnviz.protocol import LiveTrainer
from rnnviz.words import model as w2v
from rnnviz.words import tokens
from rnnviz.words.trainer import Word2VecConfig, Word2VecTrainer

FRUIT = ["apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "plum"]
VEHICLES = ["car", "bus", "train", "truck", "bike", "boat", "tram", "van"]


def planted_text(n_sentences: int = 1500, seed: int = 0) -> str:
    """Sentences that talk about one topic each: words co-occur only within their cluster."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_sentences):
        topic = FRUIT if rng.random() < 0.5 else VEHICLES
        out.append(" ".join(rng.choice(topic, size=8)) + ".")
    return "\n".join(out)


@pytest.fixture(scope="module")
def planted():
    return tokens.from_text(planted_text(), "planted")


def small_cfg(**kw) -> Word2VecConfig:
    base = {"dim": 16, "window": 2, "negatives": 4, "sample": 0.0, "lr": 0.05, "epochs": 3, "words_per_step": 600,
                "batch_pairs": 256, "seed": 7, "track": ("apple", "banana", "car", "bus"), "track_every": 5}
    base.update(kw)
    return Word2VecConfig(**base)


def _autograd_ns_loss(W_in, W_out, h_fn, targets, negs):
    h = h_fn(W_in)
    pos = (h * W_out[targets]).sum(1)
    neg = torch.einsum("bkd,bd->bk", W_out[negs], h)
    return -(torch.nn.functional.logsigmoid(pos).sum() + torch.nn.functional.logsigmoid(-neg).sum())


@pytest.mark.parametrize("block", [1, 3, 4])
@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_hand_written_negative_sampling_step_is_sgd_on_the_true_gradient(arch, block):
    """block 1: k negatives per example (word2vec's scheme); block 3: two blocks, the second
    one short (padded inside); block 4: the whole batch shares one draw. In every case the
    step must be SGD on the loss in which each example meets its block's negatives."""
    g = torch.Generator().manual_seed(0)
    m = w2v.Word2Vec(11, 6, g)
    m.W_out.data.normal_(0, 0.3, generator=g)
    targets = torch.tensor([1, 2, 2, 5])
    negs = torch.randint(0, 11, (w2v.blocks_of(4, block), 3), generator=g)
    per_example = negs.repeat_interleave(block, 0)[:4]
    ctx = torch.tensor([[0, 3, 3, 4], [6, 7, 8, 0], [1, 1, 9, 10], [2, 3, 4, 5]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 1, 1]], dtype=torch.bool)
    W_in = m.W_in.detach().clone().requires_grad_()
    W_out = m.W_out.detach().clone().requires_grad_()
    if arch == "skipgram":
        centres = torch.tensor([0, 0, 3, 4])
        h_fn = lambda W: W[centres]
    else:
        maskf = mask.float()
        h_fn = lambda W: (W[ctx] * maskf[..., None]).sum(1) / maskf.sum(1, keepdim=True)
    loss = _autograd_ns_loss(W_in, W_out, h_fn, targets, per_example)
    loss.backward()
    loss = loss.detach()
    lr = 0.1
    if arch == "skipgram":
        got = w2v.skipgram_ns_step(m, centres, targets, negs, lr, block)
    else:
        got = w2v.cbow_ns_step(m, ctx, mask, targets, negs, lr, block)
    assert got == pytest.approx(loss.item() / 4, rel=1e-5)
    assert torch.allclose(m.W_in, W_in.detach() - lr * W_in.grad, atol=1e-6)
    assert torch.allclose(m.W_out, W_out.detach() - lr * W_out.grad, atol=1e-6)


def test_negative_rows_must_match_the_blocks():
    m = w2v.Word2Vec(11, 6)
    with pytest.raises(ValueError, match="need 2 rows of negatives"):
        w2v.skipgram_ns_step(m, torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5]), torch.zeros(3, 2, dtype=torch.long),
                             0.1, block=2)


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_hand_written_softmax_step_is_sgd_on_the_true_gradient(arch):
    g = torch.Generator().manual_seed(1)
    m = w2v.Word2Vec(9, 5, g)
    m.W_out.data.normal_(0, 0.3, generator=g)
    targets = torch.tensor([1, 8, 2])
    ctx = torch.tensor([[0, 3], [6, 7], [1, 1]])
    mask = torch.tensor([[1, 1], [1, 0], [1, 1]], dtype=torch.bool)
    centres = torch.tensor([4, 4, 0])
    W_in = m.W_in.detach().clone().requires_grad_()
    W_out = m.W_out.detach().clone().requires_grad_()
    h = W_in[centres] if arch == "skipgram" else (W_in[ctx] * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    loss = torch.nn.functional.cross_entropy(h @ W_out.T, targets, reduction="sum")
    loss.backward()
    loss = loss.detach()
    lr = 0.2
    got = (w2v.skipgram_softmax_step(m, centres, targets, lr) if arch == "skipgram"
           else w2v.cbow_softmax_step(m, ctx, mask, targets, lr))
    assert got == pytest.approx(loss.item() / 3, rel=1e-5)
    # The step uses the summed gradient (one SGD update per example, as word2vec does).
    assert torch.allclose(m.W_in, W_in.detach() - lr * W_in.grad, atol=1e-6)
    assert torch.allclose(m.W_out, W_out.detach() - lr * W_out.grad, atol=1e-6)


def _cluster_purity(tr: Word2VecTrainer) -> float:
    emb = tr.embeddings()
    hits = total = 0
    for cluster in (FRUIT, VEHICLES):
        for w in cluster:
            near = [n for n, _ in emb.neighbours(w, 3)]
            hits += sum(n in cluster for n in near)
            total += len(near)
    return hits / total


@pytest.mark.parametrize("arch, loss", [("skipgram", "negative"), ("cbow", "negative"), ("skipgram", "softmax")])
def test_loss_falls_and_neighbours_stay_within_their_topic(planted, arch, loss):
    tr = Word2VecTrainer(planted, small_cfg(arch=arch, loss=loss))
    before = _cluster_purity(tr)
    tr.step(30)
    losses = [v for _, v in tr.loss_history]
    # Zero output vectors at the start: the loss begins at (k + 1) ln 2, or ln |V| for a softmax.
    start = np.log(len(planted.vocab)) if loss == "softmax" else 5 * np.log(2)
    assert np.mean(losses[-5:]) < start - 0.3 and np.mean(losses[-5:]) < losses[0]
    assert _cluster_purity(tr) >= 0.95 > before + 0.2
    # The tracked analogy apple - banana + car = bus: with topics only, "bus" is one of the
    # seven other vehicles, so it must rank ahead of every fruit.
    assert tr.rank_history[0][1] > 7 >= tr.rank_history[-1][1]
    s = tr.summary()
    assert s["steps"] == 30 and s["words"] == tr.words_done > 0 and s["arch"] == arch
    assert s["loss"] == losses[-1] and s["words_per_s"] > 0 and s["epoch"] >= 1


def test_same_seed_same_weights_and_step_counts_are_exact(planted):
    a, b = Word2VecTrainer(planted, small_cfg()), Word2VecTrainer(planted, small_cfg())
    assert a.step(7) == 7
    for _ in range(7):
        b.step(1)
    assert torch.equal(a.model.W_in, b.model.W_in) and torch.equal(a.model.W_out, b.model.W_out)
    c = Word2VecTrainer(planted, small_cfg(seed=8))
    c.step(7)
    assert not torch.equal(a.model.W_in, c.model.W_in)


def test_protocol_static_and_dynamic_state_round_trip_through_pickle(planted):
    tr = Word2VecTrainer(planted, small_cfg())
    assert isinstance(tr, LiveTrainer)
    tr.step(3)
    static, dynamic = tr.static_state(), tr.dynamic_state()
    assert set(static) == set(Word2VecTrainer.STATIC) and "ids" not in dynamic
    assert np.array_equal(static["ids"], planted.ids)
    copy = Word2VecTrainer.rebuild(pickle.loads(pickle.dumps(static)), pickle.loads(pickle.dumps(dynamic)))
    tr.step(5)
    copy.step(5)
    assert torch.equal(tr.model.W_in, copy.model.W_in)
    assert list(tr.loss_history) == list(copy.loss_history)
    assert list(tr.rank_history) == list(copy.rank_history)
    assert tr.static_key() == Word2VecTrainer(planted, small_cfg(seed=99)).static_key()


def test_progress_brings_a_server_copy_to_the_worker_state(planted):
    server = Word2VecTrainer(planted, small_cfg())
    worker = Word2VecTrainer.rebuild(pickle.loads(pickle.dumps(server.static_state())),
                                     pickle.loads(pickle.dumps(server.dynamic_state())))
    marks = worker.history_marks()
    for _ in range(3):
        worker.step(4)
        server.apply_progress(pickle.loads(pickle.dumps(worker.progress(marks))))
    assert torch.equal(server.model.W_in, worker.model.W_in)
    assert torch.equal(server.model.W_out, worker.model.W_out)
    for h in Word2VecTrainer.HISTORIES:
        assert list(getattr(server, h)) == list(getattr(worker, h)) != []
    assert server.summary()["steps"] == 12 and server.words_done == worker.words_done
    assert server.lr_now == worker.lr_now < small_cfg().lr


def test_learning_rate_decays_linearly_then_holds(planted):
    planned = len(planted.ids) / 4  # epochs=0.25: the rate reaches its floor after 3,000 words
    tr = Word2VecTrainer(planted, small_cfg(epochs=0.25, lr=0.05, min_lr=0.001))
    seen = []
    while tr.words_done <= planned:
        before = tr.words_done
        tr.step(1)
        seen.append((before, tr.lr_now))
    assert seen[0] == (0, pytest.approx(0.05))
    for done, lr in seen:  # each step uses the rate for the words done before it
        assert lr == pytest.approx(max(0.001, 0.05 * (1 - done / planned)))
    assert tr.lr_now == pytest.approx(0.001)
    tr.step(2)
    assert tr.lr_now == pytest.approx(0.001)


def test_divergence_stops_training_with_a_message(planted):
    tr = Word2VecTrainer(planted, small_cfg(loss="softmax", lr=10.0))
    tr.model.W_in.data.fill_(1e30)
    ran = tr.step(5)
    assert tr.diverged and ran == 1
    assert "learning rate" in tr.divergence_message()
    assert tr.step(3) == 0


@pytest.mark.parametrize("kw, message", [
    ({"arch": "glove"}, "Unknown model"),
    ({"loss": "hinge"}, "Unknown objective"),
    ({"window": 0}, "window"),
    ({"sample": -1.0}, "subsampling"),
    ({"lr": float("nan")}, "learning rate"),
    ({"track": ("a", "b")}, "four words"),
    ({"negative_block": 0}, "sharing their negatives"),
])
def test_bad_settings_get_clear_messages(planted, kw, message):
    with pytest.raises(ValueError, match=message):
        Word2VecTrainer(planted, small_cfg(**kw))


def test_full_softmax_refuses_a_large_vocabulary():
    big = tokens.from_text(" ".join(f"w{i}" for i in range(6000)))
    with pytest.raises(ValueError, match="too slow"):
        Word2VecTrainer(big, Word2VecConfig(loss="softmax"))


def test_tracking_is_off_when_the_analogy_words_are_missing(planted):
    tr = Word2VecTrainer(planted, small_cfg(track=("king", "man", "woman", "queen")))
    tr.step(6)
    assert tr.track_ids is None and len(tr.rank_history) == 0 and tr.summary()["rank"] is None


def test_trainer_draws_shared_negatives_per_block_from_unigram_to_the_three_quarters(monkeypatch):
    """The negatives the trainer really uses: one row of k per block of 32 pairs, and over
    many blocks their shares match count^0.75 (a chi-square test with a fixed seed) while
    the plain unigram distribution is clearly rejected."""
    counts = [round(8000 / (r + 1)) for r in range(100)]  # Zipf-like: 8,000 down to 80
    rng = np.random.default_rng(0)
    text = [f"w{r}" for r, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(text)
    corpus = tokens.from_text(" ".join(text), "zipf")
    assert sorted(corpus.vocab.counts, reverse=True) == counts
    seen = []
    real_step = w2v.skipgram_ns_step

    def spy(m, centres, contexts, negs, lr, block):
        assert block == 32 and negs.shape == (w2v.blocks_of(len(centres), 32), 20)
        seen.append(negs.numpy().copy())
        return real_step(m, centres, contexts, negs, lr, block)

    monkeypatch.setattr(w2v, "skipgram_ns_step", spy)
    tr = Word2VecTrainer(corpus, small_cfg(dim=4, negatives=20, words_per_step=5000, track=(), negative_block=32))
    tr.step(6)
    drawn = np.concatenate([s.reshape(-1) for s in seen])
    n = len(drawn)
    assert n > 40_000
    observed = np.bincount(drawn, minlength=len(counts))
    c = np.asarray(corpus.vocab.counts, dtype=float)
    chi2 = lambda p: float(((observed - n * p) ** 2 / (n * p)).sum())
    # 99 degrees of freedom: the 99.9 % quantile is 148.2.
    assert chi2(c ** 0.75 / (c ** 0.75).sum()) < 148.2
    assert chi2(c / c.sum()) > 2000


def test_classic_and_shared_negatives_both_learn_and_are_reproducible(planted):
    """negative_block=1 (k draws per pair) and a shared draw per block both learn the
    planted topics; a seed fixes every draw, and sharing changes the draws."""
    trained = {}
    for block in (1, 16):
        a, b = (Word2VecTrainer(planted, small_cfg(negative_block=block)) for _ in range(2))
        a.step(30)
        b.step(30)
        assert torch.equal(a.model.W_in, b.model.W_in) and torch.equal(a.model.W_out, b.model.W_out)
        assert _cluster_purity(a) >= 0.95
        trained[block] = a.model.W_in
    assert not torch.equal(trained[1], trained[16])


def test_shared_negatives_stay_stable_on_a_small_vocabulary_with_many_negatives():
    """Shakespeare's 500 most frequent words, 20 negatives, window 10, no subsampling: in
    text order a block holds a few centres with all their pairs and this blew up; with the
    pairs shuffled first it trains, as the per-pair scheme does."""
    corpus = tokens.builtin("shakespeare", 5, 500)
    cfg = Word2VecConfig(negatives=20, window=10, sample=0.0, track=())
    tr = Word2VecTrainer(corpus, cfg)
    tr.step(60)
    assert not tr.diverged
    assert np.mean([v for _, v in list(tr.loss_history)[-10:]]) < 21 * np.log(2) - 10
