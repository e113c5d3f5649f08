"""The cell finder: Pearson r of every (layer, signal, cell) with a feature,
vectorised (one matrix product for all cells), and the orderings the pages use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .intervention import SATURATED_SHARE, saturation

# How the explorer orders the cells of one (layer, signal): URL value -> label template.
ORDERS = {"r": "by |r| (hypothesis)", "std": "by activity (std)", "number": "by cell number"}

@dataclass(frozen=True)
class CellScore:
    layer: int
    signal: str
    unit: int
    r: float

    @property
    def name(self) -> str:
        return f"layer {self.layer} · {self.signal} · cell {self.unit}"


class CellMatrix:
    """All recorded signals of a trace side by side: X is [T, N] float32.

    Column statistics are computed once, so ranking against a new hypothesis is a
    single matrix product X^T y.
    """

    def __init__(self, arrays: dict):
        if not arrays:
            raise ValueError("No signals to rank.")
        keys = list(arrays)
        blocks = [np.asarray(arrays[k], dtype=np.float32) for k in keys]
        T = blocks[0].shape[0]
        if any(b.ndim != 2 or b.shape[0] != T for b in blocks):
            raise ValueError("Every signal must be a [T, H] array over the same characters.")
        self.keys = keys
        self.offsets, pos = {}, 0
        for k, b in zip(keys, blocks):
            self.offsets[k] = (pos, pos + b.shape[1])
            pos += b.shape[1]
        self.X = np.ascontiguousarray(np.concatenate(blocks, axis=1))
        self.layer = np.concatenate([np.full(b.shape[1], k[0]) for k, b in zip(keys, blocks)])
        self.signal = np.concatenate([np.full(b.shape[1], k[1], dtype=object) for k, b in zip(keys, blocks)])
        self.unit = np.concatenate([np.arange(b.shape[1]) for b in blocks])
        self.T = T
        self.mean = self.X.mean(axis=0, dtype=np.float64)
        var = np.empty(self.X.shape[1])
        for s in range(0, self.X.shape[1], 1024):  # chunks keep the centred copy small
            xc = self.X[:, s : s + 1024] - self.mean[s : s + 1024].astype(np.float32)
            var[s : s + 1024] = np.einsum("ij,ij->j", xc, xc, dtype=np.float64) / T
        self.std = np.sqrt(var)

    @classmethod
    def from_trace(cls, tr, signals=None, layers=None) -> "CellMatrix":
        signals = signals or tr.signals()
        layers = range(len(tr.layers)) if layers is None else layers
        return cls({(k, s): tr.numpy(k, s) for k in layers for s in signals if s in tr.layers[k]})

    def correlate(self, Y) -> np.ndarray:
        """Pearson r of every column with every feature: [N] for 1-D Y, else [N, m].

        Constant columns or features get r = 0 (no linear relation can be measured).
        """
        Y = np.asarray(Y, dtype=np.float64)
        one = Y.ndim == 1
        Y = Y.reshape(self.T, -1) if Y.ndim == 1 or Y.shape[0] == self.T else None
        if Y is None:
            raise ValueError("The feature needs one value per character of the traced text.")
        yc = Y - Y.mean(axis=0)
        ys = np.sqrt((yc * yc).mean(axis=0))
        import torch  # zero-copy; torch's BLAS honours set_num_threads (OpenBLAS threads thrash)

        xy = torch.from_numpy(self.X).T @ torch.from_numpy(np.ascontiguousarray(yc, dtype=np.float32))
        cov = xy.numpy().astype(np.float64) / self.T  # X^T yc = Xc^T yc because yc sums to 0
        den = self.std[:, None] * ys[None, :]
        ok = den > 1e-9 * max(1.0, float(np.abs(cov).max(initial=0.0)))
        R = np.zeros_like(cov)
        np.divide(cov, den, out=R, where=ok & (self.std[:, None] > 1e-7) & (ys[None, :] > 1e-12))
        np.clip(R, -1.0, 1.0, out=R)
        return R[:, 0] if one else R

    def scores(self, r, order) -> list[CellScore]:
        return [CellScore(int(self.layer[j]), str(self.signal[j]), int(self.unit[j]), float(r[j])) for j in order]

    def rank(self, y, k: int = 10) -> list[CellScore]:
        """The k columns with the largest |r| (ties: earlier layer/signal/cell first)."""
        r = self.correlate(y)
        order = np.argsort(-np.abs(r), kind="stable")[: max(0, int(k))]
        return self.scores(r, order)

    def block(self, layer: int, signal: str) -> np.ndarray:
        """The [T, H] values of one signal of one layer (a view, no copy)."""
        if (layer, signal) not in self.offsets:
            raise ValueError(f"Layer {layer} has no recorded signal {signal!r}.")
        s, e = self.offsets[(layer, signal)]
        return self.X[:, s:e]

    @property
    def nbytes(self) -> int:
        return int(self.X.nbytes)

    def r_of(self, r, layer: int, signal: str) -> np.ndarray:
        """The part of an all-columns vector ``r`` (e.g. from ``correlate``) that belongs to one
        (layer, signal), in cell order."""
        s, e = self.offsets[(layer, signal)]
        return np.asarray(r)[s:e]

    def column_of(self, layer: int, signal: str, unit: int) -> np.ndarray:
        j = np.flatnonzero((self.layer == layer) & (self.signal == signal) & (self.unit == unit))
        if not len(j):
            raise ValueError(f"No recorded column for layer {layer}, {signal}, cell {unit}.")
        return self.X[:, j[0]]


def rank_cells(arrays: dict, y, k: int = 10) -> list[CellScore]:
    """Convenience: rank every (layer, signal, cell) of ``arrays`` against feature y."""
    return CellMatrix(arrays).rank(y, k)


def cell_order(block, r, how: str = "r") -> np.ndarray:
    """Cell numbers of one (layer, signal) in the order ``how`` (a key of ``ORDERS``):
    largest |r| first, most active (largest std over the text) first, or by number.
    Ties keep the lower cell number first."""
    block = np.asarray(block)
    if how == "r":
        return np.argsort(-np.abs(np.asarray(r)), kind="stable")
    if how == "std":
        return np.argsort(-block.std(axis=0), kind="stable")
    if how == "number":
        return np.arange(block.shape[1])
    raise ValueError(f"Unknown cell order {how!r}; choose one of {', '.join(ORDERS)}.")


@dataclass
class Ranking:
    """The finder's answer: the best cells and, for each, its share of saturated characters."""

    cells: list  # CellScore, largest |r| first
    saturation: list  # float per cell in ``cells``
    n_ranked: int  # how many columns took part
    r_ranked: np.ndarray | None = None  # the r of every column that took part (for a histogram)

    def rows(self, signal_labels: dict) -> list[dict]:
        """One table row per cell (layer counted from 1, the signal's long name)."""
        return [{"rank": i + 1, "layer": c.layer + 1, "signal": signal_labels.get(c.signal, c.signal),
                 "cell": c.unit, "r": round(c.r, 3), "r²": round(c.r * c.r, 3),
                 "saturated": f"{'yes' if s >= SATURATED_SHARE else 'no'} ({s:.0%})"}
                for i, (c, s) in enumerate(zip(self.cells, self.saturation))]

    @property
    def any_saturated(self) -> bool:
        return any(s >= SATURATED_SHARE for s in self.saturation)


def top_cells(cm: CellMatrix, r, *, signals=None, k: int = 6, skip_saturated: bool = False) -> Ranking:
    """The ``k`` columns of ``cm`` with the largest |r| among ``signals`` (all when None or
    empty), skipping saturated ones when asked. Saturation is only measured as far down
    the ranking as needed."""
    r = np.asarray(r)
    mask = np.isin(cm.signal, list(signals)) if signals else np.ones(len(r), dtype=bool)
    idx = np.flatnonzero(mask)
    picked, sats = [], []
    for j in idx[np.argsort(-np.abs(r[idx]), kind="stable")]:
        s = saturation(cm.X[:, j], str(cm.signal[j]))
        if skip_saturated and s >= SATURATED_SHARE:
            continue
        picked.append(int(j))
        sats.append(s)
        if len(picked) >= int(k):
            break
    return Ranking(cm.scores(r, picked), sats, len(idx), r[idx])
