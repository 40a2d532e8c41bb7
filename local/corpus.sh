#!/usr/bin/env bash
# Default recipe, stage 0: synthesise the articulatory corpus with VocalTractLab.
set -euo pipefail

corpus=corpus/synth        # output corpus dir
num_utts=108               # number of utterances, spread evenly over the speakers (6 each)
nj=2                       # synthesis worker processes
seed=1                     # random seed
speakers=8,2,4,4           # speakers per split: train,dev,test,babble talkers (8,1,2,4: the fixed table of 15)
oral_scale=0.92,1.05       # anatomy range of the speakers: oral scale min,max (JD3 = 1)
pharynx_scale=0.85,1.10    # pharynx scale min,max
state_step=2               # synthesise the audio from every k-th tract state (1: every 2.5 ms state,
                           # ~1.35x the CPU of 2 for stage 0; the targets are the same;
                           # docs/corpus.md, bench/synth_corpus.py)
log=exp/log/corpus.log     # log file
overwrite=false            # true: synthesise again from scratch

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

sitool --log-file "$log" synth-corpus --out "$corpus" --num-utts "$num_utts" --nj "$nj" \
  --seed "$seed" --speakers "$speakers" --oral-scale "$oral_scale" \
  --pharynx-scale "$pharynx_scale" --state-step "$state_step" "${overwrite_flag[@]}"
