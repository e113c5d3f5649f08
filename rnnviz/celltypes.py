"""The cell-type registry: everything a page or an analysis needs to know about a
recurrent cell, in one entry per cell type.

Pages never compare cell names (``cell == "lstm"``); they ask the entry instead:
which signals a trace records, which of them are gates, which one is the cell's
memory, which signals an intervention may clamp, how one step is computed and how
its equations read. Adding a cell type is adding one ``CellType`` to ``CELL_TYPES``
(plus its step in ``models.cell_step`` and its layer in ``models.CharModel``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import models


@dataclass(frozen=True)
class CellType:
    key: str  # the name stored in checkpoints ("lstm")
    label: str  # what students read ("LSTM")
    signals: tuple[str, ...]  # what models.trace records per layer, in order
    gates: tuple[str, ...]  # the signals that are sigmoid gates (values in 0..1)
    memory_signal: str  # the signal that carries memory from step to step
    clamp_signals: tuple[str, ...]  # signals an intervention may overwrite
    gate_blocks: int  # rows of W_hh per hidden unit (4 for an LSTM)
    summary: str  # one sentence on how the cell updates its state
    # number-filled LaTeX of one step: ``equations(values) -> str`` (values: dict of
    # the step's vectors); None until a page needs it
    equations: Callable[[dict], str] | None = field(default=None, compare=False)

    @property
    def has_cell_state(self) -> bool:
        return self.memory_signal == "c"

    @property
    def has_gates(self) -> bool:
        return bool(self.gates)

    def signal_label(self, signal: str) -> str:
        return models.SIGNAL_LABELS.get(signal, signal)

    def step(self, w, xproj, h, c=None, **kw):
        """One time step of one layer (see ``models.cell_step``)."""
        return models.cell_step(self.key, w, xproj, h, c, **kw)


CELL_TYPES: dict[str, CellType] = {
    "rnn": CellType(
        key="rnn", label=models.CELL_LABELS["rnn"], signals=models.SIGNALS["rnn"], gates=(),
        memory_signal="h", clamp_signals=("h",), gate_blocks=1,
        summary="The new hidden state is a squashed mix of the input and the previous hidden state.",
    ),
    "lstm": CellType(
        key="lstm", label=models.CELL_LABELS["lstm"], signals=models.SIGNALS["lstm"], gates=("i", "f", "o"),
        memory_signal="c", clamp_signals=("c", "h"), gate_blocks=4,
        summary="Gates decide what the cell state forgets, what it writes and what it shows as h.",
    ),
    "gru": CellType(
        key="gru", label=models.CELL_LABELS["gru"], signals=models.SIGNALS["gru"], gates=("r", "z"),
        memory_signal="h", clamp_signals=("h",), gate_blocks=3,
        summary="An update gate blends the old hidden state with a candidate built through a reset gate.",
    ),
}
assert tuple(CELL_TYPES) == models.CELLS and all(
    CELL_TYPES[k].gates == models.GATE_SIGNALS[k] for k in CELL_TYPES)


def of(cell) -> CellType:
    """The entry for a cell name, a ``ModelConfig`` or a model (anything with ``.cell``
    or ``.config.cell``); a clear error for an unknown one."""
    name = getattr(getattr(cell, "config", cell), "cell", cell)
    try:
        return CELL_TYPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown cell type {name!r}; known: {', '.join(CELL_TYPES)}.") from None
