"""The cell-type registry agrees with what the models record and compute."""

import pytest
import torch

from rnnviz import celltypes, models


@pytest.mark.parametrize("cell", models.CELLS)
def test_registry_matches_the_traced_signals_and_the_step(cell):
    ct = celltypes.of(cell)
    cfg = models.ModelConfig(cell=cell, vocab_size=5, hidden=16, layers=1, embed=8)
    model = models.CharModel(cfg).eval()
    tr = models.trace(model, torch.tensor([0, 1, 2, 3]).numpy())
    assert tuple(tr.layers[0]) == ct.signals
    assert ct.memory_signal in ct.signals and set(ct.gates) <= set(ct.signals)
    assert set(ct.clamp_signals) <= set(ct.signals)
    w = models.layer_weights(model, 0)
    assert w.w_hh.shape[0] == ct.gate_blocks * cfg.hidden
    xproj = torch.addmv(w.b_ih, w.w_ih, torch.randn(8))
    h, c = torch.zeros(16), torch.zeros(16)
    h2, c2, sig = ct.step(w, xproj, h, c if ct.has_cell_state else None)
    assert set(sig) == set(ct.signals) and torch.equal(sig["h"], h2)
    assert (c2 is not None) == ct.has_cell_state


def test_of_accepts_names_configs_and_models_and_refuses_unknown_cells():
    cfg = models.ModelConfig(cell="gru", vocab_size=5, hidden=16, layers=1, embed=8)
    assert celltypes.of("gru") is celltypes.of(cfg) is celltypes.of(models.CharModel(cfg))
    with pytest.raises(ValueError, match="Unknown cell type 'transformer'"):
        celltypes.of("transformer")
