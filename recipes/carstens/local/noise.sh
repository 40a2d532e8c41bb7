#!/usr/bin/env bash
# Carstens AG500/AG501 recipe, stage 2: noise sources and the noisy sets (utils/noisy_sets.sh). MUSAN by default:
# ./run.sh --corpus ... with SITOOL_NOISE_ROOT=/path/to/musan (or SITOOL_NOISE_SOURCE=demand,
# noisex, or synth for the embedded procedural noise, no download).
set -euo pipefail
exec utils/noisy_sets.sh --noise-source "${SITOOL_NOISE_SOURCE:-musan}" \
  --noise-root "${SITOOL_NOISE_ROOT:-}" "$@"
