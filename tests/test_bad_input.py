"""Bad-input suite, end to end through the pages with AppTest (issue 8).

Every case feeds the page something hostile or absurd (empty / binary / NUL / huge
uploads, unseen characters, contradictory settings, settings that blow training up,
corrupted or disguised checkpoints) and asserts that:

* the page shows a clear st.error / st.warning naming what went wrong,
* no exception element and no traceback text appears anywhere,
* the session keeps working: the model it had (live, uploaded or bundled) is still
  there and one more action (Step, Generate, a valid paste) succeeds.

Streamlit 1.67's AppTest drives ``st.file_uploader`` directly
(``at.file_uploader(key=...).set_value((name, bytes, mime))``), so uploads go
through the page's real upload path. Tiny models only (names corpus, hidden 16).
"""

from __future__ import annotations

import io
import json
import pickle
import re
import struct

import pytest
import torch
from conftest import runner, steps, tiny, wait_until  # noqa: E402

from rnnviz import checkpoint as ckpt
from rnnviz import corpora
from rnnviz.live import active_runners
from rnnviz.models import build
from rnnviz.ui.pickers import UPLOAD_KEY as UPLOADED

TRAIN, CELLS, GATES, GRADS = "pages/train.py", "pages/cells.py", "pages/gates.py", "pages/gradients.py"
PASTE = ("the cat sat on the mat. the dog sat on the log. " * 40).strip()
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def stop_runners():
    yield
    for r in active_runners():
        r.stop()


# ------------------------------------------------------------------ helpers


def texts(at) -> list[str]:
    """Every piece of text the page shows."""
    out = []
    for group in (at.markdown, at.error, at.warning, at.info, at.success, at.caption, at.code, at.text,
                  at.html, at.exception, at.title, at.subheader):
        for el in group:
            v = getattr(el, "value", None)
            out.append(v if isinstance(v, str) else str(getattr(el, "proto", "")))
    return out


def messages(at) -> str:
    """Errors and warnings as a reader sees them (Markdown escapes of quoted user text resolved)."""
    raw = " ".join(e.value for e in list(at.error) + list(at.warning))
    return re.sub(r"\\(.)", r"\1", raw).replace("\u2060", "")


def assert_clean(at, *words):
    """A clear message containing ``words``, no exception, no traceback text."""
    assert not at.exception, [e.value for e in at.exception]
    msg = messages(at)
    for w in words:
        assert w.lower() in msg.lower(), f"{w!r} not in messages: {msg!r}"
    for t in texts(at):
        assert "Traceback (most recent call last)" not in t
        assert 'File "/' not in t


def step_live(at, expect: int) -> None:
    """Press Step once and wait for the live model to reach ``expect`` steps."""
    at.button(key="tr_step").click().run()
    assert wait_until(at, lambda a: runner(a) is not None and not runner(a).active and runner(a).steps >= expect)
    at.run()
    assert steps(at) == expect


def live_model(at):
    """A tiny live model on the names corpus with 10 training steps."""
    at = tiny(at)
    step_live(at, 10)
    return runner(at)


def generate(at, model_key, prime, length=30):
    at.selectbox(key="tr_sample_model").set_value(model_key)
    at.text_input(key="tr_prime").set_value(prime)
    at.number_input(key="tr_sample_len").set_value(length)
    at.button(key="tr_generate").click().run()
    return at


def sample_ok(at, model_key="names_gru", prime="Ann"):
    """Generate works; no new error appears (the earlier bad-input message may stay)."""
    before = {e.value for e in at.error}
    generate(at, model_key, prime)
    assert {e.value for e in at.error} <= before, messages(at)
    assert not at.exception
    assert any("prime text (given, not sampled)" in h.value for h in at.html), "no sample shown"


def upload_text(at, name, data):
    at.radio(key="tr_source").set_value("Upload a file").run()
    at.file_uploader(key="tr_text_upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def upload_ckpt(at, name, data):
    at.file_uploader(key="tr_ckpt_upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def names_ckpt(hidden=16, **card) -> bytes:
    names = corpora.load("names")
    model = build("gru", len(names.vocab), layers=1, hidden=hidden, embed=8, seed=0)
    return ckpt.to_bytes(model, names.vocab, name=card.pop("name", "good_names"), corpus="names", steps=0, **card)


def edit_card(data: bytes, fn) -> bytes:
    """Rewrite the JSON card in a safetensors header (offsets stay valid: data follows the header)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    card = json.loads(header["__metadata__"]["rnnviz_card"])
    fn(card)
    header["__metadata__"]["rnnviz_card"] = json.dumps(card)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n:]


def text_upload_then_recover(app_test, name, data, *words):
    """Bad upload -> clear message, Train disabled, then a valid file trains (Step)."""
    at = tiny(app_test(TRAIN))
    upload_text(at, name, data)
    assert_clean(at, *words)
    assert at.button(key="tr_train").proto.disabled
    assert runner(at) is None
    sample_ok(at)  # the rest of the page still works
    at.file_uploader(key="tr_text_upload").set_value(("ok.txt", PASTE.encode(), "text/plain"))
    at.run()
    assert not at.error, messages(at)
    step_live(at, 10)
    assert runner(at).trainer.corpus.name == "ok.txt"


needs_names_gru = pytest.mark.skipif("names_gru" not in ckpt.pretrained_names(), reason="bundled names_gru missing")


# ------------------------------------------------------------------ Train page: text uploads / pastes


@needs_names_gru
@pytest.mark.parametrize("name,data,words", [
    ("empty.txt", b"", ("is empty",)),
    ("blank.txt", b"   \n\t\n   \r\n ", ("only whitespace",)),
    ("cat.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, ("binary",)),
    ("nul.txt", PASTE.encode()[:200] + b"\x00\x00" + PASTE.encode()[:200], ("NUL bytes",)),
    ("aaaa.txt", b"a" * 500, ("one distinct character",)),
    ("short.txt", b"hi there", ("fewer than",)),
    ("noise.bin", bytes([1, 2, 3, 4, 5, 6, 7, 8, 0x7F, 0x81]) * 100, ("binary",)),
], ids=["empty", "whitespace", "png", "nul", "single-char", "too-short", "control-bytes"])
def test_bad_text_upload(app_test, name, data, words):
    text_upload_then_recover(app_test, name, data, *words)


@needs_names_gru
def test_over_limit_upload(app_test):
    text_upload_then_recover(app_test, "huge.txt", b"abcdefgh\n" * (21 * MB // 9 + 1), "larger than", "20 MB")


def test_latin1_upload_is_accepted(app_test):
    at = tiny(app_test(TRAIN))
    latin1 = ("Café au lait, crème brûlée, façade, naïve. " * 30).encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")
    upload_text(at, "menu.txt", latin1)
    assert not at.error and not at.exception, messages(at)
    assert any("distinct" in c.value for c in at.caption)
    step_live(at, 10)
    assert "é" in runner(at).trainer.vocab.chars and "û" in runner(at).trainer.vocab.chars


def test_upload_cap_counts_the_bytes_sent(app_test, monkeypatch):
    """Issue 12: the cap applies to the file, not to its text re-measured in UTF-8."""
    monkeypatch.setattr(corpora, "MAX_BYTES", 4096)
    data = ("Öl süß, Ärger für Äöü: ça où déjà élève à Ñandú ÿ\n" * 90).encode("latin-1")[:4000]
    assert len(data.decode("latin-1").encode("utf-8")) > 4096
    at = tiny(app_test(TRAIN))
    upload_text(at, "menu.txt", data)
    assert not at.error and not at.exception, messages(at)
    assert any("4,000 characters" in c.value for c in at.caption), [c.value for c in at.caption]


def test_bad_pastes_then_train(app_test):
    at = tiny(app_test(TRAIN), source="Paste text")
    for bad, words in (("\x00" * 10 + PASTE, "NUL bytes"), ("zzzzzzzzzzzzzzzzzzzz", "one distinct character"),
                       (" \n \n \t ", "only whitespace"), ("ab" * 10, "fewer than")):
        at.text_area(key="tr_paste").set_value(bad).run()
        assert_clean(at, words)
        assert at.button(key="tr_train").proto.disabled
    at.text_area(key="tr_paste").set_value(PASTE).run()
    assert not at.error
    step_live(at, 10)
    assert runner(at).trainer.corpus.name == "pasted text"


def test_over_limit_paste(app_test):
    at = tiny(app_test(TRAIN), source="Paste text")
    at.text_area(key="tr_paste").set_value("x y\n" * (21 * MB // 4 + 1)).run()
    assert_clean(at, "larger than 20 MB")
    assert at.button(key="tr_train").proto.disabled
    at.text_area(key="tr_paste").set_value(PASTE).run()
    assert not at.error
    assert not at.button(key="tr_train").proto.disabled


# ------------------------------------------------------------------ Train page: settings


def test_sequence_longer_than_text(app_test):
    """Contradictory: 80 characters of text, sequences of 256 x batch 128."""
    at = tiny(app_test(TRAIN), source="Paste text")
    at.text_area(key="tr_paste").set_value(PASTE[:80])
    at.select_slider(key="tr_seq").set_value(256)
    at.select_slider(key="tr_batch").set_value(128).run()
    assert not at.error
    at.button(key="tr_step").click().run()
    assert_clean(at, "Could not start training", "fewer than one sequence of 256")
    assert runner(at) is None
    at.select_slider(key="tr_seq").set_value(16).run()
    at.select_slider(key="tr_batch").set_value(1).run()  # extreme but valid: one sequence per step
    step_live(at, 10)
    assert runner(at).trainer.config.batch_size == 1


def test_divergence_then_reset_and_train_again(app_test):
    at = tiny(app_test(TRAIN), cell="rnn", lr=100.0, clip=False)
    at.button(key="tr_train").click().run()
    assert wait_until(at, lambda a: "Training diverged" in messages(a)), messages(at)
    assert_clean(at, "Training diverged", "learning rate")
    assert runner(at).status == "diverged"
    assert at.button(key="tr_train").proto.disabled and at.button(key="tr_step").proto.disabled
    # the rest of the page keeps working while diverged
    sample_ok(at)
    at.button(key="tr_reset_div").click().run()
    assert runner(at) is None and "Training diverged" not in messages(at)
    at.select_slider(key="tr_lr").set_value(2e-3)
    at.toggle(key="tr_clip").set_value(True).run()
    step_live(at, 10)
    assert not runner(at).trainer.diverged
    assert runner(at).trainer.config.lr == pytest.approx(2e-3)


# ------------------------------------------------------------------ Train page: prime text


@needs_names_gru
def test_prime_with_unseen_characters_bundled(app_test):
    at = app_test(TRAIN)
    generate(at, "names_gru", "Zoë & 日本 {}")
    assert_clean(at)
    err = messages(at)
    assert "'ë'" in err and "'日'" in err and "'{'" in err, err
    assert at.text_input(key="tr_prime").value == "Zoë & 日本 {}"  # the prime is kept to fix
    sample_ok(at)


def test_prime_with_unseen_characters_live(app_test):
    at = app_test(TRAIN)
    r = live_model(at)
    generate(at, "live", "<script>alert(1)</script>")
    assert_clean(at, "'<'")
    assert runner(at) is r and r.steps == 10  # the live model survives
    sample_ok(at, "live", "Ann")
    step_live(at, 20)  # and keeps training


# ------------------------------------------------------------------ Train page: checkpoints


def load_good(at):
    upload_ckpt(at, "good_names.safetensors", names_ckpt())
    assert not at.error, messages(at)
    assert at.session_state[UPLOADED][0].name == "good_names"
    return at.session_state[UPLOADED][0]


def still_has_uploaded(at, good):
    """The earlier uploaded model stays selected and usable."""
    assert at.session_state[UPLOADED][0] is good
    sample_ok(at, "uploaded", "Ann")
    at.select_slider(key="tr_seq").set_value(16)
    at.select_slider(key="tr_batch").set_value(8)
    at.run()
    assert at.session_state["tr_start"] == "trained" and at.session_state["tr_start_model"] == "uploaded"
    step_live(at, 10)
    assert runner(at).trainer.source == "good_names"


def _truncated():
    data = names_ckpt()
    return data[: len(data) - 100]


def _wrong_shape():
    return edit_card(names_ckpt(hidden=16), lambda c: c["model"].__setitem__("hidden", 32))


def _pickle():
    return pickle.dumps({"weights": [1.0, 2.0, 3.0], "note": "not a model"})


def _torch_zip():
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(3)}, buf)
    return buf.getvalue()


def _nan_weights():
    names = corpora.load("names")
    model = build("gru", len(names.vocab), layers=1, hidden=16, embed=8, seed=0)
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    return ckpt.to_bytes(model, names.vocab, name="nan", corpus="names", steps=0)


def _no_card():
    from safetensors.torch import save
    return save({"w": torch.zeros(4)})


def _bad_vocab():
    return edit_card(names_ckpt(), lambda c: c.__setitem__("vocab", c["vocab"][:-1]))


@pytest.mark.parametrize("name,make,words", [
    ("broken.safetensors", _truncated, ("Could not load broken.safetensors", "could not be read")),
    ("wide.safetensors", _wrong_shape, ("Could not load wide.safetensors", "shape", "needs (96, 8)")),
    ("model.safetensors", _pickle, ("pickle",)),
    ("model.safetensors", _torch_zip, ("pickle / PyTorch",)),
    ("nan.safetensors", _nan_weights, ("NaN",)),
    ("plain.safetensors", _no_card, ("not saved by rnnviz",)),
    ("vocab.safetensors", _bad_vocab, ("vocabulary size does not match",)),
    ("empty.safetensors", lambda: b"", ("empty or too short",)),
], ids=["truncated", "wrong-shape", "pickle", "torch-zip", "nan-weights", "no-card", "vocab-mismatch", "empty"])
def test_bad_checkpoint_keeps_uploaded_model(app_test, name, make, words):
    at = app_test(TRAIN)
    good = load_good(at)
    upload_ckpt(at, name, make())
    assert_clean(at, *words)
    still_has_uploaded(at, good)


def test_bad_checkpoint_keeps_live_model(app_test):
    at = app_test(TRAIN)
    r = live_model(at)
    upload_ckpt(at, "wide.safetensors", _wrong_shape())
    assert_clean(at, "shape")
    assert runner(at) is r and r.steps == 10
    assert at.session_state["tr_sample_model"] == "live"
    step_live(at, 20)


# ------------------------------------------------------------------ inspection pages


def test_cells_paste_unknown_characters(app_test):
    at = app_test(CELLS)
    assert not at.exception
    at.segmented_control(key="cx_source").set_value("paste").run()
    model = at.session_state["cx_model"]
    bad = "def f(x):\n    return x  # naïve → ünïcode ✓\n"
    at.text_area(key="cx_paste").set_value(bad).run()
    assert_clean(at, "never seen", "'→'", "kept")
    assert at.text_area(key="cx_paste").value == bad
    assert at.session_state["cx_model"] == model
    at.text_area(key="cx_paste").set_value("def f(x):\n    return x + 1\n" * 4).run()
    assert not at.error and not at.exception, messages(at)
    assert at.get("plotly_chart"), "no figure after fixing the text"


def test_cells_intervention_prime_unknown_characters(app_test):
    at = app_test(CELLS)
    at.segmented_control(key="cx_source").set_value("paste").run()
    at.text_area(key="cx_paste").set_value("def f(x):\n    return x + 1\n" * 4).run()
    at.segmented_control(key="cx_view").set_value("intervene").run()
    prime_key = [k for k in at.session_state if str(k).startswith("cx_iv_prime_")]
    assert prime_key, "intervention prime box missing"
    at.text_area(key=prime_key[0]).set_value("def ünïcode_→():")
    at.number_input(key="cx_iv_len").set_value(20)
    at.button(key="cx_iv_go").click().run()
    assert_clean(at, "'→'")
    at.text_area(key=prime_key[0]).set_value("def f(")
    at.button(key="cx_iv_go").click().run()
    assert not at.error and not at.exception, messages(at)
    assert any("written characters differ" in m.value for m in at.markdown)


def test_gates_paste_unknown_characters(app_test):
    at = app_test(GATES)
    assert not at.exception
    at.segmented_control(key="gates_source").set_value("paste").run()
    bad = "To be, or not to be — ça 🙂"
    at.text_area(key="gates_paste").set_value(bad).run()
    assert_clean(at, "'🙂'", "kept")
    assert at.text_area(key="gates_paste").value == bad
    at.text_area(key="gates_paste").set_value("To be, or not to be, that is the question:").run()
    assert not at.error and not at.exception, messages(at)
    assert at.get("plotly_chart")


@pytest.mark.parametrize("bad,words", [
    ("Wherefore art thou <Romeo> ™", ("'<'", "'™'", "never seen")),
    ("R", ("at least 2",)),
    ("To be or not to be. " * 25, ("only the first 401",)),  # too long: cut to the cap, said so
], ids=["unknown-chars", "single-char", "too-long"])
def test_gradients_bad_text(app_test, bad, words):
    at = app_test(GRADS)
    assert not at.exception
    at.text_area(key="grad_paste").set_value(bad).run()
    assert_clean(at, *words)
    at.text_area(key="grad_paste").set_value("ROMEO:\nBut, soft! what light").run()
    assert not at.error and not at.exception, messages(at)
    assert at.get("plotly_chart")


def test_gradients_empty_text_asks_for_some(app_test):
    at = app_test(GRADS)
    at.text_area(key="grad_paste").set_value("").run()
    assert not at.exception and not at.error
    assert any("Paste or type some text" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_gradients_clip_demo_extreme_learning_rate(app_test):
    at = app_test(GRADS)
    at.segmented_control(key="grad_view").set_value("clip").run()
    lr = at.number_input(key="grad_clip_lr")
    lr.set_value(-1.0).run()  # the widget refuses a negative rate (min 0.001): nothing reaches the library
    assert 0.001 <= at.number_input(key="grad_clip_lr").value <= 100.0
    at.number_input(key="grad_clip_lr").set_value(100.0)
    at.number_input(key="grad_clip_steps").set_value(30)
    at.select_slider(key="grad_clip_hidden").set_value(16)
    at.select_slider(key="grad_clip_seq").set_value(16)
    at.button(key="grad_clip_run").click().run()
    assert_clean(at)
    errs = [e.value for e in at.error]
    assert errs and all("Could not run" not in e for e in errs), errs  # the unclipped run blows up, explained
    assert any(s.value.startswith("Trained all") for s in at.success) or len(errs) == 2
    assert at.get("plotly_chart")
    # the page keeps working: a sane rate trains both runs
    at.number_input(key="grad_clip_lr").set_value(0.01)
    at.number_input(key="grad_clip_steps").set_value(5)
    at.button(key="grad_clip_run").click().run()
    assert not at.error and not at.exception, messages(at)
    assert len(at.success) == 2
