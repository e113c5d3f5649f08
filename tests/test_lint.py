"""The linter (ruff, settings in ruff.toml) passes on the whole repository."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_finds_nothing():
    exe = shutil.which("ruff")
    cmd = [exe] if exe else [sys.executable, "-m", "ruff"]
    try:
        r = subprocess.run([*cmd, "check", "--output-format", "concise", "."], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        pytest.fail("ruff is not installed: pip install -r requirements-dev.txt")
    assert r.returncode == 0, r.stdout + r.stderr
