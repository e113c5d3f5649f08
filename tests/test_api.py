"""The notebook API (``rnnviz.load`` / ``trace`` / ``find_cells`` / ``sample`` / figures),
the examples of docs/API.md, and ``pip install -e .`` in a throwaway virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from conftest import ROOT

import rnnviz
from rnnviz import checkpoint as ckpt
from rnnviz import probes
from rnnviz.models import trace as model_trace

API_MD = os.path.join(ROOT, "docs", "API.md")


def python_blocks(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return re.findall(r"^```python\n(.*?)^```", fh.read(), re.DOTALL | re.MULTILINE)


def test_every_python_example_of_docs_api_runs(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(API_MD)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)  # examples that save write under the working folder
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/API.md, python block {i + 1}", "exec"), namespace)  # noqa: S102 - running the documented examples is the test
    out = capsys.readouterr().out
    assert "names_gru gru 1 x 128" in out and "characters changed" in out
    assert os.path.exists(tmp_path / "runs" / "pets" / "model.safetensors")
    assert isinstance(namespace["fig"], go.Figure)


def test_the_readme_notebook_example_runs(capsys):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        section = fh.read().split("## From a notebook", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - running the documented examples is the test
    assert len(namespace["cells"]) == 5 and len(namespace["s"].text) == 200


def test_import_rnnviz_is_light():
    code = ("import sys, rnnviz; heavy = [m for m in ('torch', 'plotly', 'streamlit', 'numpy') if m in sys.modules];"
            "print(heavy); rnnviz.loss_figure; print('plotly' in sys.modules, 'streamlit' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["[]", "True False"]


def test_load_by_name_by_folder_and_by_file(tmp_path):
    by_name = rnnviz.load("names_gru")
    folder = os.path.join(ckpt.PRETRAINED_DIR, "names_gru")
    by_folder, by_file = rnnviz.load(folder), rnnviz.load(os.path.join(folder, "model.safetensors"))
    for cp in (by_folder, by_file):
        assert cp.card == by_name.card and cp.vocab == by_name.vocab
        assert all(torch.equal(a, b) for a, b in zip(cp.model.state_dict().values(),
                                                      by_name.model.state_dict().values()))
    assert isinstance(by_name, rnnviz.Checkpoint)
    with pytest.raises(ValueError, match="no bundled model or checkpoint called 'nope'.*names_gru"):
        rnnviz.load("nope")
    (tmp_path / "evil.pt").write_bytes(b"\x80\x04\x95" + b"\x00" * 40)
    with pytest.raises(ValueError, match="pickle"):
        rnnviz.load(str(tmp_path / "evil.pt"))
    with pytest.raises(ValueError, match="Give a bundled model name"):
        rnnviz.load("")


def test_trace_and_find_cells_agree_with_the_library():
    cp = rnnviz.load("names_gru")
    text = "Anna\nBert\nClara\nDieter\n" * 3
    tr = rnnviz.trace(cp, text)
    with torch.inference_mode():
        ref = model_trace(cp.model, cp.vocab.encode(text))
    assert np.array_equal(tr.numpy(0, "h"), ref.numpy(0, "h"))
    cells = rnnviz.find_cells(cp, text, "column", k=4)
    y = probes.feature("column", text, "text")
    assert cells == probes.CellMatrix(probes.trace_arrays(cp.model, cp.vocab.encode(text))).rank(y, 4)
    only_h = rnnviz.find_cells(cp, text, "column", k=4, signals=("h",))
    assert {c.signal for c in only_h} == {"h"}
    fig = rnnviz.cell_heatmap(tr, text, cells)
    assert isinstance(fig, go.Figure) and len(fig.data[0].z) == 4
    with pytest.raises(ValueError, match="never seen"):
        rnnviz.trace(cp, "Zoë\n")
    with pytest.raises(ValueError, match="records the signals"):
        rnnviz.find_cells(cp, text, "column", signals=("c",))
    with pytest.raises(ValueError, match="same text"):
        rnnviz.cell_heatmap(tr, text[:-1], cells)


def test_rnnviz_sample_is_the_library_sample():
    cp = rnnviz.load("names_gru")
    a = rnnviz.sample(cp, 50, prime="Li", temperature=0.7, top_k=5, seed=4)
    b = rnnviz.sample.sample(cp.model, cp.vocab, 50, prime="Li", temperature=0.7, top_k=5, seed=4)
    c = rnnviz.sample(cp.model, cp.vocab, 50, prime="Li", temperature=0.7, top_k=5, seed=4)
    assert a.text == b.text == c.text and np.array_equal(a.probs, b.probs) and a.top == b.top


def copy_project(dest) -> str:
    """The files an install needs (no tests, docs, caches or runs)."""
    os.makedirs(dest)
    for name in ("pyproject.toml", "README.md", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(os.path.join(ROOT, name), dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp")
    for name in ("rnnviz", "pretrained"):
        shutil.copytree(os.path.join(ROOT, name), os.path.join(dest, name), ignore=ignore)
    return str(dest)


def test_pip_install_editable_in_a_fresh_venv(tmp_path):
    project = copy_project(tmp_path / "project")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=600)
    py = str(venv / "bin" / "python")
    # The venv's own (old) setuptools would shadow the system's; without it the build
    # uses the installed one, so nothing is downloaded (--no-index).
    subprocess.run([py, "-m", "pip", "uninstall", "-y", "-q", "setuptools"], capture_output=True, timeout=600,
                   check=False)
    r = subprocess.run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation", "-e", project],
                       capture_output=True, text=True, timeout=900, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    check = ("import importlib.metadata as md, os, rnnviz; cp = rnnviz.load('names_gru');"
             "print(os.path.dirname(rnnviz.__file__)); print(cp.name);"
             "print(sorted(r for r in md.requires('rnnviz') if 'extra' not in r))")
    r = subprocess.run([py, "-c", check], capture_output=True, text=True, cwd=str(tmp_path), timeout=600,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, check=False)
    assert r.returncode == 0, r.stderr
    where, name, requires = r.stdout.strip().split("\n")
    assert where == os.path.join(project, "rnnviz") and name == "names_gru"
    with open(os.path.join(ROOT, "requirements.txt")) as fh:
        pins = sorted(line.strip() for line in fh if line.strip() and not line.startswith("#"))
    assert eval(requires) == pins and "torch==2.13.0" in pins
    assert os.path.exists(venv / "bin" / "rnnviz-train") and os.path.exists(venv / "bin" / "rnnviz-sample")
