#!/usr/bin/env bash
# Default recipe, stage 2: the embedded noise (procedural types + babble of the held-out
# synthetic talkers) and the noisy sets. Options: see utils/noisy_sets.sh; anything given
# here or by run.sh is passed on.
set -euo pipefail
exec utils/noisy_sets.sh --noise-source synth "$@"
