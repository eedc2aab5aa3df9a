"""Which rows to show an analyst next: the selection rules of the labelling loop.

An analyst's time is the scarce resource of weak supervision. Given a fitted model's
scores for candidate rows (those not labeled either way), a strategy orders them:

- "top": the highest scores first. Query by score: each answer is likely "anomaly", so the
  loop finds anomalies now, and every answer is a label the supervised pieces learn from.
- "uncertain": the scores nearest the model's threshold first (uncertainty sampling on the
  decision the model makes): answers where the model is least sure move the boundary.
- "mixed": both, the uncertain share growing with the labels the model already has,
  labels / (labels + MIX_LABELS): with few labels the loop mostly finds anomalies, with
  many it mostly refines.

`uncertainty` is 1 at the threshold and falls with the distance from it in units of the
training scores' inter-quartile range, so it reads alike on every table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wvad.checks import OneOf

__all__ = [
    "DEFAULT_STRATEGY",
    "MIX_LABELS",
    "REASON_STEPS",
    "STRATEGIES",
    "STRATEGY",
    "Suggestion",
    "choose_rows",
    "leading_columns",
    "uncertainty",
]

STRATEGIES = ("top", "uncertain", "mixed")
STRATEGY = OneOf(STRATEGIES)
#: The strategy `WVAD.suggest` and `wvad suggest` use unless told: chosen with the simulated
#: analyst on the tuning half (docs/results.md, "The analyst's loop").
DEFAULT_STRATEGY = "top"
#: Integrated-gradient steps of the reason each suggestion gives (a ranking, not a report).
REASON_STEPS = 16
#: "mixed": the label count at which half the questions are uncertainty questions.
MIX_LABELS = 20


@dataclass(frozen=True)
class Suggestion:
    """One row to ask about: its position among the candidates' table, and why."""

    row: int
    why: str  # "high score" or "near the threshold"


def uncertainty(scores: np.ndarray, threshold: float, training: np.ndarray) -> np.ndarray:
    """1 / (1 + |score - threshold| / IQR of the training scores), in (0, 1]."""
    q1, q3 = np.quantile(training, [0.25, 0.75])
    spread = float(q3 - q1) or float(np.std(training)) or 1.0
    return 1.0 / (1.0 + np.abs(np.asarray(scores) - threshold) / spread)


def choose_rows(
    scores: np.ndarray,
    certainty_gap: np.ndarray,
    candidates: np.ndarray,
    n: int,
    strategy: str,
    n_labels: int,
) -> list[Suggestion]:
    """Up to `n` rows among the `candidates` mask, in the order `strategy` asks them;
    `certainty_gap` is |score - threshold| (smaller = less sure)."""
    strategy = STRATEGY.check("strategy", strategy)
    pool = np.flatnonzero(candidates)
    by_score = pool[np.argsort(-scores[pool], kind="stable")]
    by_doubt = pool[np.argsort(certainty_gap[pool], kind="stable")]
    if strategy == "top":
        n_doubt = 0
    elif strategy == "uncertain":
        n_doubt = n
    else:
        n_doubt = round(n * n_labels / (n_labels + MIX_LABELS))
    chosen = [Suggestion(int(r), "high score") for r in by_score[: n - n_doubt]]
    taken = {s.row for s in chosen}
    for r in by_doubt:
        if len(chosen) >= n:
            break
        if int(r) not in taken:
            chosen.append(Suggestion(int(r), "near the threshold"))
            taken.add(int(r))
    return chosen


def leading_columns(explained: Any, n_rows: int) -> tuple[list[str], list[float]]:
    """Per row of `WVAD.explain`'s table (`n_rows` rows), the column with the largest
    absolute share of the score's distance from the reference row, and that signed share
    of all columns' absolute contributions."""
    columns = explained[explained.part == "column"]
    totals = columns.groupby(["row", "column"], sort=False).value.sum()
    names, shares = [], []
    for i in range(n_rows):
        values = totals.loc[i]
        top = values.abs().idxmax()
        names.append(str(top))
        shares.append(float(values[top] / (values.abs().sum() or 1.0)))
    return names, shares
