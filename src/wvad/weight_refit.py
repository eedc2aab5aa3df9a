"""The fused score's weights refitted to the labels' held-out evidence.

The rule-made weights (`wvad.fused`) judge each piece alone, by how it ranks the labeled
anomalies. With many labels the labels can say more: which mix of pieces ranks them
first. `refitted_weights` fits the weights of a linear score over the pieces' Gaussianised
held-out evidence (a cross-fitted piece's from the fold model that did not see the row, a
label-blind piece's as it is, the closeness to the labels measured without the label)
by a class-balanced logistic loss, labeled anomalies against the unlabeled rows, with
non-negative weights and a pull toward the rule-made weights whose strength counts as
that many labels: with a few labels the weights stay near the rules', with hundreds the
labels decide. docs/method.md ("Weights refitted to the labels") has the measurements behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

__all__ = ["MIN_LABELS", "refitted_weights"]

#: Labeled anomalies from which the weights are refitted.
MIN_LABELS = 2


def refitted_weights(
    weights: Mapping[str, float],
    held_out: Mapping[str, np.ndarray],
    y: np.ndarray,
    strength: float,
    fixed: Sequence[str] = (),
    n_labels: int | None = None,
    upper: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """`weights` with those of the pieces in `held_out` (but `fixed`) refitted.

    `held_out`: per piece, its Gaussianised held-out evidence for the training rows;
    `y`: 1 for a labeled anomaly, 0 for an unlabeled row (other values ignored). The loss
    is the labeled anomalies' mean logistic loss plus the unlabeled rows', times the
    number of labels `n_labels` (None: the labeled anomalies; the caller passes the
    distinct ones, copies counted once), plus `strength` x the squared distance from
    `weights`; an intercept is fitted and dropped (a shift does not change a ranking).
    Every weight is at least 0 and a piece in `upper` at most its bound there.
    Fewer than MIN_LABELS labels, or `strength` 0: `weights` unchanged."""
    names = [n for n in held_out if n not in fixed]
    anomalous, unlabeled = y == 1, y == 0
    count = int(anomalous.sum()) if n_labels is None else int(n_labels)
    result = dict(weights)
    if strength <= 0 or count < MIN_LABELS or not names or not unlabeled.any():
        return result
    evidence = np.column_stack([np.asarray(held_out[n], dtype=np.float64) for n in names])
    centre = np.array([weights[n] for n in names], dtype=np.float64)
    pos, neg = evidence[anomalous], evidence[unlabeled]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, bias = params[:-1], params[-1]
        s_pos, s_neg = pos @ w + bias, neg @ w + bias
        g_pos, g_neg = -expit(-s_pos) / len(pos), expit(s_neg) / len(neg)
        value = np.logaddexp(0.0, -s_pos).mean() + np.logaddexp(0.0, s_neg).mean()
        grad_w = pos.T @ g_pos + neg.T @ g_neg
        grad_bias = g_pos.sum() + g_neg.sum()
        pull = w - centre
        total = count * value + strength * float(pull @ pull)
        return total, np.r_[count * grad_w + 2.0 * strength * pull, count * grad_bias]

    upper = upper or {}
    bounds = [(0.0, upper.get(n)) for n in names] + [(None, None)]
    fitted = minimize(loss, np.r_[centre, 0.0], jac=True, method="L-BFGS-B", bounds=bounds)
    result.update(zip(names, map(float, fitted.x[:-1]), strict=True))
    return result
