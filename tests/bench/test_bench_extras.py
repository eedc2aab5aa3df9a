"""The report sections for the threshold from the labels, the label-free read-out and
known normals, on hand-made rows whose answers are known."""

from wvad.bench.extras import (
    best_other_section,
    corruption_section,
    known_normal_section,
    label_free_section,
    set_aside_section,
    threshold_section,
)
from wvad.bench.report import build_report


def wvad_row(seed, auroc, *, normals=None, free=None, recall=None, flagged=None):
    return {
        "dataset": "letter",
        "ratio": 0.1,
        "n_labels": None,
        "known_normals": normals,
        "corruption": None,
        "seed": seed,
        "model": "wvad",
        "status": "ok",
        "auroc": auroc,
        "auprc": auroc / 2,
        "fit_seconds": 1.0,
        "label_free_auroc": free,
        "recall_at_target": None if recall is None else {"0.9": recall},
        "normals_flagged_at_target": None if flagged is None else {"0.9": flagged},
    }


def test_threshold_section_averages_the_recall_reached_and_the_normals_flagged():
    rows = [wvad_row(0, 0.8, recall=0.5, flagged=0.1), wvad_row(1, 0.8, recall=1.0, flagged=0.2)]
    text = "\n".join(threshold_section(rows, "wvad"))
    assert "| letter | 0.1 | 2 | 0.75 (0.150) |" in text
    assert "| mean over rows |  |  | 0.75 (0.150) |" in text


def test_label_free_section_flags_a_score_below_its_label_free_read_out_by_more_than_its_sd():
    rows = [wvad_row(0, 0.70, free=0.90), wvad_row(1, 0.72, free=0.91)]
    text = "\n".join(label_free_section(rows, "wvad"))
    assert "| letter | 0.1 | 2 | 0.710 | 0.905 |" in text
    assert text.rstrip().endswith("| yes |")
    close = [wvad_row(0, 0.70, free=0.71), wvad_row(1, 0.80, free=0.80)]
    assert "\n".join(label_free_section(close, "wvad")).rstrip().endswith("| no |")


def test_known_normal_section_pairs_each_share_with_the_plain_setting_by_seed():
    rows = [
        wvad_row(0, 0.80),
        wvad_row(1, 0.60),
        wvad_row(0, 0.90, normals=0.05),
        wvad_row(1, 0.62, normals=0.05),
        wvad_row(2, 0.99, normals=0.05),  # no plain seed 2: not paired
    ]
    text = "\n".join(known_normal_section(rows, "wvad"))
    assert "| letter | 0.1 +0.05 normals | 2 | 0.700 | +0.060 [" in text


def test_sections_are_left_out_when_the_rows_hold_nothing_for_them():
    rows = [wvad_row(0, 0.8), wvad_row(1, 0.7)]
    assert threshold_section(rows, "wvad") == []
    assert label_free_section(rows, "wvad") == []
    assert known_normal_section(rows, "wvad") == []
    report = build_report([*rows, wvad_row(2, 0.9, free=0.5)])
    assert "## With and without the labels (wvad)" in report
    assert "## Threshold from the labels" not in report


def corrupted_row(model, seed, auroc, corruption=None):
    return {**wvad_row(seed, auroc), "model": model, "corruption": corruption}


def two_seeds(corruption=None, **aurocs):
    """Rows of each model on seeds 0 and 1: model=(auroc seed 0, auroc seed 1)."""
    return [
        corrupted_row(model, seed, auroc, corruption)
        for model, pair in aurocs.items()
        for seed, auroc in enumerate(pair)
    ]


def test_corruption_section_pairs_each_corruption_with_the_clean_cell_by_seed():
    clean = two_seeds(wvad=(0.90, 0.80), catboost=(0.85, 0.85), devnet=(0.70, 0.70))
    dup = two_seeds("dup=4", wvad=(0.70, 0.70), catboost=(0.80, 0.84), devnet=(0.60, 0.60))
    text = "\n".join(corruption_section(clean + dup, "wvad"))
    # wvad: (0.70 - 0.90 + 0.70 - 0.80) / 2; catboost best under dup=4: (-0.05 - 0.01) / 2
    assert "| letter | 0.1 dup=4 | 2 | -0.150 | catboost | -0.030 | -0.120 [" in text
    assert text.rstrip().endswith("| yes |")
    assert corruption_section(clean, "wvad") == []


def test_best_other_section_compares_with_the_strongest_model_per_row():
    rows = two_seeds(wvad=(0.80, 0.70), catboost=(0.86, 0.84), devnet=(0.60, 0.60))
    rows.append(corrupted_row("catboost", 0, 0.10, "dup=4"))  # corrupted cells are left out
    text = "\n".join(best_other_section(rows, "wvad"))
    assert (
        "| letter | 0.1 | 0.750 ± 0.071 | catboost | 0.850 ± 0.014 | -0.100 | yes | yes |" in text
    )
    assert "on 1 of 1 rows and has the larger sd on 1" in text
    assert best_other_section(rows[:2], "wvad") == []


def test_the_references_own_presets_are_not_its_peers():
    rows = [
        corrupted_row("wvad", 0, 0.80),
        corrupted_row("wvad-paper", 0, 0.95),
        corrupted_row("devnet", 0, 0.70),
    ]
    assert "| wvad-paper |" not in "\n".join(best_other_section(rows, "wvad"))
    assert "| devnet |" in "\n".join(best_other_section(rows, "wvad"))


def test_set_aside_section_counts_labels_set_aside_and_the_wrong_ones_among_them():
    clean = [{**wvad_row(s, 0.8), "n_labeled": 10, "n_set_aside": a} for s, a in ((0, 2), (1, 0))]
    wrong = [
        {**wvad_row(s, 0.8), "corruption": "wrong=0.25", "n_labeled": 10, "n_set_aside": 3}
        | {"n_wrong_set_aside": 2, "n_wrong_labels": 2}
        for s in (0, 1)
    ]
    text = "\n".join(set_aside_section(clean + wrong, "wvad"))
    assert "| letter | 0.1 | 2 | 20 | 2 | 1 | none planted | 2 |" in text
    assert "| letter | 0.1 wrong=0.25 | 2 | 20 | 6 | 2 | 4 / 4 | 2 |" in text
    nothing = [{**wvad_row(0, 0.8), "n_labeled": 10, "n_set_aside": 0}]
    assert set_aside_section(nothing, "wvad") == [] == set_aside_section([wvad_row(0, 0.8)], "wvad")
