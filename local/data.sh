#!/usr/bin/env bash
# Default recipe, stage 1: the synthetic corpus -> data/{train,dev,test,babble_talkers}, validated.
set -euo pipefail

corpus=corpus/synth        # synthetic corpus made by stage 0
data=data                  # output data dirs
log=exp/log/prepare.log    # log file
overwrite=false            # true: rewrite existing data dirs

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

sitool --log-file "$log" prepare synth --corpus "$corpus" --out "$data" "${overwrite_flag[@]}"
sitool --log-file "$log" validate-data "$data/train" "$data/dev" "$data/test" "$data/babble_talkers"
