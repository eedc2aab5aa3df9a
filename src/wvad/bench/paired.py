"""Paired comparisons of two detectors on the same splits and labels.

With a few labeled anomalies the label draw alone moves a detector's mean over seeds by
several hundredths, so two models are compared only cell by cell: the same dataset, the
same label setting and the same seed, hence the same training rows, test rows and labels.

- Per table: the mean difference over seeds with a bootstrap confidence interval (seeds
  resampled with replacement; `bootstrap_interval`).
- Across tables: each model's mean over seeds per (table, label setting), and a Wilcoxon
  signed-rank test of the reference against each other model over those rows, the p-values
  Holm-corrected for the number of models compared (`holm`), as ADBench-style reports do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wvad.bench.results import label_setting

__all__ = [
    "Paired",
    "Versus",
    "bootstrap_interval",
    "holm",
    "paired_by_cell",
    "versus",
]

#: Bootstrap resamples and the seed of their draws: a report reads the same every time.
N_BOOTSTRAP = 2000
BOOTSTRAP_SEED = 0

Row = dict[str, Any]


@dataclass(frozen=True)
class Paired:
    """One (dataset, label setting): the reference minus the other, seed by seed."""

    dataset: str
    setting: str
    differences: np.ndarray  # over the seeds where both finished

    @property
    def mean(self) -> float:
        return float(self.differences.mean())


def paired_by_cell(rows: Iterable[Row], reference: str, other: str, field: str) -> list[Paired]:
    """Per (dataset, label setting), `field` of `reference` minus `other` on each seed both
    finished, in the rows' order of first appearance."""
    values: dict[tuple[str, str], dict[str, dict[int, float]]] = {}
    for row in rows:
        if row.get("status") != "ok" or row.get(field) is None:
            continue
        if row["model"] not in (reference, other):
            continue
        cell = values.setdefault((str(row["dataset"]), label_setting(row)), {})
        cell.setdefault(row["model"], {})[int(row["seed"])] = float(row[field])
    out = []
    for (dataset, setting), by_model in values.items():
        ref, oth = by_model.get(reference, {}), by_model.get(other, {})
        seeds = sorted(set(ref) & set(oth))
        if seeds:
            diff = np.array([ref[s] - oth[s] for s in seeds])
            out.append(Paired(dataset, setting, diff))
    return out


def bootstrap_interval(
    differences: np.ndarray, level: float = 0.95, n: int = N_BOOTSTRAP
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `differences` (one value: itself)."""
    d = np.asarray(differences, dtype=np.float64)
    if d.size < 2:
        return (float(d.mean()), float(d.mean()))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = d[rng.integers(0, d.size, size=(n, d.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(low), float(high))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down correction of `p_values` for testing them together."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class Versus:
    """The reference against one other model across tables."""

    other: str
    n_rows: int  # (table, label setting) rows both have
    wins: int
    ties: int
    losses: int
    mean_difference: float
    p_value: float | None  # Wilcoxon signed-rank, two-sided; None below two rows
    p_holm: float | None = None


def versus(rows: Sequence[Row], reference: str, others: Sequence[str], field: str) -> list[Versus]:
    """The reference against each of `others` over the (table, setting) means of `field`,
    with Holm-corrected Wilcoxon p-values."""
    from scipy.stats import wilcoxon

    found = []
    for other in others:
        means = np.array([p.mean for p in paired_by_cell(rows, reference, other, field)])
        if means.size == 0:
            continue
        wins, losses = int((means > 1e-12).sum()), int((means < -1e-12).sum())
        p_value = None
        if means.size >= 2 and np.any(np.abs(means) > 1e-12):
            p_value = float(wilcoxon(means, zero_method="zsplit").pvalue)
        found.append(
            Versus(
                other,
                len(means),
                wins,
                len(means) - wins - losses,
                losses,
                float(means.mean()),
                p_value,
            )
        )
    tested = [v for v in found if v.p_value is not None]
    adjusted = dict(zip([v.other for v in tested], holm([v.p_value for v in tested]), strict=True))
    return [
        Versus(
            v.other,
            v.n_rows,
            v.wins,
            v.ties,
            v.losses,
            v.mean_difference,
            v.p_value,
            adjusted.get(v.other),
        )
        for v in found
    ]
