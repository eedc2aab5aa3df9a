"""Why a row scores as it does, in terms of the score that is actually used.

Two levels, each with its method named in the output:

- Pieces: the fused score is a sum of its pieces' contributions, weight x Gaussianised
  evidence (`FusedScore.contributions`); they add up to `decision_function` exactly.
- Columns: each piece's contribution is split over the input columns, against a reference
  row (the median of the unlabeled training rows, a typical normal row): the columns'
  shares plus the reference row's own contribution give the piece's contribution.
  * The boosted trees: exact shares of the trees' own score, CatBoost's SHAP values for
    its trees (Lundberg et al., exact for oblivious trees) and Saabas' path contributions
    for scikit-learn's (the change of node value at each split a row's path takes is its
    column's), carried through the piece's Gaussianising map by its secant between the
    reference row and the row.
  * Every other piece (the networks and the neighbour distance, differentiable almost
    everywhere): integrated gradients (Sundararajan et al., ICML 2017) of the piece's
    contribution along the straight line from the reference row, `steps` midpoints; they
    add up to the difference up to the quadrature's error, which the output reports.

All of it runs in the model's scaled space, where the columns' shares are the same as in
the raw one (the scaling is affine per column). Shares are reported per source column: a
category's one-hot columns and a "was missing" indicator add into their column's share
(`TableEncoder.per_source`), so the shares still add up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from wvad.evidence import Evidence, Rows

__all__ = ["PIECE_METHOD", "completeness_gap", "explain_frame", "explain_rows"]

PIECE_METHOD = "weight x Gaussianised evidence"
REFERENCE_METHOD = "the reference row's contribution (median unlabeled training row)"
VIA_READOUT = "through the Gaussianising map by its secant"


def explain_frame(model: Any, X: np.ndarray, encoder: Any, steps: int) -> Any:
    """`explain_rows` as a pandas DataFrame (columns row, part, piece, column, value,
    method), the tidy table `WVAD.explain` returns; `X` holds encoded rows, `encoder` (a
    `TableEncoder`) names their source columns."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the data and dev extras
        raise ImportError(
            "WVAD.explain returns a pandas DataFrame: pip install wvad[data]"
        ) from None
    return pd.DataFrame(explain_rows(model, X, encoder, steps))


def explain_rows(model: Any, X: np.ndarray, encoder: Any, steps: int) -> list[dict]:
    """Tidy records for the validated, encoded rows `X` of fitted WVAD `model`: one per row
    and piece ("piece", "reference") and one per row, piece and source column ("column")."""
    names = encoder.source_names
    score = model.score_
    X, missing = encoder.fill_missing(X)
    scaled = model.scaler_.transform(X)
    reference = score.reference_row[None, :]
    evidence = _evidence(model, scaled, missing)
    base = _evidence(model, reference)
    shares = score.contributions(evidence)
    base_shares = score.contributions(base)
    records = []
    for name, piece in score.pieces.items():
        if name not in shares:
            continue  # weight 0: no share of the score
        columns, method = _column_shares(
            model, name, piece, (scaled, missing), evidence, base, steps
        )
        columns = encoder.per_source(columns)
        for i in range(len(X)):
            records.append(_record(i, "piece", name, "", shares[name][i], PIECE_METHOD))
            records.append(
                _record(i, "reference", name, "", base_shares[name][0], REFERENCE_METHOD)
            )
            for j, column in enumerate(names):
                records.append(_record(i, "column", name, column, columns[i, j], method))
    return records


def _record(row: int, part: str, piece: str, column: str, value: float, method: str) -> dict:
    return {
        "row": row,
        "part": part,
        "piece": piece,
        "column": column,
        "value": float(value),
        "method": method,
    }


def _evidence(
    model: Any, scaled: np.ndarray, missing: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    x = torch.as_tensor(scaled, dtype=torch.float32, device=model.device_)
    return model.score_.evidence([Rows(x, 0, model.mixture_, missing)])


def _column_shares(
    model: Any,
    name: str,
    piece: Evidence,
    rows: tuple[np.ndarray, np.ndarray | None],
    evidence: dict[str, np.ndarray],
    base: dict[str, np.ndarray],
    steps: int,
) -> tuple[np.ndarray, str]:
    """Each column's share of the piece's contribution: the columns' shares of its raw
    evidence (exact for trees, integrated gradients otherwise), carried through the piece's
    readout (weight x Gaussianising map) by its secant between the reference row and the
    row. The readout is piecewise linear with steep pieces where quantiles crowd, which a
    path integral through it would need thousands of steps to follow; the secant is exact.
    `rows`: the scaled rows and where their cells were missing (None: nowhere)."""
    scaled, missing = rows
    rows32 = scaled.astype(np.float32).astype(np.float64)  # the values the pieces score
    reference = model.score_.reference_row.astype(np.float32).astype(np.float64)[None, :]
    exact = piece.exact_shares(piece.with_missing(rows32, missing))
    if exact is not None:
        shares, how = exact
        raw = shares - piece.exact_shares(reference)[0]
        run = raw.sum(axis=1)  # exactly the piece's own change between the two rows
        method = f"{how}, {VIA_READOUT}"
    else:
        raw = _integrated_gradients(model, piece, rows32, reference[0], steps)
        run = evidence[name] - base[name][0]
        method = f"integrated gradients ({steps} steps from the reference row), {VIA_READOUT}"
    slope = _secant(model.score_.readout(name), evidence[name], base[name][0], run)
    return raw * slope[:, None], method


def _secant(
    readout: Any, e_row: np.ndarray, e_ref: float, run: np.ndarray, tiny: float = 1e-12
) -> np.ndarray:
    """(readout(e_row) - readout(e_ref)) / run per row, `run` being the evidence's change
    as the column shares count it; the readout's slope at e_row where that is 0."""
    gap = run
    with torch.no_grad():
        rise = (readout(torch.as_tensor(e_row)) - readout(torch.tensor(e_ref))).numpy()
    slope = np.divide(rise, gap, out=np.zeros_like(gap), where=np.abs(gap) > tiny)
    flat = np.abs(gap) <= tiny
    if flat.any():
        at = torch.tensor(e_row[flat], requires_grad=True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(readout(at).sum(), at)
        slope[flat] = grad.numpy()
    return slope


def _integrated_gradients(
    model: Any, piece: Evidence, rows: np.ndarray, reference: np.ndarray, steps: int
) -> np.ndarray:
    """Integrated gradients of the piece's raw evidence from the reference row to each row
    (midpoint rule), in the scaled space."""
    start = torch.as_tensor(reference, dtype=torch.float32)
    ends = torch.as_tensor(rows, dtype=torch.float32)
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = start + alphas[:, None, None] * (ends - start)[None]  # steps x n x d
    path = path.reshape(-1, ends.shape[1]).to(model.device_).requires_grad_(True)
    with torch.enable_grad():
        evidence = piece.score(Rows(path, 0, model.mixture_)).double()
        (grads,) = torch.autograd.grad(evidence.sum(), path)
    mean_grad = grads.reshape(steps, len(ends), -1).mean(dim=0).double().cpu()
    return ((ends - start).double() * mean_grad).numpy()


def completeness_gap(records: list[dict]) -> float:
    """The largest difference, over rows and pieces, between a piece's contribution and
    its columns' shares plus the reference row's: the quadrature error of integrated
    gradients (exactly 0 up to rounding for the trees)."""
    totals: dict[tuple[int, str], float] = {}
    for r in records:
        key = (r["row"], r["piece"])
        sign = 1.0 if r["part"] == "piece" else -1.0
        totals[key] = totals.get(key, 0.0) + sign * r["value"]
    return max((abs(v) for v in totals.values()), default=0.0)
