#!/usr/bin/env bash
# MOCHA-TIMIT recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail

corpus=corpus              # corpus root: run ./run.sh --corpus /path/to/mocha
num_utts=0                 # (passed by run.sh; unused for a real corpus)
nj=2                       # (passed by run.sh; unused)
seed=1                     # (passed by run.sh; unused)
log=exp/log/corpus.log     # (passed by run.sh; unused)
overwrite=false            # (passed by run.sh; unused)

. utils/parse_options.sh

if [ ! -d "$corpus" ] || [ -z "$(find -L "$corpus" -name '*.ema' -print -quit)" ]; then
  cat >&2 <<EOF
$0: no MOCHA-TIMIT corpus at '$corpus' (no .ema EST Track files found).
  Obtain MOCHA-TIMIT from CSTR, University of Edinburgh:
  <root>/<speaker>_v1.1/<speaker>_<nnn>.{ema,wav,lab} (EMA at 500 Hz, EST Track format).
  Then run: ./run.sh --corpus /path/to/mocha   (see README.md and docs/corpora.md)
EOF
  exit 1
fi
echo "$0: MOCHA-TIMIT corpus at $corpus: $(find -L "$corpus" -name '*.ema' | wc -l) .ema EST Track files"
