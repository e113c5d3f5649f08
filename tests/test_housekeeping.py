"""Server housekeeping: switch interval, one collector thread, trimming frees cycles."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

from rnnviz import housekeeping


class _Node:
    pass


def test_trim_collects_cyclic_garbage():
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle that reference counting alone never frees
    ref = weakref.ref(a)
    was = gc.isenabled()
    gc.disable()  # like a server with post-run collection switched off
    try:
        del a, b
        assert ref() is not None
        assert housekeeping.trim() >= 2
        assert ref() is None
    finally:
        if was:
            gc.enable()


def test_start_sets_the_interval_and_starts_one_thread():
    before = sys.getswitchinterval()
    try:
        t1 = housekeeping.start(every=3600, switch_interval=2e-4)
        t2 = housekeeping.start(every=3600, switch_interval=2e-4)
        assert abs(sys.getswitchinterval() - 2e-4) < 1e-9
        assert t1 is t2 and t1.is_alive() and t1.daemon
        names = [t.name for t in threading.enumerate()]
        assert names.count(housekeeping.THREAD_NAME) == 1
    finally:
        sys.setswitchinterval(before)


def test_lazy_imports_include_plotlys_pandas():
    # Two page scripts that built their first Plotly figure at the same moment raced to
    # import pandas and one crashed; the warm-up must have imported it (fresh process).
    import subprocess

    code = ("import sys; from rnnviz import housekeeping; assert 'pandas' not in sys.modules; "
            "housekeeping.finish_lazy_imports(); print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         cwd=__file__.rsplit("/tests/", 1)[0])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
