#!/usr/bin/env bash
# USC-TIMIT recipe, stage 1: the corpus -> data/{train,dev,test} (tract variables + source
# features at 100 Hz), validated. Split and options: docs/corpora.md.
set -euo pipefail
exec utils/prepare_data.sh --reader usctimit --targets tv "$@"
