"""The notebook API behind ``rnnviz.load``, ``rnnviz.trace``, ``rnnviz.find_cells`` and
``rnnviz.cell_heatmap``.

Thin conveniences over the library for people working in a notebook or a script:
they take a loaded checkpoint and plain text, so no ids, tensors or inference modes
are needed. Everything else stays available from the modules themselves
(``rnnviz.models``, ``rnnviz.probes``, ``rnnviz.plots``...). ``rnnviz/__init__.py``
imports this module only when one of these names is first used.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from . import checkpoint as ckpt


def load(name_or_path: str) -> ckpt.Checkpoint:
    """A bundled model by name (``"python_lstm"``) or a checkpoint folder / ``.safetensors`` file.

    Returns a ``Checkpoint`` with ``.model``, ``.vocab`` and ``.card``. Raises ValueError
    with the reason when there is no such model or the file is unusable.
    """
    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise ValueError("Give a bundled model name or the path of a checkpoint folder or .safetensors file.")
    ref = os.fspath(name_or_path)
    if ref in ckpt.pretrained_names():
        return ckpt.load_pretrained(ref)
    if not os.path.exists(ref):
        raise ValueError(
            f"There is no bundled model or checkpoint called {ref!r}. Bundled models: "
            f"{', '.join(ckpt.pretrained_names()) or 'none installed'}; otherwise give the path of a checkpoint "
            "folder (holding model.safetensors) or of a .safetensors file."
        )
    return ckpt.load(ref)


def _ids(checkpoint: ckpt.Checkpoint, text: str) -> np.ndarray:
    if not isinstance(text, str) or not text:
        raise ValueError("Give some text to run the model on.")
    return checkpoint.vocab.encode(text)


def trace(checkpoint: ckpt.Checkpoint, text: str, **kwargs):
    """Run the model over ``text`` and keep every h, c and gate (``rnnviz.models.Trace``).

    ``tr.numpy(layer, "c")`` is a [len(text), hidden] array; keyword arguments (such as
    ``clamp``) go to ``rnnviz.models.trace``.
    """
    from .models import trace as model_trace

    ids = _ids(checkpoint, text)
    with torch.inference_mode():
        return model_trace(checkpoint.model, ids, **kwargs)


def find_cells(checkpoint: ckpt.Checkpoint, text: str, hypothesis: str = "column", *, k: int = 10,
               language: str | None = None, pattern: str | None = None, signals=None) -> list:
    """The ``k`` cells whose activation over ``text`` correlates best with a hypothesis.

    ``hypothesis`` is a key of ``rnnviz.probes.HYPOTHESES`` (``"column"``, ``"indent"``,
    ``"string"``, ``"regex"`` with ``pattern``...); ``language`` ("python", "c" or "text")
    is guessed from the checkpoint's corpus or the text when left out; ``signals``
    limits the search (e.g. ``("h", "c")``, the states that can be clamped; default:
    every state and gate). Returns ``CellScore``s (``.layer``, ``.signal``, ``.unit``,
    ``.r``), largest |r| first.
    """
    from . import probes
    from .models import SIGNALS

    language = language or probes.language_for(checkpoint.card.get("corpus"), text)
    y = probes.feature(hypothesis, text, language, pattern=pattern)
    recorded = SIGNALS[checkpoint.model.config.cell]
    if signals is not None and (not signals or set(signals) - set(recorded)):
        raise ValueError(f"A {checkpoint.model.config.cell} records the signals {', '.join(recorded)}; "
                         "choose among those.")
    arrays = probes.trace_arrays(checkpoint.model, _ids(checkpoint, text))
    if signals is not None:
        arrays = {key: v for key, v in arrays.items() if key[1] in signals}
    return probes.CellMatrix(arrays).rank(y, k)


def cell_heatmap(tr, text: str, cells, *, title: str | None = None):
    """A Plotly heatmap of the given cells (``CellScore``s from ``find_cells``) over ``text``.

    ``tr`` is ``trace(checkpoint, text)``; rows are the cells, columns the characters.
    """
    from .plots.cells import cells_time_heatmap

    cells = list(cells)
    if not cells:
        raise ValueError("Choose at least one cell to show.")
    if len(text) != tr.ids.numel():
        raise ValueError("The text is not the one that was traced: pass the same text to trace() and here.")
    values = np.stack([tr.numpy(c.layer, c.signal)[:, c.unit] for c in cells], axis=1)
    vmax = float(np.abs(values).max()) or 1.0
    fig = cells_time_heatmap(values, list(text), [c.unit for c in cells], vmax=vmax, title=title)
    labels = [f"L{c.layer} {c.signal} {c.unit}" for c in cells]
    if len(cells) <= 48:
        fig.update_yaxes(ticktext=labels)
    return fig
