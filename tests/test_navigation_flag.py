"""The one private Streamlit detail rnnviz relies on, checked loudly.

Streamlit 1.67 has no supported way to keep a ``pages/`` folder *and* make a deep
link on a freshly started server run through ``app.py``: until some session has
called ``st.navigation``, the process-wide ``PagesManager.uses_pages_directory``
flag makes the script runner run ``pages/x.py`` on its own (multipage v1).
``rnnviz.ui.state.ensure_app_navigation`` (the only place that touches it) turns the
flag off and reruns through app.py. If a Streamlit upgrade renames or stops
consulting the flag, these tests fail and say where to look.
"""

import inspect
import os

from streamlit.runtime import pages_manager
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HINT = ("Streamlit changed how it handles a pages/ folder; revisit "
        "rnnviz.ui.state.ensure_app_navigation (issue 13 item 8).")


def test_the_flag_exists_and_is_set_from_the_pages_folder():
    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = None
        PagesManager(os.path.join(ROOT, "app.py"))
        assert PagesManager.uses_pages_directory is True, HINT
    finally:
        PagesManager.uses_pages_directory = saved
    assert "uses_pages_directory" in inspect.getsource(pages_manager.PagesManager.__init__), HINT


def test_the_script_runner_still_consults_it_to_run_a_page_file_alone():
    src = inspect.getsource(script_runner)
    assert "PagesManager.uses_pages_directory" in src and "_mpa_v1" in src, HINT


def test_navigation_switches_it_off_as_ensure_app_navigation_does():
    import streamlit.commands.navigation as navigation

    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation.navigation), HINT
    from rnnviz.ui import state

    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(state.ensure_app_navigation)


def test_only_one_module_touches_the_flag():
    touching = []
    for folder in ("rnnviz", "pages"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if f.endswith(".py") and "uses_pages_directory" in open(os.path.join(dirpath, f)).read():
                    touching.append(os.path.relpath(os.path.join(dirpath, f), ROOT))
    assert touching + [p for p in ["app.py"] if "uses_pages_directory" in open(os.path.join(ROOT, p)).read()] \
        == [os.path.join("rnnviz", "ui", "state.py")]
