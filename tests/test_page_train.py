"""AppTest acceptance tests for the Train & sample page (tiny models, names corpus or pasted text)."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import ROOT, another_trainer_ran, apply_runner_config, runner, steps, tiny, wait_until  # noqa: E402

from rnnviz import checkpoint as ckpt
from rnnviz import corpora
from rnnviz import trainsetup as ts
from rnnviz.live import active_runners
from rnnviz.models import build

PAGE = "pages/train.py"
PASTE = ("the cat sat on the mat. the dog sat on the log. " * 40).strip()


@pytest.fixture(autouse=True)
def stop_runners():
    yield
    for r in active_runners():
        r.stop()


def errors(at) -> str:
    """Error texts as a reader sees them (the Markdown escapes of quoted user text resolved)."""
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error)).replace("\u2060", "")


def test_train_pause_reset(app_test):
    at = tiny(app_test(PAGE))
    assert not at.exception
    assert at.button(key="tr_reset").proto.disabled  # nothing to reset yet
    at.button(key="tr_train").click().run()
    assert runner(at) is not None
    assert wait_until(at, lambda a: steps(a) > 0)
    first = steps(at)
    assert wait_until(at, lambda a: steps(a) > first), "step count did not grow while training"
    # live views: loss + gradient charts, current sample and the step-0 sample in the timeline
    figs = at.get("plotly_chart")
    assert len(figs) == 2
    loss_fig = json.loads(figs[0].proto.spec)
    assert any("uniform guess" in (t.get("name") or "") for t in loss_fig["data"])
    assert any("step 0 · validation loss" in h.value for h in at.html)  # samples timeline
    at.button(key="tr_pause").click().run()
    assert wait_until(at, lambda a: not runner(a).active)
    at.run()
    a = steps(at)
    r = runner(at)
    # Another trainer gets every CPU slot and trains: the paused one holds none and
    # makes no steps meanwhile (a wait on progress, not a sleep).
    assert another_trainer_ran(r.limiter, r.trainer.corpus), "the paused trainer kept its CPU slot"
    at.run()
    b = steps(at)
    assert a == b == r.steps, "steps changed after Pause"
    assert any(f"Paused at step {b:,}" in c.value for c in at.caption)
    # Train resumes the same model
    at.button(key="tr_train").click().run()
    assert wait_until(at, lambda a2: steps(a2) > b)
    at.button(key="tr_reset").click().run()
    assert runner(at) is None
    assert steps(at) == -1
    assert any("Press **Train** to start" in i.value for i in at.info)
    assert not at.exception


def test_step_runs_one_chunk(app_test):
    at = tiny(app_test(PAGE))
    at.button(key="tr_step").click().run()
    assert wait_until(at, lambda a: not runner(a).active and steps(a) > 0)
    at.run()
    assert steps(at) == 10
    assert runner(at).status == "paused"


def test_divergence_message_and_restore(app_test):
    at = tiny(app_test(PAGE), cell="rnn", lr=10.0, clip=False)
    at.button(key="tr_train").click().run()
    assert wait_until(at, lambda a: "Training diverged" in errors(a)), errors(at)
    assert not at.exception
    assert "learning rate" in errors(at)
    assert runner(at).status == "diverged"
    assert at.button(key="tr_train").proto.disabled
    # follow the advice: lower the rate, clip, restore, continue
    at.select_slider(key="tr_lr").set_value(2e-3)
    at.toggle(key="tr_clip").set_value(True).run()
    at.button(key="tr_restore").click().run()
    assert "Training diverged" not in errors(at)
    assert any("Restored the weights" in i.value for i in at.info)
    r = runner(at)
    assert r.trainer.config.lr == pytest.approx(2e-3) and r.trainer.config.clip
    at.button(key="tr_train").click().run()
    assert wait_until(at, lambda a: steps(a) >= 5)
    assert not r.trainer.diverged
    at.button(key="tr_pause").click().run()
    at.button(key="tr_reset").click().run()
    assert runner(at) is None and not at.exception


def test_bad_paste_shows_error_and_page_keeps_working(app_test):
    at = app_test(PAGE)
    at.radio(key="tr_source").set_value("Paste text").run()
    for bad, words in (("aaaaaaa", "one distinct character"), ("hello world", "fewer than"),
                       ("   \n\n   ", "only whitespace")):
        at.text_area(key="tr_paste").set_value(bad).run()
        assert words in errors(at), errors(at)
        assert at.button(key="tr_train").proto.disabled
        assert not at.exception
    at.text_area(key="tr_paste").set_value(PASTE).run()
    assert not at.error
    at.select_slider(key="tr_hidden").set_value(16)
    at.select_slider(key="tr_seq").set_value(16)
    at.select_slider(key="tr_batch").set_value(8).run()
    assert any("vocabulary **" in m.value and "pasted text" in m.value for m in at.markdown)
    at.button(key="tr_train").click().run()
    assert wait_until(at, lambda a: steps(a) > 0)
    assert runner(at).trainer.corpus.name == "pasted text"


def test_bad_text_upload_shows_error(app_test):
    at = app_test(PAGE)
    at.radio(key="tr_source").set_value("Upload a file").run()
    at.file_uploader(key="tr_text_upload").set_value(("cat.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"))
    at.run()
    assert "binary" in errors(at)
    assert not at.exception
    at.file_uploader(key="tr_text_upload").set_value(("ok.txt", PASTE.encode(), "text/plain"))
    at.run()
    assert not at.error
    assert any("ok.txt" in m.value for m in at.markdown)


def test_checkpoint_upload_garbage_then_real(app_test):
    at = app_test(PAGE)
    up = at.file_uploader(key="tr_ckpt_upload")
    up.set_value(("model.safetensors", b"this is not a model at all, just some bytes", "application/octet-stream"))
    at.run()
    assert "Could not load model.safetensors" in errors(at) and "safetensors" in errors(at)
    assert not at.exception
    at.file_uploader(key="tr_ckpt_upload").set_value(("evil.safetensors", b"\x80\x04\x95" + b"x" * 64,
                                                      "application/octet-stream"))
    at.run()
    assert "pickle" in errors(at)
    # a real checkpoint on the names vocabulary: loads, samples, and continues training
    names = corpora.load("names")
    model = build("gru", len(names.vocab), layers=1, hidden=16, embed=8, seed=0)
    data = ckpt.to_bytes(model, names.vocab, name="my_names", corpus="names", steps=0)
    at.file_uploader(key="tr_ckpt_upload").set_value(("my_names.safetensors", data, "application/octet-stream"))
    at.run()
    assert not at.error, errors(at)
    assert any("Loaded **my_names**" in s.value for s in at.success)
    assert at.session_state["tr_start"] == "trained" and at.session_state["tr_start_model"] == "uploaded"
    assert at.session_state["tr_corpus"] == "names"
    assert at.session_state["tr_sample_model"] == "uploaded"
    at.number_input(key="tr_sample_len").set_value(40)
    at.button(key="tr_generate").click().run()
    assert not at.error
    assert any("my_names" in c.value for c in at.caption)
    at.select_slider(key="tr_seq").set_value(16)
    at.select_slider(key="tr_batch").set_value(8)
    at.button(key="tr_train").click().run()
    assert wait_until(at, lambda a: steps(a) > 0)
    tr = runner(at).trainer
    assert tr.model.config.cell == "gru" and tr.model.config.hidden == 16
    assert tr.source == "my_names"


def test_bundled_model_needs_its_own_characters(app_test):
    at = app_test(PAGE)
    if "names_gru" not in ckpt.pretrained_names():
        pytest.skip("bundled names_gru missing")
    at.radio(key="tr_source").set_value("Paste text").run()
    at.text_area(key="tr_paste").set_value(PASTE)
    at.segmented_control(key="tr_start").set_value("trained").run()
    at.selectbox(key="tr_start_model").set_value("names_gru").run()
    warn = " ".join(w.value for w in at.warning)
    assert "only knows the" in warn and "First names" in warn
    assert at.button(key="tr_train").proto.disabled
    # its own corpus is fine
    at.radio(key="tr_source").set_value("Built-in").run()
    at.selectbox(key="tr_corpus").set_value("names").run()
    assert not at.warning
    assert not at.button(key="tr_train").proto.disabled


def test_sampling_panel_errors_and_escaping(app_test):
    at = app_test(PAGE)
    if "names_gru" not in ckpt.pretrained_names():
        pytest.skip("bundled names_gru missing")
    at.selectbox(key="tr_sample_model").set_value("names_gru")
    at.text_input(key="tr_prime").set_value("<b>Ann")
    at.number_input(key="tr_sample_len").set_value(30)
    at.button(key="tr_generate").click().run()
    err = errors(at)
    assert "'<'" in err and "'>'" in err and "'b'" not in err
    assert not at.exception
    at.text_input(key="tr_prime").set_value("Ann")
    at.select_slider(key="tr_sample_temp").set_value(0.5)
    at.button(key="tr_generate").click().run()
    assert not at.error
    out = [h.value for h in at.html if "prime text (given, not sampled)" in h.value]
    assert out, "sample output missing"
    assert any("temperature 0.5" in c.value for c in at.caption)


# ------------------------------------------------------------------ links (issue 13)

# Every training setting as a link carries it: the URL holds each widget's shown value.
LINK = {"tr_corpus": "names", "tr_cell": "gru", "tr_layers": 2, "tr_hidden": 32, "tr_embed": 16, "tr_seq": 16,
        "tr_batch": 4, "tr_opt": "sgd", "tr_lr": 0.01, "tr_clip": False, "tr_clip_value": 2.0, "tr_seed": 7,
        "tr_stop": 1_000, "tr_carry": True}


def _url_value(key, value) -> str:
    from rnnviz import trainsetup as ts
    from rnnviz.celltypes import CELL_TYPES

    name = key[3:]
    if name in ts.SETTINGS and name not in ("corpus", "cell", "opt", "clip", "carry"):
        return ts.SETTINGS[name].fmt(value)
    return {"corpus": corpora.title, "cell": lambda v: CELL_TYPES[v].label, "opt": ts.OPT_LABELS.get,
            "clip": lambda v: str(v).lower(), "carry": lambda v: str(v).lower()}.get(name, str)(value)


KINDS = {"tr_corpus": "selectbox", "tr_cell": "radio", "tr_opt": "selectbox", "tr_clip": "toggle",
         "tr_seed": "number_input", "tr_carry": "checkbox", "tr_sample_model": "selectbox", "tr_prime": "text_input"}


def widget(at, key):
    return getattr(at, KINDS.get(key, "select_slider"))(key=key)


def open_link(query: dict, page: str = PAGE):
    """A fresh session opening ``page`` from a link with ``query`` (URL strings)."""
    from streamlit.testing.v1 import AppTest

    apply_runner_config()
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def test_training_settings_open_from_a_link():
    at = open_link({k: _url_value(k, v) for k, v in LINK.items()})
    assert {k: widget(at, k).value for k in LINK} == LINK
    assert runner(at) is None  # a link never starts training
    # the run those settings make is the one that starts
    at.button(key="tr_step").click().run()
    assert wait_until(at, lambda a: runner(a) is not None and not runner(a).active and steps(a) > 0)
    c = runner(at).trainer.config
    assert (c.cell, c.layers, c.hidden, c.embed, c.seq_len, c.batch_size) == ("gru", 2, 32, 16, 16, 4)
    assert (c.optimizer, c.lr, c.clip, c.clip_value, c.seed, c.carry_state) == ("sgd", 0.01, False, 2.0, 7, True)
    assert runner(at).max_steps == 1_000 and runner(at).trainer.corpus.name == "names"


def _sample_out(at):
    return [h.value for h in at.html if "prime text (given, not sampled)" in h.value]


def test_sampling_panel_opens_from_a_link_with_the_same_sample(app_test):
    if "names_gru" not in ckpt.pretrained_names():
        pytest.skip("bundled names_gru missing")
    by_hand = app_test(PAGE)
    by_hand.selectbox(key="tr_sample_model").set_value("names_gru")
    by_hand.text_input(key="tr_prime").set_value("Mar")
    by_hand.select_slider(key="tr_sample_temp").set_value(0.5)
    by_hand.select_slider(key="tr_sample_topk").set_value(5)
    by_hand.number_input(key="tr_sample_len").set_value(60)
    by_hand.button(key="tr_generate").click().run()  # the next seed
    assert by_hand.number_input(key="tr_sample_seed").value == 1
    expected = _sample_out(by_hand)
    assert expected and not by_hand.error
    link = {"tr_sample_model": "names_gru", "tr_prime": "Mar", "tr_sample_temp": "0.5", "tr_sample_topk": "5",
            "tr_sample_len": "60", "tr_sample_seed": "1"}
    at = open_link(link)
    assert at.selectbox(key="tr_sample_model").value == "names_gru" and at.text_input(key="tr_prime").value == "Mar"
    assert (at.select_slider(key="tr_sample_temp").value, at.select_slider(key="tr_sample_topk").value) == (0.5, 5)
    assert (at.number_input(key="tr_sample_len").value, at.number_input(key="tr_sample_seed").value) == (60, 1)
    assert _sample_out(at) == expected  # the same sample, character for character
    assert any("temperature 0.5, top-5" in c.value for c in at.caption)
    other = open_link(dict(link, tr_sample_seed="2"))
    assert _sample_out(other) != expected  # and the seed in the link matters


def test_train_moments_reach_their_widgets():
    from rnnviz import moments

    ours = [m for m in moments.MOMENTS if m.page == PAGE]
    assert 2 <= len(ours) <= 4
    for m in ours:
        at = open_link(m.params)
        assert not at.error, m.title
        shown = {k: _url_value(k, widget(at, k).value) for k in m.params}
        assert shown == m.params, m.title


def test_the_schedule_toggle_reaches_the_live_model(app_test):
    at = tiny(app_test(PAGE))
    assert at.toggle(key="tr_sched").value  # on by default
    at.button(key="tr_step").click().run()
    assert wait_until(at, lambda a: steps(a) > 0)
    cfg = runner(at).trainer.config
    assert (cfg.warmup, cfg.decay_steps) == (ts.WARMUP_STEPS, ts.DEFAULTS["stop"])
    at.select_slider(key="tr_stop").set_value(1_000).run()  # the decay follows the step limit
    assert runner(at).trainer.config.decay_steps == 1_000
    at.toggle(key="tr_sched").set_value(False).run()  # off: the rate stays as set
    cfg = runner(at).trainer.config
    assert (cfg.warmup, cfg.decay_steps) == (0, 0)
