#!/usr/bin/env bash
# USC-TIMIT (EMA) recipe: the sitool stage chain (../../run.sh) with this recipe's local/ hooks
# and conf/. Every run.sh option works here, e.g.
#   ./run.sh --corpus /path/to/usc-timit             all stages
#   ./run.sh --corpus /path/to/usc-timit --stage 3   from the SSL cache on
# data/, exp/ and dump/ are written in this directory.
cd "$(dirname "$0")" && exec ../../run.sh --local-dir local --conf-dir conf \
  --ssl-model microsoft/wavlm-large "$@"
