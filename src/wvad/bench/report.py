"""Turn a benchmark directory's results.jsonl into report.md and PNG plots.

Table building is pure (rows in, strings out) and separate from writing files, so each
step can be checked on a hand-made list of rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wvad.bench.extras import (
    best_other_section,
    corruption_section,
    known_normal_section,
    label_free_section,
    set_aside_section,
    threshold_section,
)
from wvad.bench.paired import bootstrap_interval, paired_by_cell, versus
from wvad.bench.results import (
    META_FILE,
    RESULTS_FILE,
    label_setting,
    latest_rows,
    read_rows,
    setting_order,
)

__all__ = [
    "METRICS",
    "Stat",
    "build_report",
    "fit_time_table",
    "markdown_table",
    "mean_ranks",
    "metric_table",
    "plot_metric",
    "summarize",
    "write_report",
]

#: Result field -> display name.
METRICS = {"auroc": "AUROC", "auprc": "AUPRC"}
_MISSING = "\u2013"  # en dash

Row = dict[str, Any]
RowKey = tuple[str, str]  # (dataset, label setting: "0.1" or "3 labels")
Summary = dict[RowKey, dict[str, "Stat"]]


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1; 0 for one value) over seeds."""

    mean: float
    std: float
    n: int


@dataclass(frozen=True)
class Axes:
    """The order in which datasets, label settings and models appear in tables and plots."""

    datasets: list[str]
    ratios: list[str]  # label settings (`label_setting`): ratios first, then counts
    models: list[str]


def _ordered(found: Iterable[Any], preferred: Sequence[Any] = ()) -> list[Any]:
    head = list(dict.fromkeys(preferred))  # the grid's own order, even if not run yet
    return head + [v for v in dict.fromkeys(found) if v not in head]


def axes_of(rows: Sequence[Row], grid: dict[str, Any] | None = None) -> Axes:
    """Grid order from meta.json where given, then anything else the rows hold."""
    grid = grid or {}
    found = sorted({label_setting(r) for r in rows}, key=setting_order)
    planned = [f"{float(x):g}" for x in grid.get("ratios", ())]
    planned += [f"{int(k)} labels" for k in grid.get("label_counts", ())]
    planned += [
        f"{t} +{float(k):g} normals" for t in list(planned) for k in grid.get("known_normals", ())
    ]
    planned += [f"{t} {c}" for t in list(planned) for c in grid.get("corruptions", ())]
    return Axes(
        datasets=_ordered((str(r["dataset"]) for r in rows), grid.get("datasets", ())),
        ratios=_ordered(found, planned),
        models=_ordered((str(r["model"]) for r in rows), grid.get("models", ())),
    )


def _ok_value(row: Row, field: str) -> float | None:
    value = row.get(field)
    if row.get("status") != "ok" or value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def summarize(rows: Iterable[Row], field: str) -> Summary:
    """(dataset, label setting) -> model -> Stat of `field` over the rows that finished ok."""
    values: dict[RowKey, dict[str, list[float]]] = {}
    for row in rows:
        value = _ok_value(row, field)
        if value is None:
            continue
        cell = values.setdefault((str(row["dataset"]), label_setting(row)), {})
        cell.setdefault(str(row["model"]), []).append(value)
    summary: Summary = {}
    for key, by_model in values.items():
        summary[key] = {}
        for model, vals in by_model.items():
            arr = np.asarray(vals)
            std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
            summary[key][model] = Stat(float(arr.mean()), std, int(arr.size))
    return summary


def mean_ranks(summary: Summary, models: Sequence[str]) -> dict[str, float | None]:
    """Average over (dataset, ratio) rows of each model's rank by mean (1 = best, ties shared).

    A row ranks only the models it has results for; a model with none anywhere gets None.
    """
    from scipy.stats import rankdata

    ranks: dict[str, list[float]] = {m: [] for m in models}
    for by_model in summary.values():
        present = [m for m in models if m in by_model]
        if not present:
            continue
        row_ranks = rankdata([-by_model[m].mean for m in present], method="average")
        for m, r in zip(present, row_ranks, strict=True):
            ranks[m].append(float(r))
    return {m: (float(np.mean(r)) if r else None) for m, r in ranks.items()}


def _seeds_per_row(rows: Iterable[Row]) -> dict[RowKey, int]:
    seeds: dict[RowKey, set[int]] = {}
    for row in rows:
        seeds.setdefault((str(row["dataset"]), label_setting(row)), set()).add(int(row["seed"]))
    return {k: len(v) for k, v in seeds.items()}


def _attempted(rows: Iterable[Row]) -> set[tuple[str, str, str]]:
    return {(str(r["dataset"]), label_setting(r), str(r["model"])) for r in rows}


def _bold(text: str) -> str:
    return f"**{text}**"


def _ratio_label(setting: str) -> str:
    return setting


def metric_table(rows: Sequence[Row], field: str, axes: Axes) -> tuple[list[str], list[list[str]]]:
    """Header and body of one metric's table: `mean ± std` per model, best mean in bold.

    A cell with fewer seeds than its row has elsewhere gets "(k/n)"; a model that ran but
    never finished ok shows "error", one that never ran shows "–". The last row holds the
    mean rank per model (lowest in bold).
    """
    summary = summarize(rows, field)
    expected = _seeds_per_row(rows)
    attempted = _attempted(rows)
    header = ["dataset", "labels", *axes.models]
    body = []
    for dataset in axes.datasets:
        for ratio in axes.ratios:
            key = (dataset, ratio)
            if key not in expected:
                continue
            stats = summary.get(key, {})
            best = max((round(s.mean, 3) for s in stats.values()), default=None)
            line = [dataset, _ratio_label(ratio)]
            for model in axes.models:
                stat = stats.get(model)
                if stat is None:
                    line.append("error" if (dataset, ratio, model) in attempted else _MISSING)
                    continue
                text = f"{stat.mean:.3f} ± {stat.std:.3f}"
                if round(stat.mean, 3) == best:
                    text = _bold(text)
                if stat.n < expected[key]:
                    text += f" ({stat.n}/{expected[key]})"
                line.append(text)
            body.append(line)
    ranks = mean_ranks(summary, axes.models)
    known = [r for r in ranks.values() if r is not None]
    best_rank = round(min(known), 2) if known else None
    rank_line = ["mean rank", ""]
    for model in axes.models:
        r = ranks[model]
        if r is None:
            rank_line.append(_MISSING)
        else:
            text = f"{r:.2f}"
            rank_line.append(_bold(text) if round(r, 2) == best_rank else text)
    body.append(rank_line)
    return header, body


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def fit_time_table(
    rows: Sequence[Row], axes: Axes, field: str = "fit_seconds"
) -> tuple[list[str], list[list[str]]]:
    """Mean fit seconds (or another measured `field`, such as "score_seconds") per
    (dataset, labels) and model, over the rows that finished ok."""
    summary = summarize(rows, field)
    header = ["dataset", "labels", *axes.models]
    body = []
    for dataset in axes.datasets:
        for ratio in axes.ratios:
            stats = summary.get((dataset, ratio))
            if stats is None:
                continue
            line = [dataset, _ratio_label(ratio)]
            for model in axes.models:
                stat = stats.get(model)
                line.append(_MISSING if stat is None else _seconds(stat.mean))
            body.append(line)
    return header, body


def markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; text columns left-aligned, the rest right."""
    align = [":--" if i < 2 else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def _errors_section(rows: Sequence[Row], limit: int = 50) -> list[str]:
    errors = [r for r in rows if r.get("status") != "ok"]
    if not errors:
        return []
    out = ["## Errors", "", f"{len(errors)} cell(s) did not finish:", ""]
    for r in errors[:limit]:
        out.append(
            f"- {r['dataset']} labels={label_setting(r)} seed={r['seed']} "
            f"{r['model']}: {r.get('error') or 'unknown error'}"
        )
    if len(errors) > limit:
        out.append(f"- … and {len(errors) - limit} more (see results.jsonl)")
    return [*out, ""]


def _provenance(meta: dict[str, Any] | None, rows: Sequence[Row] = ()) -> list[str]:
    """Where the rows come from: every (commit, CPU) the rows record with how many rows
    each, then the last run's times, machine and versions (meta.json). Rows written
    before rows recorded their own commit are credited to the last run's, and say so."""
    out = _row_sources(rows, meta)
    if not meta:
        return [*out, ""] if out else []
    versions = meta.get("versions") or {}
    machine = meta.get("machine") or {}
    listed = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    out += [
        f"Last run: started {meta.get('started_at')}, finished {meta.get('finished_at')}, "
        f"status {meta.get('status')}, jobs {meta.get('jobs')}.",
        f"Last run's machine: {machine.get('cpu')} ({machine.get('cpus_available')} CPUs "
        f"available), {machine.get('platform')}.",
    ]
    if listed:
        out.append(f"Last run's versions: {listed}.")
    if meta.get("git_commit"):
        out.append(f"Last run's commit: {meta['git_commit']}.")
    return [*out, ""]


def _row_sources(rows: Sequence[Row], meta: dict[str, Any] | None) -> list[str]:
    """'Rows from: ...' naming each commit and CPU with its row count."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row.get("commit") or "unrecorded"), str(row.get("cpu") or "unrecorded"))
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return []
    parts = [f"{n} at commit {c} on {cpu}" for (c, cpu), n in sorted(counts.items())]
    line = f"Rows from: {'; '.join(parts)}."
    if ("unrecorded", "unrecorded") in counts and meta:
        line += (
            " Unrecorded rows were written before rows recorded their commit and CPU; "
            "this folder's meta.json credits them to its last run's commit, which need not "
            "be theirs."
        )
    return [line]


def build_report(
    rows: Sequence[Row], meta: dict[str, Any] | None = None, reference: str = "wvad"
) -> str:
    """The whole report.md text for a list of result rows (latest row per cell is used)."""
    rows = latest_rows(rows)
    axes = axes_of(rows, (meta or {}).get("grid"))
    n_ok = sum(r.get("status") == "ok" for r in rows)
    out = [
        "# Benchmark report",
        "",
        f"{len(rows)} cells, {n_ok} ok, {len(rows) - n_ok} failed. Values are mean ± sample "
        "standard deviation over seeds; the best mean per row is in bold; mean rank ranks "
        "models by mean within each dataset/labels row (1 = best) and averages over rows. "
        "Labels are the share of training anomalies labeled, or their number.",
        "",
        *_provenance(meta, rows),
    ]
    for field, name in METRICS.items():
        header, body = metric_table(rows, field, axes)
        out += [f"## {name}", "", markdown_table(header, body), "", f"![{name}]({field}.png)", ""]
    if reference in axes.models:
        out += paired_section(rows, reference, axes)
        out += best_other_section(rows, reference)
        out += known_normal_section(rows, reference)
        out += threshold_section(rows, reference)
        out += label_free_section(rows, reference)
        out += set_aside_section(rows, reference)
        out += corruption_section(rows, reference)
    header, body = fit_time_table(rows, axes)
    out += ["## Fit time (seconds, mean over seeds)", "", markdown_table(header, body), ""]
    header, body = fit_time_table(rows, axes, "score_seconds")
    out += ["## Scoring time of the test part (seconds, mean over seeds)", ""]
    out += [markdown_table(header, body), ""]
    out += _errors_section(rows)
    return "\n".join(out).rstrip() + "\n"


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def paired_section(rows: Sequence[Row], reference: str, axes: Axes) -> list[str]:
    """The reference against every other model, paired by cell: across tables (wins,
    mean difference, Wilcoxon p with Holm's correction), then per table (mean difference
    over seeds with a 95% bootstrap interval)."""
    others = [m for m in axes.models if m != reference]
    out = [
        f"## Paired against {reference}",
        "",
        f"Every comparison pairs {reference} with the other model on the same dataset, label "
        "setting and seed (same splits, same labels). Across tables: the reference's mean "
        "minus the other's per (dataset, labels) row; wins / ties / losses count those rows; "
        "p is a two-sided Wilcoxon signed-rank test over them, Holm-corrected for the "
        f"{len(others)} models compared. Per table: mean difference over seeds with a 95% "
        "bootstrap interval (seeds resampled).",
        "",
    ]
    for field, name in METRICS.items():
        header = ["model", "rows", "wins / ties / losses", "mean difference", "p", "p (Holm)"]
        body = []
        for v in versus(rows, reference, others, field):
            p = _MISSING if v.p_value is None else f"{v.p_value:.3g}"
            ph = _MISSING if v.p_holm is None else f"{v.p_holm:.3g}"
            body.append(
                [
                    v.other,
                    str(v.n_rows),
                    f"{v.wins} / {v.ties} / {v.losses}",
                    _signed(v.mean_difference),
                    p,
                    ph,
                ]
            )
        out += [f"### {name}, across tables", "", markdown_table(header, body), ""]
        cells = {
            m: {(c.dataset, c.setting): c for c in paired_by_cell(rows, reference, m, field)}
            for m in others
        }
        header = ["dataset", "labels", *others]
        body = []
        for dataset in axes.datasets:
            for setting in axes.ratios:
                line = [dataset, setting]
                for m in others:
                    c = cells[m].get((dataset, setting))
                    if c is None:
                        line.append(_MISSING)
                        continue
                    low, high = bootstrap_interval(c.differences)
                    line.append(f"{_signed(c.mean)} [{_signed(low)}, {_signed(high)}]")
                if any(cell != _MISSING for cell in line[2:]):
                    body.append(line)
        out += [
            f"### {name} per table: {reference} minus each model",
            "",
            markdown_table(header, body),
            "",
        ]
    return out


def plot_metric(rows: Sequence[Row], field: str, axes: Axes, path: str | os.PathLike[str]) -> Path:
    """One panel per dataset: bars per model, grouped by labeled ratio, std as error bars."""
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    summary = summarize(rows, field)
    n = max(len(axes.datasets), 1)
    width_in = max(4.0, 0.45 * len(axes.models) * max(len(axes.ratios), 1) + 1.5)
    ncols = 1 if width_in > 8.0 else min(n, 3)  # wide panels stack, so the page stays legible
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width_in * ncols, 3.6 * nrows), layout="constrained")
    panels = fig.subplots(nrows, ncols, squeeze=False).ravel()
    x = np.arange(len(axes.models))
    bar = 0.8 / max(len(axes.ratios), 1)
    for ax, dataset in zip(panels, axes.datasets, strict=False):
        for i, ratio in enumerate(axes.ratios):
            stats = summary.get((dataset, ratio), {})
            means = [stats[m].mean if m in stats else np.nan for m in axes.models]
            stds = [stats[m].std if m in stats else 0.0 for m in axes.models]
            offset = (i - (len(axes.ratios) - 1) / 2) * bar
            label = ratio if " " in ratio else f"ratio {ratio}"
            ax.bar(x + offset, means, bar, yerr=stds, capsize=2, label=label)
        ax.set_title(dataset)
        ax.set_xticks(x, axes.models, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0.0, 1.05)
        ax.set_ylabel(METRICS.get(field, field))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in panels[len(axes.datasets) :]:
        ax.set_visible(False)
    out = Path(path)
    fig.savefig(out, dpi=110)
    return out


def _read_meta(out: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((out / META_FILE).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def write_report(out_dir: str | os.PathLike[str], reference: str = "wvad") -> Path:
    """Write report.md, auroc.png and auprc.png into `out_dir`; returns report.md's path.
    Where `reference` is among the models, the report pairs it with every other one."""
    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"no such benchmark directory: {out}")
    if not (out / RESULTS_FILE).exists():
        raise FileNotFoundError(f"no {RESULTS_FILE} in {out}; run `wvad bench` first")
    rows = latest_rows(read_rows(out))
    if not rows:
        raise ValueError(f"{out / RESULTS_FILE} holds no complete result rows")
    meta = _read_meta(out)
    axes = axes_of(rows, (meta or {}).get("grid"))
    for field in METRICS:
        plot_metric(rows, field, axes, out / f"{field}.png")
    path = out / "report.md"
    tmp = path.with_name("report.md.tmp")
    tmp.write_text(build_report(rows, meta, reference))
    os.replace(tmp, path)
    return path
