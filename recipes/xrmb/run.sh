#!/usr/bin/env bash
# Wisconsin X-ray Microbeam (XRMB) recipe: the sitool stage chain (../../run.sh) with this recipe's local/ hooks and
# conf/. Every run.sh option works here, e.g.
#   ./run.sh --corpus /path/to/xrmb                  all stages
#   ./run.sh --corpus /path/to/xrmb --stage 3        from the SSL cache on
# data/, exp/ and dump/ are written in this directory.
cd "$(dirname "$0")" || exit 1
# This recipe's defaults for ../../run.sh (one model trained at a time: one GPU).
defaults=(--local-dir local --conf-dir conf --ssl-model microsoft/wavlm-large --corpus corpus
          --train-jobs 1)
case " $* " in *" --help "* | *" -h "*)
  exec utils/recipe_help.sh "XRMB" \
    "root of your XRMB text conversion: <spk>/<spk>_<task>.txy + .wav, optional <spk>/PAL.DAT (stage 0 only checks that it is there)" \
    "${defaults[@]}" ;;
esac
exec ../../run.sh "${defaults[@]}" "$@"
