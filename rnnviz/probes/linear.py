"""The linear probe: ridge regression on all cells of a layer, scored on held-out
characters with nested cross-validation (standardisation and ridge strength chosen
inside each training fold; Cholesky solves, safe with several threads). It is the
ceiling a single cell is compared with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ProbeResult:
    r2: float  # nested cross-validated R^2 of the ridge probe on all columns
    best_cell: int  # column a single-cell model picks (on the training folds, most often)
    best_cell_r2: float  # cross-validated R^2 of a line fitted to one column (chosen per fold)
    accuracy: float | None  # binary features: cross-validated accuracy (prediction >= 0.5)
    baseline: float | None  # accuracy of always guessing the majority class
    lam: float  # the ridge strength the inner cross-validation chose most often
    n_features: int
    n_chars: int
    folds: int


def fold_ids(T: int, block: int = 50, folds: int = 5) -> np.ndarray:
    """Fold of every character: whole blocks of ``block`` characters, dealt round-robin.

    Neighbouring characters are almost the same example, so a random split would
    leak; blocks spread over the text keep every fold fair and representative.
    """
    return (np.arange(T) // block) % folds


def _ridge_solve(A, b):
    """Solve the SPD system A w = b with a Cholesky factorisation (one matrix at a
    time: batched LU solves fail in torch 2.13 with more than one thread)."""
    import torch

    L, info = torch.linalg.cholesky_ex(A)
    if int(info) != 0:  # numerically not positive definite: a little more ridge
        jitter = 1e-6 * float(torch.diagonal(A).abs().max()) + 1e-9
        L = torch.linalg.cholesky(A + jitter * torch.eye(A.shape[0], dtype=A.dtype))
    return torch.cholesky_solve(b.reshape(-1, 1), L).reshape(-1)


class _FoldStats:
    """Per-fold sums (count, Σx, Σy, XᵀX, Xᵀy) so that the standardised ridge system of
    any union of folds is built without touching the other folds' rows."""

    def __init__(self, X, y, fold, folds):
        self.parts = []
        for f in range(folds):
            sel = fold == f
            Xf, yf = X[sel], y[sel]
            self.parts.append((int(sel.sum()), Xf.sum(0), float(yf.sum()), Xf.T @ Xf, Xf.T @ yf))

    def fit(self, use, lams):
        """Ridge weights W [L, D] for every lambda on the folds in ``use``, standardised on
        those folds only. Returns (mu, sd, ym, W, bz, diag S): the training mean and std
        of X, the mean of y, the weights, and the standardised X^T y and Gram diagonal."""
        import torch

        n = sum(self.parts[f][0] for f in use)
        sx = sum(self.parts[f][1] for f in use)
        sy = sum(self.parts[f][2] for f in use)
        G = sum(self.parts[f][3] for f in use)
        gy = sum(self.parts[f][4] for f in use)
        mu, ym = sx / n, sy / n
        C = G - n * torch.outer(mu, mu)  # centred Gram of the training rows
        by = gy - mu * sy  # centred X^T y
        sd = torch.sqrt(torch.clamp(torch.diagonal(C) / n, min=0.0))
        sd = torch.where(sd < 1e-6, torch.ones_like(sd), sd)
        S = C / torch.outer(sd, sd)
        bz = by / sd
        eye = torch.eye(S.shape[0], dtype=S.dtype)
        W = torch.stack([_ridge_solve(S + lam * n / 1000.0 * eye, bz) for lam in lams])
        return mu, sd, ym, W, bz, torch.diagonal(S)


def linear_probe(X, y, *, binary: bool | None = None, lams=(0.1, 1.0, 10.0, 100.0, 1000.0),
                 block: int = 50, folds: int = 5) -> ProbeResult:
    """Ridge regression from all columns of X [T, D] to y [T], with nested cross-validation.

    Every character is predicted by a probe fitted on the other folds (blocks of
    text), so the R^2 is measured on text the probe did not see. Inside each
    training set everything is chosen again without the held-out fold: the
    standardisation (mean and std of the training characters only) and the ridge
    strength lambda (x n/1000 on standardised columns), picked by an inner
    cross-validation over the remaining folds. ``lam`` reports the value chosen
    most often. Systems are SPD, so they are solved by Cholesky factorisation.
    """
    import torch  # its LAPACK honours torch.set_num_threads; OpenBLAS threads thrash on a busy box

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    T, D = X.shape
    if len(y) != T:
        raise ValueError("The probe needs one target per character.")
    if T < 2 * folds * block:
        raise ValueError(f"The linear probe needs at least {2 * folds * block} characters of text (got {T}).")
    if binary is None:
        binary = bool(np.isin(np.unique(y), (0.0, 1.0)).all())
    fold_np = fold_ids(T, block, folds)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    fold = torch.from_numpy(fold_np)
    stats = _FoldStats(Xt, yt, fold, folds)
    pred = np.zeros(T)
    single = np.zeros(T)
    picks = np.zeros(D, dtype=np.int64)
    chosen = []
    for f in range(folds):
        train = [g for g in range(folds) if g != f]
        inner_err = np.zeros(len(lams))
        for g in train:  # inner CV: which lambda predicts an unseen training fold best?
            mu, sd, ym, W, _, _ = stats.fit([h for h in train if h != g], lams)
            te = fold == g
            P = ((Xt[te] - mu) / sd) @ W.T + ym
            inner_err += ((P - yt[te][:, None]) ** 2).sum(0).numpy()
        best = int(np.argmin(inner_err))
        chosen.append(best)
        mu, sd, ym, W, bz, dS = stats.fit(train, (lams[best],))
        te = fold == f
        Zt = (Xt[te] - mu) / sd
        pred[fold_np == f] = (Zt @ W[0] + ym).numpy()
        # one column, picked and fitted on the training folds: slope b_j / S_jj
        dS = torch.clamp(dS, min=1e-12)
        j = int(torch.argmax(bz.abs() / dS.sqrt()))
        picks[j] += 1
        single[fold_np == f] = (ym + bz[j] / dS[j] * Zt[:, j]).numpy()
    sst = ((y - y.mean()) ** 2).sum()

    def r2(sse):
        return float(1.0 - sse / sst) if sst > 1e-12 else float("nan")

    acc = base = None
    if binary:
        acc = float(((pred >= 0.5) == (y >= 0.5)).mean())
        p = float((y >= 0.5).mean())
        base = max(p, 1.0 - p)
    return ProbeResult(
        r2=r2(((pred - y) ** 2).sum()), best_cell=int(np.argmax(picks)), best_cell_r2=r2(((single - y) ** 2).sum()),
        accuracy=acc, baseline=base, lam=float(lams[np.bincount(chosen, minlength=len(lams)).argmax()]),
        n_features=D, n_chars=T, folds=folds,
    )


def probe_layers(arrays: dict, y, layers, signals=("h", "c"), **kw) -> dict:
    """A probe per layer on that layer's state (h, plus c for an LSTM)."""
    out = {}
    for k in layers:
        cols = [arrays[(k, s)] for s in signals if (k, s) in arrays]
        if cols:
            out[k] = linear_probe(np.concatenate(cols, axis=1), y, **kw)
    return out


def probe_rows(results: dict, signals) -> list[dict]:
    """One table row per layer of ``probe_layers``' results (layers counted from 1)."""
    rows = []
    for k, p in results.items():
        row = {"layer": k + 1, "inputs": f"{p.n_features} ({' and '.join(signals)})",
               "probe R² (held out)": round(p.r2, 3), "best single cell R² (held out)": round(p.best_cell_r2, 3)}
        if p.accuracy is not None:
            row["probe accuracy"] = f"{p.accuracy:.1%}"
            row["always guess majority"] = f"{p.baseline:.1%}"
        rows.append(row)
    return rows
