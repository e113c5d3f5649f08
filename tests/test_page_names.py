"""AppTest of the Names lab: every view works from the bundled models and shows the
model's own numbers, a link builds the same figures as clicking, hostile names get
clear messages, and a run trained live (the three read-outs side by side) drives the
views while it trains."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
from conftest import ROOT, apply_runner_config, runner, wait_until

from rnnviz.live import active_runners
from rnnviz.names import data, lab
from rnnviz.names.model import READOUTS, generate, letter_probs, trajectory
from rnnviz.ui import html

PAGE = "pages/names.py"


def figs(at):
    return [json.loads(f.proto.spec) for f in at.get("plotly_chart")]


def arr(v) -> np.ndarray:
    """A figure array as Plotly's JSON spells it: a list, or base64 bytes with a dtype."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v)


def seg(at, key):
    return next(w for w in at.get("segmented_control") if w.key == key)


def view(at, key):
    seg(at, "nm_view").set_value(key).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_view_shows_the_bundled_models_numbers(app_test):
    at = app_test(PAGE)
    clf, gen = lab.bundled("surnames", "classifier"), lab.bundled("surnames", "generator")
    # read: one line per class, the model's probability after each letter
    lp = letter_probs(clf.model, clf.vocab, clf.classes, "Nováková")
    f = figs(at)[0]
    best = max(f["data"], key=lambda t: arr(t["y"])[-1])
    k = clf.classes.index(lp.top(1)[0][0])
    assert best["name"] == clf.classes[k] and np.allclose(arr(best["y"]), lp.probs[:, k], atol=1e-6)
    assert at.dataframe[0].value["class"][0] == lp.top(1)[0][0]
    # scores: the table is the held-out evaluation beside naive Bayes
    view(at, "scores")
    ho = lab.held_out(clf)
    table = at.dataframe[0].value
    assert list(table["accuracy"]) == [ho.rnn.accuracy, ho.baseline.accuracy]
    assert len(figs(at)) == 3
    seg(at, "nm_cm").set_value("nb").run()
    z = arr(figs(at)[0]["data"][0]["customdata"])
    assert (z == ho.baseline.confusion).all()
    # readouts: nothing trained yet -> how to get there
    view(at, "readouts")
    assert any("all three" in i.value for i in at.info) and not at.get("plotly_chart")
    # generate: the drawn name and its distributions are the generator's
    view(at, "generate")
    g = generate(gen.model, gen.vocab, gen.classes, "English", 0.8, seed=0)
    spans = re.findall(r">([^<]*)</span>", "".join(h.value for h in at.html))
    assert "".join(spans) == g.name + "⏎"  # every letter drawn, then the end of the name
    assert arr(figs(at)[0]["data"][0]["z"]).shape[1] == len(g.letters)
    at.selectbox(key="nm_class").set_value("Finnish").run()
    more = [generate(gen.model, gen.vocab, gen.classes, "Finnish", 0.8, seed=j).name for j in range(1, 9)]
    assert list(at.dataframe[0].value.iloc[:, 0]) == more
    # path: the PCA of the traced states
    view(at, "path")
    tr = trajectory(clf.model, clf.vocab, clf.classes, ["Murphy", "Müller", "Rossi"])
    pts = [t for t in figs(at)[0]["data"] if t["mode"] == "markers+text"]
    assert len(pts) == 3 and np.allclose(arr(pts[1]["x"]), tr.points[1][:, 0])
    # train: nothing yet
    view(at, "train")
    assert runner(at) is None and any("Nothing trained yet" in c.value for c in at.caption)


def test_a_link_opens_the_same_view_as_clicking(app_test):
    from streamlit.testing.v1 import AppTest

    apply_runner_config()
    at = AppTest.from_file(f"{ROOT}/app.py", default_timeout=120)
    at.run()
    for k, v in {"nm_data": "First name → gender", "nm_view": "Hidden-state path", "nm_names": "Alva, Mary",
                 "nm_color": "name", "nm_upto": "3", "nm_axes": "300 validation names"}.items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    assert not at.exception
    assert seg(at, "nm_data").value == "genders" and seg(at, "nm_axes").value == "val"
    assert at.slider(key="nm_upto").value == 3
    linked = figs(at)
    by_hand = app_test(PAGE)
    seg(by_hand, "nm_data").set_value("genders").run()
    view(by_hand, "path")
    by_hand.text_input(key="nm_names").input("Alva, Mary").run()
    seg(by_hand, "nm_color").set_value("name").run()
    by_hand.slider(key="nm_upto").set_value(3).run()
    seg(by_hand, "nm_axes").set_value("val").run()
    assert figs(by_hand) == linked
    pts = [t for t in linked[0]["data"] if t["mode"] == "markers+text"]
    assert [len(arr(t["x"])) for t in pts] == [3, 3]
    ds = data.genders()
    clf = lab.bundled("genders", "classifier")
    tr = trajectory(clf.model, clf.vocab, clf.classes, ["Alva", "Mary"], reference=list(ds.val.names[:300]))
    assert np.allclose(arr(pts[0]["x"]), tr.points[0][:3, 0])


HOSTILE = {  # typed name -> what its message must say
    "<img src=x onerror=alert(1)>": "never uses '\\<', '=', '(', '1', ')' and 1 more",
    "<script>alert(1)</script>": "never uses '\\<', '\\>', '(', '1', ')' and 1 more",
    "[x](http://127.0.0.1:9/a)": "never uses '\\[', '\\]', '(', '\\:', '/' and 7 more",
    "$x^2$": "never uses '\\$', '^', '2'",
    "a" * 10_000: "That is 10,000 characters long",
    "👩\u200d🚀 Zoë": "never uses '👩', U+200D (zero width joiner), '🚀'.",
    "Ωmega": "never uses 'Ω'",
    "": "The name is empty",
    "   ": "The name is empty",
}


def refusals(at) -> str:
    return " | ".join(w.value for w in at.warning)


def test_hostile_names_get_clear_messages(app_test):
    at = app_test(PAGE)
    vocab = lab.bundled("surnames", "classifier").vocab
    for bad, message in HOSTILE.items():
        at.text_input(key="nm_name").input(bad).run()
        assert not at.exception and not at.get("plotly_chart") and not at.dataframe, bad
        assert message in refusals(at), refusals(at)
        try:
            data.check_name(vocab, bad, "the bundled classifier")
        except ValueError as e:  # the library's message, escaped for Markdown, word for word
            assert [w.value for w in at.warning] == [html.md(e)]
        assert re.search(r"(?i)type a|can read only", refusals(at))  # and what to type instead
    assert "(\u201caaaa" in refusals(at.text_input(key="nm_name").input("a" * 10_000).run())  # quoted, cut
    assert "a" * 41 not in refusals(at) and "at most 32" in refusals(at)
    # the gender model reads no accents: it says so and offers the plain spelling
    seg(at, "nm_data").set_value("genders").run()
    at.text_input(key="nm_name").input("Zoë").run()
    assert "never uses 'ë'. It can read only the plain letters A-Z and a-z. Try \u201cZoe\u201d" in refusals(at)
    at.text_input(key="nm_name").input("Zoe").run()
    assert not at.warning and len(figs(at)) == 1


def test_hostile_name_lists_are_capped_and_the_good_names_drawn(app_test):
    at = app_test(PAGE)
    view(at, "path")
    at.text_input(key="nm_names").input("Rossi, <script>, " + "b" * 100).run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 2 and "Name 2" in warnings[0] and "Name 3" in warnings[1]
    assert len(figs(at)) == 1  # the good name is still drawn
    # 20,000 refused names: the list is cut at its cap and only three refusals are spelled out
    at.text_input(key="nm_names").input(", ".join(f"<{i}>" for i in range(20_000)) + ", Rossi").run()
    warnings = [w.value for w in at.warning]
    assert not at.exception and len(warnings) == 5, warnings
    assert f"only its first {lab.MAX_LIST} characters are read" in warnings[0]
    assert "Name 1" in warnings[1] and "Name 3" in warnings[3] and "more names could not be read" in warnings[4]
    assert not figs(at)  # Rossi was past the cap
    at.text_input(key="nm_names").input(" , ").run()
    assert any("Type one or more names" in i.value for i in at.info)


def test_the_generator_writes_after_a_typed_start_and_refuses_hostile_ones(app_test):
    at = app_test(PAGE)
    view(at, "generate")
    gen = lab.bundled("surnames", "generator")
    at.text_input(key="nm_prefix").input(" Mc").run()
    g = generate(gen.model, gen.vocab, gen.classes, "English", 0.8, seed=0, prefix="Mc")
    spans = re.findall(r">([^<]*)</span>", "".join(h.value for h in at.html))
    assert g.name.startswith("Mc") and "".join(spans) == "Mc" + "".join(g.letters).replace("\n", "⏎")
    assert list(at.dataframe[0].value.iloc[:, 0]) == [
        generate(gen.model, gen.vocab, gen.classes, "English", 0.8, seed=j, prefix="Mc").name for j in range(1, 9)]
    for bad, message in [*HOSTILE.items(), ("a" * 32, "type at most 31")]:
        if not bad.strip():
            continue  # an empty start is no start: the model writes the whole name
        at.text_input(key="nm_prefix").input(bad).run()
        assert not at.exception and not at.html and not at.get("plotly_chart"), bad
        assert message in refusals(at), refusals(at)
    at.text_input(key="nm_prefix").input("  ").run()
    assert not at.warning and len(figs(at)) == 1


def test_a_live_run_of_the_three_readouts_drives_the_views(app_test):
    at = app_test(PAGE)
    at.text_input(key="nm_name").input("<b>").run()  # refused there; the live read falls back to the default
    try:
        view(at, "train")
        at.selectbox(key="nm_readout").set_value("all")
        at.selectbox(key="nm_hidden").set_value(32).run()
        at.button(key="nm_step1000").click().run()
        r = runner(at)
        assert r is not None and r.trainer.config.readout == "all" and r.trainer.config.hidden == 32
        assert r.max_steps == 1000
        assert not at.button(key="nm_pause").proto.disabled  # the controls were redrawn for the new run
        assert wait_until(at, lambda a: r.steps >= 50), "the run made no progress"
        assert len(figs(at)) == 3  # loss, accuracy, a name read by the current weights
        assert any("How the model reads **Nováková** now" in m.value for m in at.markdown)
        view(at, "readouts")
        f = figs(at)[0]
        assert [t["name"] for t in f["data"]] == ["last", "last (balanced)", "mean", "mean (balanced)",
                                                  "attention", "attention (balanced)"]
        assert len(arr(f["data"][0]["x"])) >= 2
        table = at.dataframe[0].value  # in words, not the trainer's keys
        assert list(table.columns) == ["read-out", "accuracy", "class-balanced accuracy", "validation loss (nats)"]
        assert list(table["read-out"]) == list(READOUTS)
        seg(at, "nm_model").set_value("live").run()
        view(at, "read")
        assert "cannot be read" in refusals(at)  # "<b>" is still typed there
        at.text_input(key="nm_name").input("Rossi").run()
        assert any("your classifier" in c.value for c in at.caption)
    finally:
        for r in active_runners():
            r.stop()


def test_a_live_generator_run_shows_its_milestone_names_while_it_trains(app_test):
    at = app_test(PAGE)
    try:
        view(at, "train")
        seg(at, "nm_kind").set_value("generator").run()
        at.selectbox(key="nm_hidden").set_value(32).run()
        at.button(key="nm_step100").click().run()
        r = runner(at)
        assert r is not None and r.trainer.KIND == "generator" and r.max_steps == 100
        assert wait_until(at, lambda a: r.snapshot().samples), "no milestone sample yet"
        view(at, "generate")
        seg(at, "nm_model").set_value("live").run()
        at.selectbox(key="nm_class").set_value("Finnish").run()
        assert any("Names your generator wrote as Finnish at its milestone steps" in c.value for c in at.caption)
        table = at.dataframe[-1].value
        expect = lab.milestone_samples(r.snapshot().samples, "Finnish")
        assert list(table["step"])[: len(expect)] == [s for s, _ in expect]
        assert table["names"][0] == ", ".join(expect[0][1])
    finally:
        for r in active_runners():
            r.stop()
