#!/usr/bin/env bash
# Stage 1: the corpus -> data/{train,dev,test} (+ data/babble_talkers with --babble-speakers),
# validated. The generic reader keeps your target columns (resampled to 100 Hz, short gaps
# interpolated) and adds F0 / periodicity / aperiodicity; targets=tv computes tract variables
# from the sensors named in generic.yaml. Any other corpus: replace the `sitool prepare` line
# with your own converter, as long as it writes data dirs of the contract (DESIGN.md §3).
set -euo pipefail

corpus=corpus              # corpus root (run.sh --corpus)
data=data                  # output data dirs
log=exp/log/prepare.log    # log file
overwrite=false            # true: rewrite existing data dirs
targets=ema                # ema: the files' own columns; tv: tract variables (needs sensors:)
extra_opts=                # more options for sitool prepare generic, e.g. "--test-speakers s4"

. utils/parse_options.sh

overwrite_flag=()
[ "$overwrite" = true ] && overwrite_flag=(--overwrite)

# shellcheck disable=SC2086
sitool --log-file "$log" prepare generic --root "$corpus" --out "$data" --targets "$targets" \
  $extra_opts "${overwrite_flag[@]}"
sitool --log-file "$log" validate-data "$data/train" "$data/dev" "$data/test"
