#!/usr/bin/env bash
# The runs behind docs/results.md, on the report half (docs/results.md names the halves):
#   report         8 tables x 10% and 5% labeled x seeds (10 under 2,000 rows, else 5)
#                  x the default, the paper preset and every peer
#   labels         8 tables x 1, 3, 5, 10, 25 labeled anomalies x seeds 0-4 x the default,
#                  the paper preset and the three strongest peers
#   known_normals  8 tables x 10% labeled, plain and with 1% / 5% of the normal training
#                  rows marked known normal, x the default
#   robustness     8 tables x 10% labeled x seeds 0-1, clean and under ADBench's
#                  corruptions, x the default and the strongest peers
# Each is resumable: rerun the script after an interruption and it continues where it
# stopped. Run it from a clean checkout of one commit: every row records that commit.
# Usage: benchmarks/run_report_half.sh [OUT_ROOT]   (default runs/; JOBS=2 workers)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs}"
JOBS="${JOBS:-2}"
W=(python -m wvad.cli bench --datasets report --jobs "$JOBS" --quiet)

"${W[@]}" --ratios 0.1 0.05 --seeds auto --models wvad wvad-paper peers --out "$OUT/report"
"${W[@]}" --labels 1 3 5 10 25 --seeds 0-4 --models wvad wvad-paper catboost devnet prenet \
    --out "$OUT/labels"
"${W[@]}" --ratios 0.1 --known-normals 0.01 0.05 --seeds auto --models wvad \
    --out "$OUT/known_normals"
"${W[@]}" --ratios 0.1 --seeds 0-1 --models wvad catboost devnet prenet xgbod \
    --corruptions wrong=0.05 wrong=0.1 wrong=0.25 dup=4 noise=0.5 \
    --out "$OUT/robustness"
for run in report labels known_normals robustness; do
    python -m wvad.cli report "$OUT/$run" --reference wvad
done
