#!/usr/bin/env bash
# The paper's benchmark grid: 3 ADBench datasets x 2 labeled ratios x 5 seeds x 18 models
# (WVAD default and paper preset, 9 ablations and earlier defaults, and 7 peers) = 540 cells.
#
# Resumable: rerun this script after an interruption and it continues where it stopped.
# Datasets come from $WVAD_DATA_DIR (or pass DATA_DIR=...). Parallel workers: JOBS=4 ...
# Usage: benchmarks/run_paper_grid.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python}"
JOBS="${JOBS:-1}"
OUT="${OUT:-runs/paper}"
data_dir=()
if [[ -n "${DATA_DIR:-}" ]]; then
    data_dir=(--data-dir "$DATA_DIR")
fi

"$PYTHON" -m wvad bench \
    --datasets letter ionosphere satellite \
    --ratios 0.1 0.05 \
    --seeds 0 1 2 3 4 \
    --models wvad wvad-paper devnet deepsad prenet feawad rosas xgbod iforest \
             ablations \
    --out "$OUT" \
    --jobs "$JOBS" \
    "${data_dir[@]}"

"$PYTHON" -m wvad report "$OUT"
