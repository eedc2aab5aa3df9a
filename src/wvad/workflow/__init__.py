"""Table workflows behind the `wvad` command: fit on a file, score, explain, describe, plot.

Each operation is a plain function over file paths; `wvad.cli` is a thin layer over them.
A model folder written by `fit_table` holds the model (config.json + a weights file, see
`wvad.persistence`) and table.json: the label, id and feature columns, one-hot categories,
source file name and library versions.
"""

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
    "TableSpec",
    "explain_rows",
    "fit_table",
    "load_table_model",
    "model_card",
    "plot_model",
    "score_file",
]
