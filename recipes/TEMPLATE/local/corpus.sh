#!/usr/bin/env bash
# Stage 0: check that the corpus is there, in the generic format (docs/new_corpus.md).
# Replace this with a download / conversion step if your corpus needs one.
set -euo pipefail
exec utils/find_corpus.sh --name generic --pattern generic.yaml --what "generic.yaml" --obtain "\
Put your corpus in the generic layout (docs/new_corpus.md):
  <corpus>/generic.yaml          frame_rate, units (and optionally columns, speaker_pattern, ...)
  <corpus>/wav/<utt>.wav         audio
  <corpus>/targets/<utt>.csv     one row per frame, header row naming the columns
or write your own local/data.sh." "$@"
