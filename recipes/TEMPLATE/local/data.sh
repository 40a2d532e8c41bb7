#!/usr/bin/env bash
# Stage 1: the corpus -> data/{train,dev,test} (+ data/babble_talkers with --babble-speakers),
# validated. The generic reader keeps your target columns (targets=ema: resampled to 100 Hz,
# short gaps interpolated) and adds F0 / periodicity / aperiodicity; targets=tv computes
# tract variables from the sensors named in generic.yaml. Split options go in --extra-opts,
# e.g. --extra-opts "--test-speakers s4". Another format: replace this with your own converter
# writing data dirs of the contract (DESIGN.md §3; sitool.datadir.write_data_dir).
set -euo pipefail
exec utils/prepare_data.sh --reader generic --targets ema "$@"
