"""Cross-fitting: how well a supervised piece ranks anomalies it never saw, and which
unlabeled rows look normal to it.

A piece fitted to the labels ranks the labeled anomalies almost perfectly among the
training rows on every table, which says nothing. With the labeled anomalies and the
unlabeled rows each split into folds, a piece fitted without one fold ranks that fold's
anomalies among that fold's unlabeled rows; pooled over the folds this gives an honest
Gini (2 AUROC - 1), and every row a score from a piece that never saw it.

The unlabeled rows are not all normal: some are anomalies nobody labeled (a third of
Satellite's). Those held-out scores pick the reliable ones (`reliable_rows`): an unlabeled
row scoring at least as high as the lowest quarter of the held-out labeled anomalies is
left out of "normal" (two-step positive-unlabeled learning with the held-out anomalies as
"spies", Liu et al., ICML 2002).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from wvad.config import Config
from wvad.evidence.base import Evidence, Rows, TrainingData, twin_groups

__all__ = [
    "CrossFit",
    "can_cross_fit",
    "cross_fit",
    "gini",
    "negatives",
    "reliable_rows",
    "share_below",
]


@dataclass(frozen=True)
class CrossFit:
    """A piece's cross-fitted Gini, each training row's held-out score, the fold models
    (fold k's fitted without it) and how many distinct labeled anomalies were held out."""

    gini: float
    scores: np.ndarray
    models: tuple[Evidence, ...] = ()
    n_held: int = 0


def can_cross_fit(data: TrainingData) -> bool:
    """Two distinct labeled anomalies and two distinct unlabeled rows: one of each to hold
    out, one to fit (a copy of a held-out row is held out with it)."""
    anomalies, unlabeled = np.flatnonzero(data.y == 1), np.flatnonzero(data.y == 0)
    return len(twin_groups(data.X, anomalies)) >= 2 and len(twin_groups(data.X, unlabeled)) >= 2


def _folds(rng: np.random.Generator, groups: list[np.ndarray], n_folds: int) -> list[np.ndarray]:
    """The groups shuffled and dealt into `n_folds` folds of rows: copies share a fold, so a
    held-out row's twin is never among the rows its fold model learns from. Without copies
    this is the plain shuffle-and-split of the rows."""
    by_head = {int(g[0]): g for g in groups}
    heads = np.fromiter(by_head, dtype=np.int64, count=len(by_head))
    return [
        np.concatenate([by_head[int(h)] for h in part]) if len(part) else part
        for part in np.array_split(rng.permutation(heads), n_folds)
    ]


def cross_fit(piece: type[Evidence], data: TrainingData, config: Config) -> CrossFit:
    """Score each fold of held-out labeled anomalies and unlabeled rows with `piece`
    fitted on the other folds (min(fusion.max_folds, distinct anomalies, distinct unlabeled
    rows) of each, copies of a row in its fold, fold k fitted with seed + 1 + k); the Gini
    pools each fold's anomalies ranked among that fold's unlabeled rows."""
    y = data.y
    anomalies = twin_groups(data.X, np.flatnonzero(y == 1))
    unlabeled = twin_groups(data.X, np.flatnonzero(y == 0))
    rng = np.random.default_rng(data.seed)
    n_folds = min(config.fusion.max_folds, len(anomalies), len(unlabeled))
    held_anomalies = _folds(rng, anomalies, n_folds)
    held_unlabeled = _folds(rng, unlabeled, n_folds)
    folds = []
    for k, (a_fold, u_fold) in enumerate(zip(held_anomalies, held_unlabeled, strict=True)):
        keep = np.ones(len(y), dtype=bool)
        keep[a_fold] = keep[u_fold] = False
        folds.append(data.subset(keep, seed=data.seed + 1 + k))
    models = piece.fit_each(folds, config)
    scores, ranks = np.zeros(len(y)), []
    for fitted, a_fold, u_fold in zip(models, held_anomalies, held_unlabeled, strict=True):
        with torch.inference_mode():
            for rows in (a_fold, u_fold):
                x = torch.as_tensor(data.X[rows], dtype=torch.float32, device=data.device)
                missing = None if data.missing is None else data.missing[rows]
                scores[rows] = fitted.score(Rows(x, missing=missing)).double().cpu().numpy()
        reference = negatives(u_fold, data.known_normal, config.fusion.min_known_normals)
        ranks.append(share_below(scores[reference], scores[a_fold]))
    pooled = max(0.0, 2.0 * float(np.mean(np.concatenate(ranks))) - 1.0)
    return CrossFit(pooled, scores, tuple(models), len(anomalies))


def negatives(rows: np.ndarray, normal: np.ndarray, minimum: int) -> np.ndarray:
    """The rows (indices) a Gini ranks anomalies among: the known normals among `rows`
    where there are at least `minimum` of them, else all of `rows`."""
    known = rows[normal[rows]]
    return known if len(known) >= minimum else rows


def reliable_rows(
    held_out: np.ndarray, y: np.ndarray, quantile: float, normal: np.ndarray | None = None
) -> np.ndarray:
    """Mask of the labeled anomalies, the known normals, and the unlabeled rows whose
    held-out score is below the `quantile` of the labeled anomalies' held-out scores: the
    rows that look normal to a piece that never saw them. All rows if fewer than two
    unlabeled rows would be left."""
    anomalous = y == 1
    keep = anomalous | (held_out < np.quantile(held_out[anomalous], quantile))
    if normal is not None:
        keep |= normal
    return keep if int((keep & ~anomalous).sum()) >= 2 else np.ones(len(y), dtype=bool)


def gini(labels: np.ndarray, scores: np.ndarray) -> float:
    """2 AUROC - 1 of scores for labels, floored at 0 (0 = no better than chance)."""
    return max(0.0, 2.0 * float(roc_auc_score(labels, scores)) - 1.0)


def share_below(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per value, the share of `reference` below it (ties count half): its AUROC part."""
    ordered = np.sort(reference)
    below = np.searchsorted(ordered, values, side="left")
    not_above = np.searchsorted(ordered, values, side="right")
    return (below + not_above) / (2.0 * len(ordered))
