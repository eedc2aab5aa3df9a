"""Report sections for what WVAD's rows record beyond AUROC and AUPRC.

- The threshold from the labels: the recall each target (`threshold=<recall>`) reaches on
  the test anomalies, and the share of test normals it flags.
- With and without the labels: WVAD's score against its own pieces read out with no label
  used to weigh them (`label_free_auroc`), paired by seed.
- Known normals: each "+share normals" setting against the same seeds' plain setting.
- The best other model: per table and setting, the reference's AUROC against the other
  model with the highest mean, with both seed-to-seed standard deviations (issue 18's
  "never 0.05 below the best peer" and "no larger spread" read off directly).
- Corruptions: each model's AUROC change from the clean cell to the corrupted one, paired
  by seed, for the reference and the best other model under that corruption.
- Labels set aside: per table and setting, how many labels the reference set aside, and
  where wrong labels were planted how many of those it caught.

Each builder takes the result rows and returns markdown lines (empty when the rows hold
nothing for it), so `build_report` adds only the sections a run has data for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from wvad.bench.paired import bootstrap_interval
from wvad.bench.results import label_setting, setting_order

__all__ = [
    "corruption_section",
    "known_normal_section",
    "label_free_section",
    "set_aside_section",
    "threshold_section",
]

Row = dict[str, Any]
_NORMALS = " +"


def _ok(rows: Sequence[Row], model: str) -> list[Row]:
    return [r for r in rows if r.get("model") == model and r.get("status") == "ok"]


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join([":--"] * len(header)) + " |"]
    return lines + ["| " + " | ".join(line) + " |" for line in body]


def _cells(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    """Rows grouped by (dataset, label setting), datasets in order of appearance and
    settings in their usual order."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((str(row["dataset"]), label_setting(row)), []).append(row)
    datasets = list(dict.fromkeys(d for d, _ in groups))
    return dict(
        sorted(groups.items(), key=lambda kv: (datasets.index(kv[0][0]), setting_order(kv[0][1])))
    )


def _interval(differences: np.ndarray) -> str:
    low, high = bootstrap_interval(differences)
    return f"{differences.mean():+.3f} [{low:+.3f}, {high:+.3f}]"


def threshold_section(rows: Sequence[Row], model: str) -> list[str]:
    """Per table and label setting: the mean test recall each target reaches and the mean
    share of test normals flagged, then the means over every row."""
    found = [r for r in _ok(rows, model) if r.get("recall_at_target")]
    if not found:
        return []
    targets = sorted({t for r in found for t in r["recall_at_target"]}, key=float)
    header = ["dataset", "labels", "seeds"]
    header += [f"recall at {t} (normals flagged)" for t in targets]
    body, means = [], {t: ([], []) for t in targets}
    for (dataset, setting), cell in _cells(found).items():
        line = [dataset, setting, str(len(cell))]
        for t in targets:
            recall = np.mean([r["recall_at_target"][t] for r in cell])
            flagged = np.mean([r["normals_flagged_at_target"][t] for r in cell])
            means[t][0].append(recall)
            means[t][1].append(flagged)
            line.append(f"{recall:.2f} ({flagged:.3f})")
        body.append(line)
    overall = [f"{np.mean(r):.2f} ({np.mean(f):.3f})" for r, f in means.values()]
    body.append(["mean over rows", "", "", *overall])
    return [
        f"## Threshold from the labels ({model})",
        "",
        f"`threshold=<recall>` sets {model}'s threshold to flag that share of the labeled "
        "anomalies, each scored by the cross-fitted pieces that did not see it. Each entry: "
        "the share of the test anomalies it flags (mean over seeds) and, in brackets, the "
        "share of the test normals it flags.",
        "",
        *_table(header, body),
        "",
    ]


def label_free_section(rows: Sequence[Row], model: str) -> list[str]:
    """Per table and label setting: the score against its label-free read-out, seed by
    seed, with the score's seed-to-seed standard deviation for scale."""
    found = [r for r in _ok(rows, model) if r.get("label_free_auroc") is not None]
    if not found:
        return []
    header = ["dataset", "labels", "seeds", "AUROC", "label-free AUROC", "difference [95%]"]
    header += ["sd of AUROC", "below label-free by more than sd"]
    body = []
    for (dataset, setting), cell in _cells(found).items():
        auroc = np.array([r["auroc"] for r in cell])
        free = np.array([r["label_free_auroc"] for r in cell])
        sd = float(auroc.std(ddof=1)) if len(auroc) > 1 else 0.0
        gap = float((auroc - free).mean())
        body.append(
            [
                dataset,
                setting,
                str(len(cell)),
                f"{auroc.mean():.3f}",
                f"{free.mean():.3f}",
                _interval(auroc - free),
                f"{sd:.3f}",
                "yes" if gap < -sd else "no",
            ]
        )
    return [
        f"## With and without the labels ({model})",
        "",
        f"{model}'s AUROC against its own fitted pieces read out with no label used to weigh "
        "them (`WVAD.label_free_decision_function`), paired by seed: the mean difference "
        "with a 95% bootstrap interval over seeds. The last column says whether the score "
        "falls below the label-free read-out by more than its seed-to-seed standard deviation.",
        "",
        *_table(header, body),
        "",
    ]


def set_aside_section(rows: Sequence[Row], model: str) -> list[str]:
    """Per table and label setting with a label set aside in some seed: the labels given
    and set aside (totals over seeds) and, where the split planted wrong labels, the
    wrong ones set aside and the right ones set aside."""
    found = [r for r in _ok(rows, model) if r.get("n_set_aside") is not None]
    if not any(r["n_set_aside"] for r in found):
        return []
    header = ["dataset", "labels", "seeds", "labels given", "set aside", "seeds with any"]
    header += ["wrong set aside / planted", "right set aside"]
    body = []
    for (dataset, setting), cell in _cells(found).items():
        aside = sum(r["n_set_aside"] for r in cell)
        if not aside:
            continue
        wrong = sum(r.get("n_wrong_set_aside", 0) for r in cell)
        planted = sum(r.get("n_wrong_labels", 0) for r in cell)
        line = [dataset, setting, str(len(cell)), str(sum(r["n_labeled"] for r in cell))]
        line += [str(aside), str(sum(1 for r in cell if r["n_set_aside"]))]
        line += [f"{wrong} / {planted}" if planted else "none planted", str(aside - wrong)]
        body.append(line)
    return [
        f"## Labels set aside ({model})",
        "",
        f"The rows where {model} set labeled anomalies aside as doubtful "
        "(`labels_set_aside_`), totals over seeds. Without planted wrong labels every label "
        "set aside is a right one.",
        "",
        *_table(header, body),
        "",
    ]


def known_normal_section(rows: Sequence[Row], model: str) -> list[str]:
    """Each setting with known normals against the plain setting it extends, paired by
    seed: mean differences of AUROC and AUPRC with 95% bootstrap intervals."""
    found = _ok(rows, model)
    by_cell = {(str(r["dataset"]), label_setting(r), int(r["seed"])): r for r in found}
    header = ["dataset", "labels", "seeds", "AUROC plain", "AUROC gain [95%]", "AUPRC plain"]
    header += ["AUPRC gain [95%]"]
    body = []
    for (dataset, setting), cell in _cells(found).items():
        if _NORMALS not in setting:
            continue
        plain = setting.split(_NORMALS)[0]
        pairs = [
            (by_cell[(dataset, plain, int(r["seed"]))], r)
            for r in cell
            if (dataset, plain, int(r["seed"])) in by_cell
        ]
        if not pairs:
            continue
        line = [dataset, setting, str(len(pairs))]
        for field in ("auroc", "auprc"):
            base = np.array([p[field] for p, _ in pairs])
            with_normals = np.array([w[field] for _, w in pairs])
            line += [f"{base.mean():.3f}", _interval(with_normals - base)]
        body.append(line)
    if not body:
        return []
    return [
        f"## Known normals ({model})",
        "",
        "Each setting with a share of the normal training rows marked known normal, against "
        "the same seeds' setting without them (same splits, same labeled anomalies): the "
        "plain mean and the mean gain with a 95% bootstrap interval over seeds.",
        "",
        *_table(header, body),
        "",
    ]


def _drop(
    by_seed: dict[str, dict[int, float]], clean: dict[str, dict[int, float]], model: str
) -> float | None:
    """Mean over the seeds a model finished both ways of corrupted minus clean AUROC."""
    seeds = sorted(set(by_seed.get(model, {})) & set(clean.get(model, {})))
    if not seeds:
        return None
    return float(np.mean([by_seed[model][s] - clean[model][s] for s in seeds]))


def _auroc_by_seed(rows: Sequence[Row]) -> dict[tuple[str, str], dict[str, dict[int, float]]]:
    """Per (dataset, label setting), in `_cells` order: each model's AUROC by seed."""
    found = [r for r in rows if r.get("status") == "ok" and r.get("auroc") is not None]
    out: dict[tuple[str, str], dict[str, dict[int, float]]] = {}
    for key, cell in _cells(found).items():
        for r in cell:
            out.setdefault(key, {}).setdefault(r["model"], {})[int(r["seed"])] = float(r["auroc"])
    return out


def _best_peer(by_model: dict[str, dict[int, float]], reference: str) -> str | None:
    """The model with the highest mean AUROC other than the reference and its own presets
    ("wvad-paper" for "wvad"); None where the reference or every peer is missing."""
    peers = [m for m in by_model if m != reference and not m.startswith(f"{reference}-")]
    if reference not in by_model or not peers:
        return None
    return max(peers, key=lambda m: np.mean(list(by_model[m].values())))


def _is_corrupted(setting: str) -> bool:
    return "=" in setting.split()[-1]


def corruption_section(rows: Sequence[Row], reference: str) -> list[str]:
    """Per table and corruption: the reference's mean AUROC change from the clean cell
    (paired by seed), the best other model's under that corruption (highest mean AUROC
    there) and its change, and the reference minus that model on the corrupted cell with
    a 95% bootstrap interval over seeds."""
    auroc = _auroc_by_seed(rows)
    header = ["dataset", "labels", "seeds", f"{reference}'s change", "best other"]
    header += ["its change", f"{reference} minus it [95%]", "degrades faster"]
    body = []
    for (dataset, setting), corrupted in auroc.items():
        best = _best_peer(corrupted, reference) if _is_corrupted(setting) else None
        if best is None:
            continue
        clean = auroc.get((dataset, setting.rsplit(" ", 1)[0]), {})
        ours, theirs = _drop(corrupted, clean, reference), _drop(corrupted, clean, best)
        seeds = sorted(set(corrupted[reference]) & set(corrupted[best]))
        gap = np.array([corrupted[reference][s] - corrupted[best][s] for s in seeds])
        faster = "-" if ours is None or theirs is None else "yes" if ours < theirs else "no"
        body.append(
            [
                dataset,
                setting,
                str(len(seeds)),
                "-" if ours is None else f"{ours:+.3f}",
                best,
                "-" if theirs is None else f"{theirs:+.3f}",
                _interval(gap),
                faster,
            ]
        )
    if not body:
        return []
    return [
        f"## Under corruptions ({reference})",
        "",
        "Each corrupted setting against the same seeds' clean setting (same splits and "
        f"labels before the corruption): {reference}'s mean AUROC change, the other model "
        "with the highest mean AUROC under that corruption and its change, and the "
        "difference between the two on the corrupted cell with a 95% bootstrap interval "
        f"over seeds. 'Degrades faster': {reference}'s change is the larger loss.",
        "",
        *_table(header, body),
        "",
    ]


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def best_other_section(rows: Sequence[Row], reference: str, margin: float = 0.05) -> list[str]:
    """Per table and uncorrupted label setting: the reference's mean AUROC and seed sd
    beside the other model (not one of its presets) with the highest mean there, whether
    the reference falls more than `margin` below it, and whether its sd is the larger."""
    header = ["dataset", "labels", reference, "best other", "its AUROC", "difference"]
    header += [f"more than {margin:g} below", "larger sd"]
    body, below, wider = [], 0, 0
    clean = [r for r in rows if not r.get("corruption")]
    for (dataset, setting), by_model in _auroc_by_seed(clean).items():
        best = _best_peer(by_model, reference)
        if best is None:
            continue
        ours, our_sd = _mean_sd(list(by_model[reference].values()))
        theirs, their_sd = _mean_sd(list(by_model[best].values()))
        below += ours < theirs - margin
        wider += our_sd > their_sd
        body.append(
            [
                dataset,
                setting,
                f"{ours:.3f} ± {our_sd:.3f}",
                best,
                f"{theirs:.3f} ± {their_sd:.3f}",
                f"{ours - theirs:+.3f}",
                "yes" if ours < theirs - margin else "no",
                "yes" if our_sd > their_sd else "no",
            ]
        )
    if not body:
        return []
    return [
        f"## {reference} against the best other model (AUROC)",
        "",
        f"Per table and label setting, {reference}'s mean AUROC ± seed sd beside the other "
        f"model with the highest mean there. {reference} falls more than {margin:g} below it "
        f"on {below} of {len(body)} rows and has the larger sd on {wider}.",
        "",
        *_table(header, body),
        "",
    ]
