"""The Train & sample page's settings and read-outs (rnnviz.trainsetup), without Streamlit."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from rnnviz import checkpoint as ckpt
from rnnviz import corpora
from rnnviz import trainsetup as ts
from rnnviz.models import ModelConfig, build
from rnnviz.sample import Sample

PASTE = ("the cat sat on the mat. the dog sat on the log. " * 40).strip()


def test_option_lists_hold_their_defaults_and_are_sorted():
    for name, options in (("layers", ts.LAYERS), ("hidden", ts.HIDDEN), ("embed", ts.EMBED), ("seq", ts.SEQ_LENS),
                          ("batch", ts.BATCHES), ("lr", ts.LR_OPTIONS), ("clip_value", ts.CLIP_OPTIONS),
                          ("stop", ts.STOP_OPTIONS)):
        assert ts.DEFAULTS[name] in options, name
        assert list(options) == sorted(options), name
    assert ts.DEFAULTS["source"] in ts.SOURCES and ts.DEFAULTS["opt"] in ts.OPT_LABELS


def test_arch_label_and_param_count_match_a_real_model():
    cfg = ModelConfig(cell="gru", vocab_size=30, layers=2, hidden=32, embed=8)
    assert ts.arch_label(cfg) == "2 × 32 GRU"
    assert ts.param_count("gru", 2, 32, 8, 30) == build("gru", 30, layers=2, hidden=32, embed=8).num_params()
    assert ts.param_count("rnn", 1, 16, 8, 30) < ts.param_count("lstm", 1, 16, 8, 30)


def test_train_config_carries_every_setting():
    c = ts.train_config(dict(cell="rnn", layers=2, hidden=64, embed=16), seq=32, batch=8, opt="sgd", lr=0.1,
                        clip=False, clip_value=2.0, seed=7, carry=True)
    assert (c.cell, c.layers, c.hidden, c.embed, c.seq_len, c.batch_size) == ("rnn", 2, 64, 16, 32, 8)
    assert (c.optimizer, c.lr, c.clip, c.clip_value, c.seed, c.carry_state) == ("sgd", 0.1, False, 2.0, 7, True)
    assert (c.warmup, c.decay_steps) == (0, 0)  # no schedule unless asked
    s = ts.train_config(dict(cell="rnn", layers=2, hidden=64, embed=16), seq=32, batch=8, opt="sgd", lr=0.1,
                        clip=False, clip_value=2.0, seed=7, carry=True, sched=True, stop=2_000)
    assert (s.warmup, s.decay_steps) == (ts.WARMUP_STEPS, 2_000)  # the decay ends at the step limit


def test_the_page_defaults_are_one_config():
    c = ts.default_config()
    d = ts.DEFAULTS
    assert (c.cell, c.layers, c.hidden, c.embed, c.seq_len, c.batch_size, c.lr) == (
        d["cell"], d["layers"], d["hidden"], d["embed"], d["seq"], d["batch"], d["lr"])
    assert c.decay_steps == d["stop"] and c.warmup == (ts.WARMUP_STEPS if d["sched"] else 0)


def _names_checkpoint(name="my_names"):
    names = corpora.load("names")
    model = build("gru", len(names.vocab), layers=1, hidden=16, embed=8, seed=0)
    return ckpt.from_bytes(ckpt.to_bytes(model, names.vocab, name=name, corpus="names", steps=3)), names


def test_fit_reencodes_a_text_made_of_the_models_characters():
    cp, names = _names_checkpoint()
    sub = corpora.from_text(names.text[:3000], name="a few names")
    assert set(sub.vocab.chars) < set(cp.vocab.chars)  # fewer characters than the model knows
    f = ts.fit(cp, sub)
    assert f.warning is None and f.corpus.vocab == cp.vocab and f.corpus.text == sub.text
    assert ts.fit(cp, names).corpus is names


def test_fit_refuses_unknown_characters_and_escapes_the_model_name():
    cp, _ = _names_checkpoint(name="*bold* [x](http://e.vil)")
    f = ts.fit(cp, corpora.from_text(PASTE + " {<}", name="pasted text"))
    assert f.corpus is None
    assert "only knows the" in f.warning and "First names" in f.warning
    assert "'<'" in f.warning.replace("\\", "") and "'{'" in f.warning.replace("\\", "")
    assert "\\*bold\\*" in f.warning and "\\[x\\](http" in f.warning  # no emphasis, no link


def test_download_name_keeps_only_safe_characters():
    tr = SimpleNamespace(corpus=SimpleNamespace(name="../../évil <x>.txt"), steps=120,
                         model=SimpleNamespace(config=ModelConfig(cell="lstm", vocab_size=9, layers=2, hidden=64)))
    name = ts.download_name(tr)
    assert name.endswith("_lstm_2x64_step120")
    assert all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in name)


def _snap(**kw):
    base = dict(steps=1234, loss=[(i, 3.0 + (i % 2)) for i in range(40)], val=[(0, 4.0), (100, 3.5)],
                speed=[(i, 12_000.0) for i in range(60)], train_seconds=125.4, samples=[])
    base.update(kw)
    return SimpleNamespace(**base)


def test_metrics_read_the_snapshot():
    m = {x.label: x for x in ts.metrics(_snap(), vocab=65)}
    assert m["Step"].value == "1,234"
    assert m["Train loss"].value == "3.500"
    assert m["Val loss"].value == "3.500" and m["Val loss"].delta == "-0.500"
    assert m["Perplexity"].value == f"{math.exp(3.5):.1f}" and "65" in m["Perplexity"].help
    assert m["Chars / s"].value == "12 k" and m["Time"].value == "2:05"
    empty = {x.label: x.value for x in ts.metrics(_snap(loss=[], val=[], speed=[], steps=0), vocab=65)}
    assert empty["Train loss"] == empty["Val loss"] == empty["Chars / s"] == "–"
    assert ts.fmt_time(3725) == "1 h 02 min" and ts.fmt_speed(950.0) == "950"


def test_timeline_captions_use_the_validation_loss_measured_by_then():
    s = Sample(prime="", text="ab", probs=np.array([0.5, 0.5]))
    tl = ts.timeline(_snap(samples=[(0, s), (100, s), (300, s)], val=[(0, 4.0), (100, 3.5), (400, 2.0)]))
    assert [c for _, _, c in tl] == ["step 0 · validation loss 4.00", "step 100 · validation loss 3.50",
                                     "step 300 · validation loss 3.50"]
    assert ts.timeline(_snap(samples=[(5, s)], val=[]))[0][2] == "step 5"


@pytest.mark.parametrize("font", [ts.BOX_FONT, ts.PRESENTER_FONT])
@pytest.mark.parametrize("text", ["x" * 200, "ROMEO:\nO, she doth teach\nthe torches\n\n" * 4, "\n" * 30, ""])
def test_box_height_fits_every_wrapped_line_whole(text, font):
    """Issue 13: the timeline boxes (110 px) cut 200-character samples mid-line."""
    font_px, line_height = font
    per_line = int((ts.TIMELINE_MIN_PX - ts.BOX_CHROME_PX - 4) // (font_px * ts.CHAR_EM))
    assert per_line * font_px * ts.CHAR_EM + 24 <= ts.TIMELINE_MIN_PX  # the rows counted fit in the box
    rows = sum(max(1, math.ceil(len(line) / per_line)) for line in text.split("\n"))
    h = ts.box_height(text, font=font)
    line_px = font_px * line_height
    assert rows * line_px <= h - ts.BOX_CHROME_PX < rows * line_px + 1  # all rows, and no half row
    capped = ts.box_height(text, font=font, max_rows=3)
    assert capped == ts.box_height("\n" * (min(rows, 3) - 1), font=font)  # longer texts scroll after 3 whole rows
    assert ts.box_height("x" * 200) > 110  # the old fixed box was too small for a 200-character sample


def test_sample_caption_escapes_the_label():
    s = Sample(prime="A", text="nn", probs=np.array([0.5, 0.25]), temperature=0.5, top_k=5)
    cap = ts.sample_caption("*my* model", s)
    assert "\\*my\\*" in cap and "temperature 0.5, top-5" in cap and "2 characters" in cap
    assert "greedy" in ts.sample_caption("m", Sample(prime="", text="a", probs=np.array([1.0]), greedy=True))


def test_timeline_html_boxes_hold_their_whole_sample():
    """Issue 13 item 6: every timeline box is tall enough for its sample at the narrowest grid column."""
    import re

    text = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 3)[:200]
    s = Sample(prime="", text=text, probs=np.full(len(text), 0.5))
    out = ts.timeline_html(_snap(samples=[(0, s), (100, s)], val=[(0, 4.2)]))
    heights = [int(h) for h in re.findall(r"max-height: (\d+)px", out)]
    assert heights == [ts.box_height(text)] * 2 and heights[0] > 110
    assert f"minmax({ts.TIMELINE_MIN_PX}px" in out
    big = ts.timeline_html(_snap(samples=[(0, s)]), font=ts.PRESENTER_FONT)
    assert re.findall(r"max-height: (\d+)px", big) == [str(ts.box_height(text, font=ts.PRESENTER_FONT))]
    assert out.count("step 0 · validation loss 4.20") == 1 and "step 100 · validation loss 4.20" in out
    assert "<script" not in ts.timeline_html(_snap(samples=[(0, Sample(prime="", text="<script>", probs=np.ones(8)))]))


class _Runner:
    def __init__(self, **kw):
        self.active, self.status, self.wants_run, self.max_steps, self.steps = False, "paused", False, 100, 10
        self.__dict__.update(kw)


def test_buttons_follow_the_run():
    assert ts.buttons(None, "Choose some text to train on first.") == ts.Buttons(False, True, True)
    assert ts.buttons(None, None) == ts.Buttons(False, False, False)
    assert ts.buttons(_Runner(active=True, wants_run=True), None) == ts.Buttons(True, False, True)
    assert ts.buttons(_Runner(active=True, wants_run=False), None).train_off  # a Step is running
    assert ts.buttons(_Runner(status="diverged"), None) == ts.Buttons(False, True, True)
    assert ts.buttons(_Runner(steps=100), None) == ts.Buttons(False, False, True)  # at the step limit


def test_summaries_and_live_settings_on_a_real_trainer():
    from rnnviz.train import Trainer

    names = corpora.load("names")
    cfg = ts.train_config(dict(cell="lstm", layers=1, hidden=16, embed=8), seq=16, batch=4, opt="adam", lr=2e-3,
                          clip=True, clip_value=5.0, seed=0, carry=False)
    before = ts.setup_summary(cfg, names)
    tr = Trainer(names, cfg)
    assert before == ts.run_summary(tr)
    assert f"**{tr.model.num_params():,}** parameters" in before and "64 characters per step" in before
    assert ts.locked_summary(tr).endswith("started from random weights.")
    ts.apply_live(tr, ts.train_config(dict(cell="lstm", layers=1, hidden=16, embed=8), seq=16, batch=4, opt="adam",
                                      lr=0.01, clip=False, clip_value=1.0, seed=0, carry=False))
    assert tr.config.lr == 0.01 and tr.optimizer.param_groups[0]["lr"] == 0.01
    assert not tr.config.clip and tr.config.clip_value == 1.0
    ts.apply_live(tr, ts.train_config(dict(cell="lstm", layers=1, hidden=16, embed=8), seq=16, batch=4, opt="adam",
                                      lr=0.01, clip=False, clip_value=1.0, seed=0, carry=False, sched=True,
                                      stop=300))
    assert (tr.config.warmup, tr.config.decay_steps) == (ts.WARMUP_STEPS, 300)  # the toggle and the limit apply live
    cp, _ = _names_checkpoint()
    assert f"**{cp.model.num_params():,}** parameters" in ts.setup_summary(cfg, names, cp)
