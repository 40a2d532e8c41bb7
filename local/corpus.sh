#!/usr/bin/env bash
# Default recipe, stage 0: synthesise the articulatory corpus with VocalTractLab.
set -euo pipefail

corpus=corpus/synth        # output corpus dir
num_utts=150               # number of utterances (see sitool synth-corpus --help)
nj=2                       # synthesis worker processes
seed=1                     # random seed
log=exp/log/corpus.log     # log file
overwrite=false            # true: synthesise again from scratch

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

sitool --log-file "$log" synth-corpus --out "$corpus" --num-utts "$num_utts" --nj "$nj" \
  --seed "$seed" "${overwrite_flag[@]}"
