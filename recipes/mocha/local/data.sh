#!/usr/bin/env bash
# MOCHA-TIMIT recipe, stage 1: the corpus -> data/{train,dev,test} (tract variables + source
# features at 100 Hz), validated. Split and options: docs/corpora.md.
set -euo pipefail

corpus=corpus              # corpus root (run.sh --corpus)
data=data                  # output data dirs
log=exp/log/prepare.log    # log file
overwrite=false            # true: rewrite existing data dirs
targets=tv                 # tv (tract variables) or ema (sensor coordinates)
extra_opts=                # more options for sitool prepare mocha, e.g. "--test-speakers A,B"

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

# shellcheck disable=SC2086
sitool --log-file "$log" prepare mocha --root "$corpus" --out "$data" --targets "$targets" \
  $extra_opts "${overwrite_flag[@]}"
sitool --log-file "$log" validate-data "$data/train" "$data/dev" "$data/test"
