#!/usr/bin/env bash
# Carstens AG500/AG501 recipe, stage 1: the recordings -> data/{train,dev,test} (tract
# variables + source features at 100 Hz) with the mapping in <corpus>/carstens.yaml,
# validated. Split and options: docs/corpora.md.
set -euo pipefail
exec utils/prepare_data.sh --reader carstens --targets tv "$@"
