"""AppTest of the Shapes of RNNs page: both views from the bundled models, every
choice bound to the URL (a link builds the same figure as clicking), each shape
linked to its lab, and hostile names refused with a clear message."""

from __future__ import annotations

import json

from rnnviz.names import lab, shapes

PAGE = "pages/structures.py"


def figs(at):
    return [json.loads(f.proto.spec) for f in at.get("plotly_chart")]


def seg(at, key):
    return next(w for w in at.get("segmented_control") if w.key == key)


def annotations(fig):
    return [a.get("text") for a in fig["layout"].get("annotations", []) if a.get("text")]


def test_map_draws_every_shape_from_a_real_forward_pass(app_test):
    at = app_test(PAGE)
    assert not at.exception
    fs = figs(at)
    assert len(fs) == len(shapes.TITLES)
    sm = shapes.shapes_map(lab.bundled("surnames", "classifier"), lab.bundled("surnames", "generator"), "Rossi")
    for f, s in zip(fs, sm):
        assert s.title in f["layout"]["title"]["text"]
        # every letter fed and every output read is on screen, in order
        texts = annotations(f)
        assert all(x.input in texts for x in s.steps if x.input) and all(x.output in texts for x in s.steps
                                                                         if x.output)
    links = [p.proto.page for p in at.get("page_link")]
    assert sum("names" in p for p in links) == 3 and sum("train" in p for p in links) == 1
    assert any("not on this server yet" in c.value for c in at.caption) or any("seq2seq" in p for p in links)


def test_a_link_opens_the_same_step_as_clicking(app_test):
    from conftest import ROOT, apply_runner_config
    from streamlit.testing.v1 import AppTest

    apply_runner_config()
    at = AppTest.from_file(f"{ROOT}/app.py", default_timeout=120)
    at.run()
    for k, v in {"nm_sview": "Step through one", "nm_shape": "encoder-decoder", "nm_step": "9",
                 "nm_sname": "Kowalski", "nm_sseed": "3", "nm_sdata": "first names → gender"}.items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.text_input(key="nm_sname").value == "Kowalski" and at.slider(key="nm_step").value == 9
    assert seg(at, "nm_shape").value == "encoder_decoder" and seg(at, "nm_sdata").value == "genders"
    linked = figs(at)
    by_hand = app_test(PAGE)
    seg(by_hand, "nm_sdata").set_value("genders").run()
    by_hand.text_input(key="nm_sname").input("Kowalski").run()
    by_hand.number_input(key="nm_sseed").set_value(3).run()
    seg(by_hand, "nm_sview").set_value("step").run()
    seg(by_hand, "nm_shape").set_value("encoder_decoder").run()
    by_hand.slider(key="nm_step").set_value(9).run()
    assert figs(by_hand) == linked and len(linked) == 1
    ed = shapes.shapes_map(lab.bundled("genders", "classifier"), lab.bundled("genders", "generator"),
                           "Kowalski", seed=3)[-1]
    table = at.dataframe[0].value
    assert len(table) == 9 and list(table["input"][:8]) == list("Kowalski")
    assert table["output"][7] == ed.steps[7].output  # the encoder's answer, handed to the decoder
    assert table["input"][8] == ed.steps[8].input == ed.steps[7].output


HOSTILE = [
    ("<b>Rossi</b>", "never uses '\\<', '\\>'"),  # named, and escaped for Markdown
    ("😀", "never uses"),
    ("a" * 10_000, "10,000 characters"),
    ("   ", "empty"),
]


def test_hostile_names_get_a_clear_message(app_test):
    at = app_test(PAGE)
    for bad, message in HOSTILE:
        at.text_input(key="nm_sname").input(bad).run()
        assert not at.exception
        assert not at.get("plotly_chart")
        assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    at.text_input(key="nm_sname").input("Dubois").run()  # nothing is lost: the page works again
    assert len(at.get("plotly_chart")) == len(shapes.TITLES) and not at.warning


def test_each_shapes_link_opens_its_lab_in_the_view_it_names(app_test):
    """The links carry the target's URL values, which for a view switch are its labels:
    a key ("generate") instead of the label was dropped and the lab opened on its first view."""
    import ast
    import os

    from conftest import ROOT

    src = open(os.path.join(ROOT, PAGE), encoding="utf-8").read()  # the page runs when imported: read its literal
    links = ast.literal_eval(src[src.index("LINKS = {") + len("LINKS = "):src.index("}\nWHAT")] + "}")
    checked = 0
    for target, params, _label in links.values():
        if not params:
            continue
        at = app_test()
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page(target).run()
        assert not at.exception
        for k, v in params.items():
            widget = next(w for w in at.get("segmented_control") if w.key == k)
            assert widget.format_func(widget.value) == v, (target, k, v)
            checked += 1
    assert checked >= 2


def test_every_shape_gets_the_full_width_with_its_words_below(app_test):
    """Beside a text column the boxes of the encoder-decoder pass were too narrow for a class
    name at 1280 × 720 ("Italian" showed as "talian") and the links were cut off."""
    at = app_test(PAGE)
    assert len(figs(at)) == len(shapes.TITLES)
    assert not any(c.get("plotly_chart") or c.get("page_link") for c in at.columns)
