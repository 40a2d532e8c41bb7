#!/usr/bin/env bash
# mngu0 recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail

corpus=corpus              # corpus root: run ./run.sh --corpus /path/to/mngu0
num_utts=0                 # (passed by run.sh; unused for a real corpus)
nj=2                       # (passed by run.sh; unused)
seed=1                     # (passed by run.sh; unused)
log=exp/log/corpus.log     # (passed by run.sh; unused)
overwrite=false            # (passed by run.sh; unused)

. utils/parse_options.sh

if [ ! -d "$corpus" ] || [ -z "$(find -L "$corpus" -name '*.ema' -print -quit)" ]; then
  cat >&2 <<EOF
$0: no mngu0 corpus at '$corpus' (no .ema EST Track files found).
  Obtain mngu0 (Richmond et al., CSTR Edinburgh; registration required):
  <root>/ema_basic_data/<utt>.ema (EST Track, 200 Hz), <root>/wav_16kHz/<utt>.wav,
  <root>/phone_labels/<utt>.lab.
  Then run: ./run.sh --corpus /path/to/mngu0   (see README.md and docs/corpora.md)
EOF
  exit 1
fi
echo "$0: mngu0 corpus at $corpus: $(find -L "$corpus" -name '*.ema' | wc -l) .ema EST Track files"
