"""Isolation: a student fine-tuning a bundled model must not change it for anyone else.

Bundled models are cached once per server (``rnnviz.ui.state.pretrained``, an
``st.cache_resource`` shared by every session). These tests fine-tune from that
shared object - directly, in a background trainer thread, and from inside a
Streamlit script run - and check that another session's outputs from the same
bundled model stay bit-identical (``torch.equal`` on logits, and a SHA-256 of the
logits rendered by a second AppTest session).
"""

from __future__ import annotations

import hashlib
import time

import pytest
import torch
from conftest import WAIT, wait_for

from rnnviz import checkpoint as ckpt
from rnnviz.corpora import Corpus
from rnnviz.live import BackgroundTrainer, SlotLimiter
from rnnviz.train import TrainConfig, Trainer
from rnnviz.ui import state

# The smallest bundled model (1 x 128 GRU on names) keeps these tests fast.
NAME = "names_gru"
pytestmark = pytest.mark.skipif(NAME not in ckpt.pretrained_names(), reason=f"pretrained/{NAME} missing")


def _corpus(vocab) -> Corpus:
    """A training text written only with the model's own characters."""
    chars = [c for c in vocab.chars if c.isalpha()] or list(vocab.chars)
    words = []
    for k in range(600):
        n = 3 + k % 6
        words.append("".join(chars[(k * 7 + j * 3) % len(chars)] for j in range(n)))
    sep = "\n" if "\n" in vocab.chars else chars[0]
    return Corpus(name="isolation", text=sep.join(words) + sep, vocab=vocab)


def _config() -> TrainConfig:
    # A large learning rate so that a few steps visibly move every weight.
    return TrainConfig(seq_len=16, batch_size=4, lr=0.05, eval_every=1000, eval_chars=256,
                       sample_len=8, milestones=(0,), seed=7)


def _fixed_ids(vocab) -> torch.Tensor:
    text = "".join(vocab.chars[(3 * k) % len(vocab)] for k in range(40))
    return torch.as_tensor(vocab.encode(text)).unsqueeze(0)


def _logits(model, ids) -> torch.Tensor:
    with torch.inference_mode():
        logits, _ = model(ids)
    return logits.clone()


def _params(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_params(model, ref: dict):
    now = model.state_dict()
    assert now.keys() == ref.keys()
    for k in ref:
        assert torch.equal(now[k], ref[k]), f"shared bundled model changed: {k}"


def _assert_moved(model, ref: dict):
    moved = [k for k, v in model.state_dict().items() if not torch.equal(v, ref[k])]
    assert moved, "the fine-tuned copy did not change at all: the test would prove nothing"


def test_trainer_from_cached_model_leaves_it_untouched():
    shared = state.pretrained(NAME)
    ids = _fixed_ids(shared.vocab)
    ref_params = _params(shared.model)
    ref_logits = _logits(shared.model, ids)

    trainer = Trainer(_corpus(shared.vocab), _config(), model=shared.model)
    assert trainer.model is not shared.model
    trainer.step(5)
    assert trainer.steps == 5

    _assert_moved(trainer.model, ref_params)
    assert not torch.equal(_logits(trainer.model, ids), ref_logits)

    again = state.pretrained(NAME)
    assert again is shared  # still the one cached object every session sees
    _assert_same_params(again.model, ref_params)
    assert torch.equal(_logits(again.model, ids), ref_logits)
    assert all(not p.requires_grad for p in again.model.parameters())


def test_background_finetune_while_another_session_reads():
    """A trainer thread fine-tunes while 'another student' keeps querying the bundled model."""
    shared = state.pretrained(NAME)
    ids = _fixed_ids(shared.vocab)
    ref_params = _params(shared.model)
    ref_logits = _logits(shared.model, ids)

    runner = BackgroundTrainer(Trainer(_corpus(shared.vocab), _config(), model=shared.model),
                               limiter=SlotLimiter(1), chunk=2, max_steps=30, idle_timeout=60)
    runner.start()
    reads = 0
    deadline = time.monotonic() + WAIT
    try:
        while runner.steps < 30 and time.monotonic() < deadline:
            assert torch.equal(_logits(state.pretrained(NAME).model, ids), ref_logits)
            reads += 1
            time.sleep(0.01)
    finally:
        runner.stop()
    assert runner.steps >= 2, f"the background trainer never trained (status {runner.status})"
    assert reads > 0
    assert not runner.thread_alive
    _assert_moved(runner.trainer.model, ref_params)
    _assert_same_params(state.pretrained(NAME).model, ref_params)
    # The live model a session hands to its inspection pages is a private copy too.
    live = runner.checkpoint_copy()
    assert live.model is not runner.trainer.model
    assert not torch.equal(_logits(live.model, ids), ref_logits)


def _reader_script():
    """Session B: prints a digest of the bundled model's logits on a fixed text."""
    import hashlib

    import streamlit as st
    import torch

    from rnnviz.ui import state

    cp = state.pretrained("names_gru")
    text = "".join(cp.vocab.chars[(3 * k) % len(cp.vocab)] for k in range(40))
    ids = torch.as_tensor(cp.vocab.encode(text)).unsqueeze(0)
    with torch.inference_mode():
        logits, _ = cp.model(ids)
    st.text("digest " + hashlib.sha256(logits.numpy().tobytes()).hexdigest())
    st.text(f"object {id(cp)}")


def _finetune_script():
    """Session A: fine-tunes the cached bundled model inside a Streamlit run."""
    import streamlit as st

    from rnnviz.corpora import Corpus
    from rnnviz.train import TrainConfig, Trainer
    from rnnviz.ui import state

    cp = state.pretrained("names_gru")
    chars = [c for c in cp.vocab.chars if c.isalpha()]
    text = "\n".join("".join(chars[(k * 7 + j * 3) % len(chars)] for j in range(3 + k % 6)) for k in range(600))
    if "tr" not in st.session_state:
        cfg = TrainConfig(seq_len=16, batch_size=4, lr=0.05, eval_every=1000, eval_chars=256,
                          sample_len=8, milestones=(0,), seed=7)
        st.session_state.tr = Trainer(Corpus("isolation", text + "\n", cp.vocab), cfg, model=cp.model)
    tr = st.session_state.tr
    tr.step(3)
    st.text(f"steps {tr.steps}")
    st.text(f"object {id(cp)}")


def _texts(at) -> dict:
    return dict(t.value.split(" ", 1) for t in at.text)


def test_two_sessions_bit_identical():
    """Two Streamlit sessions: A fine-tunes, B's output from the bundled model never changes."""
    from streamlit.testing.v1 import AppTest

    reader = AppTest.from_function(_reader_script, default_timeout=60).run()
    assert not reader.exception
    before = _texts(reader)

    trainer = AppTest.from_function(_finetune_script, default_timeout=60).run()
    assert not trainer.exception
    trainer.run()
    assert not trainer.exception
    a = _texts(trainer)
    assert a["steps"] == "6"
    assert a["object"] == before["object"], "sessions do not share the cached model: the test proves nothing"

    reader.run()
    assert not reader.exception
    after = _texts(reader)
    assert after["digest"] == before["digest"]

    # Same digest computed directly from the shared object, and from a fresh load from disk.
    shared = state.pretrained(NAME)
    ids = _fixed_ids(shared.vocab)
    direct = hashlib.sha256(_logits(shared.model, ids).numpy().tobytes()).hexdigest()
    disk = ckpt.load_pretrained(NAME)
    assert torch.equal(_logits(disk.model.eval(), ids), _logits(shared.model, ids))
    assert direct == before["digest"]


def test_finetune_through_the_train_page(app_test):
    """The real path: a student picks the bundled model on the train page and presses Train."""
    from streamlit.testing.v1 import AppTest

    shared = state.pretrained(NAME)
    ids = _fixed_ids(shared.vocab)
    ref_params = _params(shared.model)
    ref_logits = _logits(shared.model, ids)
    reader = AppTest.from_function(_reader_script, default_timeout=60).run()
    before = _texts(reader)

    at = app_test("pages/train.py")
    assert not at.exception
    at.selectbox(key="tr_corpus").set_value("names").run()
    at.segmented_control(key="tr_start").set_value("trained").run()
    start = at.selectbox(key="tr_start_model")
    assert NAME in start.options or any(NAME in o for o in start.options), start.options
    at.selectbox(key="tr_start_model").set_value(NAME).run()
    at.select_slider(key="tr_batch").set_value(4).run()
    at.select_slider(key="tr_seq").set_value(16).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    at.button(key="tr_train").click().run()
    assert not at.exception
    runner = at.session_state["rnnviz_runner"]
    try:
        wait_for(lambda: runner.touch() or runner.steps >= 3, poll=0.2)
        assert runner.steps >= 3, f"training from the bundled model did not run (status {runner.status})"
        assert runner.trainer.source == NAME or NAME in str(runner.trainer.source)
        at.run()  # the page polls the live model while it trains
        assert not at.exception
        _assert_moved(runner.trainer.model, ref_params)
        _assert_same_params(state.pretrained(NAME).model, ref_params)
        assert torch.equal(_logits(state.pretrained(NAME).model, ids), ref_logits)
        reader.run()
        assert _texts(reader)["digest"] == before["digest"]
    finally:
        runner.stop()
