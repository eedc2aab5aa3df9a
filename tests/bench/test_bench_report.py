import json

import pytest

from wvad.bench.report import (
    axes_of,
    build_report,
    fit_time_table,
    markdown_table,
    mean_ranks,
    metric_table,
    summarize,
    write_report,
)

DASH = "\u2013"  # what the tables show for a model with no run


def row(dataset, ratio, seed, model, auroc, auprc=None, status="ok", fit=1.0, error=None):
    return {
        "dataset": dataset,
        "ratio": ratio,
        "seed": seed,
        "model": model,
        "status": status,
        "error": error,
        "auroc": auroc if status == "ok" else None,
        "auprc": (auroc if auprc is None else auprc) if status == "ok" else None,
        "fit_seconds": fit if status == "ok" else None,
        "score_seconds": 0.01,
    }


ROWS = [
    # letter / 0.1: a = 0.80 ± 0.10 (best), b = 0.60 ± 0.00
    row("letter", 0.1, 0, "a", 0.7, fit=2.0),
    row("letter", 0.1, 1, "a", 0.9, fit=4.0),
    row("letter", 0.1, 0, "b", 0.6),
    row("letter", 0.1, 1, "b", 0.6),
    # iono / 0.1: b best; a has one seed ok and one error
    row("iono", 0.1, 0, "a", 0.5),
    row("iono", 0.1, 1, "a", None, status="error", error="RuntimeError: boom"),
    row("iono", 0.1, 0, "b", 0.9),
    row("iono", 0.1, 1, "b", 0.7),
]


def test_summarize_means_and_sample_std():
    s = summarize(ROWS, "auroc")
    assert s[("letter", "0.1")]["a"].mean == pytest.approx(0.8)
    assert s[("letter", "0.1")]["a"].std == pytest.approx(0.141421, abs=1e-6)  # ddof=1
    assert s[("iono", "0.1")]["a"].n == 1 and s[("iono", "0.1")]["a"].std == 0.0


def test_mean_ranks_average_over_rows():
    s = summarize(ROWS, "auroc")
    assert mean_ranks(s, ["a", "b"]) == {"a": 1.5, "b": 1.5}
    tied = summarize([row("x", 0.1, 0, m, 0.5) for m in "abc"], "auroc")
    assert mean_ranks(tied, ["a", "b", "c", "d"]) == {"a": 2.0, "b": 2.0, "c": 2.0, "d": None}


def test_metric_table_values_bold_and_rank_row():
    axes = axes_of(ROWS, {"datasets": ["letter", "iono"], "ratios": [0.1], "models": ["a", "b"]})
    header, body = metric_table(ROWS, "auroc", axes)
    assert header == ["dataset", "labels", "a", "b"]
    assert body[0] == ["letter", "0.1", "**0.800 ± 0.141**", "0.600 ± 0.000"]
    assert body[1] == ["iono", "0.1", "0.500 ± 0.000 (1/2)", "**0.800 ± 0.141**"]
    assert body[2] == ["mean rank", "", "**1.50**", "**1.50**"]
    text = markdown_table(header, body)
    assert text.splitlines()[0] == "| dataset | labels | a | b |"
    assert text.splitlines()[1] == "| :-- | :-- | --: | --: |"


def test_metric_table_marks_errors_and_missing_models():
    rows = [row("d", 0.05, 0, "a", 0.9), row("d", 0.05, 0, "b", None, status="error")]
    axes = axes_of(rows, {"models": ["a", "b", "c"]})
    _, body = metric_table(rows, "auroc", axes)
    assert body[0] == ["d", "0.05", "**0.900 ± 0.000**", "error", DASH]
    assert body[1] == ["mean rank", "", "**1.00**", DASH, DASH]


def test_fit_time_table_means_ok_rows():
    axes = axes_of(ROWS)
    _, body = fit_time_table(ROWS, axes)
    assert body[0] == ["letter", "0.1", "3.000", "1.000"]


def test_build_report_uses_latest_row_per_cell():
    retried = [*ROWS, row("iono", 0.1, 1, "a", 0.9)]
    text = build_report(retried)
    assert "0.700 ± 0.283" in text and "(1/2)" not in text and "## Errors" not in text
    assert "## AUROC" in text and "## AUPRC" in text and "## Fit time" in text
    scoring = text.split("## Scoring time")[1]
    assert "| letter | 0.1 | 0.010 | 0.010 |" in scoring
    assert "RuntimeError: boom" in build_report(ROWS)


def test_write_report_writes_markdown_and_pngs(tmp_path):
    with open(tmp_path / "results.jsonl", "w") as fh:
        for r in ROWS:
            fh.write(json.dumps(r) + "\n")
        fh.write('{"dataset": "le')  # a write cut short
    meta = {"grid": {"datasets": ["letter", "iono"], "ratios": [0.1], "models": ["b", "a"]}}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    path = write_report(tmp_path)
    text = path.read_text()
    assert path == tmp_path / "report.md"
    assert "| dataset | labels | b | a |" in text
    for name in ("auroc.png", "auprc.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_write_report_refuses_a_directory_without_results(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no results\.jsonl"):
        write_report(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such benchmark directory"):
        write_report(tmp_path / "missing")


def test_label_counts_are_their_own_rows_after_the_ratios():
    counted = [{**row("d", None, 0, "a", 0.7), "n_labels": 3}, row("d", 0.1, 0, "a", 0.9)]
    counted.append({**row("d", None, 0, "a", 0.8), "n_labels": 1})
    axes = axes_of(counted)
    assert axes.ratios == ["0.1", "1 labels", "3 labels"]
    _, body = metric_table(counted, "auroc", axes)
    assert [line[1] for line in body[:-1]] == ["0.1", "1 labels", "3 labels"]


def test_the_report_pairs_the_reference_with_every_model():
    rows = []
    for seed in range(6):
        for dataset in ("p", "q", "r"):
            rows.append(row(dataset, 0.1, seed, "wvad", 0.8 + 0.01 * seed))
            rows.append(row(dataset, 0.1, seed, "peer", 0.7 + 0.01 * seed))
    text = build_report(rows, {"grid": {"models": ["wvad", "peer"]}})
    assert "## Paired against wvad" in text
    assert "| peer | 3 | 3 / 0 / 0 | +0.100 |" in text
    assert "+0.100 [+0.100, +0.100]" in text  # the same gap on every seed


def test_the_report_names_every_commit_and_cpu_its_rows_come_from():
    def row(seed, commit, cpu):
        extra = {} if commit is None else {"commit": commit, "cpu": cpu}
        return {"dataset": "d", "ratio": 0.1, "seed": seed, "model": "m", "status": "ok",
                "auroc": 0.9, "auprc": 0.5, "fit_seconds": 1.0, **extra}  # fmt: skip

    rows = [row(0, "aaa111", "Intel Xeon"), row(1, "bbb222", "AMD EPYC"), row(2, None, None)]
    meta = {"git_commit": "bbb222", "machine": {"cpu": "AMD EPYC"}}
    text = build_report(rows, meta)
    assert "1 at commit aaa111 on Intel Xeon" in text
    assert "1 at commit bbb222 on AMD EPYC" in text
    assert "1 at commit unrecorded on unrecorded" in text and "need not be theirs" in text
    assert "Last run's commit: bbb222." in text
