#!/usr/bin/env bash
# A recipe for your own corpus (copy of recipes/TEMPLATE): the sitool stage chain
# (../../run.sh) with this recipe's local/ hooks and conf/. Every run.sh option works, e.g.
#   ./run.sh --corpus /path/to/my_corpus               all stages
#   ./run.sh --corpus /path/to/my_corpus --stage 3     from the SSL cache on
#   ./run.sh --corpus /path/to/my_corpus --profile cpu offline on a CPU (in-recipe SSL model)
# data/, exp/ and dump/ are written in this directory.
cd "$(dirname "$0")" || exit 1
# This recipe's defaults for ../../run.sh. --profile gpu (the default): WavLM-Large from the
# hub, conf/ (GPU-sized), one model trained at a time; --profile cpu: offline on a CPU, the
# in-recipe SSL model pretrained on this corpus, ../../conf (CPU-sized), two trainings at once.
defaults=(--local-dir local --corpus corpus)
gpu=(--ssl-model microsoft/wavlm-large --conf-dir conf --train-jobs 1)
. utils/recipe_profile.sh    # takes --profile out of "$@", adds its options to defaults
case " $* " in *" --help "* | *" -h "*)
  exec utils/recipe_help.sh --profile "$profile" "generic-corpus template" \
    "root of your corpus in the generic layout: generic.yaml, wav/, targets/ (docs/new_corpus.md)" \
    "${defaults[@]}" ;;
esac
exec ../../run.sh "${defaults[@]}" "$@"
