#!/usr/bin/env bash
# Stage 1 of a real-corpus recipe (called by local/data.sh): `sitool prepare <reader>` writes
# data/{train,dev,test} (targets at 100 Hz + source features), then validates them.
# Readers, split rules and options: docs/corpora.md (`sitool prepare <reader> --help`).
set -euo pipefail

reader=generic             # sitool prepare subcommand: mocha, mngu0, hprc, usctimit, xrmb, carstens, generic
corpus=corpus              # corpus root (run.sh --corpus)
data=data                  # output data dirs
log=exp/log/prepare.log    # log file
overwrite=false            # true: rewrite existing data dirs
targets=tv                 # tv (tract variables) or ema (sensor coordinates / your own columns)
extra_opts=                # more options for sitool prepare, e.g. "--test-speakers A,B"

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

# shellcheck disable=SC2086
sitool --log-file "$log" prepare "$reader" --root "$corpus" --out "$data" --targets "$targets" \
  $extra_opts "${overwrite_flag[@]}"
sitool --log-file "$log" validate-data "$data/train" "$data/dev" "$data/test"
