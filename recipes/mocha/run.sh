#!/usr/bin/env bash
# MOCHA-TIMIT recipe: the sitool stage chain (../../run.sh) with this recipe's local/ hooks and
# conf/. Every run.sh option works here, e.g.
#   ./run.sh --corpus /path/to/mocha                  all stages
#   ./run.sh --corpus /path/to/mocha --stage 3        from the SSL cache on
# data/, exp/ and dump/ are written in this directory.
cd "$(dirname "$0")" || exit 1
# This recipe's defaults for ../../run.sh. --profile gpu (the default): WavLM-Large from the
# hub, conf/ (GPU-sized), one model trained at a time; --profile cpu: offline on a CPU, the
# in-recipe SSL model pretrained on this corpus, ../../conf (CPU-sized), two trainings at once.
defaults=(--local-dir local --corpus corpus)
gpu=(--ssl-model microsoft/wavlm-large --conf-dir conf --train-jobs 1)
. utils/recipe_profile.sh    # takes --profile out of "$@", adds its options to defaults
case " $* " in *" --help "* | *" -h "*)
  exec utils/recipe_help.sh --profile "$profile" "MOCHA-TIMIT" \
    "root of your MOCHA-TIMIT copy: <spk>_v1.1/<spk>_<nnn>.ema with .wav and .lab, at any depth (stage 0 only checks that it is there)" \
    "${defaults[@]}" ;;
esac
exec ../../run.sh "${defaults[@]}" "$@"
