"""Table workflows behind the `wvad` command: fit on a file, score, explain, describe, plot.

Each operation is a plain function over file paths; `wvad.cli` is a thin layer over them.
A model folder written by `fit_table` holds the model (config.json + a weights file, see
`wvad.persistence`) and table.json: the label, id and feature columns, missing markers,
source file name and library versions. `suggest_file` and `merge_answers` are the analyst's
loop (`wvad.workflow.labelling`).
"""

from wvad.workflow.labelling import SuggestSummary, merge_answers, suggest_file
from wvad.workflow.operations import (
    DEFAULT_CHUNK_ROWS,
    FitResult,
    ScoreSummary,
    explain_rows,
    fit_table,
    load_table_model,
    model_card,
    score_file,
)
from wvad.workflow.plots import plot_model
from wvad.workflow.tables import SPEC_FILE, TableSpec

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "SPEC_FILE",
    "FitResult",
    "ScoreSummary",
    "SuggestSummary",
    "TableSpec",
    "explain_rows",
    "fit_table",
    "load_table_model",
    "merge_answers",
    "model_card",
    "plot_model",
    "score_file",
    "suggest_file",
]
