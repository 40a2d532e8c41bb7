#!/usr/bin/env bash
# Large preset, stage 0: the default recipe's corpus hook (../../local/corpus.sh) with 27
# speakers: 12 train, 3 dev, 6 test, 6 babble talkers (run.sh --num-utts 162: 6 each).
# --state-step 1: every tract state, as when the preset's reports (docs/) were measured.
set -euo pipefail
exec ../../local/corpus.sh --speakers 12,3,6,6 --state-step 1 "$@"
