"""Paired comparisons: differences by cell, bootstrap intervals, Wilcoxon with Holm."""

import numpy as np
import pytest

from wvad.bench.paired import bootstrap_interval, holm, paired_by_cell, versus


def _rows(gaps: dict[str, list[float]], other: str = "b") -> list[dict]:
    rows = []
    for dataset, per_seed in gaps.items():
        for seed, gap in enumerate(per_seed):
            base = {"dataset": dataset, "ratio": 0.1, "seed": seed, "status": "ok"}
            rows.append({**base, "model": "a", "auroc": 0.5 + gap})
            rows.append({**base, "model": other, "auroc": 0.5})
    return rows


def test_pairs_use_only_the_seeds_both_models_finished():
    rows = _rows({"d": [0.1, 0.2, 0.3]})
    rows.append(
        {"dataset": "d", "ratio": 0.1, "seed": 9, "model": "a", "auroc": 0.9, "status": "ok"}
    )  # no partner
    rows[1]["status"] = "error"  # seed 0 of b failed
    (cell,) = paired_by_cell(rows, "a", "b", "auroc")
    assert np.allclose(cell.differences, [0.2, 0.3]) and cell.setting == "0.1"


def test_bootstrap_interval_covers_the_mean_and_is_reproducible():
    d = np.random.default_rng(0).normal(0.05, 0.02, size=10)
    low, high = bootstrap_interval(d)
    assert low < d.mean() < high and high - low < 0.05
    assert bootstrap_interval(d) == (low, high)
    assert bootstrap_interval(np.array([0.3])) == (0.3, 0.3)


def test_holm_multiplies_by_the_remaining_count_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_versus_counts_wins_and_tests_across_tables():
    rows = []
    for i in range(8):
        for seed, gap in enumerate([0.05, 0.06, 0.04]):
            base = {"dataset": f"t{i}", "ratio": 0.1, "seed": seed, "status": "ok"}
            rows.append({**base, "model": "a", "auroc": 0.6})
            rows.append({**base, "model": "b", "auroc": 0.6 - gap})  # a is better
            rows.append({**base, "model": "c", "auroc": 0.6})  # no difference at all
    result = {v.other: v for v in versus(rows, "a", ["b", "c"], "auroc")}
    assert result["b"].wins == 8 and result["b"].losses == 0
    assert result["b"].p_value < 0.01 and result["b"].p_holm >= result["b"].p_value
    assert result["c"].ties == 8 and result["c"].p_value is None
