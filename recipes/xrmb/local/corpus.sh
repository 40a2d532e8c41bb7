#!/usr/bin/env bash
# Wisconsin X-ray Microbeam (XRMB) recipe, stage 0: locate the corpus (sitool does not download it).
set -euo pipefail

corpus=corpus              # corpus root: run ./run.sh --corpus /path/to/xrmb
num_utts=0                 # (passed by run.sh; unused for a real corpus)
nj=2                       # (passed by run.sh; unused)
seed=1                     # (passed by run.sh; unused)
log=exp/log/corpus.log     # (passed by run.sh; unused)
overwrite=false            # (passed by run.sh; unused)

. utils/parse_options.sh

if [ ! -d "$corpus" ] || [ -z "$(find -L "$corpus" -name '*.txy' -print -quit)" ]; then
  cat >&2 <<EOF
$0: no Wisconsin X-ray Microbeam (XRMB) corpus at '$corpus' (no .txy pellet files found).
  Obtain the University of Wisconsin X-ray Microbeam Speech Production Database
  (Westbury 1994) from its distributor, converted to per-task text files:
  <root>/<speaker>/<speaker>_<task>.txy (time us, then x y um of UL LL T1 T2 T3 T4 MNI MNM)
  beside <speaker>_<task>.wav, and optionally <root>/<speaker>/PAL.DAT (palate trace).
  Then run: ./run.sh --corpus /path/to/xrmb   (see README.md and docs/corpora.md)
EOF
  exit 1
fi
echo "$0: Wisconsin X-ray Microbeam (XRMB) corpus at $corpus: $(find -L "$corpus" -name '*.txy' | wc -l) .txy pellet files"
