"""rnnviz: look inside recurrent neural networks.

The library flows one way: corpora -> models (fused training + exact step-by-step
``trace``) -> train / sample -> probes, gradients -> plots. Only ``rnnviz.ui``
imports Streamlit.

For notebooks (see docs/API.md)::

    import rnnviz
    cp = rnnviz.load("python_lstm")              # bundled name or checkpoint path
    code = "def f(x):\\n    return x\\n"
    tr = rnnviz.trace(cp, code)
    cells = rnnviz.find_cells(cp, code, "indent")
    rnnviz.sample(cp, prime="def ", length=200, seed=0)

The names below are imported on first use, so ``import rnnviz`` loads neither torch
nor Plotly (and never Streamlit).
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "load": "api",
    "trace": "api",
    "find_cells": "api",
    "cell_heatmap": "api",
    "Checkpoint": "checkpoint",
    "cells_time_heatmap": "plots.cells",
    "r_histogram": "plots.cells",
    "gate_heatmap": "plots.gates",
    "saturation_figure": "plots.gates",
    "loss_figure": "plots.training",
    "grad_figure": "plots.training",
}
# ``rnnviz.sample`` is the sampling module itself, made callable: rnnviz.sample(cp, ...)
# (an attribute named like a submodule is replaced by the submodule once it is imported).
__all__ = [
    "Checkpoint",
    "__version__",
    "cell_heatmap",
    "cells_time_heatmap",
    "find_cells",
    "gate_heatmap",
    "grad_figure",
    "load",
    "loss_figure",
    "r_histogram",
    "sample",
    "saturation_figure",
    "trace",
]


def __getattr__(name):
    if name == "sample":
        return importlib.import_module(".sample", __name__)
    if name in _LAZY:
        value = getattr(importlib.import_module("." + _LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
