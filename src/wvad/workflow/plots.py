"""Pictures of a fitted model on a table: latent space, scores, ROC / PR, training curves.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global figure state), so it
runs headless and inside other programs' plotting sessions alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wvad.data.readers import _existing_file
from wvad.files import staged
from wvad.workflow.operations import DEFAULT_CHUNK_ROWS, explain_rows, load_table_model
from wvad.workflow.tables import (
    check_columns,
    count_rows,
    iter_chunks,
    model_input,
    parse_labels,
    same_file,
    table_columns,
    text_columns,
)

__all__ = ["PLOT_FILES", "plot_model"]

PLOT_FILES = {
    "latent": "latent.png",
    "scores": "scores.png",
    "curves": "roc_pr.png",
    "training": "training.png",
    "contributions": "contributions.png",
}
LOSS_TERMS = ("loss", "neg_elbo", "penalty", "ce")
PHASE_COLOURS = {
    "pretrain": "#dddddd",
    "warmup": "#fde8c8",
    "joint": "#d8ecf7",
    "warm": "#d9f0d3",
}
MAX_POINTS = 20_000


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, target: Path, *, replace: bool) -> Path:
    """Write `figure` as a PNG to `target` (over an existing file only if `replace`)."""
    with staged(target, replace=replace) as tmp:
        figure.savefig(tmp, format="png")
    return target


def plot_model(
    model_dir: str | Path,
    data: str | Path,
    out_dir: str | Path,
    *,
    label_col: str | None = None,
    rows: Sequence[Any] | None = None,
    by_id: bool | None = None,
    force: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_points: int = MAX_POINTS,
    progress: bool = False,
) -> dict[str, Path]:
    """Write PNGs for the model on `data` into `out_dir`; returns {name: path}.

    - latent.png: the latent means z in 2-D (PCA), coloured by most likely cluster, labeled
      anomalies and flagged rows marked (the first `max_points` rows);
    - scores.png: the score histogram (every row) with the threshold;
    - roc_pr.png: ROC and precision-recall curves, when `data` has the label column
      (`label_col`, default the model's) holding both classes;
    - training.png: the per-epoch loss terms from the model's training history;
    - contributions.png, for the `rows` asked for (ids or row numbers, as in
      `explain_rows`): per row, the score split into its pieces' contributions and the
      columns with the largest contributions to its distance from a typical row's score.
    """
    data, out_dir = _existing_file(data), Path(out_dir)
    model, spec, label_col, targets = _prepare(model_dir, data, out_dir, label_col, force)
    table = _score_table(model, spec, data, label_col, chunk_rows, max_points, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "latent": _latent_figure(model, table, label_col),
        "scores": _scores_figure(model, table),
        "curves": _curves_figure(table),
        "training": _training_figure(model.history_),
    }
    written = {
        name: _save(figure, targets[name], replace=force)
        for name, figure in figures.items()
        if figure is not None
    }
    if rows:
        explained = explain_rows(model_dir, data, rows, by_id=by_id, chunk_rows=chunk_rows)
        target = targets["contributions"]
        written["contributions"] = _contributions(explained, target, replace=force)
    for name, target in targets.items():  # with force: no stale picture from an earlier run
        if name not in written:
            target.unlink(missing_ok=True)
    return written


def _prepare(
    model_dir: str | Path, data: Path, out_dir: Path, label_col: str | None, force: bool
) -> tuple[Any, Any, str | None, dict[str, Path]]:
    """Check the destination and the label column before any work; returns the model, its
    table description, the label column to read (None: none) and each picture's path."""
    if same_file(out_dir, data):
        raise ValueError(f"output {out_dir} is the input file {data}; choose a folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    model, spec = load_table_model(model_dir)
    present = table_columns(data)
    if label_col is not None:
        check_columns(data, [label_col], present)
    else:
        label_col = spec.label_col if spec.label_col in present else None
    targets = {name: out_dir / file for name, file in PLOT_FILES.items()}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{existing[0]} already exists; pass --force to replace it")
    return model, spec, label_col, targets


@dataclass
class _ScoredTable:
    """Every row's score (and label, where read); the latent means and most likely
    clusters of the first rows; the number of rows."""

    scores: np.ndarray
    labels: np.ndarray | None
    latent: np.ndarray
    clusters: np.ndarray
    n_rows: int


def _score_table(
    model: Any,
    spec: Any,
    data: Path,
    label_col: str | None,
    chunk_rows: int,
    max_points: int,
    progress: bool,
) -> _ScoredTable:
    """One pass over `data`, chunk by chunk, one mixture pass per chunk."""
    from tqdm.auto import tqdm

    columns = spec.read_columns() + ([label_col] if label_col else [])
    text = text_columns(spec, model)
    scores, labels, features = [], [], []
    kept = offset = 0
    with tqdm(total=count_rows(data), disable=not progress, desc="plot", unit="row") as bar:
        chunks = iter_chunks(
            data, columns, chunk_rows, text_columns=text, missing=spec.missing_markers
        )
        for frame in chunks:
            if len(frame) == 0:
                continue
            chunk_scores, chunk_features = model.score_and_transform(
                model_input(frame, spec, model, offset, data.name)
            )
            scores.append(chunk_scores)
            if label_col:
                labels.append(parse_labels(frame[label_col], label_col, offset, data.name)[0])
            features.append(chunk_features[: max(0, max_points - kept)])
            kept += len(features[-1])
            offset += len(frame)
            bar.update(len(frame))
    if offset == 0:
        raise ValueError(f"{data} has no rows to plot")
    kept_features = np.vstack(features)
    k = model.n_clusters_
    return _ScoredTable(
        scores=np.concatenate(scores),
        labels=np.concatenate(labels) if labels else None,
        latent=kept_features[:, k : k + model.config_.latent_dim],
        clusters=kept_features[:, :k].argmax(axis=1),
        n_rows=offset,
    )


def _latent_figure(model: Any, table: _ScoredTable, label_col: str | None) -> Any:
    """The latent means in 2-D (PCA), by cluster, flagged rows and labeled anomalies."""
    from matplotlib import colormaps
    from sklearn.decomposition import PCA

    figure = _figure(6.5, 5.5)
    ax = figure.add_subplot()
    latent = table.latent
    if latent.shape[1] >= 2:
        points = PCA(n_components=2, random_state=0).fit_transform(latent)
        ax.set_xlabel("PC 1 of z")
        ax.set_ylabel("PC 2 of z")
    else:
        points = np.column_stack([latent[:, 0], np.zeros(len(latent))])
        ax.set_xlabel("z0")
    tab10 = colormaps["tab10"]
    palette = [tab10(i) for i in range(10) if i != 3]  # red is kept for labeled anomalies
    for c in range(model.n_clusters_):
        mask = table.clusters == c
        if mask.any():
            colour = palette[c % len(palette)]
            ax.scatter(*points[mask].T, s=6, color=colour, alpha=0.5, label=f"cluster {c}")
    flagged = (table.scores > model.threshold_)[: len(points)]
    if flagged.any():
        ax.scatter(*points[flagged].T, s=30, facecolors="none", edgecolors="black",
                   linewidths=0.8, label="flagged (score > threshold)")  # fmt: skip
    labels = None if table.labels is None else table.labels[: len(points)]
    if labels is not None and labels.any():
        ax.scatter(*points[labels == 1].T, s=40, marker="x", color="red",
                   label=f"{label_col} = 1")  # fmt: skip
    n = table.n_rows
    note = f"first {len(points)} of {n} rows" if len(points) < n else f"{n} rows"
    ax.set_title(f"Latent space (PCA of z), {note}")
    ax.legend(loc="best", fontsize=7, markerscale=1.5)
    return figure


def _scores_figure(model: Any, table: _ScoredTable) -> Any:
    """The score histogram (log count), labeled anomalies apart, and the threshold."""
    scores, labels = table.scores, table.labels
    figure = _figure(6.5, 4.0)
    ax = figure.add_subplot()
    bins = np.histogram_bin_edges(scores, bins=60)
    ax.hist(scores, bins=bins, color="#4c72b0", alpha=0.7, label="all rows")
    if labels is not None and labels.any():
        ax.hist(scores[labels == 1], bins=bins, color="red", alpha=0.7, label="labeled anomalies")
    ax.axvline(model.threshold_, color="black", linestyle="--", label="threshold")
    ax.set_yscale("log")
    ax.set_xlabel("score (higher = more anomalous)")
    ax.set_ylabel("rows")
    flagged = int((scores > model.threshold_).sum())
    ax.set_title(f"Scores: {flagged} of {table.n_rows} rows above the threshold")
    ax.legend(fontsize=8)
    return figure


def _curves_figure(table: _ScoredTable) -> Any | None:
    """ROC and precision-recall curves, where the labels hold both classes."""
    labels, scores = table.labels, table.scores
    if labels is None or not 0 < labels.sum() < len(labels):
        return None
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    figure = _figure(10.0, 4.2)
    left, right = figure.subplots(1, 2)
    fpr, tpr, _ = roc_curve(labels, scores)
    left.plot(fpr, tpr, color="#4c72b0")
    left.plot([0, 1], [0, 1], color="grey", linestyle=":")
    left.set(xlabel="false positive rate", ylabel="true positive rate")
    left.set_title(f"ROC (AUROC {roc_auc_score(labels, scores):.3f})")
    precision, recall, _ = precision_recall_curve(labels, scores)
    right.plot(recall, precision, color="#dd8452")
    right.axhline(labels.mean(), color="grey", linestyle=":")
    right.set(xlabel="recall", ylabel="precision")
    right.set_title(f"Precision-recall (AUPRC {average_precision_score(labels, scores):.3f})")
    return figure


def _training_figure(history: dict[str, list]) -> Any | None:
    """The per-epoch loss terms, the training phases shaded; None without a history."""
    phases = history.get("phase", [])
    if not phases:
        return None
    figure = _figure(10.0, 6.0)
    axes = figure.subplots(2, 2, sharex=True).ravel()
    epochs = np.arange(1, len(phases) + 1)
    for ax, term in zip(axes, LOSS_TERMS, strict=True):
        values = np.array([np.nan if v is None else v for v in history.get(term, [])], dtype=float)
        start = 0
        for i in range(1, len(phases) + 1):
            if i == len(phases) or phases[i] != phases[start]:
                colour = PHASE_COLOURS.get(phases[start], "#eeeeee")
                ax.axvspan(start + 0.5, i + 0.5, color=colour, alpha=0.6, lw=0)
                start = i
        if len(values) == len(epochs) and np.isfinite(values).any():
            ax.plot(epochs, values, color="#333333", lw=1)
        ax.set_title(term)
        ax.set_xlabel("epoch")
    handles = [_patch(colour, phase) for phase, colour in PHASE_COLOURS.items() if phase in phases]
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    figure.suptitle("Training history (per-epoch means)")
    return figure


def _contributions(explained: list[dict[str, Any]], target: Path, *, replace: bool) -> Path:
    """One row of panels per explained row: its pieces' contributions (which add up to the
    score) and its top columns' contributions to its distance from a typical normal row's."""
    figure = _figure(10.0, 2.6 * len(explained))
    axes = figure.subplots(len(explained), 2, squeeze=False)
    for (left, right), r in zip(axes, explained, strict=True):
        name = f"row {r['row']}" + ("" if r["id"] is None else f" (id {r['id']})")
        _signed_bars(left, {p["piece"]: p["contribution"] for p in r["pieces"][::-1]})
        left.set_title(f"{name}: score {r['score']:.3g} = sum of the pieces", fontsize=9)
        _signed_bars(right, {c["column"]: c["contribution"] for c in r["top_columns"][::-1]})
        gap = r["score"] - r["reference_score"]
        right.set_title(f"columns' contributions to score - typical ({gap:+.3g})", fontsize=9)
    return _save(figure, target, replace=replace)


def _patch(colour: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def _signed_bars(ax: Any, values: dict[str, float]) -> None:
    """Horizontal bars, red for what raises the score and blue for what lowers it."""
    heights = list(values.values())
    ax.barh(list(values), heights, color=["#c44e52" if v > 0 else "#4c72b0" for v in heights])
    ax.axvline(0, color="grey", lw=0.8)
