#!/usr/bin/env bash
# Stage 2: noise sources and the noisy sets (utils/noisy_sets.sh: train_multi, dev_multi,
# test_noisy). The embedded procedural noise by default (no download; babble from
# data/babble_talkers when stage 1 held out babble speakers with --babble-speakers); set
# SITOOL_NOISE_SOURCE=musan|demand|noisex and SITOOL_NOISE_ROOT for a noise corpus.
set -euo pipefail
exec utils/noisy_sets.sh --noise-source "${SITOOL_NOISE_SOURCE:-synth}" \
  --noise-root "${SITOOL_NOISE_ROOT:-}" "$@"
