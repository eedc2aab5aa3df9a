"""The analyst's loop on files: which rows to label next, and the answers back into a fit.

`suggest_file` scores a table with a fitted model and writes the rows most worth a look
(`wvad.suggest`), each with an empty `label` cell for the analyst and the reason it was
chosen. `merge_answers` reads such files back, filled in (anomaly / normal / empty, the
words `wvad fit` reads), so `wvad fit --answers` fits the next model on the table's own
labels and the answers together; an answer overrides the table's label for its row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wvad.checks import Int
from wvad.data.readers import _existing_file, _import_pandas
from wvad.suggest import DEFAULT_STRATEGY, REASON_STEPS
from wvad.workflow.operations import ROW_COLUMN
from wvad.workflow.tables import (
    AtomicTableWriter,
    TableSpec,
    check_columns,
    check_output_path,
    iter_chunks,
    model_input,
    parse_labels,
    table_columns,
    table_kind,
    text_columns,
)

__all__ = ["ANSWER_COLUMN", "SuggestSummary", "merge_answers", "suggest_file"]

#: The column of a suggestions file the analyst fills in.
ANSWER_COLUMN = "label"


@dataclass
class SuggestSummary:
    out: Path
    n_rows: int  # rows scored
    n_candidates: int  # rows without a label, either way
    n_suggested: int


def _scores_and_labeled(
    model: Any, spec: TableSpec, data: Path, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's score, whether its label cell (if the file has the model's label
    column) already says anomaly or normal, and its key (id, else row number)."""
    label = spec.label_col if spec.label_col in table_columns(data) else None
    columns = spec.read_columns(with_label=label is not None)
    text = text_columns(spec, model) + ([label] if label else [])
    chunks = iter_chunks(data, columns, chunk_rows, text_columns=text, missing=spec.missing_markers)
    scores, labeled, keys, offset = [], [], [], 0
    for frame in chunks:
        if len(frame) == 0:
            continue
        ids = frame[spec.id_col] if spec.id_col else np.arange(offset, offset + len(frame))
        keys.append(np.asarray(ids, dtype=object))
        scores.append(model.decision_function(model_input(frame, spec, model, offset, data.name)))
        if label:
            y, normal = parse_labels(frame[label], label, offset, data.name)
            labeled.append((y == 1) | normal)
        else:
            labeled.append(np.zeros(len(frame), dtype=bool))
        offset += len(frame)
    if not scores:
        raise ValueError(f"{data} has no rows to choose from")
    return np.concatenate(scores), np.concatenate(labeled), np.concatenate(keys)


def suggest_file(
    model_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n: int = 20,
    strategy: str = DEFAULT_STRATEGY,
    answers: Sequence[str | os.PathLike[str]] = (),
    chunk_rows: int = 100_000,
    force: bool = False,
) -> SuggestSummary:
    """Write the `n` rows of `data` most worth an analyst's look to `out` (CSV or Parquet),
    in the order to ask: id (or row number), an empty `label` to fill in, score,
    uncertainty, why it was chosen and the column that sets it most apart, with its value
    and share. Rows whose label cell already says anomaly or normal, or that an `answers`
    file (an earlier round's, filled in) answers, are not suggested."""
    from wvad.suggest import STRATEGY, choose_rows, leading_columns, uncertainty
    from wvad.workflow.operations import _select, load_table_model

    n, strategy = Int(1).check("n", n), STRATEGY.check("strategy", strategy)
    data, out = _existing_file(data), Path(out)
    table_kind(out)
    check_output_path(out, [data], force=force)
    model, spec = load_table_model(model_dir)
    scores, labeled, keys = _scores_and_labeled(model, spec, data, chunk_rows)
    if answers:
        none = np.zeros(len(scores), dtype=np.int64)
        y, normal = merge_answers(answers, keys, none, np.zeros(len(scores), bool), spec.id_col)
        labeled |= (y == 1) | normal
    n_labels = int(model.n_labeled_) + int(model.n_known_normal_)
    gap = np.abs(scores - model.threshold_)
    chosen = choose_rows(scores, gap, ~labeled, n, strategy, n_labels)
    rows = [c.row for c in chosen]
    frame, _ = _select(data, spec, text_columns(spec, model), rows, False, chunk_rows)
    explained = model.explain(model_input(frame, spec, model, 0, data.name), steps=REASON_STEPS)
    columns, shares = leading_columns(explained, len(rows))
    pd = _import_pandas()
    key = spec.id_col or ROW_COLUMN
    table = pd.DataFrame(
        {
            key: frame[spec.id_col].to_numpy() if spec.id_col else np.asarray(rows),
            ANSWER_COLUMN: "",
            "score": scores[rows],
            "uncertainty": uncertainty(scores[rows], model.threshold_, model.decision_scores_),
            "why": [c.why for c in chosen],
            "column": columns,
            "value": [frame[c].iloc[i] for i, c in enumerate(columns)],
            "share": shares,
        }
    )
    with AtomicTableWriter(out, replace=force) as writer:
        writer.write(table)
    return SuggestSummary(out, len(scores), int((~labeled).sum()), len(rows))


def merge_answers(
    answers: Sequence[str | os.PathLike[str]],
    keys: Any,
    y: np.ndarray,
    normal: np.ndarray,
    key_name: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """`y` and the known normal mask with each answer file's filled `label` cells applied
    to the rows they name (by `key_name`, the id column, else by row number): "anomaly" ->
    known anomaly, "normal" -> known normal, empty -> unchanged."""
    y, normal = y.copy(), normal.copy()
    position = {str(k): i for i, k in enumerate(keys)}
    for path in answers:
        path = _existing_file(path)
        key = key_name or ROW_COLUMN
        check_columns(path, [key, ANSWER_COLUMN], table_columns(path))
        frame = next(iter_chunks(path, [key, ANSWER_COLUMN], 10**9, text_columns=[key]))
        yes, no = parse_labels(frame[ANSWER_COLUMN], ANSWER_COLUMN, 0, path.name)
        unknown = [str(k) for k in frame[key] if str(k) not in position]
        if unknown:
            raise ValueError(
                f"{path.name} names {len(unknown)} row(s) not in the table, such as "
                f"{key} {unknown[0]!r}"
            )
        rows = np.array([position[str(k)] for k in frame[key]], dtype=np.int64)
        answered = (yes == 1) | no
        y[rows[answered]] = yes[answered]
        normal[rows[answered]] = no[answered]
    return y, normal
