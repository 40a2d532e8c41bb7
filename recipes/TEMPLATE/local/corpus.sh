#!/usr/bin/env bash
# Stage 0: check that the corpus is there, in the generic format (docs/new_corpus.md):
#   <corpus>/generic.yaml, <corpus>/wav/<utt>.wav, <corpus>/targets/<utt>.csv (or .npy).
# Replace this with a download / conversion step if your corpus needs one.
set -euo pipefail

corpus=corpus              # corpus root: run ./run.sh --corpus /path/to/my_corpus
num_utts=0                 # (passed by run.sh; unused)
nj=2                       # (passed by run.sh; unused)
seed=1                     # (passed by run.sh; unused)
log=exp/log/corpus.log     # (passed by run.sh; unused)
overwrite=false            # (passed by run.sh; unused)

. utils/parse_options.sh

if [ ! -f "$corpus/generic.yaml" ]; then
  cat >&2 <<EOM
$0: no generic.yaml in '$corpus'.
  Put your corpus in the generic layout (docs/new_corpus.md):
    $corpus/generic.yaml          frame_rate, units (and optionally columns, speaker_pattern, ...)
    $corpus/wav/<utt>.wav         audio
    $corpus/targets/<utt>.csv     one row per frame, header row naming the columns
  or write your own local/data.sh; then: ./run.sh --corpus /path/to/my_corpus
EOM
  exit 1
fi
echo "$0: generic corpus at $corpus: $(find -L "$corpus" -name '*.wav' | wc -l) audio files"
