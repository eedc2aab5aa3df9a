"""Benchmark grid: run detectors over datasets x label ratios x seeds, then report.

`run_grid` writes one JSON line per finished cell to `results.jsonl` and resumes where an
interrupted run stopped; `write_report` turns that file into `report.md` and PNG plots.
"""

from wvad.bench.models import MODEL_NAMES, make_model
from wvad.bench.report import write_report
from wvad.bench.runner import run_grid

__all__ = ["MODEL_NAMES", "make_model", "run_grid", "write_report"]
