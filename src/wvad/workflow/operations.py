"""The command line's operations as plain functions: fit, score, explain and describe a model.

Each takes file paths and returns plain data; `wvad.cli` only parses arguments and prints.
"""

from __future__ import annotations

import math
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wvad.config import CONFIG_FIELDS
from wvad.data.readers import _existing_file, _import_pandas
from wvad.presets import preset_name
from wvad.workflow.tables import (
    MISSING_MARKERS,
    SPEC_FILE,
    AtomicTableWriter,
    TableSpec,
    as_text,
    check_columns,
    check_output_path,
    count_rows,
    is_categorical,
    iter_chunks,
    model_input,
    numeric_column,
    parse_labels,
    same_file,
    table_columns,
    table_kind,
    text_columns,
)

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FitResult",
    "ScoreSummary",
    "explain_rows",
    "fit_table",
    "load_table_model",
    "model_card",
    "score_file",
]

DEFAULT_CHUNK_ROWS = 100_000
SCORE_COLUMNS = ("score", "predicted", "cluster")
ROW_COLUMN = "row"


@dataclass
class FitResult:
    model: Any
    spec: TableSpec
    model_dir: Path


@dataclass
class ScoreSummary:
    out: Path
    n_rows: int
    n_flagged: int
    threshold: float


def _versions() -> dict[str, str]:
    import sklearn
    import torch

    from wvad import __version__

    versions = {
        "wvad": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
    }
    for name in ("pandas", "pyarrow"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = module.__version__
    return versions


# -- fit --------------------------------------------------------------------------------------
def fit_table(
    data: str | Path,
    label_col: str,
    out: str | Path,
    *,
    id_col: str | None = None,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    missing: Sequence[str] = MISSING_MARKERS,
    answers: Sequence[str | Path] = (),
    preset: str | None = None,
    settings: Mapping[str, Any] | None = None,
    warm_from: str | Path | None = None,
    random_state: int = 0,
    contamination: float = 0.1,
    recall: float | None = None,
    force: bool = False,
    progress: bool = False,
) -> FitResult:
    """Fit WVAD on a CSV or Parquet table and save it, with table.json, to the folder `out`.

    `label_col` holds 1 (or "anomaly", "yes", ...) for known anomalies, 0 (or "normal",
    "no", ...) for known normal rows, and is empty for unlabeled rows. Features are
    `features` or every column but the label and id columns. A column most of whose cells
    are not numbers is a category, and so is every column in `categorical` (numeric codes);
    the others are numbers, where a cell equal to one of `missing` is a missing value and
    any other text is refused by its row. The model encodes both (`wvad.encoding`).
    `answers` are files written by `wvad suggest` and filled in by an analyst: their labels
    override the table's for the rows they name (`wvad.workflow.labelling.merge_answers`).
    `settings` overrides the preset's (default "default") `Config` fields by name (`WVAD`'s
    parameters of the same names). `warm_from`, a model folder fitted on a table of the same
    columns, is continued instead (`WVAD`'s `warm_start`: its mixture trains on from where
    it was, every other piece refits), with its own preset and settings. `recall` sets the
    threshold to flag that share of the known anomalies scored as held out (WVAD's
    `threshold`) instead of the `contamination` quantile.
    """
    data, out = _existing_file(data), Path(out)
    _check_fit_destination(data, out, force)
    features = _feature_columns(data, label_col, id_col, features)
    if warm_from is None:
        preset = preset or "default"
        model = _configured_model(preset, settings, random_state, contamination, recall, progress)
    else:
        model, preset = _continued_model(warm_from, preset, settings)
        model.set_params(
            random_state=random_state,
            contamination=contamination,
            threshold=_threshold_rule(recall),
            verbose=progress,
        )
    check_columns(data, list(categorical), features)
    frame, y, normal = _read_labeled_table(data, label_col, id_col, features, categorical, missing)
    if answers:
        from wvad.workflow.labelling import merge_answers

        keys = frame[id_col].to_numpy() if id_col else np.arange(len(frame))
        y, normal = merge_answers(answers, keys, y, normal, id_col)
    spec = _table_spec(frame, data, features, label_col, id_col, y, normal, preset)
    spec.missing_markers = list(missing)
    X = _fit_input(frame, features, categorical, data.name)
    del frame
    model.fit(X, y, known_normal=normal)
    spec.versions = _versions()
    from wvad.archive import save_wvad

    save_wvad(model, out, overwrite=force, documents={SPEC_FILE: spec.document()})
    return FitResult(model=model, spec=spec, model_dir=out)


def _check_fit_destination(data: Path, out: Path, force: bool) -> None:
    table_kind(data)
    if same_file(out, data):
        raise ValueError(f"output {out} is the input file {data}; choose another folder")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} already exists and is not empty; pass --force to replace it")


def _feature_columns(
    data: Path, label_col: str, id_col: str | None, features: Sequence[str] | None
) -> list[str]:
    """The feature columns: as given (checked) or every column but the label and id."""
    present = table_columns(data)
    check_columns(data, [label_col] + ([id_col] if id_col else []), present)
    if id_col == label_col:
        raise ValueError(f"{label_col!r} cannot be both the label and the id column")
    if features is None:
        features = [c for c in present if c not in (label_col, id_col)]
    else:
        features = list(dict.fromkeys(features))
        check_columns(data, features, present)
        for role, column in (("label", label_col), ("id", id_col)):
            if column in features:
                raise ValueError(f"the {role} column {column!r} is also listed as a feature")
    if not features:
        raise ValueError(f"{data.name} has no feature columns besides the label and id")
    return features


def _configured_model(
    preset: str,
    settings: Mapping[str, Any] | None,
    random_state: int,
    contamination: float,
    recall: float | None,
    progress: bool,
) -> Any:
    """The unfitted WVAD, its settings checked before the table is read."""
    from wvad.estimator import WVAD

    unknown = sorted(set(settings or {}) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; the settings are {list(CONFIG_FIELDS)}")
    model = WVAD.from_preset(
        preset,
        random_state=random_state,
        contamination=contamination,
        threshold=_threshold_rule(recall),
        verbose=progress,
        **(settings or {}),
    )
    model.get_config()
    return model


def _threshold_rule(recall: float | None) -> str | float:
    """WVAD's `threshold`: the contamination quantile, or the target recall given."""
    return "contamination" if recall is None else recall


def _continued_model(
    warm_from: str | Path, preset: str | None, settings: Mapping[str, Any] | None
) -> tuple[Any, str]:
    """The fitted model in folder `warm_from`, set to warm-start, and its preset; refused
    with other settings (they could change the network it continues) but `warm_epochs`."""
    others = sorted(set(settings or {}) - {"warm_epochs"})
    if others:
        raise ValueError(
            f"a warm start continues {warm_from} with its own settings; "
            f"drop the settings given ({others}; only warm_epochs may be set)"
        )
    model, spec = load_table_model(warm_from)
    if preset is not None and preset != spec.preset:
        raise ValueError(
            f"a warm start continues {warm_from}, fitted with preset {spec.preset!r}; "
            f"got preset {preset!r}"
        )
    model.set_params(warm_start=True, **(settings or {}))
    return model, spec.preset or "default"


def _read_labeled_table(
    data: Path,
    label_col: str,
    id_col: str | None,
    features: list[str],
    categorical: Sequence[str],
    missing: Sequence[str],
) -> tuple[Any, np.ndarray, np.ndarray]:
    """The table, its weak labels and its known normal mask (label cells read as text)."""
    text = [id_col] if id_col else []
    columns = [*text, *features, label_col]
    text += [*categorical, label_col]
    frames = list(iter_chunks(data, columns, 1_000_000, text_columns=text, missing=missing))
    pd = _import_pandas()
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frame) == 0:
        raise ValueError(f"{data} has no rows")
    y, normal = parse_labels(frame[label_col], label_col, 0, data.name)
    if not y.any():
        raise ValueError(
            f"label column {label_col!r} in {data.name} has no 1s; "
            "at least one known anomaly is needed"
        )
    return frame, y, normal


def _table_spec(
    frame: Any,
    data: Path,
    features: list[str],
    label_col: str,
    id_col: str | None,
    y: np.ndarray,
    normal: np.ndarray,
    preset: str,
) -> TableSpec:
    """What the command line will know of the table: its columns and labels."""
    return TableSpec(
        input_columns=list(features),
        features=list(features),
        label_col=label_col,
        id_col=id_col,
        source=data.name,
        n_rows=len(frame),
        n_labeled=int(y.sum()),
        n_known_normal=int(normal.sum()),
        preset=preset,
    )


def _fit_input(frame: Any, features: list[str], categorical: Sequence[str], source: str) -> Any:
    """The feature columns as the model reads them: categories (a column mostly of text,
    or named in `categorical`) as text, the others as numbers with missing values."""
    pd = _import_pandas()
    columns = {}
    for column in features:
        series = frame[column]
        if column in categorical or is_categorical(series):
            columns[column] = as_text(series).to_numpy(dtype=object)
        else:
            columns[column] = numeric_column(series, column, 0, source, allow_missing=True)
    return pd.DataFrame(columns, index=range(len(frame)))


def load_table_model(model_dir: str | Path) -> tuple[Any, TableSpec]:
    """The model and its table description (checked with the model's files); errors name
    what is wrong with the folder."""
    from wvad.archive import load_wvad
    from wvad.estimator import WVAD

    model_dir = Path(model_dir)
    model, documents = load_wvad(WVAD, model_dir, "cpu")
    return model, TableSpec.from_document(documents.get(SPEC_FILE), model, model_dir)


# -- score ------------------------------------------------------------------------------------
def _id_values(frame: Any, spec: TableSpec, offset: int) -> tuple[str, Any]:
    if spec.id_col:
        return spec.id_col, frame[spec.id_col].to_numpy()
    return ROW_COLUMN, np.arange(offset, offset + len(frame), dtype=np.int64)


def score_file(
    model_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    force: bool = False,
    progress: bool = False,
) -> ScoreSummary:
    """Score every row of `data` and write id, score, predicted and cluster to `out`.

    Reads and writes `chunk_rows` rows at a time; the output (CSV, or Parquet by suffix) is
    written to a temporary file beside `out` and moved into place at the end, so a failed or
    interrupted run leaves no partial output. The id is the model's id column when it was
    fitted with one, else the 0-based row number (column "row").
    """
    from tqdm.auto import tqdm

    data, out = _existing_file(data), Path(out)
    table_kind(out)
    check_output_path(out, [data], force=force)
    model, spec = load_table_model(model_dir)
    text = text_columns(spec, model)
    pd = _import_pandas()
    n_rows = n_flagged = 0
    chunks = iter_chunks(
        data, spec.read_columns(), chunk_rows, text_columns=text, missing=spec.missing_markers
    )
    with (
        tqdm(total=count_rows(data), disable=not progress, desc="score", unit="row") as bar,
        AtomicTableWriter(out, replace=force) as writer,
    ):
        for frame in chunks:
            if len(frame) == 0:  # a file of a header alone
                continue
            X = model_input(frame, spec, model, n_rows, data.name)
            scores, features = model.score_and_transform(X)
            predicted = (scores > model.threshold_).astype(np.int64)
            id_name, ids = _id_values(frame, spec, n_rows)
            result = pd.DataFrame(
                {
                    id_name: ids,
                    "score": scores,
                    "predicted": predicted,
                    "cluster": features[:, : model.n_clusters_].argmax(axis=1),
                }
            )
            writer.write(result)
            n_rows += len(frame)
            n_flagged += int(predicted.sum())
            bar.update(len(frame))
        if n_rows == 0:
            raise ValueError(f"{data} has no rows to score")
    return ScoreSummary(out=out, n_rows=n_rows, n_flagged=n_flagged, threshold=model.threshold_)


# -- explain ----------------------------------------------------------------------------------
def _select(
    data: Path,
    spec: TableSpec,
    text: list[str],
    rows: Sequence[Any],
    by_id: bool,
    chunk_rows: int,
) -> tuple[Any, np.ndarray]:
    """The chosen rows (as a DataFrame) and their 0-based row numbers, in the order asked."""
    pd = _import_pandas()
    if by_id:
        asked: list[Any] = [str(r) for r in rows]
    else:
        try:
            asked = [int(r) for r in rows]
        except (TypeError, ValueError):
            raise ValueError(f"rows must be 0-based row numbers; got {list(rows)!r}") from None
        if min(asked) < 0:
            raise ValueError(f"row numbers start at 0; got {min(asked)}")
    wanted = set(asked)
    picked, numbers, offset = [], [], 0
    chunks = iter_chunks(
        data, spec.read_columns(), chunk_rows, text_columns=text, missing=spec.missing_markers
    )
    for frame in chunks:
        index = np.arange(offset, offset + len(frame))
        by_key = frame[spec.id_col].isin(wanted).to_numpy() if by_id else None
        mask = by_key if by_key is not None else np.isin(index, list(wanted))
        if mask.any():
            picked.append(frame[mask])
            numbers.append(index[mask])
        offset += len(frame)
    if not picked:
        found, numbers = None, np.empty(0, dtype=np.int64)
        keys: list[Any] = []
    else:
        found, numbers = pd.concat(picked, ignore_index=True), np.concatenate(numbers)
        keys = found[spec.id_col].tolist() if by_id else numbers.tolist()
    missing = [key for key in asked if key not in set(keys)]
    if missing:
        what = f"id(s) in column {spec.id_col!r}" if by_id else f"row number(s) (it has {offset})"
        raise ValueError(f"{data.name} has no {what}: {', '.join(map(str, missing[:5]))}")
    positions = [i for key in dict.fromkeys(asked) for i, k in enumerate(keys) if k == key]
    return found.iloc[positions].reset_index(drop=True), numbers[positions]


def _per_input_column(shares: Any, spec: TableSpec) -> list[tuple[str, float]]:
    """Per input column: the model's shares (by its source column), one-hot columns of a
    model from before its own encoding summed back to their column."""
    values, out, j = shares.to_numpy(), [], 0
    for column in spec.input_columns:
        width = len(spec.one_hot[column]) if column in spec.one_hot else 1
        out.append((column, float(values[j : j + width].sum())))
        j += width
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def explain_rows(
    model_dir: str | Path,
    data: str | Path,
    rows: Sequence[Any],
    *,
    by_id: bool | None = None,
    top: int = 5,
    steps: int = 32,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> list[dict[str, Any]]:
    """Why each chosen row scores as it does, in terms of the score that is used.

    `rows` are ids when the model has an id column (by_id=None or True), else 0-based row
    numbers. Each result holds the score, its rank among the training scores and the
    threshold; the score split into its pieces' contributions (largest first; they add up
    to the score, `WVAD.explain`); the `top` input columns by their contribution to the
    score's difference from the reference row's (one-hot columns summed per source column;
    "share" is the signed fraction of all columns' absolute contributions,
    "columns_abs_total"), with the method of each piece's column shares; and, as context,
    the mixture's view of the row (its most likely cluster and the features f_e, f_r, f_c).
    """
    if not rows:
        raise ValueError("choose at least one row to explain")
    if top < 1:
        raise ValueError(f"top must be at least 1; got {top}")
    data = _existing_file(data)
    model, spec = load_table_model(model_dir)
    if by_id is None:
        by_id = spec.id_col is not None
    if by_id and spec.id_col is None:
        raise ValueError("the model was fitted without an id column; select rows by number")
    frame, numbers = _select(data, spec, text_columns(spec, model), rows, by_id, chunk_rows)
    X = model_input(frame, spec, model, 0, data.name)
    scores, features = model.score_and_transform(X)
    table = model.explain(X, steps=steps)
    train = np.sort(model.decision_scores_)
    context = (model, spec, frame, table, train, top)
    return [
        _row_explanation(*context, i, int(numbers[i]), float(scores[i]), features[i])
        for i in range(len(frame))
    ]


def _row_explanation(
    model: Any,
    spec: TableSpec,
    frame: Any,
    table: Any,
    train: np.ndarray,
    top: int,
    i: int,
    number: int,
    score: float,
    features: np.ndarray,
) -> dict[str, Any]:
    """Row i's explanation (see `explain_rows`) from the explain table of all rows."""
    mine = table[table.row == i]
    pieces = mine[mine.part == "piece"].sort_values("value", key=np.abs, ascending=False)
    shares = mine[mine.part == "column"].groupby("column", sort=False).value.sum()
    per_column = _per_input_column(shares.reindex(list(model.encoder_.source_names)), spec)
    per_column.sort(key=lambda item: -abs(item[1]))
    total = sum(abs(v) for _, v in per_column) or 1.0
    y = features[: model.n_clusters_]
    return {
        "row": number,
        "id": _plain(frame[spec.id_col].iloc[i]) if spec.id_col else None,
        "score": score,
        "threshold": float(model.threshold_),
        "predicted": int(score > model.threshold_),
        "training_percentile": float(
            100.0 * np.searchsorted(train, score, side="left") / len(train)
        ),
        "pieces": [
            {"piece": p, "contribution": float(v)}
            for p, v in zip(pieces.piece, pieces.value, strict=True)
        ],
        "reference_score": float(mine[mine.part == "reference"].value.sum()),
        "columns_abs_total": total,
        "top_columns": [
            {"column": c, "value": _plain(frame[c].iloc[i]), "contribution": v, "share": v / total}
            for c, v in per_column[:top]
        ],
        "methods": mine[mine.part == "column"].groupby("piece").method.first().to_dict(),
        "cluster": int(y.argmax()),
        "cluster_probability": float(y.max()),
        "features": {
            "f_e": float(features[-3]) + 0.0,  # no "-0" for a certain cluster
            "f_r": float(features[-2]),
            "f_c": float(features[-1]),
        },
    }


# -- info -------------------------------------------------------------------------------------
def _categories(model: Any, spec: TableSpec) -> dict[str, list[str]]:
    """Each categorical column's categories as the model reads them (this side's one-hot
    categories for a model from before its own encoding)."""
    if spec.one_hot:
        return dict(spec.one_hot)
    return {
        code.name: [*code.categories, *(["(other)"] if code.other else [])]
        for code in model.encoder_.codes
        if code.kind == "category"
    }


def _epochs_run(history: dict[str, list]) -> dict[str, int]:
    """The epochs each training phase ran, in order: what the fit did, which the settings
    alone do not say (`epoch_rows` shortens phases; a warm start runs only "warm")."""
    phases = history.get("phase", [])
    return {phase: phases.count(phase) for phase in dict.fromkeys(phases)}


def model_card(model_dir: str | Path) -> dict[str, Any]:
    """What a fitted model is: its data, labels, clusters, threshold, timing and settings."""
    import json

    model_dir = Path(model_dir)
    model, spec = load_table_model(model_dir)
    saved = json.loads((model_dir / "config.json").read_text())
    versions = {"wvad": saved.get("wvad_version"), "torch": saved.get("torch_version")}
    versions.update(spec.versions)
    params = saved.get("params", {})
    config = model.config_.to_dict()
    return {
        "model_dir": str(model_dir),
        "has_table_description": (model_dir / SPEC_FILE).is_file(),
        "source": spec.source,
        "n_rows": int(model.n_samples_fit_),
        "n_features": int(model.n_features_in_),
        "input_columns": spec.input_columns,
        "features": spec.features,
        "n_model_columns": len(model.encoder_.encoded_names()),
        "categories": _categories(model, spec),
        "missing_filled": {
            code.name: code.fill
            for code in model.encoder_.codes
            if code.flags_missing and code.kind == "number"
        },
        "missing_markers": spec.missing_markers,
        "label_col": spec.label_col,
        "id_col": spec.id_col,
        "n_labeled": int(model.n_labeled_),
        "n_known_normal": int(model.n_known_normal_),
        "n_unlabeled": int(model.n_samples_fit_ - model.n_labeled_ - model.n_known_normal_),
        "n_clusters": int(model.n_clusters_),
        "threshold": float(model.threshold_),
        "contamination": float(params.get("contamination", model.contamination)),
        "threshold_rule": params.get("threshold", model.threshold),
        "flagged_share": float(model.flagged_share_),
        "score_mode": model.score_mode_,
        "score_weights": model.score_weights(),
        "branch_ginis": dict(model.score_.ginis),
        "labels_to_recheck": model.labels_to_recheck()[["row", "mean_rank"]].to_dict("records"),
        "labels_set_aside": [int(r) for r in model.labels_set_aside_],
        "fit_seconds": float(model.fit_seconds_),
        "epochs_run": _epochs_run(model.history_),
        "seed": model.seed_,
        "preset": spec.preset or preset_name(model.config_) or "custom",
        "config": config,
        "versions": versions,
    }
