#!/usr/bin/env bash
# Large preset, stage 2: the default recipe's noise hook (../../local/noise.sh); run.sh passes
# --per-utt 8 (its --train-draws) for data/train_multi.
set -euo pipefail
exec ../../local/noise.sh "$@"
