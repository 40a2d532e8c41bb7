#!/usr/bin/env bash
# Haskins Production Rate Comparison (HPRC) recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail

corpus=corpus              # corpus root: run ./run.sh --corpus /path/to/hprc
num_utts=0                 # (passed by run.sh; unused for a real corpus)
nj=2                       # (passed by run.sh; unused)
seed=1                     # (passed by run.sh; unused)
log=exp/log/corpus.log     # (passed by run.sh; unused)
overwrite=false            # (passed by run.sh; unused)

. utils/parse_options.sh

if [ ! -d "$corpus" ] || [ -z "$(find -L "$corpus" -name '*.mat' -print -quit)" ]; then
  cat >&2 <<EOF
$0: no Haskins Production Rate Comparison (HPRC) corpus at '$corpus' (no .mat sentence files found).
  Obtain the Haskins IEEE rate comparison database (Tiede et al.) from Haskins
  Laboratories: <root>/<speaker>/data/<speaker>_B01_S01_R01_N.mat (one struct array
  per sentence: AUDIO at 44.1 kHz, sensors TR TB TT UL LL ML JAW JAWL at 100 Hz).
  Then run: ./run.sh --corpus /path/to/hprc   (see README.md and docs/corpora.md)
EOF
  exit 1
fi
echo "$0: Haskins Production Rate Comparison (HPRC) corpus at $corpus: $(find -L "$corpus" -name '*.mat' | wc -l) .mat sentence files"
